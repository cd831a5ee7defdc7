"""File formats: streaming item readers (import), export writers and consensus labels.

Readers and writers stream: memory stays flat whatever the file size.
"""

from __future__ import annotations

from assay.formats.consensus import consensus
from assay.formats.readers import FORMATS, detect_format, iter_records, read_records
from assay.formats.training import write_dpo, write_sft
from assay.formats.writers import tabular_columns, write_csv, write_jsonl, write_parquet

__all__ = [
    "FORMATS",
    "consensus",
    "detect_format",
    "iter_records",
    "read_records",
    "tabular_columns",
    "write_csv",
    "write_dpo",
    "write_jsonl",
    "write_parquet",
    "write_sft",
]
