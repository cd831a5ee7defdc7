"""Model connections of an organisation: add, list, delete, and the endpoint a call needs.

Managers add them; the hosts they may point at are the operator's (``ASSAY_MODEL_HOSTS``, checked
here on save and again before every call).  The API key is sealed at rest (``assay.sealed``) and no
reader returns it: the public form says only whether there is one.
"""

from __future__ import annotations

import math
from typing import Any

from assay import limits, logs, sealed
from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.errors import Conflict, Invalid, NotFound, Unavailable, detail
from assay.llm import hosts
from assay.llm.client import Endpoint, check_params
from assay.storage import audit
from assay.storage import models as store
from assay.storage.people import now
from assay.workflows import access

MAX_NAME = 100
MAX_URL = 500
MAX_MODEL = 200
MAX_KEY = 4096
FIELDS = ("name", "base_url", "model", "api_key", "params", "price")


def public(row: Any) -> dict[str, Any]:
    price = None
    if row.price_in is not None or row.price_out is not None:
        price = {"input_per_mtok": row.price_in, "output_per_mtok": row.price_out}
    return {
        "id": int(row.id),
        "name": row.name,
        "base_url": row.base_url,
        "model": row.model,
        "params": dict(row.params or {}),
        "price": price,
        "has_key": bool(row.has_key),
        "created_at": row.created_at.isoformat(),
    }


def _invalid(where: str, msg: str) -> Invalid:
    return Invalid(f"{where}: {msg}", errors=[detail(where, msg)])


def _price(value: Any) -> tuple[float | None, float | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict) or not set(value) <= {"input_per_mtok", "output_per_mtok"}:
        raise _invalid("price", "must be an object with input_per_mtok and output_per_mtok")
    out: list[float | None] = []
    for key in ("input_per_mtok", "output_per_mtok"):
        amount = value.get(key)
        if amount is None:
            out.append(None)
            continue
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise _invalid(f"price.{key}", "must be a non-negative number")
        try:
            number = float(amount)
        except OverflowError:
            raise _invalid(f"price.{key}", "must be a non-negative number") from None
        if not math.isfinite(number) or number < 0:
            raise _invalid(f"price.{key}", "must be a non-negative number")
        out.append(number)
    return out[0], out[1]


def _clean(hub: Assay, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("a model connection is an object with name, base_url and model")
    unknown = sorted(str(k) for k in set(body) - set(FIELDS))
    if unknown:
        raise _invalid(unknown[0], f"unknown field; a model connection has {', '.join(FIELDS)}")
    name = limits.check_name(body.get("name"), where="name", max_len=MAX_NAME)
    model = limits.check_name(body.get("model"), where="model", max_len=MAX_MODEL)
    base_url = limits.check_name(body.get("base_url"), where="base_url", max_len=MAX_URL)
    try:
        hosts.allowed(base_url, hub.config.model_hosts)
    except ValueError as exc:
        raise _invalid("base_url", str(exc)) from None
    key = body.get("api_key")
    if key is not None:
        key = limits.check_name(key, where="api_key", max_len=MAX_KEY)
    try:
        params = check_params(body.get("params"))
    except ValueError as exc:
        where, _, msg = str(exc).partition(" ")
        raise _invalid(where, msg) from None
    price_in, price_out = _price(body.get("price"))
    return {
        "name": name,
        "base_url": base_url.rstrip("/"),
        "model": model,
        "api_key": key,
        "params": params,
        "price_in": price_in,
        "price_out": price_out,
    }


def _require(hub: Assay, actor: Actor, action: str, object_id: int | None = None) -> None:
    access.require(hub, actor, Role.MANAGER, action=action, object_type="model", object_id=object_id)


def add(hub: Assay, actor: Actor, body: Any) -> dict[str, Any]:
    _require(hub, actor, "model.create")
    values = _clean(hub, body)
    key = values.pop("api_key")
    sealed_key = None
    if key is not None:
        sealed_key = sealed.seal(key, secret_key=hub.config.secret_key, org_id=actor.org_id)
    with hub.db.write() as conn:
        new_id = store.insert_connection(
            conn,
            values={
                **values,
                "api_key": sealed_key,
                "org_id": actor.org_id,
                "created_by": actor.user_id or None,
                "created_at": now(),
            },
        )
        if new_id is None:
            raise Conflict(f"a model connection called {values['name']!r} already exists")
        audit.record(
            conn,
            action="model.create",
            allowed=True,
            org_id=actor.org_id,
            user_id=actor.user_id or None,
            token_id=actor.token_id,
            object_type="model",
            object_id=str(new_id),
            ip=actor.ip,
            detail={"name": values["name"], "base_url": values["base_url"], "model": values["model"]},
        )
        row = store.get_connection(conn, org_id=actor.org_id, connection_id=new_id)
    return public(row)


def list_all(hub: Assay, actor: Actor) -> list[dict[str, Any]]:
    _require(hub, actor, "model.list")
    with hub.db.read() as conn:
        return [public(r) for r in store.list_connections(conn, org_id=actor.org_id)]


def delete(hub: Assay, actor: Actor, connection_id: int) -> None:
    _require(hub, actor, "model.delete", connection_id)
    with hub.db.write() as conn:
        row = store.get_connection(conn, org_id=actor.org_id, connection_id=connection_id)
        if row is not None:
            store.delete_connection(conn, org_id=actor.org_id, connection_id=connection_id)
            audit.record(
                conn,
                action="model.delete",
                allowed=True,
                org_id=actor.org_id,
                user_id=actor.user_id or None,
                token_id=actor.token_id,
                object_type="model",
                object_id=str(connection_id),
                ip=actor.ip,
                detail={"name": row.name},
            )
    if row is None:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"model connection {connection_id} does not exist"),
            action="model.delete",
            object_type="model",
            object_id=connection_id,
        )


def endpoints(hub: Assay, *, org_id: int, names: list[str]) -> list[Endpoint]:
    """The connections called ``names`` as calls need them, keys unsealed (in memory only).
    ``Invalid`` naming a connection that does not exist."""
    found: list[Endpoint] = []
    with hub.db.read() as conn:
        for i, name in enumerate(names):
            row = store.get_connection(conn, org_id=org_id, name=name)
            if row is None:
                raise _invalid(f"models[{i}]", f"no model connection is called {name!r}")
            key = None
            if row.has_key:
                text = store.sealed_key(conn, org_id=org_id, connection_id=int(row.id))
                try:
                    key = sealed.unseal(text or "", secret_key=hub.config.secret_key, org_id=org_id)
                except sealed.Unsealable as exc:
                    raise Unavailable(f"model {name!r}: {exc}") from None
                logs.redact(key)
            found.append(
                Endpoint(
                    name=row.name,
                    base_url=row.base_url,
                    model=row.model,
                    api_key=key,
                    params=dict(row.params or {}),
                    price_in=row.price_in,
                    price_out=row.price_out,
                )
            )
    return found
