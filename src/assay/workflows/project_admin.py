"""Project administration from the pages: a schema written as text, its preview, settings updates."""

from __future__ import annotations

from typing import Any

import yaml

from assay import patterns
from assay.app import Assay
from assay.domain.documents import load_document
from assay.domain.people import Actor, Role
from assay.domain.schema import ProjectSchema, parse_schema, parse_settings
from assay.errors import Conflict, Invalid
from assay.storage import counters
from assay.storage import projects as store
from assay.workflows import access, jobs
from assay.workflows import projects as project_flows
from assay.workflows.projects import Project

_STEP = patterns.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _path(loc: str) -> list[str | int]:
    return [name if name else int(index) for name, index in _STEP.findall(loc or "")]


def line_of(text: str, loc: str) -> int | None:
    """The 1-based line of the value at ``loc`` (``questions[0].scale.max``) in YAML or JSON text."""
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    line = None if node is None else node.start_mark.line + 1
    for step in _path(loc):
        if isinstance(node, yaml.MappingNode) and isinstance(step, str):
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == step), None)
            if found is None:
                return line
            node, line = found[1], found[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def parse_schema_text(text: str, *, source: str = "schema") -> ProjectSchema:
    """A schema from YAML/JSON text; every error carries the ``line`` where it belongs."""
    document = load_document(text, source=source)
    try:
        return parse_schema(document)
    except Invalid as exc:
        for e in exc.errors:
            if "line" not in e:
                e["line"] = line_of(text, str(e.get("loc", "")))
        raise


def preview(text: str) -> dict[str, Any]:
    """What the annotation screen will show, or the schema's errors at their lines."""
    try:
        schema = parse_schema_text(text)
    except Invalid as exc:
        errors = exc.errors or [{"loc": "", "msg": exc.message}]
        return {"ok": False, "error": exc.message, "errors": errors}
    return {
        "ok": True,
        "inputs": [i.model_dump(mode="json", exclude_none=True) for i in schema.inputs],
        "questions": [q.model_dump(mode="json", exclude_none=True) for q in schema.questions],
    }


def create_from_text(
    hub: Assay, actor: Actor, *, name: str, description: str, schema_text: str, settings_text: str
) -> Project:
    access.require(hub, actor, Role.MANAGER, action="project.create", object_type="project")
    schema = parse_schema_text(schema_text)
    settings = load_document(settings_text, source="settings") if settings_text.strip() else None
    return project_flows.create(
        hub,
        actor,
        name=name,
        schema=schema.model_dump(mode="json", exclude_none=True),
        settings=settings,
        description=description,
    )


def update_settings(hub: Assay, actor: Actor, project_id: int, *, settings_text: str) -> Project:
    """The settings page: the whole settings document, as text."""
    raw = load_document(settings_text, source="settings") if settings_text.strip() else None
    return update(hub, actor, project_id, settings=raw or {}, merge=False)


def update(
    hub: Assay,
    actor: Actor,
    project_id: int,
    *,
    name: Any = None,
    description: Any = None,
    settings: Any = None,
    merge: bool = True,
) -> Project:
    """Change a project's name, description or settings (managers).  ``settings`` are merged into
    the current ones (``merge``) and validated whole.  In the same transaction the items are
    reconciled with the new settings (``storage.counters.reconcile``): raising the overlap reopens
    items that had reached the old one, lowering it closes those past the new one, and a new
    adaptive-overlap target reopens the items settled under the old one (the next quality refresh,
    queued here, settles again those sure enough)."""
    project = project_flows.get(hub, actor, project_id, action="project.update")
    access.require(
        hub, actor, Role.MANAGER, action="project.update", object_type="project", object_id=project_id
    )
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = project_flows.check_name(name)
    if description is not None:
        if not isinstance(description, str) or len(description) > 10_000:
            raise Invalid(
                "description: a string of at most 10,000 characters",
                errors=[{"loc": "description", "msg": "must be a string of at most 10,000 characters"}],
            )
        values["description"] = description
    before = project.settings
    after = before
    if settings is not None:
        if not isinstance(settings, dict):
            raise Invalid(
                "settings: an object of settings", errors=[{"loc": "settings", "msg": "must be an object"}]
            )
        after = parse_settings({**project.raw_settings, **settings} if merge else settings)
        values["settings"] = after.model_dump(mode="json")
    if not values:
        return project
    caps_moved = (before.overlap, before.gold_cap) != (after.overlap, after.gold_cap)
    target_moved = before.target_confidence != after.target_confidence
    with hub.db.write() as conn:
        if (
            "name" in values
            and values["name"] != project.name
            and store.name_taken(conn, org_id=actor.org_id, name=values["name"])
        ):
            raise Conflict(f"a project named {values['name']!r} already exists in this organisation")
        store.update_project(conn, org_id=actor.org_id, project_id=project.id, values=values)
        if caps_moved or target_moved:
            counters.reconcile(
                conn,
                org_id=actor.org_id,
                project_id=project.id,
                overlap=after.overlap,
                gold_cap=after.gold_cap,
                unsettle=target_moved,
            )
            jobs.queue_quality_refresh(hub, conn, org_id=actor.org_id, project_id=project.id)
    return project_flows.get(hub, actor, project_id, action="project.update")
