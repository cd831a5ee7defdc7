"""Quality figures of a live chat question, from the submitted conversations.

Each conversation is one annotator's path through their own tree, so most turns are judged once.
What can be compared is compared:

* agreement per turn, on turns several annotators judged (the item's shared first turn): the share
  of annotator pairs giving the same verdict (the same preferred candidate, or both a tie; for a
  ranking, the same first candidate), with a Wilson 95% interval, and the same without the pairs
  where either called a tie;
* position bias: of the judgements that preferred a candidate, the share that preferred the one
  shown first, against the 1/k an order-blind judge gives (the order is a fixed shuffle per
  assignment and turn), with an exact binomial test;
* how often each model's candidate was preferred when shown, rewrites, and what the models cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from itertools import combinations
from typing import Any

from assay.quality.gold import proportion

__all__ = ["chat_summary"]


def _prop(k: int, n: int) -> dict[str, Any]:
    p = proportion(k=k, n=n)
    return {"value": p.value if n else None, "low": p.low, "high": p.high, "n": n}


def _verdict(judged: Mapping[str, Any]) -> Any:
    preferred = judged.get("preferred")
    if preferred is not None:
        return preferred
    ranking = judged.get("ranking") or []
    if len(ranking) == 1:
        return "tie"
    return ranking[0][0] if len(ranking[0]) == 1 else "tie"


def chat_summary(
    conversations: Sequence[tuple[str, Mapping[str, Any], Sequence[Mapping[str, Any]]]],
) -> dict[str, Any]:
    """``conversations``: (annotator, submitted answer ``{"turns": [...]}``, the assignment's tree as
    the exports hold it).  The figures of the module docstring."""
    by_turn: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    first_k = first_n = 0
    shown_counts: dict[str, int] = defaultdict(int)
    won: dict[str, int] = defaultdict(int)
    judged_turns = rewrites = 0
    cost = 0.0
    priced = False
    tokens_in = tokens_out = 0
    k_candidates: set[int] = set()
    for annotator, answer, tree in conversations:
        turns = {t["turn_id"]: t for t in tree}
        for node in tree:
            for c in node.get("candidates") or []:
                if node.get("author") == "item":
                    continue  # the item's shared turn is counted once below
                if c.get("cost") is not None:
                    cost += float(c["cost"])
                    priced = True
                tokens_in += int(c.get("tokens_in") or 0)
                tokens_out += int(c.get("tokens_out") or 0)
        for judged in answer.get("turns") or []:
            found = turns.get(judged.get("turn_id"))
            if found is None:
                continue
            turn = found
            judged_turns += 1
            rewrites += judged.get("rewrite") is not None
            verdict = _verdict(judged)
            by_turn[int(turn["turn_id"])].append((annotator, verdict))
            candidates = turn.get("candidates") or []
            k_candidates.add(len(candidates))
            for c in candidates:
                shown_counts[c["model"]] += 1
            if verdict != "tie" and candidates:
                first_n += 1
                first_k += int(candidates[0]["id"] == verdict)
                model = next((c["model"] for c in candidates if c["id"] == verdict), None)
                if model is not None:
                    won[model] += 1
    shared = {t: v for t, v in by_turn.items() if len({a for a, _ in v}) > 1}
    same = pairs = same_decided = decided = 0
    for verdicts in shared.values():
        for (_, left), (_, right) in combinations(verdicts, 2):
            pairs += 1
            same += int(left == right)
            if "tie" not in (left, right):
                decided += 1
                same_decided += int(left == right)
    shared_cost = 0.0
    seen_shared: set[int] = set()
    for _, _, tree in conversations:
        for turn in tree:
            if turn.get("author") == "item" and turn["turn_id"] not in seen_shared:
                seen_shared.add(turn["turn_id"])
                for c in turn.get("candidates") or []:
                    if c.get("cost") is not None:
                        shared_cost += float(c["cost"])
                        priced = True
                    tokens_in += int(c.get("tokens_in") or 0)
                    tokens_out += int(c.get("tokens_out") or 0)
    expected = 1 / min(k_candidates) if len(k_candidates) == 1 and min(k_candidates) else None
    bias: dict[str, Any] = {"first_preferred": _prop(first_k, first_n), "expected": expected, "p_value": None}
    if first_n and expected is not None:
        from scipy.stats import binomtest  # imported here: keeps `import assay.quality` light

        bias["p_value"] = float(binomtest(first_k, first_n, expected).pvalue)
    total = cost + shared_cost
    return {
        "conversations": len(conversations),
        "judged_turns": judged_turns,
        "rewrites": rewrites,
        "shared_turns": len(shared),
        "pairs_compared": pairs,
        "agreement": _prop(same, pairs),
        "agreement_without_ties": _prop(same_decided, decided),
        "position_bias": bias,
        "models": {
            m: {"shown": shown_counts[m], "preferred": won[m], "win_rate": won[m] / shown_counts[m]}
            for m in sorted(shown_counts)
        },
        "model_cost": round(total, 8) if priced else None,
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
    }
