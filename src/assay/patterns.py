"""Regular expressions, compiled by RE2: linear time in the text, whatever the pattern.

Python's own engine backtracks, so a pattern such as ``^\\s*x`` under MULTILINE costs the square of
a run of newlines: one 16 KB answer of newlines kept the flags page busy for 15 seconds and the
health check waiting meanwhile.  RE2 runs every pattern as an automaton, with no backtracking, so
no text can make a match slow.  assay compiles every pattern here (a test refuses an ``import re``
anywhere under ``src/``); RE2 has no backreferences or lookaround, which no pattern needs.

Flags are written inline (``(?i)``, ``(?m)``).  ``\\b``, ``\\d``, ``\\s`` and ``\\w`` are ASCII in
RE2, as they are meant to be in every pattern here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, cast

import re2

__all__ = ["BytesPattern", "Match", "Pattern", "compile", "compile_bytes"]


class Match(Protocol):
    def group(self, *groups: int | str) -> Any: ...
    def start(self, group: int = 0) -> int: ...
    def end(self, group: int = 0) -> int: ...


class Pattern(Protocol):
    @property
    def pattern(self) -> str: ...
    def search(self, text: str, pos: int = 0) -> Match | None: ...
    def match(self, text: str, pos: int = 0) -> Match | None: ...
    def fullmatch(self, text: str, pos: int = 0) -> Match | None: ...
    def findall(self, text: str) -> list[Any]: ...
    def finditer(self, text: str) -> Iterator[Match]: ...
    def sub(self, repl: str, text: str) -> str: ...


def compile(pattern: str) -> Pattern:
    """``pattern`` compiled by RE2; an unsupported construct fails here, at import time."""
    return cast(Pattern, re2.compile(pattern))


class BytesPattern(Protocol):
    @property
    def pattern(self) -> bytes: ...
    def search(self, text: bytes, pos: int = 0) -> Match | None: ...
    def finditer(self, text: bytes) -> Iterator[Match]: ...


def compile_bytes(pattern: bytes) -> BytesPattern:
    """A pattern over bytes (a stream being read), compiled by RE2."""
    return cast(BytesPattern, re2.compile(pattern))
