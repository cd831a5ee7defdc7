"""Log lines: one per event, one format, and never a credential in any of them."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from fastapi.testclient import TestClient

from assay import logs
from assay.app import Assay
from assay.security import new_token
from assay.storage import jobs as job_store
from assay.storage.people import now
from assay.web import server
from assay.web.accesslog import logged_path
from assay.web.app import create_app
from assay.workflows import ingest, jobs
from assay.workflows import projects as project_flows
from tests.factories import TEXT_SCHEMA, make_member, make_org, text_items
from tests.web.test_pages import PASSWORD, Site, sign_in, site  # noqa: F401  (site is a fixture)

TEXT = logs.Formatter("text")
JSON = logs.Formatter("json")


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO, logger="assay")
    yield caplog


def events(caplog: pytest.LogCaptureFixture, prefix: str = "") -> list[dict[str, object]]:
    """The captured events, as the JSON format writes them (minus the time stamp)."""
    found = []
    for record in caplog.records:
        if getattr(record, logs.FIELDS, None) is None or not str(record.msg).startswith(prefix):
            continue
        line = json.loads(JSON.format(record))
        del line["ts"]
        found.append(line)
    return found


def lines(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record in both formats, to search for what must never be written."""
    return "\n".join(f.format(r) for r in caplog.records for f in (TEXT, JSON))


# --- the format -------------------------------------------------------------------------------------


def _with(name: str, fields: dict[str, object]) -> logging.LogRecord:
    record = logging.LogRecord("assay.test", logging.INFO, __file__, 1, name, None, None)
    setattr(record, logs.FIELDS, fields)
    return record


def test_an_event_is_one_key_value_line_and_one_json_object() -> None:
    record = _with(
        "thing.done",
        {"count": 3, "ok": True, "ratio": 0.25, "note": 'two words, "quoted"\nand a new line', "gone": None},
    )
    text = TEXT.format(record)
    assert "\n" not in text
    assert text.split(" ", 1)[1] == (
        "level=info logger=assay.test event=thing.done count=3 ok=true ratio=0.25 "
        'note="two words, \\"quoted\\"\\nand a new line"'
    )
    assert text.startswith("ts=") and text.split(" ", 1)[0].endswith("Z")
    obj = json.loads(JSON.format(record))
    assert {k: v for k, v in obj.items() if k != "ts"} == {
        "level": "info", "logger": "assay.test", "event": "thing.done", "count": 3, "ok": True, "ratio": 0.25,
        "note": 'two words, "quoted"\nand a new line',
    }  # fmt: skip


def test_other_records_and_tracebacks_keep_the_shape() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception in %s", ("app",), sys.exc_info()
        )
    text = TEXT.format(record)
    assert "\n" not in text and 'msg="Exception in app"' in text and "RuntimeError: boom" in text
    assert json.loads(JSON.format(record))["exc"].startswith("Traceback (most recent call last):")


def test_no_credential_is_ever_written() -> None:
    key, token = "k" * 20 + "the-session-key", new_token()
    logs.redact(key)
    try:
        raise ValueError(f"bad {token} with {key}")
    except ValueError:
        exc_info = sys.exc_info()
    record = _with(
        "thing.failed",
        {"password": "hunter2hunter2", "api_token": "abc", "cookie": "assay_session=xyz", "note": f"key {key}", "tok": token},
    )  # fmt: skip
    record.exc_info = exc_info
    plain = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "%s %s", (key, token), None)
    written = "\n".join(f.format(r) for r in (record, plain) for f in (TEXT, JSON))
    for secret in (key, token, "hunter2hunter2", "assay_session=xyz", "abc"):
        assert secret not in written, secret
    assert written.count(logs.REDACTED) >= 10


