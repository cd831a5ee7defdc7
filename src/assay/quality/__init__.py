"""The quality engine: truth inference, agreement and scorecards in NumPy/SciPy.

Pure library: nothing here imports a database or web framework, so it runs alone
(``from assay.quality import DawidSkene``), from the CLI and inside the service.
"""

from assay.quality._base import Aggregator
from assay.quality.aggregate import DEFAULT_METHOD, METHODS, aggregate, make
from assay.quality.agreement import (
    Agreement,
    agreement,
    bootstrap_interval,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    percent_agreement,
)
from assay.quality.answers import Answers, DuplicateAnswersWarning, read_gold
from assay.quality.bradley_terry import BradleyTerry, Comparisons, NoisyBradleyTerry
from assay.quality.dawid_skene import DawidSkene
from assay.quality.glad import GLAD
from assay.quality.gold import (
    AccuracyTest,
    Proportion,
    accuracy,
    compare_accuracy,
    proportion,
    wilson_interval,
)
from assay.quality.mace import MACE
from assay.quality.majority_vote import MajorityVote
from assay.quality.one_coin import OneCoinDawidSkene
from assay.quality.ordinal import OrdinalAggregator
from assay.quality.preference import PositionBias, PreferenceAgreement, preference_agreement
from assay.quality.scorecards import Scorecards, WorkerCard, WorkforceCard, scorecards
from assay.quality.wawa import Wawa

__all__ = [
    "DEFAULT_METHOD",
    "GLAD",
    "MACE",
    "METHODS",
    "AccuracyTest",
    "Aggregator",
    "Agreement",
    "Answers",
    "BradleyTerry",
    "Comparisons",
    "DawidSkene",
    "DuplicateAnswersWarning",
    "MajorityVote",
    "NoisyBradleyTerry",
    "OneCoinDawidSkene",
    "OrdinalAggregator",
    "PositionBias",
    "PreferenceAgreement",
    "Proportion",
    "Scorecards",
    "Wawa",
    "WorkerCard",
    "WorkforceCard",
    "accuracy",
    "aggregate",
    "agreement",
    "bootstrap_interval",
    "cohen_kappa",
    "compare_accuracy",
    "fleiss_kappa",
    "krippendorff_alpha",
    "make",
    "percent_agreement",
    "preference_agreement",
    "proportion",
    "read_gold",
    "scorecards",
    "wilson_interval",
]
