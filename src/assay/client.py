"""`assay.Client`: the JSON API from Python, for notebooks and scripts.

    >>> client = Client("http://127.0.0.1:8000", token)
    >>> project = client.create_project("sentiment", schema={...}, settings={"overlap": 3})
    >>> client.import_items(project["id"], [{"data": {"text": "great"}}])
    >>> lease = client.next(project["id"])
    >>> client.submit(lease["assignment_id"], {"sentiment": "positive"})

Errors come back as ``ApiError`` carrying the server's canonical body.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import orjson

from assay.domain.exports import ExportFilters

_CONTENT_TYPES = {
    "jsonl": "application/x-ndjson",
    "json": "application/json",
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}


class ApiError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{status}: {body.get('error', body)}")
        self.status = status
        self.body = body
        self.errors: list[dict[str, Any]] = list(body.get("errors") or [])


class Client:
    def __init__(
        self, url: str, token: str, *, timeout: float = 60.0, transport: httpx.BaseTransport | None = None
    ):
        self._http = httpx.Client(
            base_url=url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {"ok": False, "error": response.text, "status": response.status_code}
            raise ApiError(response.status_code, body)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._check(self._http.request(method, path, **kwargs)).json()

    # projects
    def projects(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/projects")["projects"])

    def project(self, project_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/projects/{project_id}"))

    def create_project(
        self,
        name: str,
        *,
        schema: dict[str, Any],
        settings: dict[str, Any] | None = None,
        description: str = "",
    ) -> dict[str, Any]:
        body = {"name": name, "schema": schema, "settings": settings or {}, "description": description}
        return dict(self._json("POST", "/projects", json=body))

    # items
    def import_items(
        self,
        project_id: int,
        items: Iterable[dict[str, Any]] | str | Path | BinaryIO,
        *,
        format: str | None = None,
        on_duplicate: str = "error",
        batch: str | None = None,
    ) -> dict[str, Any]:
        """Import a list of item dicts, or a file (path or binary file object) in any import format.

        ``batch`` puts every item of the upload in that batch (a record may name it too, the same).
        """
        params = {"on_duplicate": on_duplicate}
        if batch is not None:
            params["batch"] = batch
        return self._upload(f"/projects/{project_id}/items", items, format=format, params=params)

    def import_answers(
        self,
        project_id: int,
        rows: Iterable[dict[str, Any]] | str | Path | BinaryIO,
        *,
        workforce: str | None = None,
        format: str | None = None,
    ) -> dict[str, Any]:
        """Import answers given outside assay (a vendor's delivery): row dicts ``{item_id |
        external_id, annotator, answers, workforce?, created_at?, duration_ms?, key?}``, or a file.
        ``workforce`` names the workforce of rows that name none.  Importing the same rows again
        skips them (``skipped`` in the result)."""
        params = {} if workforce is None else {"workforce": workforce}
        return self._upload(f"/projects/{project_id}/annotations", rows, format=format, params=params)

    def _upload(
        self,
        url: str,
        records: Iterable[dict[str, Any]] | str | Path | BinaryIO,
        *,
        format: str | None,
        params: dict[str, str],
    ) -> dict[str, Any]:
        """POST a list of records as NDJSON, or a file (path or binary file object) as it is."""
        if isinstance(records, str | Path):
            path = Path(records)
            fmt = format or {
                ".jsonl": "jsonl",
                ".ndjson": "jsonl",
                ".json": "json",
                ".csv": "csv",
                ".parquet": "parquet",
            }.get(path.suffix.lower(), "jsonl")
            with path.open("rb") as fh:
                return self._upload(url, fh, format=fmt, params=params)
        if hasattr(records, "read"):
            fmt = format or "jsonl"
            content: Any = _chunks(records)  # type: ignore[arg-type]
        else:
            fmt = "jsonl"
            content = b"".join(orjson.dumps(i) + b"\n" for i in records)
        response = self._http.post(
            url,
            params={**params, "format": fmt},
            content=content,
            headers={"Content-Type": _CONTENT_TYPES.get(fmt, "application/octet-stream")},
        )
        return dict(self._check(response).json())

    def item(self, item_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/items/{item_id}"))

    # annotating
    def next(self, project_id: int) -> dict[str, Any] | None:
        response = self._check(self._http.get(f"/projects/{project_id}/next"))
        return None if response.status_code == 204 else dict(response.json())

    def submit(
        self,
        assignment_id: int,
        answers: dict[str, Any],
        *,
        duration_ms: int | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Submit answers exactly once: a key is generated when none is given, so retries are safe."""
        key = idempotency_key or str(uuid.uuid4())
        return dict(
            self._json(
                "POST",
                f"/assignments/{assignment_id}/submit",
                json={"answers": answers, "duration_ms": duration_ms},
                headers={"Idempotency-Key": key},
            )
        )

    def revise(self, annotation_id: int, answers: dict[str, Any]) -> dict[str, Any]:
        """Correct one's own answer while its lease holds; the original is kept."""
        return dict(self._json("POST", f"/annotations/{annotation_id}/revise", json={"answers": answers}))

    def skip(self, assignment_id: int) -> None:
        self._json("POST", f"/assignments/{assignment_id}/skip")

    # export and quality
    def export(
        self,
        project_id: int,
        *,
        format: str = "jsonl",
        filters: ExportFilters | Mapping[str, Any] | None = None,
    ) -> Iterator[bytes]:
        """Stream an export.  ``filters`` (``ExportFilters`` or a dict of its fields) select training
        rows: ``min_answers``, ``min_confidence``, ``reviewed_only``, ``ties``; a bad value raises
        ``Invalid`` naming it before any request is made."""
        params = {"format": format, **_filter_params(filters)}
        with self._http.stream("GET", f"/projects/{project_id}/export", params=params) as response:
            if response.status_code >= 400:
                response.read()
                self._check(response)
            yield from response.iter_bytes()

    def export_to(
        self,
        project_id: int,
        path: str | Path,
        *,
        format: str = "jsonl",
        filters: ExportFilters | Mapping[str, Any] | None = None,
    ) -> Path:
        out = Path(path)
        with out.open("wb") as fh:
            for chunk in self.export(project_id, format=format, filters=filters):
                fh.write(chunk)
        return out

    def export_records(
        self,
        project_id: int,
        *,
        format: str = "jsonl",
        filters: ExportFilters | Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Parse a JSONL-shaped export (jsonl, dpo, sft) into dicts."""
        data = b"".join(self.export(project_id, format=format, filters=filters))
        return [orjson.loads(line) for line in data.splitlines() if line.strip()]

    def quality(self, project_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/projects/{project_id}/quality"))

    def leaderboard(
        self, project_id: int, *, question: str | None = None, workforce: str | None = None
    ) -> dict[str, Any]:
        """Models ranked by the project's pairwise answers (Elo scale, 95% intervals)."""
        params = {k: v for k, v in (("question", question), ("workforce", workforce)) if v is not None}
        return dict(self._json("GET", f"/projects/{project_id}/leaderboard", params=params))

    # --- models in the loop ------------------------------------------------------------------------

    def add_model(
        self,
        name: str,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        params: Mapping[str, Any] | None = None,
        price: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """Add an OpenAI-compatible model connection (its key is sealed, never returned)."""
        body: dict[str, Any] = {"name": name, "base_url": base_url, "model": model}
        for key, value in (("api_key", api_key), ("params", params), ("price", price)):
            if value is not None:
                body[key] = value
        return dict(self._json("POST", "/models", json=body))

    def models(self) -> list[dict[str, Any]]:
        return list(self._json("GET", "/models")["models"])

    def delete_model(self, model_id: int) -> None:
        self._check(self._http.request("DELETE", f"/models/{model_id}"))

    def generate(self, project_id: int, models: Sequence[str], *, samples: int = 1) -> int:
        """Queue the generation of the responses items wait for; the job's id (see ``job``)."""
        body = {"models": list(models), "samples": samples}
        return int(self._json("POST", f"/projects/{project_id}/generate", json=body)["job_id"])

    def job(self, job_id: int) -> dict[str, Any]:
        return dict(self._json("GET", f"/jobs/{job_id}"))

    def turns(self, assignment_id: int) -> dict[str, Any]:
        """A live chat's tree within one's own lease."""
        return dict(self._json("GET", f"/assignments/{assignment_id}/turns"))

    def turn(
        self, assignment_id: int, content: str | None = None, *, parent: int | None = None
    ) -> dict[str, Any]:
        """Write a user turn; the server's candidates come back (content None: the item's first turn)."""
        body: dict[str, Any] = {}
        if content is not None:
            body["content"] = content
        if parent is not None:
            body["parent"] = parent
        return dict(self._json("POST", f"/assignments/{assignment_id}/turns", json=body))

    def judge_turn(self, assignment_id: int, turn_id: int, judgement: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._json("PUT", f"/assignments/{assignment_id}/turns/{turn_id}", json=dict(judgement)))


def _filter_params(filters: ExportFilters | Mapping[str, Any] | None) -> dict[str, str]:
    if filters is None:
        return {}
    chosen = filters if isinstance(filters, ExportFilters) else ExportFilters.parse(filters)
    return {name: _query_value(value) for name, value in chosen.given().items()}


def _query_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _chunks(fh: BinaryIO, size: int = 1024 * 1024) -> Iterator[bytes]:
    while chunk := fh.read(size):
        yield chunk
