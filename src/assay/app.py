"""The hub: one object that the API, the pages, the CLI, the library and the tests go through."""

from __future__ import annotations

import random

from assay.settings import Config
from assay.storage import migrate
from assay.storage.engine import Database
from assay.throttle import Throttle


class Assay:
    """Holds the configuration and the database; workflows take it as their first argument."""

    def __init__(
        self, config: Config | None = None, *, db: Database | None = None, rng: random.Random | None = None
    ) -> None:
        self.config = config or Config.from_env()
        self.db = db or Database(self.config.url)
        # Draws that must not be predictable by annotators (gold mixing, shuffles); tests pass a seeded one.
        self.rng = rng or random.Random()
        # What one client can make this process do when it is refused (failed sign-ins by
        # address, denial audit rows per client).
        self.throttle = Throttle()

    def migrate(self) -> None:
        migrate.upgrade(self.db)

    def close(self) -> None:
        self.db.dispose()

    def __enter__(self) -> Assay:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
