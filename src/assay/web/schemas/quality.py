"""Quality: the project's quality report, the vendor comparison, flagged answers and pauses.

Figures that cannot be computed yet (no gold answered, one annotator) are null, never NaN."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from assay.domain.schema import AggregationMethod
from assay.web.schemas._base import Ok, Public, Timestamp


class Agreement(Public):
    metric: str = Field(description="`krippendorff_alpha`.")
    level: str = Field(description="`nominal` for choices, `ordinal` for scales.")
    value: float | None
    low: float | None = Field(description="95% bootstrap interval.")
    high: float | None
    n_items: int


class Proportion(Public):
    """A share with its 95% Wilson interval; ``value`` null when ``n`` is 0."""

    value: float | None
    low: float | None
    high: float | None
    n: int


class AnnotatorCard(Public):
    user: str = Field(description="The annotator's email.")
    workforce: str | None
    answers: int
    gold_accuracy: Proportion | None = Field(description="Null in a vendor compartment's report.")
    agreement_with_consensus: float | None
    answers_per_hour: float | None
    median_seconds: float | None
    too_fast: bool
    constant: bool


class WorkforceCard(Public):
    name: str
    workers: int
    answers: int
    gold_accuracy: Proportion | None = Field(description="Null in a vendor compartment's report.")
    agreement_with_consensus: float | None
    answers_per_hour: float | None
    flagged_workers: int
    accepted: int
    cost_per_accepted: float | None


class Pause(Public):
    id: int
    membership_id: int
    user: str
    workforce: str | None
    reason: str
    created_at: Timestamp


class AdaptiveOverlap(Public):
    target_confidence: float | None
    overlap: int
    items: int
    settled_items: int
    answers_saved: int


class GoldSupply(Public):
    """How much gold is left to serve; ``exhausted``: none is open, import more."""

    items: int
    open: int
    shown: int
    cap: int = Field(description="Annotators a gold item is shown to at most.")
    rate: float
    exhausted: bool


class Refreshed(Public):
    computed_at: Timestamp
    seconds: float = Field(description="How long the computation took.")
    stale: bool = Field(description="Answers stored since are not in it yet (a large project).")


class Share(Public):
    value: float | None = Field(description="k / n (null when n is 0).")
    low: float
    high: float
    n: int


class ChatPositionBias(Public):
    first_preferred: Share = Field(description="Preferences for the candidate shown first.")
    expected: float | None = Field(description="What an order-blind judge gives: 1 / candidates.")
    p_value: float | None = Field(description="Exact binomial test against `expected`.")


class ChatModelCard(Public):
    shown: int
    preferred: int
    win_rate: float


class ChatQuality(Public):
    """A live chat question's figures (see `assay.quality.chat`)."""

    conversations: int
    judged_turns: int
    rewrites: int
    shared_turns: int = Field(description="Turns several annotators judged (the item's first turn).")
    pairs_compared: int
    agreement: Share = Field(description="Annotator pairs giving one shared turn the same verdict.")
    agreement_without_ties: Share
    position_bias: ChatPositionBias
    models: dict[str, ChatModelCard]
    model_cost: float | None = Field(description="What the models' tokens cost (null: no prices).")
    tokens_in: int
    tokens_out: int


class QualityReport(Public):
    """Agreement with 95% intervals and per-annotator and per-workforce scorecards.  A vendor's
    reviewer reads their own compartment's report: their workforce's answers and people, with no
    gold figures (``gold`` absent, ``adaptive_overlap`` null)."""

    ok: Ok
    project_id: int
    answers: int = Field(description="Answers counted (rejected ones count nowhere).")
    method: AggregationMethod
    question: str | None = Field(description="The categorical question the scorecards use.")
    agreement: Agreement | None = Field(description="On `question`.")
    questions: dict[str, Agreement | None] = Field(description="Per categorical question.")
    annotators: list[AnnotatorCard]
    workforces: list[WorkforceCard]
    paused: list[Pause]
    adaptive_overlap: AdaptiveOverlap | None
    gold: GoldSupply | None = None
    chat: dict[str, ChatQuality] | None = Field(default=None, description="Per live chat question.")
    refreshed: Refreshed


class VendorCard(Public):
    id: int
    name: str
    kind: str | None
    answers: int
    shared_items: int = Field(description="Items this workforce and another both answered.")
    gold_accuracy: Proportion
    agreement_with_others: Proportion = Field(
        description="Agreement with the consensus of the other workforces, on shared items."
    )
    answers_per_hour: float | None
    accepted: int
    cost: float | None = Field(
        description="People's cost (the workforce's cost model) plus the models' tokens."
    )
    model_cost: float | None = Field(
        default=None, description="What the models' tokens cost in this workforce's live chats."
    )
    cost_per_accepted: float | None


class Comparison(Public):
    """Fisher's exact test on the difference of two workforces' gold accuracies."""

    a: str
    b: str
    difference: float
    p_value: float
    significant: bool = Field(description="p < 0.05.")


class VendorReport(Public):
    ok: Ok
    project_id: int
    question: str | None
    method: AggregationMethod
    shared_items: int
    workforces: list[VendorCard] = Field(description="Best gold accuracy first.")
    comparisons: list[Comparison]


class FlagReason(Public):
    """Why an answer is flagged (``too_fast``, ``constant``, ``pasted``, ``machine_text``), with
    the figures a reviewer needs (e.g. ``duration_ms`` and ``below_ms``)."""

    model_config = ConfigDict(extra="allow")

    flag: str


class FlaggedAnnotation(Public):
    annotation_id: int
    item_id: int
    annotator: str
    workforce: str | None
    review: str | None
    created_at: Timestamp
    flags: list[FlagReason]


class FlagList(Public):
    ok: Ok
    project_id: int
    count: int
    annotations: list[FlaggedAnnotation]


class PauseLifted(Public):
    ok: Ok
    id: int
    project_id: int


class LeaderboardModel(Public):
    model: str = Field(description="The `model` of the responses' (or candidates') provenance.")
    rating: float = Field(description="Bradley-Terry on the Elo scale: base 1000, 400 / ln 10 per unit.")
    low: float = Field(description="2.5% bootstrap percentile (battles resampled).")
    high: float = Field(description="97.5% bootstrap percentile.")
    rank: int = Field(description="1 + the models whose lower bound is above this one's upper bound.")
    battles: int
    wins: int
    ties: int


class Leaderboard(Public):
    ok: Ok
    project_id: int
    question: str
    workforce: str | None
    battles: int
    models: list[LeaderboardModel]
