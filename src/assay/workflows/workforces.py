"""Workforces as first-class objects, and the vendor compartments they draw.

A compartment: an annotator or reviewer who belongs to a *vendor* workforce sees only their own
workforce's answers, members and reports, and no gold answer at all; managers, owners and in-house
members see across workforces.  ``compartment`` is the one place that decides it.
"""

from __future__ import annotations

import math
from typing import Any

from assay.app import Assay
from assay.domain.answers import show
from assay.domain.people import WORKFORCE_KINDS, Actor, Role
from assay.errors import Conflict, Invalid, NotFound
from assay.limits import check_name
from assay.storage import gates
from assay.storage.people import now
from assay.workflows import access

FIELDS = ("name", "kind", "cost_per_hour", "cost_per_answer")
MAX_NAME = 100


def compartment(hub: Assay, actor: Actor) -> int | None:
    """The workforce id the actor is confined to, or None when they may see every workforce."""
    if actor.at_least(Role.MANAGER) or actor.workforce_id is None:
        return None
    with hub.db.read() as conn:
        row = gates.get_workforce(conn, org_id=actor.org_id, workforce_id=actor.workforce_id)
    return actor.workforce_id if row is not None and row.kind == "vendor" else None


def sees_gold(hub: Assay, actor: Actor) -> bool:
    """Whether the actor may know which items are gold: owners, managers and reviewers outside any
    vendor's compartment.  Annotators never do, and nothing a vendor's member can read (counts,
    settings, item views, flags, reports) tells a gold item from another."""
    if actor.at_least(Role.MANAGER):
        return True
    return actor.role is Role.REVIEWER and compartment(hub, actor) is None


def require_manager_across_vendors(
    hub: Assay, actor: Actor, *, action: str, object_type: str, object_id: int | None = None, what: str
) -> None:
    """Managers only, for what sets workforces side by side (the workforce list with its members, the
    vendor report): inside a vendor's compartment it does not exist (404, audited); anyone else
    below manager gets the usual 403."""
    if compartment(hub, actor) is not None:
        raise access.not_found(
            hub,
            actor,
            NotFound(f"{what} does not exist"),
            action=action,
            object_type=object_type,
            object_id=object_id,
        )
    access.require(hub, actor, Role.MANAGER, action=action, object_type=object_type, object_id=object_id)


def public(row: Any) -> dict[str, Any]:
    out = {
        "id": int(row.id),
        "name": row.name,
        "kind": row.kind,
        "cost_per_hour": row.cost_per_hour,
        "cost_per_answer": row.cost_per_answer,
        "created_at": row.created_at.isoformat(),
    }
    if hasattr(row, "members"):
        out["members"] = int(row.members or 0)
    return out


def _clean(body: Any, *, partial: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise Invalid("a workforce is an object with name, kind and an optional cost model")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise Invalid(
            f"{unknown[0]!r} is not a workforce field; use {', '.join(FIELDS)}",
            errors=[{"loc": name, "msg": "unknown field"} for name in unknown],
        )
    out: dict[str, Any] = {}
    if "name" in body or not partial:
        out["name"] = check_name(body.get("name"), where="name", max_len=MAX_NAME)
    if "kind" in body or not partial:
        kind = body.get("kind", "in_house")
        if kind not in WORKFORCE_KINDS:
            raise Invalid(
                f"kind: {kind!r} must be one of {', '.join(WORKFORCE_KINDS)}",
                errors=[{"loc": "kind", "msg": "unknown kind", "value": kind}],
            )
        out["kind"] = kind
    for key in ("cost_per_hour", "cost_per_answer"):
        if key in body:
            out[key] = _cost(key, body[key])
    return out


def _cost(key: str, value: Any) -> float | None:
    """A non-negative, finite amount, or None; an integer too large for a float is refused, not a 500."""
    if value is None:
        return None
    number = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond 1.8e308
            number = None
    if number is None or not math.isfinite(number) or number < 0:
        msg = "must be a non-negative number or null"
        raise Invalid(f"{key}: {show(value)} {msg}", errors=[{"loc": key, "msg": msg}])
    return number


def _one_cost_model(values: dict[str, Any]) -> None:
    if values.get("cost_per_hour") is not None and values.get("cost_per_answer") is not None:
        raise Invalid(
            "a workforce is paid per hour or per answer, not both; set the other to null",
            errors=[{"loc": "cost_per_answer", "msg": "conflicts with cost_per_hour"}],
        )


def list_all(hub: Assay, actor: Actor) -> list[dict[str, Any]]:
    require_manager_across_vendors(
        hub, actor, action="workforce.list", object_type="workforce", what="the workforce list"
    )
    with hub.db.read() as conn:
        return [public(r) for r in gates.list_workforces(conn, org_id=actor.org_id)]


def create(hub: Assay, actor: Actor, body: Any) -> dict[str, Any]:
    require_manager_across_vendors(
        hub, actor, action="workforce.create", object_type="workforce", what="the workforce list"
    )
    values = _clean(body, partial=False)
    _one_cost_model(values)
    with hub.db.write() as conn:
        new_id = gates.insert_workforce(conn, values={**values, "org_id": actor.org_id, "created_at": now()})
        if new_id is None:
            raise Conflict(f"a workforce called {values['name']!r} already exists")
        row = gates.get_workforce(conn, org_id=actor.org_id, workforce_id=new_id)
    return public(row)


def update(hub: Assay, actor: Actor, workforce_id: int, body: Any) -> dict[str, Any]:
    require_manager_across_vendors(
        hub,
        actor,
        action="workforce.update",
        object_type="workforce",
        object_id=workforce_id,
        what=f"workforce {workforce_id}",
    )
    values = _clean(body, partial=True)
    with hub.db.read() as conn:
        found = gates.get_workforce(conn, org_id=actor.org_id, workforce_id=workforce_id)
    if found is None:
        # Audited outside any write transaction: the denial gets its own.
        raise access.not_found(
            hub,
            actor,
            NotFound(f"workforce {workforce_id} does not exist"),
            action="workforce.update",
            object_type="workforce",
            object_id=workforce_id,
        )
    with hub.db.write() as conn:
        row = gates.get_workforce(conn, org_id=actor.org_id, workforce_id=workforce_id)
        assert row is not None  # workforces are never deleted
        merged = {key: getattr(row, key) for key in FIELDS} | values
        # Choosing one cost model drops the other, so a PATCH can switch models in one call.
        if (
            "cost_per_hour" in values
            and values["cost_per_hour"] is not None
            and "cost_per_answer" not in values
        ):
            merged["cost_per_answer"] = values["cost_per_answer"] = None
        if (
            "cost_per_answer" in values
            and values["cost_per_answer"] is not None
            and "cost_per_hour" not in values
        ):
            merged["cost_per_hour"] = values["cost_per_hour"] = None
        _one_cost_model(merged)
        if "name" in values and gates.name_taken(
            conn, org_id=actor.org_id, name=values["name"], other_than=workforce_id
        ):
            raise Conflict(f"a workforce called {values['name']!r} already exists")
        if values:
            gates.update_workforce(conn, org_id=actor.org_id, workforce_id=workforce_id, values=values)
        row = gates.get_workforce(conn, org_id=actor.org_id, workforce_id=workforce_id)
    return public(row)
