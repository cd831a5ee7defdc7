"""Factories: organisations, members with tokens, projects with items."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from assay.app import Assay
from assay.domain.people import Actor
from assay.security import hash_token
from assay.storage import people
from assay.workflows import admin

_seq = itertools.count(1)

TEXT_SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "text", "kind": "text"}],
    "questions": [{"name": "sentiment", "kind": "choice", "options": ["positive", "neutral", "negative"]}],
}

PREFERENCE_SCHEMA: dict[str, Any] = {
    "inputs": [{"name": "prompt", "kind": "text"}, {"name": "responses", "kind": "responses"}],
    "questions": [
        {"name": "overall", "kind": "preference", "scale": {"min": -3, "max": 3}},
        {"name": "helpful", "kind": "rating", "scale": {"min": 1, "max": 7}},
        {"name": "why", "kind": "text", "required": False},
    ],
}


@dataclass(frozen=True)
class Member:
    email: str
    token: str
    role: str
    workforce: str | None
    org: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def actor(self, hub: Assay) -> Actor:
        with hub.db.read() as conn:
            found = people.actor_for_token(conn, token_hash=hash_token(self.token))
        assert found is not None
        return found


def make_org(hub: Assay, slug: str | None = None) -> str:
    slug = slug or f"org-{next(_seq)}"
    admin.create_org(hub, slug=slug, name=slug.title())
    return slug


def make_member(
    hub: Assay, org: str, *, role: str = "annotator", workforce: str | None = None, vendor: bool = False
) -> Member:
    email = f"{role}{next(_seq)}@{org}.example"
    admin.create_user(
        hub,
        org=org,
        email=email,
        role=role,
        workforce=workforce,
        workforce_kind="vendor" if vendor else "in_house",
    )
    return Member(
        email=email,
        token=admin.create_token(hub, org=org, email=email),
        role=role,
        workforce=workforce,
        org=org,
    )


def text_items(n: int, *, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"data": {"text": f"message number {i}"}, "external_id": f"x-{i}"} for i in range(start, start + n)
    ]


def preference_items(n: int) -> list[dict[str, Any]]:
    return [
        {
            "data": {
                "prompt": f"question {i}",
                "responses": [
                    {"id": "a", "content": f"answer a{i}", "model": "m1"},
                    {"id": "b", "content": f"answer b{i}", "model": "m2"},
                ],
            },
            "external_id": f"p-{i}",
        }
        for i in range(n)
    ]
