"""Items checked per second by the import's item checker (``assay.domain.schema.ItemChecker``).

    python bench/schema_check.py              # 1,000,000 simple items (text input, one choice question)
    python bench/schema_check.py --items 200000

Performance is shown here, not asserted in tests.  Records are built before the clock starts;
the figure is the best of ``--repeat`` passes, so a busy machine shows less of its noise.
"""

from __future__ import annotations

import argparse
import time

from assay.domain.schema import ItemChecker, parse_schema


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    schema = parse_schema(
        {
            "inputs": [{"name": "text", "kind": "text"}],
            "questions": [{"name": "s", "kind": "choice", "options": ["a", "b"]}],
        }
    )
    records = [{"data": {"text": f"item {i}"}} for i in range(args.items)]
    check = ItemChecker(schema).check
    best = float("inf")
    for _ in range(max(args.repeat, 1)):
        start = time.perf_counter()
        for rec in records:
            check(rec)
        best = min(best, time.perf_counter() - start)
    print(f"{args.items:,} items in {best:.2f} s: {args.items / best:,.0f} items/s")


if __name__ == "__main__":
    main()
