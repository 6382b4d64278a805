"""Edge speeds and travel times for road graphs.

Speeds come from the OSM ``maxspeed`` tag where it is tagged and parseable, otherwise from
:data:`FRENCH_DEFAULT_SPEEDS`, a table of **realistic average achieved speeds** per OSM
``highway`` class (not legal limits: intersections, villages, bends and traffic make the
average well below the limit). Tagged ``maxspeed`` values are legal limits; they are used
as they are, optionally scaled by a per-class penalty (``penalty``, a congestion factor).

Travel time of an edge = ``length / (speed_kph / 3.6)`` seconds.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping

import networkx as nx
import numpy as np

from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)

#: Realistic average speeds (km/h) per OSM ``highway`` class on French roads, used when an
#: edge has no usable ``maxspeed`` tag. They are averages achieved by a car in free-flowing
#: traffic, not legal limits: motorway 115 (limit 130; average of light vehicles observed
#: by the ONISR speed observatory is about 115–120), trunk 90 (2×2 "voies express" at 110 and
#: two-lane national roads at 80), primary 70 and secondary 60 (departmental roads limited
#: to 80/90 outside built-up areas but crossing villages at 50), tertiary 50, unclassified 45,
#: residential 30, living_street 15 (limit 20, "zone de rencontre"), service 20. Ramps
#: (``*_link``) are taken at about half the speed of their road.
FRENCH_DEFAULT_SPEEDS: dict[str, float] = {
    "motorway": 115.0,
    "motorway_link": 60.0,
    "trunk": 90.0,
    "trunk_link": 50.0,
    "primary": 70.0,
    "primary_link": 45.0,
    "secondary": 60.0,
    "secondary_link": 40.0,
    "tertiary": 50.0,
    "tertiary_link": 35.0,
    "unclassified": 45.0,
    "road": 40.0,
    "residential": 30.0,
    "living_street": 15.0,
    "service": 20.0,
}

#: Speed (km/h) of an edge whose class is not in the speed table and has no maxspeed.
DEFAULT_FALLBACK_SPEED_KPH: float = 40.0

#: Highway classes kept in a drive network (the osmnx "drive" classes): every class of the
#: speed table except ``service`` (driveways, parking aisles), which
#: :func:`geoattract.network.osm.filter_drivable` keeps only when asked.
DRIVE_HIGHWAYS: frozenset[str] = frozenset(k for k in FRENCH_DEFAULT_SPEEDS if k != "service")

#: Importance of each highway class (0 = most important); used to pick one class for an
#: edge that merges several OSM ways (osmnx simplification gives lists such as
#: ``['primary', 'residential']``): the most important class wins.
HIGHWAY_RANK: dict[str, int] = {name: rank for rank, name in enumerate(FRENCH_DEFAULT_SPEEDS)}

#: One mile in kilometres (``maxspeed="50 mph"``).
MPH_TO_KPH: float = 1.609344

#: Implicit speed limits (km/h) of ``maxspeed`` zone values, country prefix removed
#: (``FR:urban`` → ``urban``). ``walk`` is walking pace; ``none`` (no limit, German
#: motorways) is mapped to the French motorway limit.
MAXSPEED_ZONES: dict[str, float] = {
    "urban": 50.0,
    "rural": 80.0,
    "trunk": 110.0,
    "motorway": 130.0,
    "zone30": 30.0,
    "zone20": 20.0,
    "zone10": 10.0,
    "living_street": 20.0,
    "walk": 6.0,
    "none": 130.0,
}

_NUMBER = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: object) -> float:
    """Parse an OSM ``maxspeed`` value into km/h.

    Rules:

    * plain numbers (``"50"``, ``50``, ``"50 km/h"``) are km/h; ``"30 mph"`` is converted;
    * zone values use :data:`MAXSPEED_ZONES`, with or without a country prefix:
      ``"FR:urban"`` → 50, ``"FR:rural"`` → 80, ``"FR:motorway"`` → 130,
      ``"FR:zone30"`` → 30, ``"FR:walk"`` → 6, ``"none"`` → 130;
    * several values (``"50;70"``, ``"50|70"`` or a list ``['50', '70']`` produced by
      osmnx when it merges ways) give the **mean** of the parseable ones (the osmnx rule:
      merged ways are usually of similar length);
    * anything else (``"signals"``, ``""``, ``None``, NaN, zero or negative) → NaN.

    Parameters
    ----------
    value : str, number, list or None
        The tag value.

    Returns
    -------
    float
        Speed in km/h, or NaN when the value cannot be interpreted.
    """
    if value is None:
        return math.nan
    if isinstance(value, (list, tuple, set, np.ndarray)):
        parts = [parse_maxspeed(v) for v in value]
        parts = [p for p in parts if not math.isnan(p)]
        return float(np.mean(parts)) if parts else math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        v = float(value)
        return v if math.isfinite(v) and v > 0 else math.nan
    if not isinstance(value, str):
        return math.nan
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):  # list stringified by GraphML/GPKG
        items = [t.strip(" '\"") for t in text[1:-1].split(",")]
        return parse_maxspeed(items)
    if ";" in text or "|" in text:
        return parse_maxspeed(re.split(r"[;|]", text))
    match = _NUMBER.match(text)
    if match:
        speed = float(match.group(1).replace(",", "."))
        unit = (match.group(2) or "").lower()
        if unit == "mph":
            speed *= MPH_TO_KPH
        elif unit == "knots":
            speed *= 1.852
        return speed if speed > 0 else math.nan
    zone = text.split(":", 1)[1] if ":" in text else text
    return MAXSPEED_ZONES.get(zone.strip().lower(), math.nan)


def main_highway(value: object) -> str:
    """Return one highway class for an edge: the most important of a list.

    Parameters
    ----------
    value : str, list of str or scalar
        The ``highway`` attribute (osmnx gives a list for merged ways; GraphML may store the
        list as its string representation); another scalar is taken as its string.

    Returns
    -------
    str
        The class with the lowest :data:`HIGHWAY_RANK` (unknown classes rank last, ties by
        name), or ``""`` when the value is missing.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            values = [t.strip(" '\"") for t in text[1:-1].split(",")]
        else:
            return text
    elif isinstance(value, Iterable):
        values = [str(v) for v in value]
    else:
        return str(value)
    values = [v for v in values if v]
    if not values:
        return ""
    return min(values, key=lambda v: (HIGHWAY_RANK.get(v, len(HIGHWAY_RANK)), v))


