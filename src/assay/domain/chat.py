"""The rules of a live chat question (DESIGN §8), free of storage and of the network.

A conversation is a tree of *turns*.  A turn is a user message (written by the annotator, or fixed by
the item) and the *candidates* the server generated for it.  Each assignment judges the turns on its
path (prefers one candidate, or ranks them, may rewrite the chosen one and rate it); the next user
turn continues from the chosen or rewritten answer, and a second child of a turn is a branch.

Everything an annotator sends about a conversation is checked here against the tree the server
stored: candidate ids are the server's, a path follows parent links, and a turn the conversation
went on from keeps the judgement it was continued with.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from assay.domain.questions import ChatQuestion

MAX_TURN_CHARS = 20_000
"""The longest user turn or rewrite, in characters."""

TURN_BUDGET = 4
"""Turns an assignment may create, as a multiple of ``max_turns`` (retries and branches included):
every turn costs model calls, so an annotator cannot run up the organisation's bill without bound."""

TREE_KEY = "#chat"
"""Where the submit puts the assignment's tree in the data an answer is checked against (no input
name can start with ``#``)."""

_JUDGEMENT_KEYS = ("preferred", "strength", "ranking", "rewrite", "rating")


class ChatProblem(ValueError):
    """A judgement or a conversation that does not fit the tree: ``where`` is a path below it."""

    def __init__(self, msg: str, where: str = "") -> None:
        super().__init__(msg)
        self.msg = msg
        self.where = where


@dataclass(frozen=True)
class Candidate:
    id: int
    model: str
    content: str
    state: str  # pending | done | failed
    error: str | None = None


@dataclass(frozen=True)
class Turn:
    """One turn as one assignment sees it: candidates in the order shown to it, its judgement."""

    id: int
    parent: int | None
    content: str
    author: str  # human | item
    candidates: tuple[Candidate, ...]
    judgement: Mapping[str, Any] | None = None
    children: tuple[int, ...] = field(default=())

    @property
    def usable(self) -> bool:
        return bool(self.candidates) and all(c.state == "done" for c in self.candidates)

    def candidate(self, cid: Any) -> Candidate | None:
        for c in self.candidates:
            if c.id == cid:
                return c
        return None


def shown_order(ids: list[int], *, assignment_id: int, turn_id: int) -> list[int]:
    """The order one assignment is shown a turn's candidates: a shuffle fixed by (assignment, turn),
    so that a reload shows the same order and no model always sits on the left (position bias is
    measured against it)."""
    out = sorted(ids)
    random.Random(f"{assignment_id}:{turn_id}").shuffle(out)
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChatProblem(f"{what} must be non-empty text")
    if len(value) > MAX_TURN_CHARS:
        raise ChatProblem(f"{what} is {len(value)} characters long; the limit is {MAX_TURN_CHARS}")
    return value


def check_user_turn(content: Any) -> str:
    """A user turn's text, or ``ChatProblem``."""
    return _text(content, "content")


