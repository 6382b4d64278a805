"""The network caption: what every output says about the road network, in French.

:func:`network_caption` makes a :class:`NetworkCaption` from the graph's own attributes
(``source``, ``source_date``, ``kind``, ``schematic``, ``notes``), so a map, a report or a
GeoPackage made from a graph always names the network the figures come from.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from geoattract.network.model import FILE_DATE_NOTE, check_kind

#: Caption of every output made on the schematic network.
SCHEMATIC_CAPTION_FR: str = (
    "Réseau routier schématique, construit à partir des limites communales (aucune donnée "
    "OpenStreetMap disponible hors ligne) : temps de trajet indicatifs."
)

#: French month names, for the vintage shown in captions.
FRENCH_MONTHS: tuple[str, ...] = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")

#: A file name in brackets at the end of a graph's ``source`` (``… (roads.gpkg)``).
_FILE_NAME = re.compile(
    r"\s*\((?:[^()]*[/\\])?[^()/\\]+\.(?:gpkg|shp|geojson|json|fgb|parquet|osm|pbf|graphml|"
    r"xml|csv|zip)\)",
    re.IGNORECASE,
)


def without_file_name(source: str) -> str:
    """A network source for French text: the file name in brackets is left out.

    The graph attribute ``source`` (kept whole in the metadata) names the file read; captions
    and reports name the network, not the file.

    Examples
    --------
    >>> without_file_name("Travel Mapping, routes classées de France (roads.gpkg) (couche entière)")
    'Travel Mapping, routes classées de France (couche entière)'
    """
    return _FILE_NAME.sub("", source).strip()


def date_fr(vintage: str) -> str:
    """Write a vintage in French: ``"2019-01-23 (latest edit)"`` → ``"23 janvier 2019"``.

    Parameters
    ----------
    vintage : str
        A ``source_date``: an ISO date, possibly followed by a time or a note, or free text
        (a year) returned unchanged.

    Returns
    -------
    str
        The date in words (``1er`` for the first day of a month), or ``vintage`` stripped.
    """
    match = _ISO_DATE.match(vintage.strip())
    if match is None:
        return vintage.strip()
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= len(FRENCH_MONTHS):
        return vintage.strip()
    return f"{'1er' if day == 1 else day} {FRENCH_MONTHS[month - 1]} {year}"


@dataclass(frozen=True)
class NetworkCaption:
    """What every output says about the road network, made from the graph's own metadata.

    Attributes
    ----------
    source : str
        Graph attribute ``source`` (``"OpenStreetMap PBF test.osm.pbf"``…).
    kind : str
        One of :data:`~geoattract.network.model.GRAPH_KINDS`.
    vintage : str
        Graph attribute ``source_date`` (``""`` when unknown).
    schematic : bool
        Whether the graph is the schematic fallback.
    notes : str, optional
        Graph attribute ``notes``: a French clause on the network's limits.
    """

    source: str
    kind: str
    vintage: str
    schematic: bool
    notes: str | None = None

    @property
    def text_fr(self) -> str:
        """The one French sentence shown under maps, in reports and in metadata."""
        if self.schematic:
            base = SCHEMATIC_CAPTION_FR.rstrip(".")
        elif self.kind == "osm":
            when = date_fr(self.vintage)
            origin = "fichier du" if self.vintage.endswith(FILE_DATE_NOTE) else "extrait du"
            base = "Réseau routier OpenStreetMap" + (f" ({origin} {when})" if when else "")
        else:
            when = date_fr(self.vintage)
            source = without_file_name(self.source)
            base = f"Réseau routier : {source}" + (f" ({when})" if when else "")
        return f"{base} ; {self.notes.rstrip('.')}." if self.notes else f"{base}."


def network_caption(G: nx.MultiDiGraph | Mapping[str, Any]) -> NetworkCaption:
    """Make the caption of a road graph from its graph attributes only.

    Parameters
    ----------
    G : networkx.MultiDiGraph or mapping
        The graph model, or its graph attributes. A graph without ``kind`` (saved before the
        attribute existed) is ``"schematic"`` when flagged so, ``"file"`` otherwise.

    Returns
    -------
    NetworkCaption

    Raises
    ------
    DataError
        If the graph's ``kind`` is not one of :data:`~geoattract.network.model.GRAPH_KINDS`.
    """
    attrs = G.graph if isinstance(G, nx.Graph) else G
    schematic = str(attrs.get("schematic", False)) == "True"
    kind = str(attrs.get("kind") or ("schematic" if schematic else "file"))
    source = str(attrs.get("source") or "source inconnue")
    check_kind(kind, source)
    notes = attrs.get("notes")
    return NetworkCaption(
        source=source,
        kind=kind,
        vintage=str(attrs.get("source_date") or ""),
        schematic=schematic,
        notes=str(notes) if notes else None,
    )
