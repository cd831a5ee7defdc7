"""Project quality: agreement with intervals and annotator / workforce scorecards, kept live.

Built on ``assay.quality``: every categorical question (``choice``, ``rating``, ``preference``)
gets Krippendorff's alpha (nominal for choices, ordinal for scales) with a bootstrap interval; the
first one also drives the scorecards (gold accuracy with Wilson intervals, agreement with the
consensus of the project's method, throughput, spam flags, cost per accepted answer).  Rejected
answers count nowhere.

Live: every answer, review and gold change queues a ``quality.refresh`` job (``workflows.jobs``) in
the same transaction.  The refresh fits the project's method once over every answer, stores the
report as the project's snapshot, and settles the items whose posterior under that fit reached the
adaptive-overlap target.  Reading the report serves the snapshot; when a refresh is still queued
the reader runs it at once, so the report always includes every answer stored before the request
(read-your-writes), and the background workers make that the rare case.  A vendor's reviewer gets a
report computed on their own workforce's answers only, never the snapshot.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assay.app import Assay
from assay.domain.people import Actor, Role
from assay.storage import answers as answer_store
from assay.storage import chat as chat_store
from assay.storage import counters
from assay.storage import gates as gate_store
from assay.storage import jobs as job_store
from assay.storage import projects as project_store
from assay.storage.people import now
from assay.workflows import access, adaptive, fitted, gates, jobs, workforces
from assay.workflows import projects as project_flows

if TYPE_CHECKING:
    from assay import quality

CATEGORICAL = {"choice": "nominal", "rating": "ordinal", "preference": "ordinal"}
BOOTSTRAP = 500


def _num(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _proportion(p: quality.Proportion) -> dict[str, Any]:
    """JSON has no NaN: an accuracy over no gold answers is null, with n = 0."""
    return {key: _num(value) if isinstance(value, float) else value for key, value in p.as_dict().items()}


def _agreement(rows: list[tuple[Any, str, Any]], level: str) -> dict[str, Any] | None:
    from assay import quality

    if len({r[0] for r in rows}) < 2 or len({r[1] for r in rows}) < 2:
        return None
    try:
        result = quality.agreement(
            quality.Answers.from_rows(rows), metric="krippendorff", level=level, n_boot=BOOTSTRAP, seed=0
        )
    except ValueError:  # e.g. every pairable item answered once: nothing to agree on
        return None
    return {
        "metric": "krippendorff_alpha",
        "level": level,
        "value": _num(result.value),
        "low": _num(result.low),
        "high": _num(result.high),
        "n_items": result.n_items,
    }


def _adaptive(project: Any, n_items: int, n_settled: int, settled_answers: int) -> dict[str, Any]:
    """How many answers adaptive overlap saved: a settled item would otherwise have taken the cap."""
    overlap = project.settings.overlap
    return {
        "target_confidence": project.settings.target_confidence,
        "overlap": overlap,
        "items": n_items,
        "settled_items": n_settled,
        "answers_saved": max(overlap * n_settled - settled_answers, 0),
    }


def _report(project: Any, rows: list[Any], cost_rows: list[Any], *, with_gold: bool = True) -> dict[str, Any]:
    """The report's statistics from a project's answers (``storage.answers.project_answers``).

    Rejected answers do not vote and count nowhere else, except gold: gold is scored on each
    author's own answer (``own_answers``), rejected or not, so that no reviewer action moves a
    gold score.  ``with_gold`` False leaves gold out altogether (a vendor compartment's report:
    figures that move after a gold answer and not after another would tell gold items apart).
    """
    from assay import quality

    gold_rows = [r for r in rows if r.is_gold] if with_gold else []
    rows = [r for r in rows if not r.rejected]
    method = project.settings.method
    questions = [q for q in project.schema.questions if q.kind in CATEGORICAL]
    per_question: dict[str, Any] = {}
    votes: dict[str, list[tuple[Any, str, Any]]] = defaultdict(list)
    for row in rows:
        for q in questions:
            value = row.answers.get(q.name)
            if value is not None:
                votes[q.name].append((int(row.item_id), row.annotator, value))
    for q in questions:
        per_question[q.name] = _agreement(votes[q.name], CATEGORICAL[q.kind])
    out: dict[str, Any] = {
        "answers": len(rows),
        "method": method,
        "question": questions[0].name if questions else None,
        "agreement": per_question.get(questions[0].name) if questions else None,
        "questions": per_question,
        "annotators": [],
        "workforces": [],
    }
    if not questions or not votes[questions[0].name]:
        return out
    primary = questions[0].name
    primary_rows = [r for r in rows if r.answers.get(primary) is not None]
    answers = quality.Answers.from_rows(
        [(int(r.item_id), r.annotator, r.answers[primary]) for r in primary_rows]
    )
    durations = [r.duration_ms for r in primary_rows]
    team = {r.annotator: r.workforce for r in primary_rows if r.workforce}
    seconds: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    for r in primary_rows:
        if r.workforce:
            counts[r.workforce] += 1
            seconds[r.workforce] += (r.duration_ms or 0) / 1000
    costs: dict[str, float] = {}
    for c in cost_rows:
        if c.cost_per_answer is not None:
            costs[c.name] = c.cost_per_answer * counts.get(c.name, 0)
        elif c.cost_per_hour is not None:
            costs[c.name] = c.cost_per_hour * seconds.get(c.name, 0.0) / 3600
    cards = quality.scorecards(
        answers,
        consensus=quality.aggregate(answers, method=method),
        duration_s=[d / 1000 for d in durations] if all(d is not None for d in durations) else None,
        workforce=team,
        costs=costs or None,
    )
    gold = _gold_records(gold_rows, primary)
    out["annotators"] = [
        {
            "user": c.worker,
            "workforce": c.workforce,
            "answers": c.answers,
            "gold_accuracy": gold.annotator(c.worker) if with_gold else None,
            "agreement_with_consensus": _num(c.agreement),
            "answers_per_hour": _num(c.answers_per_hour),
            "median_seconds": _num(c.median_seconds),
            "too_fast": c.too_fast,
            "constant": c.constant,
        }
        for c in cards.workers
    ]
    if with_gold:
        # Someone whose every answer was rejected still has a gold record: a reject moves no gold score.
        listed = {c.worker for c in cards.workers}
        out["annotators"] += [
            {
                "user": name,
                "workforce": gold.team_of.get(name),
                "answers": 0,
                "gold_accuracy": gold.annotator(name),
                "agreement_with_consensus": None,
                "answers_per_hour": None,
                "median_seconds": None,
                "too_fast": False,
                "constant": False,
            }
            for name in sorted(gold.marks)
            if name not in listed
        ]
    out["workforces"] = [
        {
            "name": w.name,
            "workers": w.workers,
            "answers": w.answers,
            "gold_accuracy": gold.workforce(w.name) if with_gold else None,
            "agreement_with_consensus": _num(w.agreement),
            "answers_per_hour": _num(w.answers_per_hour),
            "flagged_workers": w.flagged_workers,
            "accepted": w.accepted,
            "cost_per_accepted": _num(w.cost_per_accepted),
        }
        for w in cards.workforces
    ]
    return out


@dataclass(frozen=True)
class _GoldRecords:
    """Gold records by annotator (email) from the authors' own answers, rejected ones included."""

    marks: dict[str, tuple[int, int]]
    team_of: dict[str, str | None]

    def annotator(self, name: str) -> dict[str, Any]:
        right, seen = self.marks.get(name, (0, 0))
        return _share(right, seen)

    def workforce(self, team: str) -> dict[str, Any]:
        members = [self.marks[n] for n, t in self.team_of.items() if t == team and n in self.marks]
        return _share(sum(k for k, _ in members), sum(n for _, n in members))


