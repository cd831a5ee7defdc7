"""Projects: create, list, show.  Visibility follows workforce sharing, of a whole project or of a
batch of its items (see ``access``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay import limits
from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.domain.schema import ChatQuestion, ProjectSchema, ProjectSettings, parse_schema, parse_settings
from assay.errors import Invalid, NotFound
from assay.storage import projects as store
from assay.workflows import access


@dataclass(frozen=True)
class Project:
    id: int
    org_id: int
    name: str
    description: str
    schema: ProjectSchema
    settings: ProjectSettings
    raw_settings: dict[str, Any]
    created_at: str

    def public(self, counts: dict[str, int] | None = None, *, full: bool = True) -> dict[str, Any]:
        """The project as an actor may read it.  ``full`` (those who may know gold, see
        ``workforces.sees_gold``): every setting.  Otherwise only what annotating needs: the
        instructions and the lease terms; never the gold rate, the workforces or the batch map."""
        settings = self.settings.model_dump(mode="json")
        if not full:
            settings = {key: settings[key] for key in MEMBER_SETTINGS}
        out: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "schema": self.schema.model_dump(mode="json", exclude_none=True),
            "settings": settings,
            "created_at": self.created_at,
        }
        if counts is not None:
            out["counts"] = counts
        return out


#: The settings an annotator or a vendor's reviewer reads: what annotating needs, nothing that
#: describes gold or other workforces.
MEMBER_SETTINGS = ("instructions", "lease_seconds", "max_leases")


def from_row(row: Any) -> Project:
    return Project(
        id=int(row.id),
        org_id=int(row.org_id),
        name=row.name,
        description=row.description or "",
        schema=parse_schema(row.schema),
        settings=parse_settings(row.settings),
        raw_settings=dict(row.settings),
        created_at=row.created_at.isoformat(),
    )


def check_name(name: Any) -> str:
    """A project's name: a name (``limits.check_name``) of 1 to 200 characters, stripped."""
    return limits.check_name(name, where="name", max_len=200)


def create(
    hub: Assay,
    actor: Actor,
    *,
    name: Any,
    schema: Any,
    settings: Any = None,
    description: Any = "",
) -> Project:
    access.require(hub, actor, Role.MANAGER, action="project.create", object_type="project")
    name = check_name(name)
    if not isinstance(description, str):
        raise Invalid(
            "description: must be a string", errors=[{"loc": "description", "msg": "must be a string"}]
        )
    parsed_schema = parse_schema(schema)
    parsed_settings = parse_settings(settings or {})
    with hub.db.write() as conn:
        _check_models(conn, actor.org_id, parsed_schema)
        project_id = store.insert_project(
            conn,
            org_id=actor.org_id,
            name=name,
            description=description,
            schema=parsed_schema.model_dump(mode="json", exclude_none=True),
            settings=parsed_settings.model_dump(mode="json"),
            created_by=actor.user_id or None,  # the console operator is nobody in particular
        )
        row = store.get_project(conn, org_id=actor.org_id, project_id=project_id)
    return from_row(row)


def _check_models(conn: Any, org_id: int, schema: ProjectSchema) -> None:
    """A live chat question names model connections of the organisation: a typo is caught here,
    not by the first annotator who writes a turn."""
    from assay.storage import models as model_store

    for i, question in enumerate(schema.questions):
        if not isinstance(question, ChatQuestion):
            continue
        for j, name in enumerate(question.models):
            if model_store.get_connection(conn, org_id=org_id, name=name) is None:
                loc = f"questions[{i}].models[{j}]"
                msg = f"no model connection is called {name!r}; add it first (POST /api/v1/models)"
                raise Invalid(f"{loc}: {msg}", errors=[{"loc": loc, "msg": msg, "value": name}])


def get(hub: Assay, actor: Actor, project_id: int, *, action: str = "project.read") -> Project:
    """The project if the actor may see it; 404 (audited) otherwise, same as a missing one."""
    with hub.db.read() as conn:
        try:
            row = store.get_project(conn, org_id=actor.org_id, project_id=project_id)
        except NotFound as exc:
            raise access.not_found(
                hub, actor, exc, action=action, object_type="project", object_id=project_id
            ) from None
    if not access.can_see_project(actor, row.settings):
        raise access.not_found(
            hub,
            actor,
            NotFound(f"project {project_id} does not exist"),
            action=action,
            object_type="project",
            object_id=project_id,
        )
    return from_row(row)


