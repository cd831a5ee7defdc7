"""assay: a self-hosted human-data platform for AI training."""

__version__ = "0.1.0"