def _share(right: int, seen: int) -> dict[str, Any]:
    from assay import quality

    return _proportion(quality.proportion(k=right, n=seen))


def _gold_records(gold_rows: list[Any], question: str) -> _GoldRecords:
    by_user = adaptive.gold_records(gold_rows, question, own=True)
    names = {int(r.user_id): r.annotator for r in gold_rows}
    teams = {r.annotator: r.workforce for r in gold_rows}
    return _GoldRecords({names[user]: mark for user, mark in by_user.items()}, teams)


def _fit(project: Any, rows: list[Any]) -> tuple[fitted.Fit, list[tuple[int, int]]]:
    """Fit the project's method on the first categorical question, with gold held fixed.

    Returns (per-annotator model figures for the snapshot, [(item id, votes)] of the unsettled
    normal items whose largest posterior reached the adaptive-overlap target).
    """
    import numpy as np

    from assay import quality

    found = project.schema.primary()
    if found is None:
        return {}, []
    question, book = found
    gold_rows = [r for r in rows if r.is_gold]  # gold is scored on own answers, rejected or not
    voting = [r for r in rows if not r.rejected and r.answers.get(question) is not None]
    if not voting:
        return {}, []
    answers = quality.Answers.from_rows(
        [(int(r.item_id), int(r.user_id), r.answers[question]) for r in voting], labels=book
    )
    gold = {
        int(r.item_id): r.gold[question]
        for r in voting
        if r.is_gold and r.gold and r.gold.get(question) is not None and r.gold[question] in book
    }
    model = quality.aggregate(answers, method=project.settings.method, gold=gold or None)
    # Each annotator's expected accuracy under the fit: the mean posterior of the values they gave.
    given = model.probas_[answers.task, answers.label]
    # With each annotator's gold record and workforce, from which the per-answer settling check
    # sums the workforces' records (``adaptive.team_records``) instead of reading every gold answer.
    team_of = {int(r.user_id): r.workforce_id for r in voting}
    marks = adaptive.gold_records(gold_rows, question, own=True)
    # Per annotator in one pass (a mask per annotator was answers x annotators).
    sums = np.bincount(answers.worker, weights=given, minlength=answers.n_workers)
    counts = np.bincount(answers.worker, minlength=answers.n_workers)
    workers: fitted.Fit = {}
    for code, user in enumerate(answers.workers.tolist()):
        right, seen = marks.get(int(user), (0, 0))
        workers[int(user)] = fitted.WorkerFit(
            expected_accuracy=float(sums[code] / counts[code]),
            answers=int(counts[code]),
            workforce_id=team_of[int(user)],
            gold_right=right,
            gold_seen=seen,
        )
    target = project.settings.target_confidence
    sure: list[tuple[int, int]] = []
    if target is None:
        return workers, sure
    # The settling rule is the per-answer one (``adaptive.sure_enough``), with the accuracies just fitted.
    votes: dict[int, list[Any]] = defaultdict(list)
    for r in voting:
        if not r.is_gold and not r.settled:
            votes[int(r.item_id)].append(r)
    voters = [r for rs in votes.values() for r in rs]
    accuracy = adaptive.accuracies(voters, workers)  # every voter is in the fit just made
    for item_id, item_votes in votes.items():
        if adaptive.sure_enough(item_votes, question, len(book), accuracy, target):
            sure.append((item_id, len(item_votes)))
    return workers, sure