def check_judgement(question: ChatQuestion, turn: Turn, value: Any) -> dict[str, Any]:
    """The normalised judgement of ``turn`` (``preferred``/``strength`` or ``ranking``, then the
    optional ``rewrite`` and ``rating``), or ``ChatProblem`` naming the field."""
    if not isinstance(value, Mapping):
        raise ChatProblem("a judgement is an object with preferred (or ranking), and rewrite or rating")
    unknown = sorted(str(k) for k in value if k not in _JUDGEMENT_KEYS and k != "turn_id")
    if unknown:
        raise ChatProblem(f"unknown field; a judgement has {', '.join(_JUDGEMENT_KEYS)}", f".{unknown[0]}")
    if not turn.usable:
        raise ChatProblem(f"turn {turn.id} has no usable candidates (a model failed); retry it first")
    ids = [c.id for c in turn.candidates]
    listed = ", ".join(map(str, ids))
    out: dict[str, Any] = {}
    if question.judge == "preference":
        if "ranking" in value:
            raise ChatProblem("this question asks for a preference, not a ranking", ".ranking")
        preferred = value.get("preferred")
        if preferred == "tie":
            if not question.ties:
                raise ChatProblem("this question allows no ties", ".preferred")
            if value.get("strength") is not None:
                raise ChatProblem("a tie has no strength", ".strength")
            out["preferred"] = "tie"
        else:
            if not _is_int(preferred) or preferred not in ids:
                tie = ' or "tie"' if question.ties else ""
                raise ChatProblem(
                    f"{preferred!r} is not a candidate of turn {turn.id} (give one of {listed}{tie})",
                    ".preferred",
                )
            strength = value.get("strength", 1 if question.strengths == 1 else None)
            if not _is_int(strength) or not 1 <= strength <= question.strengths:
                raise ChatProblem(f"give a strength from 1 to {question.strengths}", ".strength")
            out["preferred"], out["strength"] = preferred, strength
    else:
        if "preferred" in value or "strength" in value:
            raise ChatProblem("this question asks for a ranking of the candidates", ".preferred")
        out["ranking"] = _ranking(value.get("ranking"), ids, ties=question.ties)
    rewrite = value.get("rewrite")
    if rewrite is not None:
        if not question.rewrite:
            raise ChatProblem("this question does not take rewrites", ".rewrite")
        out["rewrite"] = _text(rewrite, "rewrite")
    rating = value.get("rating")
    if question.rating is not None:
        low, high = question.rating.min, question.rating.max
        if rating is None and question.required:
            raise ChatProblem(f"give a rating from {low} to {high}", ".rating")
        if rating is not None:
            if not _is_int(rating) or not low <= rating <= high:
                raise ChatProblem(f"{rating!r} is not a point of the scale {low}..{high}", ".rating")
            out["rating"] = rating
    elif rating is not None:
        raise ChatProblem("this question takes no rating", ".rating")
    return out


def _ranking(value: Any, ids: list[int], *, ties: bool) -> list[list[int]]:
    if not isinstance(value, list) or not value:
        raise ChatProblem("give a ranking: a list of groups of candidate ids, best first", ".ranking")
    placed: set[int] = set()
    out: list[list[int]] = []
    for i, group in enumerate(value):
        members = [group] if _is_int(group) else group
        if not isinstance(members, list) or not members:
            raise ChatProblem("a group is a non-empty list of candidate ids", f".ranking[{i}]")
        if len(members) > 1 and not ties:
            raise ChatProblem("this question allows no ties: one candidate per place", f".ranking[{i}]")
        for cid in members:
            if not _is_int(cid) or cid not in ids:
                raise ChatProblem(f"{cid!r} is not a candidate of this turn", f".ranking[{i}]")
            if cid in placed:
                raise ChatProblem(f"candidate {cid} is ranked twice", f".ranking[{i}]")
            placed.add(cid)
        out.append(sorted(members, key=ids.index))
    missing = [str(c) for c in ids if c not in placed]
    if missing:
        raise ChatProblem(f"every candidate must be ranked; missing: {', '.join(missing)}", ".ranking")
    return out


def chosen(turn: Turn, judgement: Mapping[str, Any]) -> tuple[str, str, int | None]:
    """What the conversation continues with after ``turn``: (content, author, candidate id).  The
    rewrite when there is one (author ``human``), else the preferred or first-ranked candidate; on a
    tie, the candidate shown first."""
    best = best_candidate(turn, judgement)
    if judgement.get("rewrite") is not None:
        return str(judgement["rewrite"]), "human", best
    candidate = turn.candidate(best)
    assert candidate is not None
    return candidate.content, "model", best


def best_candidate(turn: Turn, judgement: Mapping[str, Any]) -> int:
    preferred = judgement.get("preferred")
    if isinstance(preferred, int) and not isinstance(preferred, bool):
        return preferred
    ranking = judgement.get("ranking")
    if ranking:
        return int(ranking[0][0])
    return turn.candidates[0].id


