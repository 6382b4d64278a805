"""Calibrated values of a line network, their error figures and the calibration TOML file.

:class:`Parameters` holds what :func:`geoattract.network.calibrate.calibrate` fits: the pace of
each class (seconds per metre of geometry) and of the long roads of a class (route tiers), the
winding pace, the junction delay of each group of classes, the urban pace, the access-leg pace
and the dense-commune delay; speeds are reported at the documented detour priors
(:data:`DETOUR_PRIORS`). :class:`CalibrationResult` keeps the trip-level table behind the
figures (with each trip's length band, terrain and setting, :func:`trip_groups`), writes the
``[calibration]`` table as TOML (read back by :func:`geoattract.network.lines.read_calibration`)
and a plain-text report.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.errors import DataError
from geoattract.network.line_model import (
    BUILT_UP_DENSITY_KEY,
    JUNCTION_DELAY_KEY,
    ROUTE_SPEEDS_KEY,
    URBAN_PACE_KEY,
    WINDING_PACE_KEY,
)
from geoattract.network.lines import LineNetwork
from geoattract.network.snapping import LINES_SNAP_DETOUR, LINES_SNAP_SPEED_KPH

#: Road length over geometry length per class of the Travel Mapping layer: the README of the
#: shared data measures the geometry 2–8 % short of the real road (A62 in Lot-et-Garonne 80
#: km for 82 official: 1.025; national roads 91 km for 96: 1.055; more on winding
#: departmental roads: 1.07). Inferred interchange links are straight connectors (1.0).
#: Classes not listed: 1.0.
DETOUR_PRIORS: Mapping[str, float] = {
    "motorway": 1.025,
    "motorway_link": 1.0,
    "trunk": 1.055,
    "primary": 1.06,
    "secondary": 1.07,
    "tertiary": 1.05,
}

#: Soft-L1 scale of the log residuals: errors below about 5 % weigh quadratically.
LOSS_SCALE: float = 0.05

#: Short trips: reference time below this (minutes) gets its own error figures.
SHORT_TRIP_MIN: float = 20.0

#: Trip-length bands of the report (minutes of reference time): ``[0, 20)``, ``[20, 60)``,
#: ``[60, 180)``, ``[180, ∞)``.
BAND_EDGES_MIN: tuple[float, ...] = (20.0, 60.0, 180.0)
BAND_LABELS: tuple[str, ...] = ("< 20", "20-60", "60-180", "> 180")

#: Terrain of a trip, from the winding share of its fitted route (winding metres over metres
#: of geometry, see :func:`geoattract.network.line_model.winding_fraction`): flat below the
#: first value, rolling below the second, mountain above. The national layer's geometry is
#: 3.1 % winding; the routes of the Isère pairs split about evenly between the three.
TERRAIN_WINDING_EDGES: tuple[float, float] = (0.02, 0.04)
TERRAIN_LABELS: tuple[str, ...] = ("flat", "rolling", "mountain")

#: Worst pairs listed in the report.
WORST_PAIRS: int = 10

#: Where the fit starts the winding pace (s per winding metre), the junction delays (s) and
#: the urban pace (s per metre): the uncalibrated network has none (log-variables cannot
#: start at 0).
START_WINDING_PACE_S_PER_M: float = 0.02
START_JUNCTION_DELAY_S: float = 3.0
START_URBAN_PACE_S_PER_M: float = 0.005


@dataclass(frozen=True)
class Parameters:
    """Calibrated values of the edge rule, the access leg and the dense delay.

    Attributes
    ----------
    classes : tuple of str
        Classes of the network.
    pace : numpy.ndarray
        Seconds per metre of geometry, per class.
    access_pace : float
        Seconds per metre of straight-line access leg.
    dense_delay_s : float
        Seconds per trip end in a dense commune.
    winding_pace : float
        Seconds per winding metre (an edge's geometry length × ``1 − chord / length``).
    route_tiers : tuple of (str, float)
        ``(class, minimum road km)`` of each route tier: an edge of that class on a road
        at least that long (the highest tier reached) has the pace of the tier.
    route_pace : numpy.ndarray
        Seconds per metre of geometry, per route tier.
    junction_groups : tuple of tuple of str
        Classes sharing a junction delay (by the class of the edge entering the junction).
    junction_delay_s : numpy.ndarray
        Seconds per junction entered, per group.
    urban_pace : float
        Seconds per metre inside a built-up area.
    built_up_density_per_km2 : float
        Population density of a built-up area (sets each commune's disc); not fitted.
    """

    classes: tuple[str, ...]
    pace: np.ndarray
    access_pace: float
    dense_delay_s: float
    winding_pace: float = 0.0
    route_tiers: tuple[tuple[str, float], ...] = ()
    route_pace: np.ndarray = field(default_factory=lambda: np.zeros(0))
    junction_groups: tuple[tuple[str, ...], ...] = ()
    junction_delay_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    urban_pace: float = 0.0
    built_up_density_per_km2: float = 0.0

    @classmethod
    def initial(
        cls,
        net: LineNetwork,
        speeds: Mapping[str, float],
        *,
        route_tiers: tuple[tuple[str, float], ...] = (),
        junction_groups: tuple[tuple[str, ...], ...] = (),
        built_up_density_per_km2: float = 0.0,
    ) -> Parameters:
        """Preset speeds at the prior detours (route tiers at their class's), no delay."""
        pace = np.array([DETOUR_PRIORS.get(c, 1.0) / (float(speeds[c]) / 3.6) for c in net.classes])
        tiers = tuple((c, float(km)) for c, km in route_tiers if c in net.classes)
        return cls(
            net.classes,
            pace,
            LINES_SNAP_DETOUR / (LINES_SNAP_SPEED_KPH / 3.6),
            0.0,
            route_tiers=tiers,
            route_pace=np.array([pace[net.classes.index(c)] for c, _ in tiers]),
            junction_groups=tuple(junction_groups),
            junction_delay_s=np.zeros(len(junction_groups)),
            built_up_density_per_km2=float(built_up_density_per_km2),
        )

    def started(self) -> Parameters:
        """The same values with the fit's starting delays where they are 0.

        The urban pace stays 0 without built-up areas (nothing to fit it on).
        """
        return replace(
            self,
            winding_pace=self.winding_pace or START_WINDING_PACE_S_PER_M,
            junction_delay_s=np.where(
                self.junction_delay_s > 0, self.junction_delay_s, START_JUNCTION_DELAY_S
            ),
            urban_pace=self.urban_pace
            or (START_URBAN_PACE_S_PER_M if self.built_up_density_per_km2 > 0 else 0.0),
        )

    @property
    def n_edge_values(self) -> int:
        """Number of per-edge values of the router (see :meth:`edge_weights`)."""
        return len(self.classes) + len(self.route_tiers) + 2 + len(self.junction_groups)

    def edge_weights(self) -> np.ndarray:
        """Seconds per unit of the router's edge values.

        Order: class paces, route-tier paces, winding pace, junction delay per group,
        urban pace.
        """
        return np.r_[
            self.pace, self.route_pace, self.winding_pace, self.junction_delay_s, self.urban_pace
        ]

    def speeds_kph(self) -> dict[str, float]:
        """Class speeds at the prior detours."""
        return {
            c: round(DETOUR_PRIORS.get(c, 1.0) / p * 3.6, 2)
            for c, p in zip(self.classes, self.pace, strict=True)
        }

    def route_speeds_kph(self) -> dict[str, dict[str, float]]:
        """Route-tier speeds at their class's detour: ``{class: {minimum km: km/h}}``."""
        out: dict[str, dict[str, float]] = {}
        for (c, km), p in zip(self.route_tiers, self.route_pace, strict=True):
            out.setdefault(c, {})[f"{km:g}"] = round(DETOUR_PRIORS.get(c, 1.0) / p * 3.6, 2)
        return out

    def junction_delays(self) -> dict[str, float]:
        """Junction delay of every class (its group's) and of the groups' ``class>=km`` keys.

        See :func:`~geoattract.network.line_model.class_delays`.
        """
        out = {}
        for group, delay in zip(self.junction_groups, self.junction_delay_s, strict=True):
            for member in group:
                out[member] = round(float(delay), 3)
        return {**{c: out[c] for c in self.classes if c in out}, **out}

    def detours(self) -> dict[str, float]:
        """Class detour factors (the priors)."""
        return {c: DETOUR_PRIORS.get(c, 1.0) for c in self.classes}

    def access_speed_kph(self) -> float:
        """Access-leg speed at the fixed access detour."""
        return round(LINES_SNAP_DETOUR / self.access_pace * 3.6, 2)

    def vector(self) -> np.ndarray:
        """Fit variables: log edge weights, log access pace, dense delay (s)."""
        with np.errstate(divide="ignore"):
            logs = np.log(np.r_[self.edge_weights(), self.access_pace])
        return np.r_[logs, self.dense_delay_s]

    def with_vector(self, x: np.ndarray) -> Parameters:
        """Parameters from fit variables (see :meth:`vector`)."""
        k, t, g = len(self.classes), len(self.route_tiers), len(self.junction_groups)
        w = np.exp(x[: self.n_edge_values])
        return replace(
            self,
            pace=w[:k],
            route_pace=w[k : k + t],
            winding_pace=float(w[k + t]),
            junction_delay_s=w[k + t + 1 : k + t + 1 + g],
            urban_pace=float(w[k + t + 1 + g]),
            access_pace=float(np.exp(x[self.n_edge_values])),
            dense_delay_s=float(x[self.n_edge_values + 1]),
        )

    def edge_rule(self) -> dict[str, Any]:
        """The ``[calibration]`` keys of the edge rule (read back by the line build)."""
        return {
            WINDING_PACE_KEY: round(self.winding_pace, 5),
            URBAN_PACE_KEY: round(self.urban_pace, 5) if self.built_up_density_per_km2 > 0 else 0.0,
            BUILT_UP_DENSITY_KEY: self.built_up_density_per_km2,
            JUNCTION_DELAY_KEY: self.junction_delays(),
            ROUTE_SPEEDS_KEY: self.route_speeds_kph(),
        }


def error_figures(ref_min: np.ndarray, model_min: np.ndarray) -> dict[str, float]:
    """Error figures of model times against reference times.

    Returns
    -------
    dict
        ``n``, ``median_rel_error`` (signed), ``median_abs_rel_error``,
        ``median_abs_error_min``, ``spearman``, ``short_n`` and
        ``short_median_abs_rel_error`` (reference under :data:`SHORT_TRIP_MIN`).
    """
    from scipy.stats import spearmanr  # here: scipy.stats takes 0.5 s to import

    ok = np.isfinite(model_min)
    ref, mod = ref_min[ok], model_min[ok]
    rel = mod / ref - 1.0
    short = ref < SHORT_TRIP_MIN
    out = {
        "n": int(ok.sum()),
        "median_rel_error": _r(np.median(rel)) if rel.size else np.nan,
        "median_abs_rel_error": _r(np.median(np.abs(rel))) if rel.size else np.nan,
        "median_abs_error_min": _r(np.median(np.abs(mod - ref))) if rel.size else np.nan,
        "spearman": _r(spearmanr(ref, mod).statistic) if rel.size > 2 else np.nan,
        "short_n": int(short.sum()),
        "short_median_abs_rel_error": _r(np.median(np.abs(rel[short]))) if short.any() else np.nan,
    }
    return out


def _r(value: float) -> float:
    return round(float(value), 4)


def trip_groups(
    ref_min: np.ndarray, winding_share: np.ndarray, dense_ends: np.ndarray
) -> pd.DataFrame:
    """Length band, terrain and setting of trips.

    ``band``: reference minutes in :data:`BAND_LABELS` (edges :data:`BAND_EDGES_MIN`);
    ``terrain``: ``flat``, ``rolling`` or ``mountain`` by the winding share of the route
    (:data:`TERRAIN_WINDING_EDGES`; ``unknown`` without a route); ``setting``: ``urban`` when
    an end lies in a dense commune, else ``rural``.
    """
    ref = np.asarray(ref_min, dtype=float)
    share = np.asarray(winding_share, dtype=float)
    band = np.asarray(BAND_LABELS, dtype=object)[np.searchsorted(BAND_EDGES_MIN, ref, "right")]
    terrain = np.asarray(TERRAIN_LABELS, dtype=object)[
        np.searchsorted(TERRAIN_WINDING_EDGES, np.nan_to_num(share), "right")
    ]
    terrain[~np.isfinite(share)] = "unknown"
    setting = np.where(np.asarray(dense_ends, dtype=float) > 0, "urban", "rural")
    return pd.DataFrame({"band": band, "terrain": terrain, "setting": setting})


def group_errors(trips: pd.DataFrame, by: str, stage: str = "after") -> pd.DataFrame:
    """Median relative errors of trips per reference and group (``band``, ``terrain``…).

    Returns one row per reference and group value: ``n``, ``median_rel_error``,
    ``median_abs_rel_error`` (model ``<stage>_min`` against ``ref_min``).
    """
    rel = trips[f"{stage}_min"] / trips["ref_min"] - 1.0
    frame = pd.DataFrame({"reference": trips["reference"], by: trips[by], "rel": rel})
    frame = frame[np.isfinite(frame["rel"])]
    out = frame.groupby(["reference", by], sort=True)["rel"].agg(
        n="size",
        median_rel_error=lambda r: _r(np.median(r)),
        median_abs_rel_error=lambda r: _r(np.median(np.abs(r))),
    )
    return out.reset_index()


def _pivot(table: pd.DataFrame, by: str, order: tuple[str, ...]) -> str:
    """``median |rel| % (n)`` per reference (rows) and group (columns), as text."""
    if table.empty:
        return "(no trip)"
    cells = table.assign(
        cell=[
            f"{100 * a:.1f} % ({n:,})"
            for a, n in zip(table["median_abs_rel_error"], table["n"], strict=True)
        ]
    )
    wide = cells.pivot(index="reference", columns=by, values="cell")
    columns = [c for c in order if c in wide.columns] + [c for c in wide.columns if c not in order]
    return wide[columns].fillna("-").to_string()


@dataclass(frozen=True)
class CalibrationResult:
    """What :func:`calibrate` found, with the trip-level table behind its figures.

    Attributes
    ----------
    params, initial : Parameters
        Fitted and starting values.
    trips : pandas.DataFrame
        One row per reference trip kept: ``reference``, ``kind``, ``origin``,
        ``destination``, ``origin_name``, ``destination_name``, ``holdout``, ``ref_min``,
        ``before_min`` (initial values), ``after_min`` (fitted values), ``km`` (fitted, road
        distance at the prior detours, access legs included), ``winding_share`` of the
        fitted route, ``band``, ``terrain``, ``setting`` (:func:`trip_groups`).
    dense_density_per_km2 : float
        The density threshold used.
    holdout_departements : tuple of str
        Origin départements held out.
    holdout_communes : int
        Communes of pair tables held out.
    iterations : list of dict
        Per routing–fitting iteration: ``time_change`` (log change of the trip times at the
        convergence quantile), ``largest_log_change`` (of the values) and ``seconds``.
    network : str
        The network source.
    references : tuple of str
        The reference tables.
    dropped : dict
        Trips left out and why (``unknown_commune``, ``too_far``, ``unreachable``).
    weights : dict
        Weight of each reference table in the fit (1 unless given).
    seeds : pandas.DataFrame
        Held-out figures of the same fit under other hold-out seeds (empty unless asked):
        one row per seed and reference, ``median_abs_rel_error``, ``median_rel_error``,
        ``short_median_abs_rel_error``, ``n``.
    seconds : float
        Run time of the calibration.
    """

    params: Parameters
    initial: Parameters
    trips: pd.DataFrame
    dense_density_per_km2: float
    holdout_departements: tuple[str, ...]
    holdout_communes: int
    iterations: list[dict[str, float]]
    network: str
    references: tuple[str, ...]
    dropped: dict[str, int] = field(default_factory=dict)
    weights: dict[str, float] = field(default_factory=dict)
    seeds: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = float("nan")

    def figures(self) -> pd.DataFrame:
        """Error figures per reference, trip set (``train``, ``holdout``) and stage."""
        rows = []
        for (ref, held), part in self.trips.groupby(["reference", "holdout"], sort=True):
            for stage in ("before", "after"):
                figs = error_figures(part["ref_min"].to_numpy(), part[f"{stage}_min"].to_numpy())
                rows.append(
                    {
                        "reference": ref,
                        "set": "holdout" if held else "train",
                        "stage": stage,
                        **figs,
                    }
                )
        return pd.DataFrame(rows)

    def breakdown(self, by: str, *, holdout: bool = True) -> pd.DataFrame:
        """Errors after calibration per reference and ``by``, on the held-out trips.

        ``by``: ``band``, ``terrain`` or ``setting`` (:func:`group_errors`); ``holdout=False``
        gives the fitted trips'.
        """
        return group_errors(self.trips[self.trips["holdout"] == holdout], by)

    def worst(self, n: int = WORST_PAIRS, *, holdout: bool = True) -> pd.DataFrame:
        """Return the ``n`` trips with the largest relative error after calibration."""
        part = self.trips[self.trips["holdout"] == holdout].copy()
        part["rel_error"] = part["after_min"] / part["ref_min"] - 1.0
        order = part["rel_error"].abs().sort_values(ascending=False).index[:n]
        cols = ["reference", "origin", "origin_name", "destination", "destination_name"]
        return part.loc[order, [*cols, "ref_min", "after_min", "rel_error"]]

    def calibration_table(self) -> dict[str, Any]:
        """Return the ``[calibration]`` table of the TOML file (see ``read_calibration``)."""
        figures = self.figures()
        fit: dict[str, Any] = {
            "loss": "soft_l1 on log(model / reference)",
            "f_scale": LOSS_SCALE,
            "iterations": len(self.iterations),
            "trips_train": int((~self.trips["holdout"]).sum()),
            "trips_holdout": int(self.trips["holdout"].sum()),
            "holdout_departements": list(self.holdout_departements),
            "holdout_communes": self.holdout_communes,
            "weights": dict(self.weights),
            "created": datetime.now(UTC).date().isoformat(),
        }
        medians = self.trips.groupby("reference")["ref_min"].median().to_dict()
        for row in figures.itertuples(index=False):
            key = f"{row.set}_{row.stage}"
            table = fit.setdefault(key, {}).setdefault(str(row.reference), {})
            table["median_ref_min"] = _r(medians[str(row.reference)])
            for name in (
                "n",
                "median_rel_error",
                "median_abs_rel_error",
                "median_abs_error_min",
                "spearman",
                "short_n",
                "short_median_abs_rel_error",
            ):
                value = getattr(row, name)
                if not (isinstance(value, float) and np.isnan(value)):
                    table[name] = value
        return {
            "network": self.network,
            "references": list(self.references),
            "access_speed_kph": self.params.access_speed_kph(),
            "access_detour": LINES_SNAP_DETOUR,
            "dense_delay_min": round(self.params.dense_delay_s / 60.0, 3),
            "dense_density_per_km2": self.dense_density_per_km2,
            **self.params.edge_rule(),
            "speeds_kph": self.params.speeds_kph(),
            "detour": self.params.detours(),
            "fit": fit,
        }

    def to_toml(self, path: str | os.PathLike) -> Path:
        """Write the ``[calibration]`` table as TOML (atomically) and return the path."""
        text = "# Written by geoattract.network.calibrate.calibrate\n" + to_toml(
            {"calibration": self.calibration_table()}
        )
        return write_text_atomic(path, text)

    def values_text(self) -> list[str]:
        """Lines of the report giving the fitted values."""
        p, q = self.initial, self.params
        lines = [f"{'class':<15}{'km/h before':>12}{'km/h after':>12}{'detour':>8}"]
        before, after = p.speeds_kph(), q.speeds_kph()
        for c in q.classes:
            lines.append(
                f"{c:<15}{before[c]:>12.1f}{after[c]:>12.1f}{DETOUR_PRIORS.get(c, 1.0):>8.3f}"
            )
        for c, tiers in q.route_speeds_kph().items():
            for km, kph in tiers.items():
                label = f"{c} {km}+ km"
                lines.append(f"{label:<15}{before[c]:>12.1f}{kph:>12.1f}")
        lines += [
            f"{'access leg':<15}{p.access_speed_kph():>12.1f}{q.access_speed_kph():>12.1f}"
            f"{LINES_SNAP_DETOUR:>8.3f}",
            f"dense delay: {q.dense_delay_s / 60:.2f} min per end in a commune denser than "
            f"{self.dense_density_per_km2:.0f} inhabitants/km²",
            f"winding pace: {q.winding_pace:.4f} s per winding metre; urban pace: "
            f"{q.urban_pace:.4f} s per metre inside a built-up area (disc of the population at "
            f"{q.built_up_density_per_km2:.0f} inhabitants/km²)",
            "junction delay (s, by class of the edge entering it): "
            + ", ".join(f"{c} {v:.1f}" for c, v in q.junction_delays().items()),
        ]
        return lines

    def report_text(self) -> str:
        """Plain-text report of the calibration.

        Values, error tables before/after, held-out errors per trip length band, terrain and
        setting, other seeds, worst held-out pairs.
        """
        last = self.iterations[-1].get("time_change", np.nan) if self.iterations else np.nan
        weights = ", ".join(f"{k} {v:g}" for k, v in self.weights.items() if v != 1.0)
        lines = [
            f"Calibration of {self.network}",
            f"references: {', '.join(self.references)}"
            + (f" (weights: {weights})" if weights else ""),
            f"trips: {int((~self.trips['holdout']).sum())} fitted, "
            f"{int(self.trips['holdout'].sum())} held out (origin départements "
            f"{', '.join(self.holdout_departements) or '-'}; {self.holdout_communes} communes "
            "of pair tables)",
            f"left out: {self.dropped}",
            f"iterations: {len(self.iterations)} (trip times moved {last:.1e} in log at the last); "
            f"{self.seconds:.0f} s",
            "",
            *self.values_text(),
            "",
            f"errors (rel = model / reference - 1; short = reference under {SHORT_TRIP_MIN:.0f} "
            "min):",
            self.figures().to_string(index=False),
            "",
            "held-out median |rel| (n) by trip length, reference minutes:",
            _pivot(self.breakdown("band"), "band", BAND_LABELS),
            "",
            "held-out median |rel| (n) by terrain (winding share of the route: flat < "
            f"{100 * TERRAIN_WINDING_EDGES[0]:.0f} %, rolling < "
            f"{100 * TERRAIN_WINDING_EDGES[1]:.0f} %, mountain above):",
            _pivot(self.breakdown("terrain"), "terrain", TERRAIN_LABELS),
            "",
            f"held-out median |rel| (n) by setting (urban: an end denser than "
            f"{self.dense_density_per_km2:.0f} inhabitants/km²):",
            _pivot(self.breakdown("setting"), "setting", ("rural", "urban")),
        ]
        if not self.seeds.empty:
            lines += [
                "",
                "held-out figures under other hold-out seeds (same model):",
                self.seeds_text(),
            ]
        lines += [
            "",
            f"worst {WORST_PAIRS} held-out pairs:",
            self.worst().to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        ]
        return "\n".join(lines)

    def seeds_text(self) -> str:
        """The robustness table, as text.

        Held-out median |rel| per seed and reference (short trips apart), and the mean over
        seeds.
        """
        table = self.seeds.astype({"seed": str})
        mean = table.groupby("reference", as_index=False)[
            ["median_abs_rel_error", "short_median_abs_rel_error"]
        ].mean()
        table = pd.concat([table, mean.assign(seed="mean")], ignore_index=True)
        table["cell"] = [
            _seed_cell(float(a), float(s))
            for a, s in zip(
                table["median_abs_rel_error"], table["short_median_abs_rel_error"], strict=True
            )
        ]
        wide = table.pivot(index="seed", columns="reference", values="cell")
        order = [s for s in dict.fromkeys(table["seed"]) if s in wide.index]
        return wide.loc[order].fillna("-").to_string()


def _seed_cell(abs_rel: float, short_abs_rel: float) -> str:
    """``4.4 %`` or ``4.4 % (10.2 % < 20 min)``."""
    text = f"{100 * abs_rel:.1f} %"
    if np.isfinite(short_abs_rel):
        text += f" ({100 * short_abs_rel:.1f} % < 20 min)"
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not np.isfinite(value):
            raise DataError(f"TOML writer: cannot write the value {value!r}")
        return repr(float(value))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise DataError(f"TOML writer: unsupported value {value!r}")


def _toml_key(key: str) -> str:
    text = str(key)
    if text and text.isascii() and all(ch.isalnum() or ch in "_-" for ch in text):
        return text
    return _toml_value(text)


def to_toml(doc: Mapping[str, Any], prefix: str = "") -> str:
    """Nested mappings as TOML text (tables for mappings, scalars and lists as values)."""
    scalars = {k: v for k, v in doc.items() if not isinstance(v, Mapping)}
    tables = {k: v for k, v in doc.items() if isinstance(v, Mapping)}
    out = []
    if prefix and (scalars or not tables):
        out.append(f"[{prefix}]")
    out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in scalars.items()]
    if out:
        out.append("")
    for key, value in tables.items():
        out.append(to_toml(value, f"{prefix}.{_toml_key(key)}" if prefix else _toml_key(key)))
    return "\n".join(out)
