"""Run one assay aggregator on a task,worker,label CSV; print wall seconds (read + fit) and accuracy.

The counterpart of ../shared/bench/crowdkit_run.py, with the same output line, so both can be
measured the same way (one fresh process each, under /usr/bin/time -v).
"""

from __future__ import annotations

import sys
import time

from assay.quality import Answers, accuracy, make, read_gold

method, path = sys.argv[1], sys.argv[2]
t0 = time.perf_counter()
answers = Answers.read(path)
model = make(method).fit(answers)
secs = time.perf_counter() - t0
acc = ""
if len(sys.argv) > 3:
    result = accuracy(model, read_gold(sys.argv[3]))
    acc = f" accuracy {result.value:.4f} (n={result.n})"
print(f"{method}: {secs:.3f} s{acc}")