@jobs.handler(jobs.QUALITY_REFRESH)
def _refresh_job(hub: Assay, job: Any) -> dict[str, Any]:
    return refresh(hub, org_id=int(job.org_id), project_id=int(job.project_id))


def refresh(hub: Assay, *, org_id: int, project_id: int) -> dict[str, Any]:
    """The ``quality.refresh`` job: recompute the report, store it, settle the sure items."""
    from assay.workflows.projects import from_row

    started = time.perf_counter()
    with hub.db.read() as conn:
        project = from_row(project_store.get_project(conn, org_id=org_id, project_id=project_id))
        rows = answer_store.project_answers(conn, org_id=org_id, project_id=project_id)
        cost_rows = answer_store.workforce_costs(conn, org_id=org_id)
        vendors = {int(w.id) for w in gate_store.list_workforces(conn, org_id=org_id) if w.kind == "vendor"}
    report = _report(project, rows, cost_rows)
    # Each vendor compartment's own report (its answers only, no gold), served to its reviewers
    # from here: computing it per request let a few readers keep the server busy.
    report["compartments"] = {
        str(team): _report(
            project,
            [r for r in rows if r.workforce_id == team],
            [c for c in cost_rows if c.name == name],
            with_gold=False,
        )
        for team, name in sorted(
            {(int(r.workforce_id), r.workforce) for r in rows if r.workforce_id in vendors}
        )
    }
    workers, sure = _fit(project, rows)
    settled = 0
    with hub.db.write() as conn:
        for item_id, votes in sure:
            # The votes are re-counted under the write lock: an answer rejected since the read
            # took away the evidence this decision rested on.
            if len(gate_store.item_votes(conn, org_id=org_id, item_id=item_id)) == votes:
                settled += counters.settle(conn, item_id=item_id)
        seconds = time.perf_counter() - started
        job_store.put_snapshot(
            conn,
            values={
                "project_id": project_id,
                "org_id": org_id,
                "method": project.settings.method,
                "answers": report["answers"],
                "report": report,
                "workers": fitted.dump(workers),
                "computed_at": now(),
                "seconds": seconds,
            },
        )
    return {"answers": report["answers"], "settled": settled, "seconds": round(seconds, 3)}


INLINE_REFRESH_S = 2.0  # a reader waits for a refresh only if the last one took at most this long


