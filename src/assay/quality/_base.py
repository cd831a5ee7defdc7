"""What every categorical aggregator shares: the result surface and the vectorised building blocks.

The workhorse is the incidence matrix ``A`` (tasks x (worker, label) pairs, one count per answer):
an E-step is ``A @ log_confusion`` and an M-step is ``A.T @ posteriors``.  Both are sparse
products whose cost is linear in the number of answers, with no Python loop over answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Self

import numpy as np
import scipy.sparse as sp

from assay.quality._types import BoolArray, FloatArray, IntArray
from assay.quality.answers import Answers

EPS = 1e-10
#: Posteriors closer than this to a task's best are a tie (row order shifts sums by a few ulps).
TIE_TOL = 1e-9


class Aggregator:
    """Base class: ``fit(answers) -> self``; results in ``labels_``, ``probas_``, ``loss_history_``.

    ``labels_[t]`` is the label code chosen for task code ``t`` and ``probas_[t, k]`` the
    posterior probability of label ``k``.  A tie goes to the label given most often over all
    answers, which does not depend on how labels are named or ordered; only labels given equally
    often fall back to code-book order (see :func:`choose`).
    """

    labels_: IntArray
    probas_: FloatArray
    loss_history_: list[float]
    answers_: Answers
    #: Called after each EM iteration with (iteration, loss); the CLI uses it to show progress.
    on_iteration: Callable[[int, float], None] | None = None

    def _report(self, history: list[float]) -> None:
        if self.on_iteration is not None:
            self.on_iteration(len(history), history[-1])

    def fit(self, answers: Answers) -> Self:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def _finish(self, answers: Answers, probas: FloatArray) -> None:
        self.answers_ = answers
        self.probas_ = probas
        self.labels_ = choose(probas, answers)

    @property
    def confidence_(self) -> FloatArray:
        """Posterior probability of the chosen label, per task code."""
        return self.probas_[np.arange(len(self.labels_)), self.labels_]

    def label_map(self) -> dict[Any, Any]:
        """``{original task id: chosen label}``."""
        tasks = self.answers_.tasks.tolist()
        names = self.answers_.labels[self.labels_].tolist()
        return dict(zip(tasks, names, strict=True))

    def rows(self) -> Iterator[tuple[Any, Any, float]]:
        """``(task, label, confidence)`` per task, in code-book order."""
        tasks = self.answers_.tasks.tolist()
        names = self.answers_.labels[self.labels_].tolist()
        yield from zip(tasks, names, self.confidence_.tolist(), strict=True)


def choose(probas: FloatArray, answers: Answers) -> IntArray:
    """Per task, the label with the highest posterior; ties go to the most frequent label overall.

    Breaking ties by code (``argmax``) would make the result depend on the label names, and for
    Wawa that leaks into every worker's weight.  A label's total count is the same however labels
    are named, so it decides; labels given equally often are the one tie no invariant rule can
    break, and they go to code-book order.
    """
    total = np.bincount(answers.label, minlength=answers.n_labels).astype(np.float64)
    tied = probas >= probas.max(axis=1, keepdims=True) - TIE_TOL
    # Among the tied labels the most frequent wins; argmax then takes the lowest code.
    score = np.where(tied, total[None, :], -1.0)
    out: IntArray = np.argmax(score, axis=1).astype(np.intp)
    return out


def unresolved_ties(probas: FloatArray, answers: Answers) -> BoolArray:
    """Tasks whose best labels tie and were given equally often: code-book order decided them."""
    total = np.bincount(answers.label, minlength=answers.n_labels)
    tied = probas >= probas.max(axis=1, keepdims=True) - TIE_TOL
    best = np.where(tied, total[None, :], -1).max(axis=1, keepdims=True)
    out: BoolArray = np.count_nonzero(tied & (total[None, :] == best), axis=1) > 1
    return out


def vote_counts(answers: Answers, weights: FloatArray | None = None) -> FloatArray:
    """Votes per (task, label): a dense ``n_tasks x n_labels`` array, by one bincount."""
    k = answers.n_labels
    flat = np.bincount(answers.task * k + answers.label, weights=weights, minlength=answers.n_tasks * k)
    return flat.reshape(answers.n_tasks, k).astype(np.float64)


def normalise_rows(counts: FloatArray) -> FloatArray:
    """Rows scaled to sum to one; an all-zero row (a task with no vote) becomes uniform."""
    total = counts.sum(axis=1, keepdims=True)
    out: FloatArray = np.divide(
        counts, total, out=np.full_like(counts, 1.0 / counts.shape[1]), where=total > 0
    )
    return out


def incidence(answers: Answers) -> tuple[sp.csr_matrix, sp.csc_matrix]:
    """``A`` (tasks x worker*K+label, repeated answers summed) as CSR, and its transpose.

    Built from int32 (row, column) pairs by SciPy's counting sort into CSR, which is linear: sorting
    the answers by task first cost a quarter of a Dawid-Skene fit on a million answers, for the
    same peak memory.  The transpose is a CSC view of the same arrays, so it costs nothing and
    ``A.T @ posteriors`` is as fast as with a converted copy.
    """
    k = answers.n_labels
    index_type = np.int32 if answers.n_workers * k < 2**31 and len(answers) < 2**31 else np.int64
    rows = answers.task.astype(index_type)
    columns: np.ndarray[Any, Any] = answers.worker.astype(index_type)
    columns *= k
    columns += answers.label
    data = np.ones(len(answers), dtype=np.float64)
    a = sp.csr_matrix((data, (rows, columns)), shape=(answers.n_tasks, answers.n_workers * k))
    del rows, columns, data
    a.sum_duplicates()
    return a, a.T


def _across_columns(ufunc: np.ufunc, x: FloatArray) -> FloatArray:
    """``ufunc.reduce(x, axis=1)`` as a few passes over columns.

    NumPy reduces a row of five labels at a time with per-row overhead: on 200,000 tasks x 5
    labels ``x.max(axis=1)`` takes 15 ms, one strided pass per label 1 ms in all.
    """
    out: FloatArray = x[:, 0].copy()
    for j in range(1, x.shape[1]):
        ufunc(out, x[:, j], out=out)
    return out


def softmax_rows(log_p: np.ndarray[Any, Any]) -> tuple[FloatArray, float]:
    """Posteriors from unnormalised log-probabilities, and the total log normaliser (log-likelihood).

    Works in place on ``log_p`` (callers pass a fresh array): on a million tasks each extra
    temporary would be another 8 MB per label at the peak of every EM iteration.
    """
    top = _across_columns(np.maximum, log_p)[:, None]
    log_p -= top
    p = np.exp(log_p, out=log_p)
    norm = _across_columns(np.add, p)[:, None]
    p /= norm
    return p, float(np.sum(np.log(norm) + top))


def gold_codes(answers: Answers, gold: Mapping[Any, Any] | None) -> tuple[IntArray, IntArray] | None:
    """Gold as codes for clamping; refuses a gold label no worker ever gave (it has no parameters)."""
    if not gold:
        return None
    tasks, labels = answers.encode_gold(gold)
    if (labels < 0).any():
        bad = answers.tasks[tasks[labels < 0][0]]
        raise ValueError(
            f"gold for task {bad!r}: its label {gold[bad]!r} is not among the answers' labels "
            f"{answers.labels.tolist()}; declare the label set when building the answers"
        )
    return tasks, labels


def clamp(probas: FloatArray, fixed: tuple[IntArray, IntArray] | None) -> FloatArray:
    """Fix known answers: gold tasks get probability one on their gold label."""
    if fixed is not None:
        tasks, labels = fixed
        probas[tasks] = 0.0
        probas[tasks, labels] = 1.0
    return probas


def converged(history: list[float], tol: float) -> bool:
    """EM stops once the per-answer log-likelihood gains less than ``tol`` in an iteration."""
    return len(history) >= 2 and abs(history[-1] - history[-2]) < tol
