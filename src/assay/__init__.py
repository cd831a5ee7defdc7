"""assay: a self-hosted human-data platform for AI training.

The library surface: ``Client`` for the JSON API, ``Assay`` (the hub) and ``Config`` for embedding
the service, and the quality engine under ``assay.quality``.  Names load lazily so that
``import assay.quality`` pulls in NumPy and SciPy only, never the web or database stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["ApiError", "Assay", "Client", "Config", "ExportFilters", "__version__"]

_LAZY = {
    "Assay": "assay.app",
    "Client": "assay.client",
    "ApiError": "assay.client",
    "Config": "assay.settings",
    "ExportFilters": "assay.domain.exports",
}

if TYPE_CHECKING:
    from assay.app import Assay
    from assay.client import ApiError, Client
    from assay.domain.exports import ExportFilters
    from assay.settings import Config


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assay' has no attribute {name!r}")
