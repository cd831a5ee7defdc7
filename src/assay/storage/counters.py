"""The item counters, and the only code that writes them.

``items.claimed`` (live leases + answers), ``open`` (may be offered), ``settled`` (closed early by
adaptive overlap) and ``answered`` move here and nowhere else, so one rule keeps them consistent:

    open = claimed < cap and not settled and not waiting
        (cap: the overlap, or the gold cap for a gold item; waiting: its responses are not there yet)

Every statement re-derives ``open`` from that rule in the database, in the same UPDATE that moves
``claimed``, so concurrent writers never leave an item open past its cap or closed below it; a
settings change that moves a cap runs ``reconcile``, which re-derives it for the whole project.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from assay.storage.tables import items


def _cap(overlap: int, gold_cap: int) -> Any:
    return sa.case((items.c.is_gold, gold_cap), else_=overlap)


def open_rule(claimed: Any, cap: Any, *, settled: Any = None, waiting: Any = None) -> Any:
    """The rule above, as SQL over ``claimed`` (an expression: the counter after this statement's
    move) and ``cap``; ``settled`` and ``waiting`` override their columns when the same statement
    changes them.  Every writer of ``open`` uses this, the import's publication and generation too."""
    done = items.c.settled if settled is None else settled
    lacking = items.c.waiting if waiting is None else waiting
    return sa.and_(sa.not_(done), sa.not_(lacking), claimed < cap)


def claim(conn: Connection, *, item_id: int, overlap: int, gold_cap: int) -> bool:
    """Take one unit of an item's cap; False when another annotator took the last one.

    One statement for gold and normal items alike: a gold item counts its leases against the gold
    cap exactly as a normal item counts them against the overlap, so a gold lease does the same work
    as a normal one (its timing tells nothing) and a gold item is shown no more often than the cap
    says (its exposure tells nothing either, when the cap is the overlap).
    """
    cap = _cap(overlap, gold_cap)
    result = conn.execute(
        items.update()
        .where(
            items.c.id == item_id,
            items.c.claimed < cap,
            items.c.settled.is_(False),
            items.c.waiting.is_(False),
        )
        .values(claimed=items.c.claimed + 1, open=open_rule(items.c.claimed + 1, cap))
    )
    return result.rowcount == 1


def release(conn: Connection, *, item_id: int, overlap: int, gold_cap: int, count: int = 1) -> None:
    """Give back units of an item's cap (leases that expired or were skipped).  A settled item stays
    closed; the ``claimed >= count`` guard keeps the counter's CHECK constraint from ever refusing."""
    conn.execute(
        items.update()
        .where(items.c.id == item_id, items.c.claimed >= count)
        .values(
            claimed=items.c.claimed - count,
            open=open_rule(items.c.claimed - count, _cap(overlap, gold_cap)),
        )
    )


def delivered(conn: Connection, *, counts: Mapping[int, int], overlap: int, gold_cap: int) -> None:
    """Answers given outside assay (an imported delivery) stored for these items: ``counts`` maps
    item id → how many.  Each takes a unit of its item's cap and is an answer (``claimed`` and
    ``answered`` both move), exactly as a submitted answer has, so an item with its overlap of
    imported answers is offered to nobody.

    Unlike ``claim`` it cannot be refused: the answers exist already, and throwing them away because
    the item is full would lose the vendor's work.  ``open`` follows the same rule as everywhere
    (past the cap it stays closed).  One statement per chunk of items (executemany)."""
    _move_delivered(conn, counts=counts, overlap=overlap, gold_cap=gold_cap, sign=1)


def withdrawn(conn: Connection, *, counts: Mapping[int, int], overlap: int, gold_cap: int) -> None:
    """Delivered answers deleted again (an import undone after a failure): ``delivered`` reversed.
    Guarded like ``release``, so the counters' CHECK constraint never refuses."""
    _move_delivered(conn, counts=counts, overlap=overlap, gold_cap=gold_cap, sign=-1)


def _move_delivered(
    conn: Connection, *, counts: Mapping[int, int], overlap: int, gold_cap: int, sign: int
) -> None:
    if not counts:
        return
    n = sa.bindparam("n", type_=sa.Integer)
    cap = _cap(overlap, gold_cap)
    conn.execute(
        items.update()
        .where(items.c.id == sa.bindparam("item"), items.c.claimed + n >= 0, items.c.answered + n >= 0)
        .values(
            claimed=items.c.claimed + n,
            answered=items.c.answered + n,
            open=open_rule(items.c.claimed + n, cap),
        ),
        # In item order: two imports touching the same items lock them in the same order.
        [{"item": item_id, "n": sign * counts[item_id]} for item_id in sorted(counts)],
    )


def answered(conn: Connection, *, item_id: int) -> None:
    """One more answer stored for the item (its lease's unit of the cap was claimed already)."""
    conn.execute(items.update().where(items.c.id == item_id).values(answered=items.c.answered + 1))


def settle(conn: Connection, *, item_id: int) -> bool:
    """Close an item whose label is sure enough (adaptive overlap).  Guarded like ``claim``: only a
    normal item that is not settled yet moves, so concurrent submits settle it exactly once.
    ``claimed`` stays: live leases on it may still be submitted (their answers are kept), and an
    expiry or skip gives its unit back without reopening the item (``release``)."""
    result = conn.execute(
        items.update()
        .where(items.c.id == item_id, items.c.is_gold.is_(False), items.c.settled.is_(False))
        .values(settled=True, open=False)
    )
    return result.rowcount == 1


def reject(conn: Connection, *, org_id: int, item_id: int, overlap: int, gold_cap: int) -> bool:
    """A rejected answer's unit goes back: claimed - 1, and the item is offered again.

    An item closed early by adaptive overlap is unsettled too: the vote its confidence rested on no
    longer counts, so it must earn the target again (otherwise it would be offered but refused by
    every ``claim``).
    """
    result = conn.execute(
        items.update()
        .where(items.c.org_id == org_id, items.c.id == item_id, items.c.claimed > 0)
        .values(
            claimed=items.c.claimed - 1,
            settled=False,
            open=open_rule(items.c.claimed - 1, _cap(overlap, gold_cap), settled=sa.false()),
        )
    )
    return result.rowcount == 1


def make_gold(conn: Connection, *, org_id: int, item_id: int, gold: dict[str, Any], gold_cap: int) -> None:
    """Make an item gold.  Its counter keeps the leases and answers it already has (the people who
    saw it), and it stays open while they are under the project's gold cap."""
    conn.execute(
        items.update()
        .where(items.c.org_id == org_id, items.c.id == item_id)
        .values(
            gold=gold,
            is_gold=True,
            open=open_rule(items.c.claimed, gold_cap, settled=sa.false()),
            settled=False,
        )
    )


def reconcile(
    conn: Connection, *, org_id: int, project_id: int, overlap: int, gold_cap: int, unsettle: bool
) -> int:
    """Re-derive every item's ``open`` under the project's (new) caps; ``unsettle`` first reopens
    the items adaptive overlap settled (their target changed: the next quality refresh settles
    again those sure enough under the new one).  Returns how many items changed."""
    wanted = open_rule(items.c.claimed, _cap(overlap, gold_cap), settled=sa.false() if unsettle else None)
    values: dict[str, Any] = {"open": wanted}
    if unsettle:
        values["settled"] = False
    differs = (
        sa.or_(items.c.open != wanted, items.c.settled.is_(True)) if unsettle else items.c.open != wanted
    )
    result = conn.execute(
        items.update()
        .where(items.c.org_id == org_id, items.c.project_id == project_id, differs)
        .values(**values)
    )
    return int(result.rowcount)
