"""Schematic road network built from commune geometry: the clearly labelled offline fallback.

Nodes are the town halls and one point per shared border; each pair of adjacent communes is
linked town hall → border point → town hall, both ways, with a detour factor on straight
lines and inter-commune average speeds by the smaller population of the two communes. Links
touching a *pole* (a prefecture or sub-prefecture: the study's ``[network] schematic_poles``,
else the most populous study communes) are at least "secondary".
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point

from geoattract.errors import DataError, format_values
from geoattract.network.model import finalize_graph
from geoattract.territory import check_territory

logger = logging.getLogger(__name__)

#: Source label of schematic graphs.
SCHEMATIC_SOURCE: str = "schematic (commune geometry)"

#: Ratio road distance / straight-line distance applied to each schematic leg (town hall →
#: border point). Circuity factors measured between cities are 1.2–1.4 in most countries
#: (Ballou, Rahardja & Sakai 2002, "Selected country circuity factors for road travel
#: distance estimation", Transportation Research A 36(9); Boscoe et al. 2012 find 1.4 on
#: average for the US). The zigzag through border points and intermediate communes already
#: adds about 15 %, so 1.1 per leg gives a route about 1.28 times the crow-fly distance
#: between town halls (median over the first study; 10–90 %: 1.21–1.37).
DETOUR_FACTOR: float = 1.1

#: Two communes are linked when their shared boundary is at least this long (m); a corner
#: touch (a single point or a few metres) is not taken as a road crossing.
MIN_SHARED_BORDER_M: float = 100.0

#: Poles per study département when none are given: the prefecture and its sub-prefectures
#: are the chefs-lieux of the arrondissements, about 3.3 per département in metropolitan
#: France (320 arrondissements, 96 départements), so the 4 most populous communes.
SCHEMATIC_POLES_PER_DEPARTEMENT: int = 4

#: Link classes by the smaller population of the two linked communes, most important first:
#: (minimum population, class). Links touching a pole are at least :data:`POLE_LINK_CLASS`.
SCHEMATIC_LINK_CLASSES: tuple[tuple[float, str], ...] = (
    (5_000.0, "primary"),
    (1_000.0, "secondary"),
    (0.0, "tertiary"),
)

#: Lowest class of a link touching a pole.
POLE_LINK_CLASS: str = "secondary"

#: Average speed (km/h) of a schematic link between two town halls. A link bundles the
#: best road between two centres, including the slow crossing of both villages, so these are
#: inter-commune averages, not the OSM class averages of ``FRENCH_DEFAULT_SPEEDS``:
#: departmental roads limited to 80 km/h outside villages, 50 inside. There is no motorway
#: class: long trips that real drivers make on motorways come out slower than reality.
SCHEMATIC_SPEEDS: dict[str, float] = {"primary": 80.0, "secondary": 70.0, "tertiary": 65.0}

#: Vintage of the commune geometry the schematic network is built from (COG 2025).
SCHEMATIC_SOURCE_DATE: str = "2025"

#: Columns the territory must hold.
TERRITORY_COLUMNS: tuple[str, ...] = ("code", "population", "town_hall", "geometry")


def default_poles(
    territory: pd.DataFrame, per_departement: int = SCHEMATIC_POLES_PER_DEPARTEMENT
) -> tuple[str, ...]:
    """Poles derived from the data: the most populous study communes of each département.

    Parameters
    ----------
    territory : DataFrame
        ``code`` and ``population``; ``in_study`` (only study communes are candidates) and
        ``dep`` (one group per département) when present.
    per_departement : int
        Poles per département.

    Returns
    -------
    tuple of str
        Sorted codes; communes without a population are never poles, ties go to the
        smaller code.
    """
    rows = territory[territory["in_study"].astype(bool)] if "in_study" in territory else territory
    table = pd.DataFrame(
        {
            "code": rows["code"].astype(str).to_numpy(),
            "population": rows["population"].astype(float).to_numpy(),
            "dep": rows["dep"].astype(str).to_numpy() if "dep" in rows else "",
        }
    ).dropna(subset=["population"])
    ranked = table.sort_values(["population", "code"], ascending=[False, True], kind="stable")
    chosen = ranked.groupby("dep", sort=True).head(per_departement)
    return tuple(sorted(chosen["code"]))


class _Builder:
    """The graph under construction and the rules of its links."""

    def __init__(
        self,
        terr: gpd.GeoDataFrame,
        *,
        poles: Sequence[str],
        link_classes: tuple[tuple[float, str], ...],
        speeds: Mapping[str, float],
        detour_factor: float,
    ) -> None:
        self.codes = terr["code"].astype(str).to_numpy()
        self.pop = terr["population"].astype(float).fillna(0.0).to_numpy()
        self.is_pole = np.isin(self.codes, list(poles))
        halls = terr["town_hall"].to_numpy()
        self.hx, self.hy = shapely.get_x(halls), shapely.get_y(halls)
        self.n = len(terr)
        self.link_classes = link_classes
        self.names = [c for _, c in link_classes]
        self.speeds = speeds
        self.detour_factor = detour_factor
        self.G = nx.MultiDiGraph()
        for i in range(self.n):
            self.G.add_node(
                i,
                x=float(self.hx[i]),
                y=float(self.hy[i]),
                kind="town_hall",
                code=self.codes[i],
                nom=str(terr.at[i, "nom"]) if "nom" in terr else self.codes[i],
            )

    def _rank(self, cls: str) -> int:
        return self.names.index(cls) if cls in self.names else len(self.names)

    def link_class(self, i: int, j: int) -> str:
        """Class of the link between town halls ``i`` and ``j``."""
        smaller = min(self.pop[i], self.pop[j])
        cls = next((c for t, c in self.link_classes if smaller >= t), self.link_classes[-1][1])
        pole = self.is_pole[i] or self.is_pole[j]
        if pole and self._rank(cls) > self._rank(POLE_LINK_CLASS):
            cls = POLE_LINK_CLASS
        return cls

    def add_leg(self, a: int, b: int, cls: str, link: str) -> None:
        """Two directed edges between nodes ``a`` and ``b``."""
        pa = (self.G.nodes[a]["x"], self.G.nodes[a]["y"])
        pb = (self.G.nodes[b]["x"], self.G.nodes[b]["y"])
        length = math.dist(pa, pb) * self.detour_factor
        speed = float(self.speeds[cls])
        for s, t, ps, pt in ((a, b, pa, pb), (b, a, pb, pa)):
            self.G.add_edge(
                s,
                t,
                length=length,
                highway=cls,
                speed_kph=speed,
                travel_time=length / (speed / 3.6),
                link=link,
                speed_source="schematic",
                length_maxspeed=0.0,
                geometry=LineString([ps, pt]),
            )

    def link_neighbours(self, geoms: np.ndarray, min_shared_border_m: float) -> None:
        """Town hall → border point → town hall for every pair of adjacent communes."""
        next_id = self.n
        for i, j, line in _adjacent_pairs(geoms, min_shared_border_m):
            point = _border_point(line)
            code = f"{self.codes[i]}|{self.codes[j]}"
            self.G.add_node(next_id, x=float(point.x), y=float(point.y), kind="border", code=code)
            cls = self.link_class(i, j)
            link = f"{self.codes[i]}-{self.codes[j]}"
            self.add_leg(i, next_id, cls, link)
            self.add_leg(next_id, j, cls, link)
            next_id += 1

    def link_islands(self) -> list[str]:
        """Link cut-off groups to the nearest town hall outside them until connected."""
        bridges: list[str] = []
        while True:
            comps = sorted(
                (sorted(c) for c in nx.weakly_connected_components(self.G)),
                key=lambda c: (-len(c), c[0]),
            )
            if len(comps) <= 1:
                return bridges
            small = set(comps[-1])
            inside = [k for k in sorted(small) if k < self.n]
            outside = np.array([k for k in range(self.n) if k not in small])
            if not inside or outside.size == 0:
                raise DataError("schematic_network: a group of border nodes has no town hall")
            tree_out = cKDTree(np.c_[self.hx[outside], self.hy[outside]])
            dist, idx = tree_out.query(np.c_[self.hx[inside], self.hy[inside]])
            best = int(np.lexsort((idx, np.asarray(inside), dist))[0])
            a, b = sorted((inside[best], int(outside[idx[best]])))
            link = f"{self.codes[a]}-{self.codes[b]}"
            self.add_leg(a, b, self.link_class(a, b), f"{link} (nearest, no shared border)")
            bridges.append(link)


def _adjacent_pairs(geoms: np.ndarray, min_shared_border_m: float) -> list[tuple[int, int, Any]]:
    """(i, j, shared boundary) of adjacent polygons, i < j, sorted by (i, j)."""
    tree = shapely.STRtree(geoms)
    ii, jj = tree.query(geoms, predicate="intersects")
    keep = ii < jj
    ii, jj = ii[keep], jj[keep]
    bounds = shapely.boundary(geoms)
    shared = shapely.line_merge(shapely.intersection(bounds[ii], bounds[jj]))
    ok = shapely.length(shared) >= max(min_shared_border_m, 1e-9)
    order = np.lexsort((jj[ok], ii[ok]))
    return [
        (int(i), int(j), line)
        for i, j, line in zip(
            ii[ok][order], jj[ok][order], np.asarray(shared)[ok][order], strict=True
        )
    ]


def schematic_network(
    territory: gpd.GeoDataFrame,
    *,
    detour_factor: float = DETOUR_FACTOR,
    min_shared_border_m: float = MIN_SHARED_BORDER_M,
    poles: Sequence[str] | None = None,
    link_classes: Iterable[tuple[float, str]] = SCHEMATIC_LINK_CLASSES,
    speeds: Mapping[str, float] | None = None,
    source_date: str = SCHEMATIC_SOURCE_DATE,
) -> nx.MultiDiGraph:
    """Build a schematic road network from commune geometry (offline fallback).

    Nodes are the town halls and one point per shared border (the middle of the longest
    line of the boundary two communes share, when it is at least ``min_shared_border_m``
    long). Each pair of adjacent communes A, B is linked town hall A → border point →
    town hall B, in both directions. Each leg's length is its straight-line length times
    ``detour_factor``. The link class comes from the smaller population of A and B
    (``link_classes``; a missing population counts as 0, the lowest class) and is at
    least "secondary" when A or B is a pole; its speed from ``speeds``.

    A commune with no neighbour, and any group of communes cut off from the rest, is linked
    directly (town hall to town hall) to the nearest town hall outside it, repeatedly,
    until the graph is connected; as every link is two-way it is then strongly connected.

    Parameters
    ----------
    territory : GeoDataFrame
        From :func:`geoattract.territory.load.load_territory`: ``code``, ``population``,
        ``town_hall`` (points) and polygon geometry, in a projected CRS (EPSG:2154).
    detour_factor : float
        Road / straight-line ratio per leg (≥ 1).
    min_shared_border_m : float
        Minimum shared boundary length for two communes to be linked.
    poles : sequence of str, optional
        Codes of the prefecture and sub-prefectures (the study's ``[network]
        schematic_poles``); by default :func:`default_poles` of the territory.
    link_classes : iterable of (float, str)
        (minimum population, class), most important first; the last should start at 0.
    speeds : mapping, optional
        Class → km/h; :data:`SCHEMATIC_SPEEDS` by default.
    source_date : str
        Vintage of the commune geometry.

    Returns
    -------
    networkx.MultiDiGraph
        The graph model with ``schematic=True`` and ``kind="schematic"``. Town-hall nodes
        carry ``kind="town_hall"`` and ``code``; border nodes ``kind="border"`` and
        ``code="A|B"``. Node ids are integers: town halls first in code order, then border
        points in pair order.

    Raises
    ------
    DataError
        On missing columns, a geographic CRS, duplicate codes, empty town halls or bad
        parameters.
    """
    check_territory(
        territory,
        ["population"],
        town_halls=True,
        study=False,
        what="schematic network",
    )
    speeds = dict(SCHEMATIC_SPEEDS if speeds is None else speeds)
    classes = tuple(sorted(((float(p), str(c)) for p, c in link_classes), reverse=True))
    _check_parameters(detour_factor, min_shared_border_m, classes, speeds)
    if poles is None:
        poles = default_poles(territory)
        logger.info("schematic network: poles from population: %s", format_values(poles))
    pole_codes = tuple(sorted({str(p) for p in poles}))
    t0 = time.perf_counter()
    terr = territory.sort_values("code").reset_index(drop=True)
    builder = _Builder(
        terr, poles=pole_codes, link_classes=classes, speeds=speeds, detour_factor=detour_factor
    )
    builder.link_neighbours(terr.geometry.to_numpy(), min_shared_border_m)
    bridges = builder.link_islands()
    if bridges:
        logger.info(
            "schematic network: %d communes/groups without a neighbour linked to the nearest "
            "town hall: %s",
            len(bridges),
            format_values(bridges),
        )
    params = {
        "detour_factor": detour_factor,
        "min_shared_border_m": min_shared_border_m,
        "poles": list(pole_codes),
        "link_classes": [list(c) for c in classes],
        "speeds": speeds,
        "bridges": bridges,
        "communes": builder.n,
    }
    H = finalize_graph(
        builder.G,
        source=SCHEMATIC_SOURCE,
        source_date=source_date,
        kind="schematic",
        params=params,
        schematic=True,
    )
    logger.info("schematic network built in %.2f s", time.perf_counter() - t0)
    return H


def _check_parameters(
    detour_factor: float,
    min_shared_border_m: float,
    classes: tuple[tuple[float, str], ...],
    speeds: Mapping[str, float],
) -> None:
    unknown = {c for _, c in classes} - set(speeds)
    if unknown or detour_factor < 1 or min_shared_border_m < 0:
        raise DataError(
            "schematic_network: detour_factor must be ≥ 1, min_shared_border_m ≥ 0 and every link "
            f"class needs a speed; got detour_factor={detour_factor}, min_shared_border_m="
            f"{min_shared_border_m}, classes without speed {format_values(sorted(unknown))}"
        )


def _border_point(line: Any) -> Point:
    """Middle of the longest line of a shared boundary (a point of a lone point)."""
    parts = list(getattr(line, "geoms", [line]))
    lines = [g for g in parts if isinstance(g, LineString) and g.length > 0]
    if not lines:
        return shapely.point_on_surface(line)
    longest = max(lines, key=lambda g: (g.length, g.wkt))
    return longest.interpolate(0.5, normalized=True)


def town_hall_nodes(G: nx.MultiDiGraph) -> dict[str, int]:
    """Map commune code → town-hall node of a schematic graph."""
    return {d["code"]: n for n, d in G.nodes(data=True) if d.get("kind") == "town_hall"}
