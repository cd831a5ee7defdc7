"""File formats: streaming item readers (import), export writers and consensus labels.

Readers and writers stream: memory stays flat whatever the file size.  Names load lazily, so a
light submodule (``assay.formats._common``, which ``assay aggregate`` uses to read its own CSV
exports back) does not pull in pyarrow's writers or the schema models.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Eager, and light: ``consensus`` is also the name of its submodule, which would otherwise shadow
# the function once something imports the submodule.
from assay.formats.consensus import consensus

__all__ = [
    "FORMATS",
    "consensus",
    "detect_format",
    "iter_records",
    "read_records",
    "safe_cell",
    "tabular_columns",
    "write_csv",
    "write_dpo",
    "write_jsonl",
    "write_parquet",
    "write_sft",
]

_LAZY = {
    "FORMATS": "assay.formats.readers",
    "detect_format": "assay.formats.readers",
    "iter_records": "assay.formats.readers",
    "read_records": "assay.formats.readers",
    "safe_cell": "assay.formats._common",
    "write_dpo": "assay.formats.training",
    "write_sft": "assay.formats.training",
    "tabular_columns": "assay.formats.writers",
    "write_csv": "assay.formats.writers",
    "write_jsonl": "assay.formats.writers",
    "write_parquet": "assay.formats.writers",
}

if TYPE_CHECKING:
    from assay.formats._common import safe_cell
    from assay.formats.readers import FORMATS, detect_format, iter_records, read_records
    from assay.formats.training import write_dpo, write_sft
    from assay.formats.writers import tabular_columns, write_csv, write_jsonl, write_parquet


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'assay.formats' has no attribute {name!r}")