def find(hub: Assay, actor: Actor, ref: str) -> Project:
    with hub.db.read() as conn:
        row = store.find_project(conn, org_id=actor.org_id, ref=ref)
    return get(hub, actor, int(row.id))


def list_for(hub: Assay, actor: Actor) -> list[Project]:
    with hub.db.read() as conn:
        rows = store.list_projects(conn, org_id=actor.org_id)
    return [from_row(r) for r in rows if access.can_see_project(actor, r.settings)]


def counts(hub: Assay, actor: Actor, project: Project) -> dict[str, int]:
    """The project's counts as the actor may read them.

    Everyone gets what is left for them (``left``, as `next` will serve it), their live leases and
    their answers.  Those who may know gold (``workforces.sees_gold``) also get the totals: items,
    gold, answers, complete.  An annotator's counts move the same way after a gold lease as after
    a normal one; a workforce given some batches counts only those, so the numbers do not tell how
    much exists in batches shared with others.
    """
    from assay.storage import progress
    from assay.storage.people import now
    from assay.workflows import workforces

    scope = access.batch_scope(actor, project.raw_settings)
    with hub.db.read() as conn:
        out = progress.left_for(
            conn,
            org_id=actor.org_id,
            project_id=project.id,
            user_id=actor.user_id,
            at=now(),
            only=scope.only,
            hidden=scope.hidden,
            with_gold=project.settings.gold_rate > 0,
        )
        if workforces.sees_gold(hub, actor):
            out.update(
                store.project_counts(
                    conn, org_id=actor.org_id, project_id=project.id, only=scope.only, hidden=scope.hidden
                )
            )
    return out


def view(hub: Assay, actor: Actor, project: Project, *, with_counts: bool = False) -> dict[str, Any]:
    """The project's public form for this actor (``Project.public`` with the right view)."""
    from assay.workflows import workforces

    full = workforces.sees_gold(hub, actor)
    return project.public(counts=counts(hub, actor, project) if with_counts else None, full=full)


def visible_item(hub: Assay, actor: Actor, item_id: int, *, action: str = "item.read") -> tuple[Any, Project]:
    """An item and its project, for reviewers and above who may see that project and the item's
    batch; 404 otherwise."""
    access.require(hub, actor, Role.REVIEWER, action=action, object_type="item", object_id=item_id)
    with hub.db.read() as conn:
        try:
            row = store.get_item(conn, org_id=actor.org_id, item_id=item_id)
        except NotFound as exc:
            raise access.not_found(
                hub, actor, exc, action=action, object_type="item", object_id=item_id
            ) from None
    try:
        project = get(hub, actor, int(row.project_id), action=action)
    except NotFound:
        raise NotFound(f"item {item_id} does not exist") from None
    if not access.batch_scope(actor, project.raw_settings).allows(row.batch):
        # A batch shared with other workforces is as invisible as a missing item.
        raise access.not_found(
            hub,
            actor,
            NotFound(f"item {item_id} does not exist"),
            action=action,
            object_type="item",
            object_id=item_id,
        )
    return row, project


def shared_item_ids(hub: Assay, actor: Actor, item_ids: list[int]) -> list[int]:
    """The items among ``item_ids`` whose batch the actor may see, in the same order: lists of items
    (the review queue) leave out batches shared with other workforces, as ``visible_item`` does."""
    if not item_ids or access.sees_every_batch(actor):
        return item_ids
    with hub.db.read() as conn:
        found = store.item_batches(conn, org_id=actor.org_id, item_ids=item_ids)
        scopes = {
            project_id: access.batch_scope(
                actor, store.get_project(conn, org_id=actor.org_id, project_id=project_id).settings
            )
            for project_id in {project_id for project_id, _ in found.values()}
        }
    return [i for i in item_ids if i in found and scopes[found[i][0]].allows(found[i][1])]
