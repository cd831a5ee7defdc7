"""Model connections, and the item reads and writes of response generation.

Every statement is scoped by organisation.  The sealed API key is read only by ``sealed_key``, for
the one call that needs it; every other read leaves the column out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage import counters
from assay.storage.projects import live
from assay.storage.tables import items, model_connections

_PUBLIC = [c for c in model_connections.c if c.name != "api_key"]


def list_connections(conn: Connection, *, org_id: int) -> list[sa.Row[Any]]:
    has_key = model_connections.c.api_key.is_not(None).label("has_key")
    return list(
        conn.execute(
            sa.select(*_PUBLIC, has_key)
            .where(model_connections.c.org_id == org_id)
            .order_by(model_connections.c.name)
        )
    )


def get_connection(
    conn: Connection, *, org_id: int, connection_id: int | None = None, name: str | None = None
) -> sa.Row[Any] | None:
    has_key = model_connections.c.api_key.is_not(None).label("has_key")
    query = sa.select(*_PUBLIC, has_key).where(model_connections.c.org_id == org_id)
    if connection_id is not None:
        query = query.where(model_connections.c.id == connection_id)
    if name is not None:
        query = query.where(model_connections.c.name == name)
    return cast("sa.Row[Any] | None", conn.execute(query).first())


def sealed_key(conn: Connection, *, org_id: int, connection_id: int) -> str | None:
    return conn.execute(
        sa.select(model_connections.c.api_key).where(
            model_connections.c.org_id == org_id, model_connections.c.id == connection_id
        )
    ).scalar_one_or_none()


def insert_connection(conn: Connection, *, values: dict[str, Any]) -> int | None:
    """The new connection's id, or None when the organisation has one of that name already."""
    taken = conn.execute(
        sa.select(model_connections.c.id).where(
            model_connections.c.org_id == values["org_id"], model_connections.c.name == values["name"]
        )
    ).first()
    if taken is not None:
        return None
    inserted = conn.execute(model_connections.insert().values(**values).returning(model_connections.c.id))
    return int(inserted.one().id)


def delete_connection(conn: Connection, *, org_id: int, connection_id: int) -> bool:
    gone = conn.execute(
        model_connections.delete().where(
            model_connections.c.org_id == org_id, model_connections.c.id == connection_id
        )
    )
    return gone.rowcount == 1


# --- generation -------------------------------------------------------------------------------------


def waiting_count(conn: Connection, *, org_id: int, project_id: int) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(
                items.c.org_id == org_id, items.c.project_id == project_id, items.c.waiting.is_(True), live()
            )
        ).scalar_one()
    )


def waiting_page(
    conn: Connection, *, org_id: int, project_id: int, after: int, limit: int
) -> list[sa.Row[Any]]:
    """The next items (by id, after ``after``) still waiting for their responses."""
    return list(
        conn.execute(
            sa.select(items.c.id, items.c.data, items.c.external_id)
            .where(
                items.c.org_id == org_id,
                items.c.project_id == project_id,
                items.c.waiting.is_(True),
                items.c.id > after,
                live(),
            )
            .order_by(items.c.id)
            .limit(limit)
        )
    )


def fill_responses(
    conn: Connection,
    *,
    org_id: int,
    rows: Sequence[dict[str, Any]],
    overlap: int,
    gold_cap: int,
) -> int:
    """Store generated responses: each row ``{"item": id, "data": new data, "waiting": bool}``.

    Only an item that is still waiting moves (nobody can have been shown it: a waiting item is never
    offered), and ``open`` follows the counters' rule in the same statement.  How many moved."""
    if not rows:
        return 0
    cap = sa.case((items.c.is_gold, gold_cap), else_=overlap)
    still = sa.bindparam("still", type_=sa.Boolean)
    result = conn.execute(
        items.update()
        .where(
            items.c.org_id == org_id,
            items.c.id == sa.bindparam("item"),
            items.c.waiting.is_(True),
            items.c.claimed == 0,
        )
        .values(
            data=sa.bindparam("new_data", type_=items.c.data.type),
            waiting=still,
            open=counters.open_rule(items.c.claimed, cap, waiting=still),
        ),
        [{"item": r["item"], "new_data": r["data"], "still": r["waiting"]} for r in sorted(rows, key=_item)],
    )
    return int(result.rowcount or 0)


def _item(row: dict[str, Any]) -> int:
    return int(row["item"])
