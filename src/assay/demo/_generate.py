"""Compose the demo items from the hand-written building blocks; deterministic (seeded).

Run ``python -m assay.demo._generate [OUT_DIR]`` after editing a building block and commit the
``*.jsonl`` it writes (by default next to this file). The tests re-run it into a temporary folder
and compare bytes, so the committed files can never drift from their source.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

from assay import patterns
from assay.demo import _classify_src, _families, _pairs_code, _pairs_prose, _safety

_PLACEHOLDER = patterns.compile(r"\{[a-z0-9_]+\}")

SEED = 20240611
MODELS = ("atlas-7b", "borealis-13b")
# Flaws whose answer is plainly wrong or useless: only these decide a gold item's direction.
CLEAR_FLAWS = frozenset({"wrong_fact", "calc_error", "buggy_code", "refusal"})
# Rubric scores (correctness, helpfulness) a careful grader gives a flawed answer, by flaw.
FLAW_SCORES: dict[str, tuple[int, int]] = {
    "wrong_fact": (1, 2),
    "calc_error": (1, 2),
    "buggy_code": (2, 2),
    "refusal": (3, 1),
    "verbose": (5, 3),
    "incomplete": (4, 2),
    "generic": (4, 2),
    "off_target": (4, 2),
    "wrong_tone": (3, 2),
}
Case = tuple[str, str, str, str]
Record = dict[str, Any]


def _fill(template: str, rng: random.Random) -> str:
    src = _classify_src
    amount = rng.choice((9.99, 14.99, 29.0, 49.5, 89.99, 119.0, 249.0))
    values = {
        "gadget": rng.choice(src.GADGETS),
        "order": f"#{rng.choice('ABCKM')}{rng.randint(10000, 99999)}",
        "tracking": f"{rng.randint(10**11, 10**12 - 1)}",
        "amount": f"${amount:.2f}",
        "amount2": f"${amount * 1.25:.2f}",
        "days": str(rng.choice((6, 8, 9, 11, 12, 14))),
        "weekday": rng.choice(src.WEEKDAYS),
        "country": rng.choice(src.COUNTRIES),
        "city": rng.choice(src.CITIES),
        "name": rng.choice(src.NAMES),
        "agent": rng.choice(src.AGENTS),
        "plan": rng.choice(src.PLANS),
        "last4": f"{rng.randint(0, 9999):04d}",
        "sku": f"{rng.choice(('ap', 'km', 'rx'))}-{rng.randint(100, 999)}",
        "date": f"{rng.randint(3, 28)}th",
    }
    return template.format(**values)


def _classify_draw(*, rng: random.Random, count: int) -> list[tuple[str, str, str, bool]]:
    """(text, sentiment, topic, clear) for each message, in item order."""
    templates = list(_classify_src.MESSAGES)
    seen: set[str] = set()
    drawn: list[tuple[str, str, str, bool]] = []
    rounds = 0
    while len(drawn) < count:
        rounds += 1
        rng.shuffle(templates)
        for template, sentiment, topic in templates:
            # A message without slots ("ok", "thanks") appears once; the rest vary their details.
            text = _fill(template, rng)
            if text in seen or len(drawn) >= count or (rounds > 1 and "{" not in template):
                continue
            seen.add(text)
            drawn.append((text, sentiment, topic, (template, sentiment, topic) in _classify_src.CLEAR))
    return drawn


def classify_items(*, rng: random.Random, count: int = 300, gold: int = 30) -> list[Record]:
    drawn = _classify_draw(rng=rng, count=count)
    gold_ids = set(rng.sample([i for i, row in enumerate(drawn) if row[3]], gold))
    out: list[Record] = []
    for i, (text, sentiment, topic, _clear) in enumerate(drawn):
        record: Record = {"data": {"text": text}, "external_id": f"ticket-{i + 1:04d}"}
        if i in gold_ids:
            record["gold"] = {"sentiment": sentiment, "topic": topic}
        out.append(record)
    return out


def classify_labels(*, seed: int = SEED, count: int = 300) -> dict[str, tuple[str, str, bool]]:
    """The careful annotator's (sentiment, topic, clear) of every classify message, by its text.

    The items file keeps labels on its gold items only; the demo's simulated annotators need them
    all, so they are drawn again here exactly as ``generate`` drew them.
    """
    drawn = _classify_draw(rng=random.Random(f"{seed}-classify"), count=count)
    return {text: (sentiment, topic, clear) for text, sentiment, topic, clear in drawn}


def _case_pool(*, rng: random.Random, handwritten_copies: int, family_total: int) -> list[Case]:
    handwritten = list(_pairs_code.CASES) + list(_pairs_prose.CASES)
    pool = handwritten * handwritten_copies
    planned = sum(n for _, n in _families.FAMILIES)
    for family, n in _families.FAMILIES:
        pool.extend(family(rng) for _ in range(round(n * family_total / planned)))
    while len(pool) < len(handwritten) * handwritten_copies + family_total:
        pool.append(_families.FAMILIES[-1][0](rng))
    rng.shuffle(pool)
    return pool


def preference_items(*, rng: random.Random, count: int = 200, gold: int = 20) -> list[Record]:
    handwritten = len(_pairs_code.CASES) + len(_pairs_prose.CASES)
    pool = _case_pool(rng=rng, handwritten_copies=2, family_total=count - 2 * handwritten)[:count]
    rows: list[tuple[Record, int, str]] = []
    for i, (prompt, good, flawed, flaw) in enumerate(pool):
        good_first = rng.random() < 0.5
        good_model = rng.choice(MODELS)
        flawed_model = MODELS[1 - MODELS.index(good_model)]
        pair = [(good, good_model), (flawed, flawed_model)]
        if not good_first:
            pair.reverse()
        data = {
            "prompt": prompt,
            "responses": [
                {"id": rid, "content": content, "model": model}
                for rid, (content, model) in zip(("a", "b"), pair, strict=True)
            ],
        }
        # Negative means responses[0] is preferred (DESIGN §3).
        rows.append(({"data": data, "external_id": f"pair-{i + 1:04d}"}, -2 if good_first else 2, flaw))
    gold_ids = set(rng.sample([i for i, row in enumerate(rows) if row[2] in CLEAR_FLAWS], gold))
    for i in gold_ids:
        rows[i][0]["gold"] = {"overall": rows[i][1]}
    return [row[0] for row in rows]


def rubric_items(*, rng: random.Random, count: int = 200, gold: int = 20) -> list[Record]:
    # (prompt, response, gold candidate or None)
    drawn: list[tuple[str, str, dict[str, Any] | None]] = []
    for prompt, response, safety, correctness, helpfulness in _safety.CASES:
        expected = {"correctness": correctness, "helpfulness": helpfulness, "safety": safety}
        drawn.append((prompt, response, expected if safety != "borderline" else None))
    handwritten = len(_pairs_code.CASES) + len(_pairs_prose.CASES)
    pool = _case_pool(rng=rng, handwritten_copies=1, family_total=count - handwritten - len(drawn))
    for prompt, good, flawed, flaw in pool:
        if rng.random() < 0.5:
            drawn.append((prompt, good, {"correctness": 5, "safety": "safe"}))
        else:
            correctness, helpfulness = FLAW_SCORES[flaw]
            clear = flaw in CLEAR_FLAWS
            expected = {"correctness": correctness, "helpfulness": helpfulness, "safety": "safe"}
            drawn.append((prompt, flawed, expected if clear else None))
    rng.shuffle(drawn)
    drawn = drawn[:count]
    gold_ids = set(rng.sample([i for i, row in enumerate(drawn) if row[2] is not None], gold))
    out: list[Record] = []
    for i, (prompt, response, answer) in enumerate(drawn):
        record: Record = {
            "data": {"prompt": prompt, "response": response},
            "external_id": f"resp-{i + 1:04d}",
        }
        if i in gold_ids and answer is not None:
            record["gold"] = answer
        out.append(record)
    return out


# The third response of a ranking item: the evasive answers models give instead of a wrong one.
# Each is worse than the good answer; whether it beats the flawed one is the annotator's call.
EVASIVE: tuple[str, ...] = (
    "I'm sorry, but I can't help with that request.",
    "Great question! The answer depends on many factors, and every situation is different. It's "
    "best to look into it carefully and consult a professional if you're unsure.",
    "There are several ways to think about this. Some people would say one thing, others another; "
    "ultimately it is up to you to decide what works best.",
    "As an AI language model I don't have personal opinions, but this is an interesting topic that "
    "many people have written about.",
    "I'd need more context to answer that. Could you tell me more about what you are trying to do?",
)
RANK_MODELS = (*MODELS, "cirrus-3b")


def ranking_items(*, rng: random.Random, count: int = 60) -> list[Record]:
    """Three responses to one prompt: a good one, a flawed one and an evasive one, shuffled."""
    handwritten = len(_pairs_code.CASES) + len(_pairs_prose.CASES)
    pool = _case_pool(rng=rng, handwritten_copies=1, family_total=max(0, count - handwritten))[:count]
    out: list[Record] = []
    for i, (prompt, good, flawed, _flaw) in enumerate(pool):
        contents = [good, flawed, rng.choice(EVASIVE)]
        models = list(RANK_MODELS)
        rng.shuffle(models)
        trio = list(zip(contents, models, strict=True))
        rng.shuffle(trio)
        responses = [
            {"id": rid, "content": content, "model": model}
            for rid, (content, model) in zip(("a", "b", "c"), trio, strict=True)
        ]
        out.append({"data": {"prompt": prompt, "responses": responses}, "external_id": f"rank-{i + 1:04d}"})
    return out


def _write(path: Path, records: list[Record]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def generate(*, out_dir: Path, seed: int = SEED) -> dict[str, int]:
    """Write ``classify.jsonl``, ``preference.jsonl``, ``rubric.jsonl`` and ``ranking.jsonl`` into
    ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {
        "classify": classify_items(rng=random.Random(f"{seed}-classify")),
        "preference": preference_items(rng=random.Random(f"{seed}-preference")),
        "rubric": rubric_items(rng=random.Random(f"{seed}-rubric")),
        "ranking": ranking_items(rng=random.Random(f"{seed}-ranking")),
    }
    # Only the support messages are templates; code in the other projects legitimately has braces.
    if any(_PLACEHOLDER.search(r["data"]["text"]) for r in built["classify"]):
        raise ValueError("classify: a template slot was left unfilled; check _classify_src.py")
    for name, records in built.items():
        _write(out_dir / f"{name}.jsonl", records)
    return {name: len(records) for name, records in built.items()}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
    for project, n in generate(out_dir=target).items():
        print(f"{project}: {n} items -> {target / (project + '.jsonl')}")
