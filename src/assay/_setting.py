"""How a setting is declared (``setting``) and read back (``Setting``): parsing an environment
variable's text by the field's type, the declared bounds and choices, and the docs' wording.

``assay.settings`` declares the settings themselves, as the fields of ``Config``.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PREFIX = "ASSAY_"
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True)
class Spec:
    """What a setting's declaration says beyond its type and default."""

    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False  # never shown: not in reprs, errors, logs or docs
    shown: str | None = None  # how the default reads in the docs, when not the value itself
    check: Callable[[Any], str | None] | None = None  # a rule beyond the bounds: the problem, or None


def setting(
    default: T,
    help: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    secret: bool = False,
    shown: str | None = None,
    check: Callable[[Any], str | None] | None = None,
) -> T:
    """Declare one setting (a ``Config`` field): default, help line, bounds, choices, secrecy."""
    spec = Spec(help, minimum, maximum, choices, secret, shown, check)
    made: T = field(default=default, repr=not secret, metadata={"setting": spec})
    return made


@dataclass(frozen=True)
class Setting:
    """One declared setting, as the parser, the checks and the docs see it."""

    name: str
    kind: type  # int, float, bool, str, Path or tuple (of str)
    optional: bool
    default: Any
    spec: Spec

    @property
    def env(self) -> str:
        return PREFIX + self.name.upper()

    @property
    def help(self) -> str:
        return self.spec.help

    @property
    def secret(self) -> bool:
        return self.spec.secret

    def parse(self, text: str) -> Any:
        """The value of the environment variable's text; ValueError saying what was expected."""
        if self.kind is bool:
            word = text.strip().lower()
            if word in _TRUE or word in _FALSE:
                return word in _TRUE
            raise ValueError("expected on or off (1/0, true/false, yes/no)")
        if self.kind is int:
            try:
                return int(text.strip().replace("_", ""))
            except ValueError:
                raise ValueError("expected a whole number") from None
        if self.kind is float:
            try:
                number = float(text.strip().replace("_", ""))
            except ValueError:
                raise ValueError("expected a number") from None
            if not math.isfinite(number):
                raise ValueError("expected a finite number")
            return number
        if self.kind is tuple:
            return tuple(part.strip() for part in text.split(",") if part.strip())
        if self.kind is Path:
            return Path(text)
        return text.strip().lower() if self.spec.choices else text

    def coerce(self, value: Any) -> Any:
        """A value given in code or by a CLI flag, in the field's type."""
        if self.kind is Path and isinstance(value, str):
            return Path(value)
        return value

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` by the declaration (bounds, choices, its own check), or None."""
        if value is None:
            return None if self.optional else f"{self.env} must be set"
        spec = self.spec
        shown = "" if spec.secret else f"={_show(value)}"
        if spec.minimum is not None and value < spec.minimum:
            return f"{self.env}{shown} is not allowed: must be at least {_show(spec.minimum)}"
        if spec.maximum is not None and value > spec.maximum:
            return f"{self.env}{shown} is not allowed: must be at most {_show(spec.maximum)}"
        if spec.choices and value not in spec.choices:
            return f"{self.env}{shown} is not allowed: choose one of {', '.join(spec.choices)}"
        return spec.check(value) if spec.check is not None else None

    @property
    def default_text(self) -> str:
        """The default as the docs show it."""
        if self.spec.shown is not None:
            return self.spec.shown
        value = self.default
        if value is None or value == ():
            return "none"
        if isinstance(value, bool):
            return "on" if value else "off"
        if isinstance(value, int | float):
            return _show(value)
        return f"`{value}`"

    @property
    def doc(self) -> str:
        """The help line, with the bounds and choices the declaration enforces."""
        spec = self.spec
        if spec.choices:
            allowed = "one of " + ", ".join(f"`{c}`" for c in spec.choices)
        elif spec.minimum is not None and spec.maximum is not None:
            allowed = f"{_show(spec.minimum)} to {_show(spec.maximum)}"
        elif spec.minimum is not None:
            allowed = f"at least {_show(spec.minimum)}"
        elif spec.maximum is not None:
            allowed = f"at most {_show(spec.maximum)}"
        elif self.kind is bool:
            allowed = "`on` or `off` (also 1/0, true/false, yes/no)"
        else:
            return spec.help
        return f"{spec.help} Allowed: {allowed}."


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str | Path):
        return repr(str(value))
    return str(value)


def _kind(hint: Any) -> tuple[type, bool]:
    """(the base type, whether None is allowed) of a field's annotation."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        (hint,) = args
    origin = typing.get_origin(hint)
    base = origin if origin is not None else hint
    if base not in (int, float, bool, str, Path, tuple):
        raise TypeError(f"setting of type {hint!r}: declare int, float, bool, str, Path or tuple[str, ...]")
    return base, optional


def declared(cls: type) -> tuple[Setting, ...]:
    """The settings declared as fields of the dataclass ``cls``, in their order."""
    hints = typing.get_type_hints(cls)
    found = []
    for f in fields(cls):
        spec = f.metadata.get("setting")
        if spec is None:
            continue
        kind, optional = _kind(hints[f.name])
        found.append(Setting(f.name, kind, optional, f.default, spec))
    return tuple(found)