def test_setup_writes_the_declared_format_to_stderr_and_redacts_the_configured_key() -> None:
    probe = (
        "import logging; from assay import logs; from assay.settings import Config\n"
        "logs.setup(Config(log_format='json', secret_key='the-configured-session-key'))\n"
        "logs.event(logging.getLogger('assay.probe'), 'probe.said', what='the-configured-session-key')\n"
        "logs.event(logging.getLogger('assay.probe'), 'probe.quiet', level=logging.DEBUG)\n"
        "logging.getLogger('sqlalchemy').info('libraries speak up only when something is wrong')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (line,) = done.stderr.splitlines()
    assert json.loads(line) | {"ts": ""} == {
        "ts": "", "level": "info", "logger": "assay.probe", "event": "probe.said", "what": logs.REDACTED,
    }  # fmt: skip


# --- start-up ---------------------------------------------------------------------------------------


def test_start_up_says_where_the_key_is_and_never_what_it_is(
    hub: Assay, captured: pytest.LogCaptureFixture
) -> None:
    embedded = dataclasses.replace(hub.config, database_url=None, secret_key=None)
    local = Assay(embedded, db=hub.db)
    server.prepare(local)
    (made,) = events(captured, "secret_key.")
    assert made == {
        "level": "info", "logger": "assay.server", "event": "secret_key.generated", "source": "generated",
        "path": str(embedded.data_dir / "secret_key"),
    }  # fmt: skip
    assert local.config.secret_key and local.config.secret_key not in lines(captured)


def test_with_an_external_database_and_no_key_start_up_warns_what_to_set(
    hub: Assay, captured: pytest.LogCaptureFixture
) -> None:
    assert hub.config.database_url and hub.config.secret_key is None
    server.prepare(hub)
    (missing,) = events(captured, "secret_key.")
    assert (missing["level"], missing["event"]) == ("warning", "secret_key.missing")
    assert "set ASSAY_SECRET_KEY_FILE to one file all of them read" in str(missing["advice"])
    assert hub.config.secret_key is None
    client = TestClient(create_app(hub))
    page = client.get("/login")
    assert page.status_code == 503 and "ASSAY_SECRET_KEY_FILE" in page.text  # the same sentence
    landing = client.get("/", follow_redirects=False)
    assert landing.status_code == 200 and "ASSAY_SECRET_KEY_FILE" in landing.text
    assert str(hub.config.data_dir) not in page.text + landing.text  # no path of this machine


def test_the_demo_signs_with_a_key_of_its_own_when_there_is_none_to_share(
    hub: Assay, captured: pytest.LogCaptureFixture
) -> None:
    server.prepare(hub, ephemeral_key=True)
    key = hub.config.secret_key
    assert key is not None and len(key) == 64
    assert list(hub.config.data_dir.glob("secret_key*")) == []  # nothing another process could share
    (made,) = events(captured, "secret_key.")
    assert (made["event"], made["source"]) == ("secret_key.generated", "ephemeral")
    assert key not in lines(captured)


def test_a_misspelt_variable_is_warned_about(
    hub: Assay, captured: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_ACCES_LOG", "on")
    server.prepare(hub)
    assert events(captured, "settings.") == [
        {"level": "warning", "logger": "assay.server", "event": "settings.unknown", "variable": "ASSAY_ACCES_LOG", "meant": "ASSAY_ACCESS_LOG"}
    ]  # fmt: skip


# --- imports ----------------------------------------------------------------------------------------


def test_imports_log_started_then_finished_with_counts_or_refused_with_the_reason(
    hub: Assay, captured: pytest.LogCaptureFixture
) -> None:
    manager = make_member(hub, make_org(hub), role="manager").actor(hub)
    project = project_flows.create(hub, manager, name="p", schema=TEXT_SCHEMA)
    good = b"".join(orjson.dumps(i) + b"\n" for i in text_items(3))
    ingest.import_items(hub, manager, project, source=io.BytesIO(good), fmt="jsonl", name="good.jsonl")
    bad = orjson.dumps(text_items(1)[0]) + b"\n" + b'{"data": {"text": 5}}\n'
    with pytest.raises(Exception, match="nothing was imported"):
        ingest.import_items(hub, manager, project, source=io.BytesIO(bad), fmt="jsonl", name="bad.jsonl")
    found = events(captured, "import.")
    where = {"org": manager.org_id, "project": project.id, "format": "jsonl"}
    assert [e["event"] for e in found] == [
        "import.started",
        "import.finished",
        "import.started",
        "import.refused",
    ]
    assert found[1] == {
        "level": "info", "logger": "assay.imports", "event": "import.finished", **where, "file": "good.jsonl",
        "imported": 3, "gold": 0, "skipped": 0, "seconds": found[1]["seconds"],
    }  # fmt: skip
    assert isinstance(found[1]["seconds"], float)
    assert found[3]["status"] == 422 and found[3]["file"] == "bad.jsonl"
    assert str(found[3]["reason"]).startswith("bad.jsonl: line 2: data.text")


# --- jobs -------------------------------------------------------------------------------------------


def test_jobs_log_claimed_and_finished_or_failed_with_durations(
    hub: Assay, captured: pytest.LogCaptureFixture
) -> None:
    manager = make_member(hub, make_org(hub), role="manager").actor(hub)
    project = project_flows.create(hub, manager, name="p", schema=TEXT_SCHEMA)
    queued = now() - timedelta(seconds=5)
    with hub.db.write() as conn:
        job_store.enqueue(
            conn,
            org_id=manager.org_id,
            project_id=project.id,
            kind=jobs.QUALITY_REFRESH,
            at=queued,
            run_after=queued,
        )
        job_store.enqueue(
            conn,
            org_id=manager.org_id,
            project_id=project.id,
            kind="no.such.kind",
            at=queued,
            run_after=queued,
        )
    outcomes = jobs.run_pending(hub)
    assert sorted(o["state"] for o in outcomes) == ["done", "failed"]
    found = events(captured, "job.")
    by_kind = {(e["kind"], e["event"]): e for e in found}
    assert sorted(by_kind) == [
        ("no.such.kind", "job.claimed"), ("no.such.kind", "job.failed"),
        ("quality.refresh", "job.claimed"), ("quality.refresh", "job.finished"),
    ]  # fmt: skip
    claimed = by_kind[("quality.refresh", "job.claimed")]
    assert (claimed["org"], claimed["project"], claimed["attempt"]) == (manager.org_id, project.id, 1)
    assert float(str(claimed["waited"])) >= 4.9
    failed = by_kind[("no.such.kind", "job.failed")]
    assert failed["level"] == "error" and failed["error"] == "ValueError: unknown job kind 'no.such.kind'"
    assert str(failed["exc"]).startswith("Traceback") and isinstance(failed["seconds"], float)
    assert isinstance(by_kind[("quality.refresh", "job.finished")]["seconds"], float)


# --- refusals and the access log --------------------------------------------------------------------


def test_refusals_log_the_action_status_and_address_never_the_credential(
    site: Site,  # noqa: F811
    captured: pytest.LogCaptureFixture,
) -> None:
    api = TestClient(site.app)
    forged = new_token()
    assert api.get("/api/v1/projects", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    browser = site.client()
    assert sign_in(browser, site.emails["annotator"], "a wrong password").status_code == 401
    annotator = site.client("annotator")
    assert annotator.get("/members").status_code == 404  # a manager's page
    session = annotator.cookies["assay_session"]
    found = events(captured, "access.denied")
    assert {
        "action": "GET /api/v1/projects", "status": 401, "ip": "testclient", "reason": "bad token",
    }.items() <= found[0].items()  # fmt: skip
    assert {"action": "session.login", "status": 401, "ip": "testclient"}.items() <= found[1].items()
    assert {"action": "GET /members", "status": 404}.items() <= found[-1].items()
    assert isinstance(found[-1]["org"], int) and isinstance(found[-1]["user"], int)
    written = lines(captured)
    for secret in (
        forged,
        "a wrong password",
        PASSWORD,
        session,
        site.emails["annotator"],
        *site.tokens.values(),
    ):
        assert secret not in written


def test_a_429_is_logged_as_a_refusal(hub: Assay, captured: pytest.LogCaptureFixture) -> None:
    hub.config = dataclasses.replace(hub.config, rate_limit_per_s=0.001, rate_limit_burst=1)
    member = make_member(hub, make_org(hub), role="manager")
    api = TestClient(create_app(hub))
    assert [api.get("/api/v1/projects", headers=member.headers).status_code for _ in range(2)] == [200, 429]
    (limited,) = events(captured, "access.denied")
    assert {"action": "GET /api/v1/projects", "status": 429, "ip": "testclient"}.items() <= limited.items()
    assert member.token not in lines(captured)


def test_the_access_log_is_off_by_default_and_one_line_per_request_when_on(
    hub: Assay, captured: pytest.LogCaptureFixture
) -> None:
    member = make_member(hub, make_org(hub), role="manager")
    TestClient(create_app(hub)).get("/api/v1/projects?cursor=abc", headers=member.headers)
    assert events(captured, "http.") == []
    hub.config = dataclasses.replace(hub.config, access_log=True, max_body_bytes=10)
    api = TestClient(create_app(hub))
    api.get("/api/v1/projects?cursor=abc", headers=member.headers)
    api.post("/api/v1/projects", content=b"x" * 100, headers=member.headers)  # the guard's 413
    ok, too_large = events(captured, "http.")
    assert {"event": "http.request", "logger": "assay.http", "method": "GET", "path": "/api/v1/projects", "status": 200, "ip": "testclient"}.items() <= ok.items()  # fmt: skip
    assert isinstance(ok["ms"], float)
    assert (too_large["method"], too_large["status"]) == ("POST", 413)
    assert member.token not in lines(captured) and "cursor" not in lines(captured)


def test_a_path_parameter_that_holds_a_credential_is_not_logged() -> None:
    scope = {
        "path": "/invite/s3cr3t-invite/accept/7",
        "path_params": {"token": "s3cr3t-invite", "item_id": 7},
    }
    assert logged_path(scope) == f"/invite/{logs.REDACTED}/accept/7"
