"""Exceptions raised by geoattract.

Every exception derives from :class:`GeoattractError`, so ``except GeoattractError`` catches
anything the package raises on purpose. The subclasses also inherit the matching builtin, so
code that already catches ``ValueError``, ``KeyError`` or ``FileNotFoundError`` keeps working
(the r5py convention).

Messages name the file, the column or configuration key, and the offending values.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "DataError",
    "DataNotFoundError",
    "GeoattractError",
    "NetworkError",
    "RoutingError",
    "SnapError",
    "format_values",
]

#: How many offending values an error message lists before it says "and N more".
MAX_VALUES_IN_MESSAGE = 10


class GeoattractError(Exception):
    """Base class of every error geoattract raises on purpose."""


class DataError(ValueError, GeoattractError):
    """An input table or layer is unusable: missing column, bad values, wrong CRS, duplicates."""


class DataNotFoundError(FileNotFoundError, GeoattractError):
    """An input file or the data folder does not exist where it was looked for."""


class ConfigError(ValueError, GeoattractError):
    """A configuration file is malformed, has an unknown key or a value of the wrong type."""


class NetworkError(GeoattractError, RuntimeError):
    """A road network cannot be built or loaded (no internet, truncated file, empty area)."""


class RoutingError(ValueError, GeoattractError):
    """A routing request is invalid (unknown node, negative cutoff, graph without travel times)."""


class SnapError(DataError):
    """Points lie farther from the network than the snapping limit."""


def format_values(values: Iterable[object], limit: int = MAX_VALUES_IN_MESSAGE) -> str:
    """Format offending values for an error message, truncated after ``limit`` items.

    Parameters
    ----------
    values : iterable
        The values to show.
    limit : int
        How many values to list before summarising the rest.

    Returns
    -------
    str
        For example ``"'47001', '47002' and 3 more"``.
    """
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:limit])
    if len(items) > limit:
        shown += f" and {len(items) - limit} more"
    return shown
