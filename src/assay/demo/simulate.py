"""Sample work for the demo: the three workforces answer part of the classification project.

Without answers a new demo shows empty dashboards, no scorecards and no vendor comparison, which
is what a data lead came to see.  The answers go through the annotators' own workflows
(``next_item`` then ``submit``), so every check and gate a real answer passes runs here too; only
the time each answer took is simulated.  One seeded generator draws the labels and durations and
stands in for the hub's own while the work is done, so a fresh demo is the same every time.
"""

from __future__ import annotations

import heapq
import json
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from assay.app import Assay
from assay.demo import _generate, content
from assay.domain.people import Actor
from assay.storage import people
from assay.storage import projects as project_store
from assay.workflows import annotate, jobs, workforces
from assay.workflows.projects import Project

PROJECT = "classify"
# Any seed gives the profiles below; this one's small gold sample happens to read like them too
# (in-house above vendor A above vendor B), which is the story a first look should tell.
SEED = 6
SHARE = 0.5  # of the normal items' overlap answered; the rest is left for whoever tries the demo
AMBIGUOUS_PENALTY = 0.15  # mixed messages split even careful annotators
SENTIMENTS = ("positive", "neutral", "negative")
TOPICS = ("billing", "shipping", "product quality", "account", "other")


@dataclass(frozen=True)
class Profile:
    """How a workforce works: its chance of the careful label, its pace and its price."""

    accuracy: float
    seconds: float  # a typical answer to a message of average length
    cost_per_hour: float | None = None
    cost_per_answer: float | None = None


PROFILES: dict[str, Profile] = {
    "In-house": Profile(accuracy=0.93, seconds=21.0, cost_per_hour=36.0),
    "Vendor A": Profile(accuracy=0.85, seconds=17.0, cost_per_answer=0.15),
    "Vendor B": Profile(accuracy=0.70, seconds=13.0, cost_per_answer=0.07),
}


@dataclass(frozen=True)
class Simulated:
    """What ``work`` added, for the demo's printed report."""

    project: str
    answers: int
    workforces: tuple[str, ...]


@contextmanager
def _seeded(hub: Assay, rng: random.Random) -> Iterator[None]:
    """Lend the hub a seeded generator (which item and gold draw each lease gets), then give it back."""
    saved = hub.rng
    hub.rng = rng
    try:
        yield
    finally:
        hub.rng = saved


def set_costs(hub: Assay, owner: Actor) -> None:
    """Give each demo workforce its cost model, unless someone already chose one."""
    for team in workforces.list_all(hub, owner):
        profile = PROFILES.get(team["name"])
        if profile is None or team["cost_per_hour"] is not None or team["cost_per_answer"] is not None:
            continue
        workforces.update(
            hub,
            owner,
            team["id"],
            {"cost_per_hour": profile.cost_per_hour, "cost_per_answer": profile.cost_per_answer},
        )


def _pick(rng: random.Random, options: Sequence[str], right: str, accuracy: float) -> str:
    if rng.random() < accuracy:
        return right
    return rng.choice([o for o in options if o != right])


def _seconds(rng: random.Random, profile: Profile, text: str) -> float:
    # Longer messages take longer to read; the spread is a log-normal's, as task times are.
    return max(2.0, profile.seconds * (0.6 + len(text) / 250) * rng.lognormvariate(0.0, 0.35))


def work(hub: Assay, project: Project, annotators: Sequence[Actor], *, seed: int = SEED) -> Simulated:
    """The annotators take turns on the project, fastest most often, until ``SHARE`` of it is done.

    Time is simulated as in a real queue: whoever's clock is earliest asks for the next item and
    spends their answer's duration on it.
    """
    rng = random.Random(seed)
    truth = _generate.classify_labels()
    with hub.db.read() as conn:
        counts = project_store.project_counts(conn, org_id=project.org_id, project_id=project.id)
    # Gold answers come on top, at the project's gold rate, as they do for a real annotator.
    budget = round(SHARE * (counts["items"] - counts["gold"]) * project.settings.overlap)
    team = [a for a in annotators if a.workforce_name in PROFILES]
    clock = [(rng.random(), i) for i in range(len(team))]
    heapq.heapify(clock)
    gold = _gold_texts()
    answers = normal = 0
    with _seeded(hub, random.Random(seed + 1)):
        while clock and normal < budget:
            at, i = heapq.heappop(clock)
            actor = team[i]
            profile = PROFILES[str(actor.workforce_name)]
            lease = annotate.next_item(hub, actor, project.id)
            if lease is None:
                continue  # nothing left for this annotator
            text = str(lease.data.get("text"))
            if text not in truth:  # an item someone added to the demo: no known label to aim at
                annotate.skip(hub, actor, lease.assignment_id)
                heapq.heappush(clock, (at, i))
                continue
            sentiment, topic, clear = truth[text]
            accuracy = profile.accuracy if clear else profile.accuracy - AMBIGUOUS_PENALTY
            seconds = _seconds(rng, profile, text)
            annotate.submit(
                hub,
                actor,
                lease.assignment_id,
                answers={
                    "sentiment": _pick(rng, SENTIMENTS, sentiment, accuracy),
                    "topic": _pick(rng, TOPICS, topic, accuracy),
                },
                duration_ms=int(seconds * 1000),
            )
            answers += 1
            normal += text not in gold
            heapq.heappush(clock, (at + seconds, i))
    # The quality snapshot is what the report pages read: compute it now rather than on first view.
    while jobs.run_one(hub, project_id=project.id, due_now=True) is not None:
        pass
    names = tuple(sorted({str(a.workforce_name) for a in team}, key=list(PROFILES).index))
    return Simulated(project=project.name, answers=answers, workforces=names)


def _gold_texts() -> set[str]:
    lines = content.items_path(PROJECT).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return {str(r["data"]["text"]) for r in records if r.get("gold")}


def has_answers(hub: Assay, project: Project) -> bool:
    with hub.db.read() as conn:
        return project_store.answered_count(conn, org_id=project.org_id, project_id=project.id) > 0


def annotators(hub: Assay, memberships: Sequence[int]) -> list[Actor]:
    """The actors of the given memberships, in order."""
    with hub.db.read() as conn:
        found = [people.actor_for_membership(conn, membership_id=m) for m in memberships]
    return [a for a in found if a is not None]
