"""Accessibility of any points to any facilities over a road network: the analyst's function.

``ga.accessibility(origins, facilities, network, method=...)`` is to a study's
accessibility stage what PySAL access's ``Access(...).enhanced_two_stage_fca()`` is to a
hand-written catchment: GeoDataFrames in, a frame aligned on the origins out, the decay a
small function passed as an argument. Points join the network by its one rule (the access leg
at each end; a ``delay_s`` column adds seconds at a point, e.g. the dense-commune delay).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract import settings
from geoattract.accessibility.catchment import PER_INHABITANTS, e2sfca
from geoattract.errors import DataError, format_values
from geoattract.facilities import Decay, decay_from_config
from geoattract.network import Network

#: The methods of :func:`accessibility`.
METHODS: tuple[str, ...] = ("nearest", "count", "e2sfca")


def _points(frame: gpd.GeoDataFrame | gpd.GeoSeries, network: Network, what: str) -> pd.DataFrame:
    """Snapped points: ``node``, ``offset`` (access leg plus ``delay_s``), ``too_far``."""
    if not isinstance(frame, gpd.GeoDataFrame | gpd.GeoSeries):
        raise DataError(f"accessibility: {what} must be a GeoDataFrame or GeoSeries of points")
    snapped = network.snap(frame.geometry, what=what)
    offset = snapped["snap_time_s"].to_numpy(dtype=float)
    if isinstance(frame, gpd.GeoDataFrame) and "delay_s" in frame:
        offset = offset + pd.to_numeric(frame["delay_s"], errors="coerce").fillna(0).to_numpy()
    return pd.DataFrame(
        {
            "node": snapped["node"].to_numpy(),
            "offset": offset,
            "too_far": snapped["too_far"].to_numpy(dtype=bool),
        },
        index=frame.index,
    )


def _column(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, name: str | None, what: str, default: float
) -> np.ndarray:
    """A numeric column of the points (``default`` everywhere when ``name`` is None)."""
    if name is None or not isinstance(frame, gpd.GeoDataFrame):
        return np.full(len(frame), default)
    if name not in frame:
        raise DataError(f"accessibility: {what} have no column {name!r}")
    values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise DataError(
            f"accessibility: {what} column {name!r} has missing or negative values at "
            f"{format_values(list(frame.index[bad]))}"
        )
    return values


def accessibility(
    origins: gpd.GeoDataFrame | gpd.GeoSeries,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    network: Network,
    method: Literal["nearest", "count", "e2sfca"] = "nearest",
    *,
    minutes: Sequence[float] | None = None,
    decay: Decay | Callable[[np.ndarray], np.ndarray] | None = None,
    catchment_min: float | None = None,
    capacity: str | None = None,
    population: str = "population",
) -> pd.DataFrame:
    """Accessibility of each origin to the facilities, over the road network.

    Parameters
    ----------
    origins : GeoDataFrame or GeoSeries of points
        Where people are (town halls), in the network's CRS; ``population`` for
        ``"e2sfca"``; an optional ``delay_s`` adds seconds at the point.
    facilities : GeoDataFrame or GeoSeries of points
        The offer, in the network's CRS; ``capacity`` (a column name) weighs them.
    network : Network
        The road network (:func:`~geoattract.network.load_network`).
    method : {"nearest", "count", "e2sfca"}
        ``"nearest"``: minutes to the nearest facility; ``"count"``: facilities (or capacity)
        within each threshold; ``"e2sfca"``: the enhanced two-step floating catchment, supply
        per 100,000 inhabitants.
    minutes : sequence of float, optional
        Thresholds of ``"count"`` (default ``settings.thresholds_min``).
    decay : Decay or callable, optional
        ``"e2sfca"``: weight of a trip of ``t`` minutes (a function of an array of minutes);
        default the DREES APL steps (1 up to 10 min, 2/3 to 15, 1/3 to 20). A bare function
        needs ``catchment_min``.
    catchment_min : float, optional
        The largest trip a bare ``decay`` function weighs (minutes).
    capacity : str, optional
        Column of ``facilities`` with their capacity (default: 1 each).
    population : str
        Column of ``origins`` with their population (``"e2sfca"``).

    Returns
    -------
    DataFrame
        Aligned on ``origins``: ``time_min`` and ``unreachable`` (``"nearest"``),
        ``count_<T>min`` (``"count"``), or ``e2sfca`` (``"e2sfca"``); points beyond the
        snapping limit get NaN, never 0, and ``too_far``.

    Raises
    ------
    DataError
        Unknown method, points in another CRS, missing or negative population or capacity.

    Examples
    --------
    >>> import geoattract as ga
    >>> net = ga.load_network(ga.datasets.tiny_roads())
    >>> halls = ga.datasets.tiny_town_halls()
    >>> schools = ga.datasets.tiny_facilities()
    >>> near = ga.accessibility(halls, schools, net, "nearest")
    >>> near.index.equals(halls.index), bool(near["time_min"].notna().all())
    (True, True)
    >>> float(near.loc["99002", "time_min"]) < float(near.loc["99001", "time_min"])
    True
    >>> apl = ga.accessibility(halls, schools, net, "e2sfca")
    >>> round(float((apl["e2sfca"] * halls["population"]).sum() / 100_000), 6) <= 3
    True
    """
    from geoattract.routing import facility_access, network_routing_graph, reach

    if method not in METHODS:
        raise DataError(f"accessibility: method must be one of {list(METHODS)}, got {method!r}")
    if not isinstance(network, Network):
        network = Network.from_graph(network)
    orig = _points(origins, network, "origins")
    fac = _points(facilities, network, "facilities")
    weights = _column(facilities, capacity, "facilities", 1.0)
    rg = network_routing_graph(network)
    ok_o, ok_f = ~orig["too_far"].to_numpy(), ~fac["too_far"].to_numpy()
    out = pd.DataFrame(index=origins.index)
    out["too_far"] = ~ok_o
    if method in ("nearest", "count"):
        thresholds = [float(m) for m in (minutes or settings.thresholds_min)]
        result = np.full((len(orig), len(thresholds)), np.nan)
        nearest = np.full(len(orig), np.nan)
        if ok_o.any() and ok_f.any():
            spec = {
                "f": (
                    fac["node"].to_numpy()[ok_f],
                    weights[ok_f],
                    fac["offset"].to_numpy()[ok_f],
                )
            }
            acc = facility_access(
                rg,
                orig["node"].to_numpy()[ok_o],
                spec,
                [t * 60.0 for t in thresholds],
                origin_offsets=orig["offset"].to_numpy()[ok_o],
            )
            nearest[ok_o] = acc.nearest_s["f"] / 60.0
            result[ok_o] = acc.counts["f"]
        elif ok_o.any():
            result[ok_o] = 0.0
            nearest[ok_o] = np.inf
        if method == "nearest":
            out["time_min"] = np.where(np.isfinite(nearest), nearest, np.nan)
            out["unreachable"] = ok_o & ~np.isfinite(nearest)
        else:
            for k, t in enumerate(thresholds):
                out[f"count_{t:g}min"] = result[:, k]
        return out
    spec_decay = decay if decay is not None else decay_from_config({"type": "apl"})
    if not isinstance(spec_decay, Decay):
        if catchment_min is None:
            raise DataError("accessibility: a decay function needs catchment_min (minutes)")
        spec_decay = Decay("custom", float(catchment_min), spec_decay)
    pop = _column(origins, population, "origins", 0.0)
    values = np.full(len(orig), np.nan)
    if ok_o.any():
        values[ok_o] = 0.0
    if ok_o.any() and ok_f.any():
        table = reach(
            rg,
            fac["node"].to_numpy()[ok_f],
            orig["node"].to_numpy()[ok_o],
            spec_decay.catchment_min * 60.0,
            origin_offsets=fac["offset"].to_numpy()[ok_f],
            target_offsets=orig["offset"].to_numpy()[ok_o],
            reverse=True,
        )
        values[ok_o] = e2sfca(
            np.asarray(table.target),
            np.asarray(table.origin),
            np.asarray(table.time) / 60.0,
            pop[ok_o],
            weights[ok_f],
            spec_decay,
            per=PER_INHABITANTS,
        )
    out["e2sfca"] = values
    return out