def _fresh_snapshot(hub: Assay, actor: Actor, project: Any) -> tuple[Any, bool]:
    """(the project's snapshot, whether answers stored since are missing from it).

    A refresh that is queued (or running) when the report is read is run here first, so the report
    includes every answer stored before the request, as long as refreshes of this project are
    cheap (the last took at most ``INLINE_REFRESH_S``).  A large project's refresh takes tens of
    seconds (bench/service/refresh.py: 39 s at 1,000,000 answers), so its reader gets the last
    snapshot, marked stale, and the job workers bring it up to date.
    """
    with hub.db.read() as conn:
        waiting = job_store.pending(
            conn, org_id=actor.org_id, project_id=project.id, kind=jobs.QUALITY_REFRESH
        )
        snapshot = job_store.get_snapshot(conn, org_id=actor.org_id, project_id=project.id)
    if snapshot is not None and not waiting:
        return snapshot, False
    if snapshot is not None and snapshot.seconds > INLINE_REFRESH_S:
        return snapshot, True
    if any(j.state == "queued" for j in waiting):
        # Run the queued refresh here rather than wait for a worker (claiming it keeps it exactly-once).
        if jobs.run_one(hub, project_id=project.id, due_now=True) is None:
            refresh(hub, org_id=actor.org_id, project_id=project.id)  # a worker holds it: do the same work
    else:
        refresh(hub, org_id=actor.org_id, project_id=project.id)
    with hub.db.read() as conn:
        return job_store.get_snapshot(conn, org_id=actor.org_id, project_id=project.id), False


def project_quality(hub: Assay, actor: Actor, project_id: int) -> dict[str, Any]:
    """The quality report, served from the live snapshot.  A vendor's reviewer reads their own
    compartment's report (their workforce's answers and people, without gold or adaptive-overlap
    figures, which move differently after a gold answer), from the same snapshot."""
    project = project_flows.get(hub, actor, project_id, action="project.quality")
    access.require(
        hub, actor, Role.REVIEWER, action="project.quality", object_type="project", object_id=project_id
    )
    scope = workforces.compartment(hub, actor)
    snapshot, stale = _fresh_snapshot(hub, actor, project)
    compartments: dict[str, Any] = snapshot.report.get("compartments") or {}
    live = {
        "computed_at": snapshot.computed_at.isoformat(),
        "seconds": round(snapshot.seconds, 3),
        "stale": stale,
    }
    if scope is not None:
        body = dict(compartments.get(str(scope)) or _report(project, [], [], with_gold=False))
        return {
            "ok": True,
            "project_id": project.id,
            **body,
            "chat": _chat(hub, actor, project, workforce_id=scope),
            "paused": gates.pauses(hub, actor, project, workforce_id=scope),
            "adaptive_overlap": None,
            "gold": None,
            "refreshed": live,
        }
    body = {k: v for k, v in snapshot.report.items() if k != "compartments"}
    with hub.db.read() as conn:
        n_items, n_settled, settled_answers = gate_store.settled_counts(
            conn, org_id=actor.org_id, project_id=project.id
        )
        n_gold, gold_open, gold_shown = gate_store.gold_supply(
            conn, org_id=actor.org_id, project_id=project.id
        )
    return {
        "ok": True,
        "project_id": project.id,
        **body,
        "paused": gates.pauses(hub, actor, project, workforce_id=None),
        "chat": _chat(hub, actor, project, workforce_id=None),
        "adaptive_overlap": _adaptive(project, n_items, n_settled, settled_answers),
        "gold": _gold_supply(project, n_gold, gold_open, gold_shown),
        "refreshed": live,
    }


def _chat(hub: Assay, actor: Actor, project: Any, *, workforce_id: int | None) -> dict[str, Any] | None:
    """The live chat figures (``assay.quality.chat``), read fresh: conversations are few and each
    is read whole.  A vendor's reviewer sees their own workforce's conversations only."""
    question = project.schema.chat_question()
    if question is None:
        return None
    from assay.quality.chat import chat_summary

    with hub.db.read() as conn:
        rows = [
            r
            for r in gate_store.project_annotations(
                conn, org_id=actor.org_id, project_id=project.id, workforce_id=workforce_id
            )
            if r.review != "reject" and isinstance(r.answers.get(question.name), dict)
        ]
        trees = chat_store.conversations(
            conn, org_id=actor.org_id, assignments={int(r.assignment_id): int(r.item_id) for r in rows}
        )
    summary = chat_summary(
        [(str(r.user_id), r.answers[question.name], trees.get(int(r.assignment_id), [])) for r in rows]
    )
    return {question.name: summary}


def _gold_supply(project: Any, items: int, still_open: int, shown: int) -> dict[str, Any]:
    """How much gold is left to serve.  Each gold item is shown to at most ``cap`` annotators (the
    overlap by default, so that it is shown as often as any item); once none is open, annotators
    get no more gold, and new annotators are not measured: the manager should import more."""
    cap = project.settings.gold_cap
    return {
        "items": items,
        "open": still_open,
        "shown": shown,
        "cap": cap,
        "rate": project.settings.gold_rate,
        "exhausted": bool(items) and still_open == 0 and project.settings.gold_rate > 0,
    }