def path_to(tree: Mapping[int, Turn], turn_id: int) -> list[Turn]:
    """The turns from the first one down to ``turn_id``."""
    out: list[Turn] = []
    seen: set[int] = set()
    at: int | None = turn_id
    while at is not None:
        if at in seen or at not in tree:  # pragma: no cover - the store keeps parents acyclic
            raise ChatProblem(f"turn {at} is not part of this conversation")
        seen.add(at)
        out.append(tree[at])
        at = tree[at].parent
    out.reverse()
    return out


def history(
    question: ChatQuestion,
    tree: Mapping[int, Turn],
    parent: int | None,
    *,
    prefix: list[dict[str, str]] | None = None,
) -> list[dict[str, str]]:
    """The messages a model continues for a new user turn after ``parent``: the system prompt, the
    item's fixed turns (``prefix``), then each judged turn's user message and chosen answer.  The
    new user turn itself is appended by the caller."""
    messages: list[dict[str, str]] = []
    if question.system:
        messages.append({"role": "system", "content": question.system})
    messages.extend(prefix or [])
    if parent is None:
        return messages
    for turn in path_to(tree, parent):
        if turn.judgement is None:
            raise ChatProblem(f"judge turn {turn.id} before the conversation goes on from it")
        if turn.author != "item":  # the item's first turn is in the prefix already
            messages.append({"role": "user", "content": turn.content})
        messages.append({"role": "assistant", "content": chosen(turn, turn.judgement)[0]})
    return messages


def check_conversation(question: ChatQuestion, value: Any, tree: Mapping[int, Turn] | None) -> dict[str, Any]:
    """A submitted conversation ``{"turns": [{turn_id, ...judgement}, ...]}`` checked against the
    assignment's tree: the path from the first turn, each turn judged, and every turn the
    conversation went on from judged as it was continued.  Returns ``{"turns": [...]}`` normalised."""
    if tree is None:
        raise ChatProblem(
            "a conversation answer refers to candidates this server generated during a lease; "
            "it can only be given on the annotation screen or through the turns API"
        )
    if not isinstance(value, Mapping) or set(value) != {"turns"}:
        raise ChatProblem('a conversation answer is {"turns": [{"turn_id": ..., "preferred": ...}, ...]}')
    turns = value["turns"]
    if not isinstance(turns, list) or not turns:
        raise ChatProblem("give the judged turns of the conversation, first to last", ".turns")
    if len(turns) > question.max_turns:
        raise ChatProblem(f"{len(turns)} turns; this question allows {question.max_turns}", ".turns")
    out: list[dict[str, Any]] = []
    parent: int | None = None
    for i, given in enumerate(turns):
        where = f".turns[{i}]"
        turn_id = given.get("turn_id") if isinstance(given, Mapping) else None
        turn = tree.get(turn_id) if isinstance(turn_id, int) and not isinstance(turn_id, bool) else None
        if turn is None:
            raise ChatProblem(f"{turn_id!r} is not a turn of this assignment", f"{where}.turn_id")
        if turn.parent != parent:
            expected = "the first turn" if parent is None else f"a turn that follows turn {parent}"
            raise ChatProblem(f"turn {turn.id} is not {expected}", f"{where}.turn_id")
        try:
            judgement = check_judgement(question, turn, given)
        except ChatProblem as exc:
            raise ChatProblem(exc.msg, f"{where}{exc.where}") from None
        last = i == len(turns) - 1
        if not last and turn.judgement is not None and dict(turn.judgement) != judgement:
            raise ChatProblem(
                f"the conversation went on from turn {turn.id} as it was judged then; "
                "send that judgement, or branch from its parent",
                where,
            )
        out.append({"turn_id": turn.id, **judgement})
        parent = turn.id
    return {"turns": out}
