"""Nothing talks to the database on the event loop: a query there (an audit row for a denial, a
session lookup) stops every other request of the process while it runs.  Every route is called as
a manager, an annotator and nobody, and no transaction may begin on the event loop's thread."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event

from tests.security.cells import app_routes, build_call, send
from tests.security.conftest import World


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_no_route_touches_the_database_on_the_event_loop(world: World) -> None:
    offending: list[str] = []
    current: list[str] = [""]

    def begin(_conn: Any) -> None:
        if _on_event_loop():
            offending.append(current[0])

    engines = {world.hub.db.read_engine, world.hub.db.write_engine}
    for engine in engines:
        event.listen(engine, "begin", begin)
    try:
        for method, path in app_routes(world.app):
            for actor in ("manager", "annotator_a", "anonymous"):
                for obj in ("own", "other_org") if "{" in path else ("own",):
                    call = build_call(world, method, path, actor, obj)
                    current[0] = f"{method} {path} as {actor} on {obj}"
                    send(world, call)
    finally:
        for engine in engines:
            event.remove(engine, "begin", begin)
    assert not offending, "\n".join(sorted(set(offending)))
