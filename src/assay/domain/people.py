"""Who is calling: the authenticated actor every workflow receives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Role(IntEnum):
    """Roles, ordered so that ``role >= Role.MANAGER`` reads as "manager or above"."""

    ANNOTATOR = 1
    REVIEWER = 2
    MANAGER = 3
    OWNER = 4

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(r.name.lower() for r in cls)
            raise ValueError(f"unknown role {text!r}; choose one of {names}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


ROLE_NAMES = tuple(r.label for r in Role)
WORKFORCE_KINDS = ("in_house", "vendor")


@dataclass(frozen=True, slots=True)
class Actor:
    """A member of one organisation, acting through a token or a session."""

    user_id: int
    email: str
    name: str
    org_id: int
    org_slug: str
    membership_id: int
    role: Role
    workforce_id: int | None
    workforce_name: str | None
    skills: frozenset[str] = frozenset()
    token_id: int | None = None
    ip: str | None = None

    def at_least(self, role: Role) -> bool:
        return self.role >= role
