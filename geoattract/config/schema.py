"""Safe TOML loading and schema validation of every configuration file.

Every configuration file is plain TOML, read with :mod:`tomllib` (no code execution) and
checked against a small schema of :class:`Field`: unknown keys, missing keys and values of the
wrong type raise :class:`~geoattract.errors.ConfigError` naming the file, the dotted key and the
expected type. The study file, the catalogue, the indicator registry and the scoring
configuration all declare their schemas with :class:`Field` and check them with
:func:`validate`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoattract.errors import ConfigError, DataNotFoundError

_TYPE_NAMES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    list: "a list",
    dict: "a table",
}


#: One accepted type or a tuple of them.
TypeSpec = type | tuple[type, ...]


@dataclass(frozen=True)
class Field:
    """One key of a configuration schema.

    Parameters
    ----------
    type : type or tuple of types
        Accepted Python type(s) after TOML parsing. ``float`` also accepts integers.
    required : bool
        Whether the key must be present.
    default : Any
        Value used when the key is absent and not required; a :class:`Setting` reads
        :mod:`geoattract.settings` when the file is validated (never at import).
    choices : tuple, optional
        Allowed values.
    check : callable, optional
        Extra predicate; returns an error message (str) or ``None``.
    items : type, optional
        For lists: the type of every item.
    schema : mapping, optional
        For tables: the nested schema.
    doc : str
        What the key means (shown in errors and documentation).
    """

    type: TypeSpec
    required: bool = True
    default: Any = None
    choices: tuple | None = None
    check: Callable[[Any], str | None] | None = None
    items: TypeSpec | None = None
    schema: Mapping[str, Field] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Setting:
    """A default read from :mod:`geoattract.settings` when a file is validated (``name``)."""

    name: str
    scale: float = 1.0

    def value(self) -> Any:
        """The setting's current value (times ``scale`` for numbers)."""
        from geoattract import settings

        value = getattr(settings, self.name)
        return value * self.scale if self.scale != 1.0 else value


#: Longest value representation quoted in an error message.
MAX_REPR = 120


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 1] + "…"


def _type_name(t: type | tuple[type, ...]) -> str:
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return _TYPE_NAMES.get(t, t.__name__)


def _is_instance(value: Any, t: type | tuple[type, ...]) -> bool:
    types = t if isinstance(t, tuple) else (t,)
    for ty in types:
        if ty is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if ty is int and isinstance(value, bool):
            continue
        if isinstance(value, ty):
            return True
    return False


def validate(
    doc: Mapping[str, Any],
    schema: Mapping[str, Field],
    source: str | os.PathLike = "<config>",
    prefix: str = "",
    allow_extra: bool = False,
) -> dict[str, Any]:
    """Check ``doc`` against ``schema`` and return a copy with defaults filled in.

    Parameters
    ----------
    doc : mapping
        Parsed TOML.
    schema : mapping of str to Field
        Expected keys.
    source : path-like
        File name for error messages.
    prefix : str
        Dotted path of ``doc`` inside the file (for nested tables).
    allow_extra : bool
        Keep unknown keys instead of rejecting them.

    Raises
    ------
    ConfigError
        On an unknown key, a missing key, a wrong type or a value outside ``choices``.
    """
    out: dict[str, Any] = {}
    unknown = sorted(set(doc) - set(schema))
    if unknown and not allow_extra:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(prefix + k for k in unknown)}; "
            f"expected keys in [{prefix.rstrip('.') or 'top level'}]: {', '.join(sorted(schema))}"
        )
    for key, fld in schema.items():
        dotted = prefix + key
        if key not in doc:
            if fld.required:
                raise ConfigError(
                    f"{source}: missing key '{dotted}' ({_type_name(fld.type)}){': ' + fld.doc if fld.doc else ''}"
                )
            out[key] = fld.default.value() if isinstance(fld.default, Setting) else fld.default
            continue
        out[key] = _check_value(doc[key], fld, source, dotted)
    if allow_extra:
        for k in unknown:
            out[k] = doc[k]
    return out


def _check_value(value: Any, fld: Field, source: str | os.PathLike, dotted: str) -> Any:
    """Check one present value against its field; return it (nested tables validated)."""
    if not _is_instance(value, fld.type):
        raise ConfigError(
            f"{source}: key '{dotted}' must be {_type_name(fld.type)}, "
            f"got {type(value).__name__} {_short(value)}"
        )
    if fld.items is not None and isinstance(value, list):
        for i, item in enumerate(value):
            if not _is_instance(item, fld.items):
                raise ConfigError(
                    f"{source}: key '{dotted}[{i}]' must be {_type_name(fld.items)}, got {item!r}"
                )
    if fld.choices is not None and value not in fld.choices:
        raise ConfigError(
            f"{source}: key '{dotted}' must be one of {list(fld.choices)}, got {value!r}"
        )
    if fld.schema is not None and isinstance(value, Mapping):
        value = validate(value, fld.schema, source, prefix=dotted + ".")
    if fld.check is not None:
        msg = fld.check(value)
        if msg:
            raise ConfigError(f"{source}: key '{dotted}' {msg}, got {value!r}")
    if isinstance(value, float | int) and not isinstance(value, bool) and fld.type is float:
        value = float(value)
    return value


def load_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file safely.

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ConfigError
        If it is not valid TOML (the message carries the parser's line and column).
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"configuration file not found: {p}")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: malformed TOML: {exc}") from exc


def positive(v: float) -> str | None:
    """Check a number is > 0 (the message, or None)."""
    return None if v > 0 else "must be > 0"


def non_negative(v: float) -> str | None:
    """Check a number is >= 0 (the message, or None)."""
    return None if v >= 0 else "must be >= 0"


def dep_code(v: str) -> str | None:
    """Check a département code ('47', '2A', '971'): the message, or None."""
    return (
        None
        if (len(v) in (2, 3) and v[:2].isalnum())
        else "must be a département code such as '47' or '2A'"
    )


def check_thresholds(v: list) -> str | None:
    """Field check: a non-empty, strictly increasing list of positive minutes."""
    if not v:
        return "must not be empty"
    if any(x <= 0 for x in v) or sorted(v) != list(v) or len(set(v)) != len(v):
        return "must be strictly increasing positive minutes"
    return None


def thresholds_field(default: Sequence[int], doc: str = "") -> Field:
    """The schema key of a list of time thresholds in minutes (checked by :func:`check_thresholds`).

    Parameters
    ----------
    default : sequence of int
        Minutes used when the key is absent.
    doc : str
        What the thresholds are for.

    Returns
    -------
    Field
        An optional list of integers, strictly increasing and positive.
    """
    return Field(
        list, items=int, required=False, default=list(default), check=check_thresholds, doc=doc
    )


def check_sources(v: list) -> str | None:
    """Check the ``[[sources]]`` entries each give a name and a vintage (the message, or None)."""
    for i, item in enumerate(v):
        missing = {"name", "vintage"} - set(item)
        if missing:
            return f"entry {i} lacks {sorted(missing)} (each source needs name, vintage, licence)"
    return None


def at_least_one(v: float) -> str | None:
    """Check a factor is >= 1 (the message, or None)."""
    return None if v >= 1.0 else "must be >= 1"


def positive_int(v: int) -> str | None:
    """Check an integer is > 0 (the message, or None)."""
    return None if v > 0 else "must be > 0"