def highway_classes(value: object) -> list[str]:
    """Return every class of a ``highway`` attribute (a list, its string form or one value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            return [t.strip(" '\"") for t in text[1:-1].split(",") if t.strip(" '\"")]
        return [text] if text else []
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def add_edge_speeds(
    G: nx.MultiDiGraph,
    defaults: Mapping[str, float] | None = None,
    penalty: Mapping[str, float] | None = None,
    *,
    fallback_kph: float = DEFAULT_FALLBACK_SPEED_KPH,
) -> nx.MultiDiGraph:
    """Return a copy of ``G`` with ``speed_kph`` on every edge.

    The speed is the parsed ``maxspeed`` tag when there is one (:func:`parse_maxspeed`),
    otherwise ``defaults[highway]`` (``highway`` reduced to one class with
    :func:`main_highway`), otherwise ``fallback_kph``. ``penalty[highway]`` (a factor,
    e.g. 0.8 for congested urban classes) multiplies the speed when given. Each edge also
    gets ``speed_source`` (``"maxspeed"`` or ``"default"``), ``length_maxspeed`` (metres
    of the edge whose speed comes from a tag) and ``highway`` normalised to a string.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Edges need ``length`` (m); ``highway`` and ``maxspeed`` are optional.
    defaults : mapping, optional
        Class → km/h; :data:`FRENCH_DEFAULT_SPEEDS` when not given.
    penalty : mapping, optional
        Class → factor in (0, 1]; classes not listed keep factor 1.
    fallback_kph : float
        Speed of classes absent from ``defaults``.

    Returns
    -------
    networkx.MultiDiGraph
        A new graph.

    Raises
    ------
    DataError
        If a default or penalty value is not positive.
    """
    defaults = dict(FRENCH_DEFAULT_SPEEDS if defaults is None else defaults)
    penalty = dict(penalty or {})
    bad = {k: v for k, v in {**defaults, **penalty}.items() if not (v > 0)}
    if bad or not fallback_kph > 0:
        raise DataError(
            f"speed table: speeds and penalties must be > 0; got {format_values(bad.items())}"
        )
    H = G.copy()
    unknown: set[str] = set()
    for _, _, data in H.edges(data=True):
        hw = main_highway(data.get("highway"))
        data["highway"] = hw
        tagged = parse_maxspeed(data.get("maxspeed"))
        if not math.isnan(tagged):
            speed, source = tagged, "maxspeed"
        elif hw in defaults:
            speed, source = defaults[hw], "default"
        else:
            speed, source = fallback_kph, "default"
            unknown.add(hw)
        data["speed_kph"] = float(speed * penalty.get(hw, 1.0))
        data["speed_source"] = source
        data["length_maxspeed"] = float(data.get("length", 0.0)) if source == "maxspeed" else 0.0
    if unknown:
        logger.info(
            "highway classes without a default speed (%.0f km/h used): %s",
            fallback_kph,
            format_values(sorted(unknown)),
        )
    return H


def add_edge_travel_times(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Return a copy of ``G`` with ``travel_time`` (s) = ``length / (speed_kph / 3.6)``.

    Parameters
    ----------
    G : networkx.MultiDiGraph
        Every edge needs ``length`` (m, ≥ 0) and ``speed_kph`` (> 0).

    Returns
    -------
    networkx.MultiDiGraph
        A new graph.

    Raises
    ------
    DataError
        Naming the edges whose length or speed is missing or invalid.
    """
    H = G.copy()
    bad: list[tuple[object, object, object]] = []
    for u, v, k, data in H.edges(keys=True, data=True):
        length = _as_float(data.get("length"))
        speed = _as_float(data.get("speed_kph"))
        if not (length >= 0 and speed > 0):
            bad.append((u, v, k))
            continue
        data["travel_time"] = length / (speed / 3.6)
    if bad:
        raise DataError(f"edges without a valid 'length' or 'speed_kph': {format_values(bad)}")
    return H


def _as_float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
