"""The export filters as plain data: what each one keeps and where it applies.

No pydantic here: ``assay export --help`` shows these texts without loading the models (the CLI's
help stays light).  ``assay.domain.exports.ExportFilters`` declares the same filters' types and
bounds and takes its descriptions from here.
"""

from __future__ import annotations

__all__ = ["APPLIES_TO", "HELP", "REVIEWED", "TIES"]

TIES = ("drop", "keep")
# The verdicts that make an answer "reviewed": a reviewer accepted it as it is, or corrected it.
REVIEWED = frozenset({"accept", "fix"})

HELP = {
    "min_answers": "dpo, sft: keep a row only when its question has at least this many answers on the "
    "item (rejected answers do not count).",
    "min_confidence": "dpo: keep a pair only when the confidence of its label is at least this (0 to 1).",
    "reviewed_only": "Use only answers a reviewer accepted or fixed: labels, pairs and rows come from "
    "them alone.",
    "ties": "dpo: drop ties and split decisions (drop, the default) or keep them as rows marked "
    "tie: true with margin 0.",
}

# Where each filter means something: a raw export (jsonl, csv, parquet) holds every item and every
# answer, so only the choice of answers (reviewed_only) applies to it.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "min_answers": ("dpo", "sft"),
    "min_confidence": ("dpo",),
    "reviewed_only": ("jsonl", "csv", "parquet", "dpo", "sft"),
    "ties": ("dpo",),
}
