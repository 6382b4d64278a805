"""The ``[territory]`` section of a study: which communes form the study, and where they come from.

A study names its territory in one of four ways (exactly one):

- ``departements = ["24"]`` or several (``["24", "47"]``);
- ``epci = ["200069193", ...]``: intercommunalities, by SIREN code;
- ``communes = ["47001", ...]``: INSEE commune codes;
- ``france = true``: every commune of metropolitan France and Corsica.

``[study] departement = "47"`` is kept as the shorthand of ``departements = ["47"]``; giving
both is an error. The communes come from one of two adapters (``source``):

- ``"national"``: the national commune file (``communes_file``, default
  ``../france/communes_2025.gpkg`` relative to the study's data folder);
- ``"inputs"``: the study's own ``[inputs]`` files (commune polygons, town halls, population,
  EPCI), which declare the départements they cover completely (``[inputs] departements``);
- ``"auto"`` (default): the ``[inputs]`` files when the study has them and they cover the
  study départements *and* every département its buffer reaches, else the national file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geoattract.errors import ConfigError

#: Values of ``[territory] source``.
TERRITORY_SOURCES: tuple[str, ...] = ("auto", "inputs", "national")

#: Keys of ``[territory]`` that select the study communes (exactly one is given).
SELECTION_KEYS: tuple[str, ...] = ("departements", "epci", "communes", "france")

#: Default national commune file, relative to a study's data folder (``../shared/data/<study>``).
NATIONAL_COMMUNES_DEFAULT: str = "../france/communes_2025.gpkg"


@dataclass(frozen=True)
class TerritorySpec:
    """A validated ``[territory]`` section.

    Attributes
    ----------
    kind : str
        ``"departements"``, ``"epci"``, ``"communes"`` or ``"france"``.
    codes : tuple of str
        The département, EPCI or commune codes (empty for ``"france"``).
    source : str
        ``"auto"``, ``"inputs"`` or ``"national"``.
    communes_file : str
        The national commune file, relative to the data folder (or absolute).
    """

    kind: str
    codes: tuple[str, ...]
    source: str = "auto"
    communes_file: str = NATIONAL_COMMUNES_DEFAULT

    def describe(self) -> str:
        """Short description for logs and messages (``départements 24, 47``)."""
        if self.kind == "france":
            return "metropolitan France"
        shown = ", ".join(self.codes[:10]) + (" …" if len(self.codes) > 10 else "")
        return f"{self.kind} {shown}"


def territory_spec(
    section: Mapping[str, Any], departement: str | None, source: str | os.PathLike = "<config>"
) -> TerritorySpec:
    """Build the :class:`TerritorySpec` of a study from ``[territory]`` and ``[study] departement``.

    Parameters
    ----------
    section : mapping
        The validated ``[territory]`` section (keys absent or None when not given).
    departement : str or None
        ``[study] departement`` (the shorthand).
    source : str
        File name for messages.

    Raises
    ------
    ConfigError
        No selection, more than one selection, both ``[study] departement`` and a
        ``[territory]`` selection, an empty list, ``france = false``.
    """
    given = [k for k in SELECTION_KEYS if section.get(k) not in (None, False)]
    if section.get("france") is False:
        raise ConfigError(
            f"{source}: key 'territory.france' must be true when given (omit it otherwise)"
        )
    if departement is not None and given:
        raise ConfigError(
            f"{source}: both 'study.departement' ({departement!r}) and 'territory.{given[0]}' "
            f"name the territory; keep one"
        )
    if departement is not None:
        given, section = ["departements"], {**section, "departements": [departement]}
    if not given:
        raise ConfigError(
            f"{source}: missing key 'study.departement' (a string), or a [territory] section "
            f"with one of {', '.join(SELECTION_KEYS)}"
        )
    if len(given) > 1:
        raise ConfigError(
            f"{source}: [territory] names the study in {len(given)} ways "
            f"({', '.join(given)}); keep exactly one"
        )
    kind = given[0]
    codes: tuple[str, ...] = ()
    if kind != "france":
        codes = tuple(str(c).strip().upper() for c in section[kind])
        if not codes:
            raise ConfigError(f"{source}: key 'territory.{kind}' must not be empty")
        dup = sorted({c for c in codes if codes.count(c) > 1})
        if dup:
            raise ConfigError(f"{source}: key 'territory.{kind}' repeats {', '.join(dup)}")
    return TerritorySpec(
        kind=kind,
        codes=codes,
        source=str(section.get("source") or "auto"),
        communes_file=str(section.get("communes_file") or NATIONAL_COMMUNES_DEFAULT),
    )
