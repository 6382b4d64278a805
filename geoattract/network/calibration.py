"""Calibrated values of a line network, their error figures and the calibration TOML file.

:class:`Parameters` holds what :func:`geoattract.network.calibrate.calibrate` fits: the pace
of each class (seconds per metre of geometry), the access-leg pace and the dense-commune
delay; speeds are reported at the documented detour priors (:data:`DETOUR_PRIORS`).
:class:`CalibrationResult` keeps the trip-level table behind the figures, writes the
``[calibration]`` table as TOML (read back by
:func:`geoattract.network.lines.read_calibration`) and a plain-text report.
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
from geoattract.network.line_model import JUNCTION_DELAY_KEY, WINDING_PACE_KEY
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

#: Worst pairs listed in the report.
WORST_PAIRS: int = 10


#: Where the fit starts the winding pace (s per winding metre) and the junction delay (s):
#: the uncalibrated network has neither (log-variables cannot start at 0).
START_WINDING_PACE_S_PER_M: float = 0.02
START_JUNCTION_DELAY_S: float = 3.0


@dataclass(frozen=True)
class Parameters:
    """Calibrated values: paces per class (s per metre of geometry), access pace, delays.

    ``winding_pace`` is seconds per winding metre (an edge's geometry length × ``1 − chord
    / length`` of its line), ``junction_delay_s`` seconds per junction entered (head node
    with 3 or more distinct neighbours), ``dense_delay_s`` seconds per trip end in a dense
    commune.
    """

    classes: tuple[str, ...]
    pace: np.ndarray
    access_pace: float
    dense_delay_s: float
    winding_pace: float = 0.0
    junction_delay_s: float = 0.0

    @classmethod
    def initial(cls, net: LineNetwork, speeds: Mapping[str, float]) -> Parameters:
        """Preset speeds at the prior detours, line-network access leg, no delay."""
        pace = np.array([DETOUR_PRIORS.get(c, 1.0) / (float(speeds[c]) / 3.6) for c in net.classes])
        return cls(net.classes, pace, LINES_SNAP_DETOUR / (LINES_SNAP_SPEED_KPH / 3.6), 0.0)

    def started(self) -> Parameters:
        """The same values with the fit's starting winding pace and junction delay."""
        return replace(
            self,
            winding_pace=self.winding_pace or START_WINDING_PACE_S_PER_M,
            junction_delay_s=self.junction_delay_s or START_JUNCTION_DELAY_S,
        )

    def edge_weights(self) -> np.ndarray:
        """Seconds per unit of the router's edge values: class paces, winding, junction."""
        return np.r_[self.pace, self.winding_pace, self.junction_delay_s]

    def speeds_kph(self) -> dict[str, float]:
        """Class speeds at the prior detours."""
        return {
            c: round(DETOUR_PRIORS.get(c, 1.0) / p * 3.6, 2)
            for c, p in zip(self.classes, self.pace, strict=True)
        }

    def detours(self) -> dict[str, float]:
        """Class detour factors (the priors)."""
        return {c: DETOUR_PRIORS.get(c, 1.0) for c in self.classes}

    def access_speed_kph(self) -> float:
        """Access-leg speed at the fixed access detour."""
        return round(LINES_SNAP_DETOUR / self.access_pace * 3.6, 2)

    def vector(self) -> np.ndarray:
        """Fit variables: log paces, log access, winding and junction values, dense delay (s)."""
        with np.errstate(divide="ignore"):
            logs = np.log([self.access_pace, self.winding_pace, self.junction_delay_s])
        return np.r_[np.log(self.pace), logs, self.dense_delay_s]

    def with_vector(self, x: np.ndarray) -> Parameters:
        """Parameters from fit variables."""
        k = len(self.classes)
        return Parameters(
            self.classes,
            np.exp(x[:k]),
            float(np.exp(x[k])),
            float(x[k + 3]),
            winding_pace=float(np.exp(x[k + 1])),
            junction_delay_s=float(np.exp(x[k + 2])),
        )


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
        distance at the prior detours, access legs included).
    dense_density_per_km2 : float
        The density threshold used.
    holdout_departements : tuple of str
        Origin départements held out.
    holdout_communes : int
        Communes of pair tables held out.
    iterations : list of dict
        Per routing–fitting iteration: ``largest_log_change`` and ``seconds``.
    network : str
        The network source.
    references : tuple of str
        The reference tables.
    dropped : dict
        Trips left out and why (``unknown_commune``, ``too_far``, ``unreachable``).
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
            "created": datetime.now(UTC).date().isoformat(),
        }
        for row in figures.itertuples(index=False):
            key = f"{row.set}_{row.stage}"
            table = fit.setdefault(key, {}).setdefault(str(row.reference), {})
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
            WINDING_PACE_KEY: round(self.params.winding_pace, 5),
            JUNCTION_DELAY_KEY: round(self.params.junction_delay_s, 3),
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

    def report_text(self) -> str:
        """Return a plain-text report: values, error tables before/after, worst held-out pairs."""
        p, q = self.initial, self.params
        last = self.iterations[-1]["largest_log_change"] if self.iterations else np.nan
        lines = [
            f"Calibration of {self.network}",
            f"references: {', '.join(self.references)}",
            f"trips: {int((~self.trips['holdout']).sum())} fitted, "
            f"{int(self.trips['holdout'].sum())} held out (origin départements "
            f"{', '.join(self.holdout_departements) or '-'}; {self.holdout_communes} communes "
            "of pair tables)",
            f"left out: {self.dropped}",
            f"iterations: {len(self.iterations)} (last largest log-pace change {last:.1e})",
            "",
            f"{'class':<15}{'km/h before':>12}{'km/h after':>12}{'detour':>8}",
        ]
        before, after = p.speeds_kph(), q.speeds_kph()
        for c in q.classes:
            lines.append(
                f"{c:<15}{before[c]:>12.1f}{after[c]:>12.1f}{DETOUR_PRIORS.get(c, 1.0):>8.3f}"
            )
        lines += [
            f"{'access leg':<15}{p.access_speed_kph():>12.1f}{q.access_speed_kph():>12.1f}"
            f"{LINES_SNAP_DETOUR:>8.3f}",
            f"dense delay: {q.dense_delay_s / 60:.2f} min per end in a commune denser than "
            f"{self.dense_density_per_km2:.0f} inhabitants/km²",
            f"winding pace: {q.winding_pace:.4f} s per winding metre; junction delay: "
            f"{q.junction_delay_s:.2f} s per junction entered",
            "",
            f"errors (rel = model / reference - 1; short = reference under {SHORT_TRIP_MIN:.0f} "
            "min):",
            self.figures().to_string(index=False),
            "",
            f"worst {WORST_PAIRS} held-out pairs:",
            self.worst().to_string(index=False, float_format=lambda v: f"{v:.3f}"),
        ]
        return "\n".join(lines)


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
