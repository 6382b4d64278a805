"""Composite attractiveness scores per commune and per target population.

The method follows the OECD/JRC *Handbook on Constructing Composite Indicators* (2008):
indicators are selected and oriented (step 2), missing values are handled by re-weighting
(step 3), normalised to a common 0–100 scale (step 5), weighted and aggregated into pillars
and a composite score per *profile* (target population, step 6), and the robustness of the
resulting ranks is assessed by Monte Carlo uncertainty analysis and a variance-based (Sobol)
sensitivity analysis (step 7). Everything that is a choice lives in ``data/scoring.toml``;
see ``docs/scoring.md`` for the formulas.

Public functions are pure: they take a DataFrame of indicators (one row per study commune,
columns ``code``, ``population``, ``epci``… and the indicator columns named in the TOML) and
return a new DataFrame aligned on its index.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoattract import settings
from geoattract.config.study import Field, load_toml, validate
from geoattract.errors import ConfigError, DataError, format_values

__all__ = [
    "AGGREGATIONS",
    "DIRECTIONS",
    "NORMALISATIONS",
    "ScoringConfig",
    "aggregate",
    "composite_scores",
    "epci_scores",
    "load_scoring_config",
    "monte_carlo_all_profiles",
    "monte_carlo_ranks",
    "normalise",
    "pillar_scores",
    "rank_scores",
    "score_all_profiles",
    "score_changes",
    "scoring_config_from_dict",
    "sensitivity",
    "winsorise",
]

logger = logging.getLogger(__name__)

#: Normalisation methods (Handbook §5): all map to 0–100, 100 = most favourable.
NORMALISATIONS: tuple[str, ...] = ("minmax", "zscore", "rank", "distance_to_reference")

#: Aggregation methods (Handbook §6): weighted arithmetic or weighted geometric mean.
AGGREGATIONS: tuple[str, ...] = ("arithmetic", "geometric")

#: Orientation of an indicator.
DIRECTIONS: tuple[str, ...] = ("higher_is_better", "lower_is_better")

#: Scoring configuration shipped with the project.
DEFAULT_SCORING_CONFIG: Path = settings.config_folder / "scoring.toml"

#: Upper end of every normalised value, pillar and composite score.
SCORE_MAX: float = 100.0

#: Normalised value given to a commune whose indicator equals a constant column (no
#: information to discriminate: the neutral middle of the scale).
CONSTANT_SCORE: float = 50.0

#: z-score normalisation: a z of ``±ZSCORE_CLIP`` standard deviations maps to 100 / 0
#: (``50 + 50 z / ZSCORE_CLIP``, clipped); 99.7 % of a normal sample stays unclipped.
ZSCORE_CLIP: float = 3.0

#: distance-to-reference normalisation: a ratio to the reference of ``REFERENCE_RATIO_CAP``
#: (twice as good as the reference) maps to 100; the reference itself maps to 50.
REFERENCE_RATIO_CAP: float = 2.0

#: Geometric aggregation: normalised values below this floor (on the 0–100 scale) are raised
#: to it, since a geometric mean is undefined/zero-absorbing at 0 (Handbook §6.2).
GEOMETRIC_FLOOR: float = 1.0

#: Scores are rounded to this many decimals before ranking, so that floating noise does not
#: break ties; ties are then broken by INSEE code (ascending).
RANK_DECIMALS: int = 9

#: Monte Carlo summary quantiles: column suffix → quantile.
MC_QUANTILES: dict[str, float] = {"p05": 0.05, "median": 0.5, "p95": 0.95}

#: Monte Carlo draws evaluated at once (bounds memory: draws × communes × indicators floats).
MC_CHUNK: int = 128

#: Profile whose pillar scores are also written without suffix by :func:`score_all_profiles`.
REFERENCE_PROFILE: str = "general"

#: Tolerance on weight shares (floating sums).
_EPS: float = 1e-12


# --------------------------------------------------------------------------------------------
# configuration
# --------------------------------------------------------------------------------------------


def _unit_interval_open_closed(v: float) -> str | None:
    return None if 0 < v <= 1 else "must be in (0, 1]"


def _unit_interval(v: float) -> str | None:
    return None if 0 <= v <= 1 else "must be in [0, 1]"


def _non_negative(v: float) -> str | None:
    return None if v >= 0 else "must be >= 0"


def _positive(v: float) -> str | None:
    return None if v > 0 else "must be > 0"


def _winsor_check(v: list) -> str | None:
    if not v:
        return None
    if len(v) != 2 or not (0 <= v[0] < v[1] <= 1):
        return "must be [] (off) or [lower, upper] quantiles with 0 <= lower < upper <= 1"
    return None


def _subset(allowed: Sequence[str]):
    def check(v: list) -> str | None:
        if not v:
            return "must not be empty"
        bad = [x for x in v if x not in allowed]
        return (
            f"has unknown value(s) {format_values(bad)}; allowed: {list(allowed)}" if bad else None
        )

    return check


def _quantile_check(v: float) -> str | None:
    return None if 0 < v <= 0.5 else "must be in (0, 0.5]"


METHOD_SCHEMA: dict[str, Field] = {
    "normalisation": Field(
        str,
        required=False,
        default="minmax",
        choices=NORMALISATIONS,
        doc="normalisation of every indicator to 0-100",
    ),
    "winsorise": Field(
        list,
        items=float,
        required=False,
        default=[],
        check=_winsor_check,
        doc="[lower, upper] quantiles to clip each indicator at before normalising; [] = off",
    ),
    "aggregation": Field(
        str,
        required=False,
        default="arithmetic",
        choices=AGGREGATIONS,
        doc="aggregation within pillars and across pillars",
    ),
    "min_weight_share": Field(
        float,
        required=False,
        default=0.5,
        check=_unit_interval_open_closed,
        doc="a pillar (composite) is computed only if at least this share of its "
        "indicator (pillar) weight is available; else NaN and flagged",
    ),
    "min_coverage": Field(
        float,
        required=False,
        default=0.5,
        check=_unit_interval,
        doc="indicators available for less than this share of communes are left out",
    ),
}

PILLAR_SCHEMA: dict[str, Field] = {
    "label_fr": Field(str, doc="French label of the pillar"),
}

INDICATOR_SCHEMA: dict[str, Field] = {
    "direction": Field(str, choices=DIRECTIONS),
    "pillar": Field(str, doc="one of the [pillars] tables"),
    "label_fr": Field(str, doc="French label, used in maps and AFOM sentences"),
    "unit": Field(str, required=False, default="", doc="unit shown after values (min, %, €/m²…)"),
    "reference": Field(
        float,
        required=False,
        default=None,
        doc="reference (target) value for distance_to_reference; default the mean",
    ),
    "weight": Field(
        float,
        required=False,
        default=1.0,
        check=_non_negative,
        doc="default weight of the indicator within its pillar",
    ),
    "better_fr": Field(
        str,
        required=False,
        default="les plus favorables",
        doc="French wording of the favourable end (AFOM sentences)",
    ),
    "worse_fr": Field(
        str,
        required=False,
        default="les moins favorables",
        doc="French wording of the unfavourable end (AFOM sentences)",
    ),
}

PROFILE_SCHEMA: dict[str, Field] = {
    "label_fr": Field(str),
    "rationale": Field(str, doc="French explanation of the weights"),
    "pillars": Field(dict, doc="pillar name -> weight (every pillar listed)"),
    "indicator_weights": Field(
        dict,
        required=False,
        default={},
        doc="indicator -> weight, overriding [indicators.<col>].weight",
    ),
}

MONTECARLO_SCHEMA: dict[str, Field] = {
    "n": Field(int, required=False, default=500, check=_positive, doc="number of draws"),
    "seed": Field(int, required=False, default=settings.random_seed),
    "concentration": Field(
        float,
        required=False,
        default=20.0,
        check=_positive,
        doc="Dirichlet concentration (sum of alphas) of the pillar-weight draws",
    ),
    "normalisations": Field(
        list,
        items=str,
        required=False,
        default=["minmax", "zscore", "rank"],
        check=_subset(NORMALISATIONS),
    ),
    "aggregations": Field(
        list, items=str, required=False, default=["arithmetic"], check=_subset(AGGREGATIONS)
    ),
    "threshold_alternatives": Field(
        dict,
        required=False,
        default={},
        doc="indicator -> list of alternative columns drawn uniformly",
    ),
}

AFOM_RULES: tuple[str, ...] = ("best_quantile", "worst_quantile", "positive", "at_least", "at_most")

AFOM_RULE_SCHEMA: dict[str, Field] = {
    "indicator": Field(str),
    "rule": Field(str, choices=AFOM_RULES),
    "value": Field(float, required=False, default=None, doc="threshold of at_least / at_most"),
    "text_fr": Field(str, required=False, default=None, doc="French sentence body (optional)"),
}

AFOM_SCHEMA: dict[str, Field] = {
    "quantile": Field(
        float,
        required=False,
        default=0.25,
        check=_quantile_check,
        doc="top / bottom share of the département defining atouts / faiblesses",
    ),
    "internal_pillars": Field(
        list,
        items=str,
        required=False,
        default=None,
        doc="pillars whose indicators give atouts/faiblesses (default all)",
    ),
    "opportunites": Field(list, items=dict, required=False, default=[]),
    "menaces": Field(list, items=dict, required=False, default=[]),
}

SCORING_SCHEMA: dict[str, Field] = {
    "method": Field(dict, required=False, default={}),
    "pillars": Field(dict),
    "indicators": Field(dict),
    "profiles": Field(dict),
    "montecarlo": Field(dict, required=False, default={}),
    "afom": Field(dict, required=False, default={}),
}


@dataclass(frozen=True)
class ScoringConfig:
    """A validated scoring configuration (``data/scoring.toml``).

    Attributes
    ----------
    source : str
        File (or ``"<dict>"``) it was read from, for error messages.
    method : dict
        ``[method]`` with defaults filled in.
    pillars : dict
        Pillar name → ``{"label_fr": ...}``, in file order.
    indicators : dict
        Indicator column → validated ``[indicators.<col>]`` table, in file order.
    profiles : dict
        Profile name → validated ``[profiles.<name>]`` table.
    montecarlo : dict
        ``[montecarlo]`` with defaults.
    afom : dict
        ``[afom]`` with defaults; rules validated.
    """

    source: str
    method: dict[str, Any]
    pillars: dict[str, dict[str, Any]]
    indicators: dict[str, dict[str, Any]]
    profiles: dict[str, dict[str, Any]]
    montecarlo: dict[str, Any]
    afom: dict[str, Any]

    def profile_weights(self, profile: str) -> tuple[dict[str, float], dict[str, float]]:
        """Indicator and pillar weights of a profile (raw, not normalised).

        Parameters
        ----------
        profile : str
            Profile name.

        Returns
        -------
        (dict, dict)
            Indicator → weight (default weights overridden by the profile), pillar → weight.

        Raises
        ------
        ConfigError
            If the profile is unknown.
        """
        if profile not in self.profiles:
            raise ConfigError(
                f"{self.source}: unknown profile {profile!r}; available: "
                f"{format_values(self.profiles)}"
            )
        prof = self.profiles[profile]
        ind = {k: float(v["weight"]) for k, v in self.indicators.items()}
        ind.update({k: float(v) for k, v in prof["indicator_weights"].items()})
        return ind, {k: float(v) for k, v in prof["pillars"].items()}


def _check_weight_table(
    table: Mapping[str, Any],
    known: Sequence[str],
    source: str,
    prefix: str,
    what: str,
    require_all: bool,
) -> None:
    unknown = [k for k in table if k not in known]
    if unknown:
        raise ConfigError(
            f"{source}: unknown {what} '{prefix}{unknown[0]}'"
            f"{' (and ' + format_values(unknown[1:]) + ')' if len(unknown) > 1 else ''}; "
            f"known {what}s: {format_values(known, limit=60)}"
        )
    if require_all:
        missing = [k for k in known if k not in table]
        if missing:
            raise ConfigError(
                f"{source}: missing weight '{prefix}{missing[0]}'; every {what} must be "
                f"listed in [{prefix.rstrip('.')}] (use 0 to leave it out); missing: "
                f"{format_values(missing)}"
            )
    for k, v in table.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{source}: weight '{prefix}{k}' must be a finite number, got {v!r}")
        if v < 0:
            raise ConfigError(f"{source}: weight '{prefix}{k}' must be >= 0, got {v!r}")
    if require_all and table and not any(v > 0 for v in table.values()):
        raise ConfigError(
            f"{source}: all weights in [{prefix.rstrip('.')}] are zero; at least one "
            f"{what} needs a positive weight"
        )


def scoring_config_from_dict(
    doc: Mapping[str, Any], source: str | os.PathLike = "<dict>"
) -> ScoringConfig:
    """Validate a parsed scoring document and return a :class:`ScoringConfig`.

    Parameters
    ----------
    doc : mapping
        Parsed TOML (same layout as ``data/scoring.toml``).
    source : path-like
        Name used in error messages.

    Returns
    -------
    ScoringConfig

    Raises
    ------
    ConfigError
        Naming the dotted key: unknown key, wrong type, unknown pillar or indicator,
        negative weight, all-zero weights, a pillar with weight but no weighted indicator.
    """
    src = str(source)
    top = validate(doc, SCORING_SCHEMA, src)
    method = validate(top["method"], METHOD_SCHEMA, src, prefix="method.")
    if not top["pillars"]:
        raise ConfigError(f"{src}: [pillars] must declare at least one pillar")
    pillars = {
        name: validate(t, PILLAR_SCHEMA, src, prefix=f"pillars.{name}.")
        for name, t in _tables(top["pillars"], src, "pillars").items()
    }
    if not top["indicators"]:
        raise ConfigError(f"{src}: [indicators] must declare at least one indicator")
    indicators: dict[str, dict[str, Any]] = {}
    for col, t in _tables(top["indicators"], src, "indicators").items():
        ind = validate(t, INDICATOR_SCHEMA, src, prefix=f"indicators.{col}.")
        if ind["pillar"] not in pillars:
            raise ConfigError(
                f"{src}: key 'indicators.{col}.pillar' names unknown pillar "
                f"{ind['pillar']!r}; pillars: {format_values(pillars)}"
            )
        if ind["reference"] is not None and ind["reference"] <= 0:
            raise ConfigError(
                f"{src}: key 'indicators.{col}.reference' must be > 0, got {ind['reference']!r}"
            )
        indicators[col] = ind
    if not top["profiles"]:
        raise ConfigError(f"{src}: [profiles] must declare at least one profile")
    profiles: dict[str, dict[str, Any]] = {}
    for name, t in _tables(top["profiles"], src, "profiles").items():
        prof = validate(t, PROFILE_SCHEMA, src, prefix=f"profiles.{name}.")
        _check_weight_table(
            prof["pillars"],
            list(pillars),
            src,
            f"profiles.{name}.pillars.",
            "pillar",
            require_all=True,
        )
        _check_weight_table(
            prof["indicator_weights"],
            list(indicators),
            src,
            f"profiles.{name}.indicator_weights.",
            "indicator",
            require_all=False,
        )
        ind_w = {k: v["weight"] for k, v in indicators.items()} | dict(prof["indicator_weights"])
        for pil, pw in prof["pillars"].items():
            if pw > 0 and not any(
                ind_w[c] > 0 for c, v in indicators.items() if v["pillar"] == pil
            ):
                raise ConfigError(
                    f"{src}: key 'profiles.{name}.pillars.{pil}' has weight {pw} but no "
                    f"indicator of pillar {pil!r} has a positive weight"
                )
        profiles[name] = prof
    mc = validate(top["montecarlo"], MONTECARLO_SCHEMA, src, prefix="montecarlo.")
    for key, alts in mc["threshold_alternatives"].items():
        if key not in indicators:
            raise ConfigError(
                f"{src}: unknown indicator 'montecarlo.threshold_alternatives.{key}'; "
                f"known indicators: {format_values(indicators, limit=60)}"
            )
        if not isinstance(alts, list) or not alts or not all(isinstance(a, str) for a in alts):
            raise ConfigError(
                f"{src}: key 'montecarlo.threshold_alternatives.{key}' must be a "
                f"non-empty list of column names, got {alts!r}"
            )
    afom = validate(top["afom"], AFOM_SCHEMA, src, prefix="afom.")
    if afom["internal_pillars"] is None:
        afom["internal_pillars"] = list(pillars)
    bad = [p for p in afom["internal_pillars"] if p not in pillars]
    if bad:
        raise ConfigError(
            f"{src}: key 'afom.internal_pillars' names unknown pillar(s) "
            f"{format_values(bad)}; pillars: {format_values(pillars)}"
        )
    for kind in ("opportunites", "menaces"):
        rules = []
        for i, rule in enumerate(afom[kind]):
            r = validate(rule, AFOM_RULE_SCHEMA, src, prefix=f"afom.{kind}[{i}].")
            if r["indicator"] not in indicators:
                raise ConfigError(
                    f"{src}: key 'afom.{kind}[{i}].indicator' names unknown indicator "
                    f"{r['indicator']!r}; known indicators: {format_values(indicators, limit=60)}"
                )
            if r["rule"] in ("at_least", "at_most") and r["value"] is None:
                raise ConfigError(
                    f"{src}: key 'afom.{kind}[{i}].value' is required by rule {r['rule']!r}"
                )
            rules.append(r)
        afom[kind] = rules
    return ScoringConfig(
        source=src,
        method=method,
        pillars=pillars,
        indicators=indicators,
        profiles=profiles,
        montecarlo=mc,
        afom=afom,
    )


def _tables(section: Mapping[str, Any], src: str, name: str) -> dict[str, Mapping[str, Any]]:
    for k, v in section.items():
        if not isinstance(v, Mapping):
            raise ConfigError(
                f"{src}: key '{name}.{k}' must be a table, got {type(v).__name__} {v!r}"
            )
    return dict(section)


def load_scoring_config(path: str | os.PathLike | None = None) -> ScoringConfig:
    """Read and validate a scoring configuration.

    Parameters
    ----------
    path : path-like, optional
        TOML file; defaults to ``data/scoring.toml`` (:data:`DEFAULT_SCORING_CONFIG`).

    Returns
    -------
    ScoringConfig

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ConfigError
        If it is malformed or inconsistent (the message names the key).
    """
    p = Path(path) if path is not None else DEFAULT_SCORING_CONFIG
    return scoring_config_from_dict(load_toml(p), source=p)


# --------------------------------------------------------------------------------------------
# normalisation and aggregation
# --------------------------------------------------------------------------------------------


def winsorise(
    s: pd.Series, lower: float, upper: float, fit_on: pd.Series | None = None
) -> pd.Series:
    """Clip a series at two of its quantiles (Handbook §5: treatment of outliers).

    Parameters
    ----------
    s : Series
        Raw indicator values (NaN kept).
    lower, upper : float
        Quantiles, ``0 <= lower < upper <= 1`` (linear interpolation, as :meth:`Series.quantile`).
    fit_on : Series, optional
        Series whose quantiles are used (default ``s`` itself).

    Returns
    -------
    Series
        Same index, values clipped into ``[q_lower, q_upper]``.
    """
    if not (0 <= lower < upper <= 1):
        raise ConfigError(
            f"winsorise quantiles must satisfy 0 <= lower < upper <= 1, got {lower!r}, {upper!r}"
        )
    base = (s if fit_on is None else fit_on).astype(float)
    lo, hi = base.quantile(lower), base.quantile(upper)
    return s.astype(float).clip(lower=lo, upper=hi)


def normalise(
    s: pd.Series,
    method: str = "minmax",
    direction: str = "higher_is_better",
    reference: float | None = None,
    fit_on: pd.Series | None = None,
) -> pd.Series:
    """Normalise an indicator to 0–100, 100 = most favourable (Handbook §5).

    With ``x`` the value, ``sgn = +1`` (higher is better) or ``-1`` (lower is better), and the
    statistics taken on ``fit_on`` (default ``s``; NaN ignored):

    * ``minmax``: ``100 (x - min) / (max - min)`` (or ``100 (max - x) / (max - min)``);
    * ``zscore``: ``z = sgn (x - mean) / sd`` (sample sd, ddof = 1), then
      ``clip(50 + 50 z / ZSCORE_CLIP, 0, 100)`` — linear, so differences keep their meaning;
    * ``rank``: mid-rank percentile ``100 (less + (equal - 1) / 2) / (n - 1)``, where ``less``
      counts values strictly worse and ``equal`` values equal (ties share the average rank);
    * ``distance_to_reference``: ratio ``r = x / ref`` (or ``ref / x``), then
      ``100 clip(r, 0, REFERENCE_RATIO_CAP) / REFERENCE_RATIO_CAP`` (the reference scores 50).
      ``ref`` defaults to the mean; values must be >= 0.

    All four are non-decreasing in the favourable direction. A constant column (or ``n = 1``)
    gives :data:`CONSTANT_SCORE` (values outside it, possible with ``fit_on``, get 0 or 100).

    Parameters
    ----------
    s : Series
        Raw values.
    method : str
        One of :data:`NORMALISATIONS`.
    direction : str
        ``"higher_is_better"`` or ``"lower_is_better"``.
    reference : float, optional
        Reference value for ``distance_to_reference``.
    fit_on : Series, optional
        Values the statistics come from (fixed goal-posts for scenarios).

    Returns
    -------
    Series
        Float values in [0, 100], NaN where ``s`` is NaN, same index and name.

    Raises
    ------
    ConfigError
        On an unknown method or direction.
    DataError
        For ``distance_to_reference`` with negative values or a non-positive reference.
    """
    if method not in NORMALISATIONS:
        raise ConfigError(f"unknown normalisation {method!r}; choose one of {list(NORMALISATIONS)}")
    if direction not in DIRECTIONS:
        raise ConfigError(
            f"unknown direction {direction!r} for {s.name!r}; choose one of {list(DIRECTIONS)}"
        )
    x = pd.to_numeric(s, errors="coerce").astype(float).to_numpy()
    base_s = s if fit_on is None else fit_on
    base = pd.to_numeric(base_s, errors="coerce").astype(float).to_numpy()
    base = base[np.isfinite(base)]
    out = _normalise_array(x, base, method, direction == "higher_is_better", reference, s.name)
    return pd.Series(out, index=s.index, name=s.name)


def _constant(x: np.ndarray, c: float, higher: bool) -> np.ndarray:
    up, down = (SCORE_MAX, 0.0) if higher else (0.0, SCORE_MAX)
    return np.where(np.isnan(x), np.nan, np.where(x > c, up, np.where(x < c, down, CONSTANT_SCORE)))


def _normalise_array(
    x: np.ndarray, base: np.ndarray, method: str, higher: bool, reference: float | None, name: Any
) -> np.ndarray:
    n = base.size
    if n == 0:
        return np.full(x.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "minmax":
            lo, hi = base.min(), base.max()
            if hi == lo:
                return _constant(x, lo, higher)
            v = (x - lo) / (hi - lo) if higher else (hi - x) / (hi - lo)
            return np.clip(SCORE_MAX * v, 0.0, SCORE_MAX)
        if method == "zscore":
            mu = base.mean()
            # deviations are rescaled by their largest magnitude before squaring, so that tiny
            # spreads (1e-188) do not underflow to a zero or denormal standard deviation
            scale = np.abs(base - mu).max() if n > 1 else 0.0
            sd = ((base - mu) / scale).std(ddof=1) if scale > 0 else 0.0
            if sd == 0 or not np.isfinite(sd):
                return _constant(x, mu, higher)
            z = ((x - mu) / scale) / sd if higher else ((mu - x) / scale) / sd
            return np.clip(SCORE_MAX / 2 + (SCORE_MAX / 2) * z / ZSCORE_CLIP, 0.0, SCORE_MAX)
        if method == "rank":
            if n == 1:
                return _constant(x, base[0], higher)
            srt = np.sort(base)
            left = np.searchsorted(srt, x, side="left").astype(float)
            right = np.searchsorted(srt, x, side="right").astype(float)
            equal = right - left
            worse = left if higher else n - right
            pct = (worse + (equal - 1) / 2) / (n - 1)
            return np.where(np.isnan(x), np.nan, np.clip(SCORE_MAX * pct, 0.0, SCORE_MAX))
        # distance_to_reference
        ref = float(base.mean()) if reference is None else float(reference)
        if not ref > 0:
            raise DataError(
                f"indicator {name!r}: distance_to_reference needs a positive reference, got "
                f"{ref!r}; give [indicators.{name}].reference or use another normalisation"
            )
        neg = np.concatenate([x[x < 0], base[base < 0]])
        if neg.size:
            raise DataError(
                f"indicator {name!r}: distance_to_reference needs values >= 0, got "
                f"{format_values(np.unique(neg))}"
            )
        r = x / ref if higher else np.where(x == 0, np.inf, ref / x)
        r = np.where(np.isnan(x), np.nan, r)
        return SCORE_MAX * np.clip(r, 0.0, REFERENCE_RATIO_CAP) / REFERENCE_RATIO_CAP


def _aggregate_core(
    x: np.ndarray, w: np.ndarray, method: str | np.ndarray, min_share: float
) -> np.ndarray:
    """Weighted mean over the last axis with NaN re-weighting.

    ``x`` has shape (..., k); ``w`` broadcasts to it. ``method`` is a string or a boolean
    array (True = geometric) broadcastable to ``x.shape[:-1]``. A result is NaN unless the
    available weight is at least ``min_share`` of the total weight.
    """
    valid = ~np.isnan(x)
    wb = np.broadcast_to(w, x.shape)
    wv = np.where(valid, wb, 0.0)
    wsum = wv.sum(axis=-1)
    wtot = wb.sum(axis=-1)
    x0 = np.where(valid, x, 0.0)
    shape = x.shape[:-1]
    if isinstance(method, str):
        geo = np.full(shape, method == "geometric")
    else:
        geo = np.broadcast_to(np.asarray(method, dtype=bool), shape)
    out = np.full(shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not geo.all():
            out = np.where(geo, out, (x0 * wv).sum(axis=-1) / wsum)
        if geo.any():
            logs = np.log(np.maximum(np.where(valid, x, GEOMETRIC_FLOOR), GEOMETRIC_FLOOR))
            out = np.where(geo, np.exp((logs * wv).sum(axis=-1) / wsum), out)
        ok = (wsum > 0) & (wsum >= min_share * wtot - _EPS * np.maximum(wtot, 1.0))
    return np.where(ok, np.clip(out, 0.0, SCORE_MAX), np.nan)


def aggregate(
    values_df: pd.DataFrame,
    weights: Mapping[str, float],
    method: str = "arithmetic",
    min_weight_share: float = 0.0,
) -> pd.Series:
    """Weighted aggregation of normalised columns, re-weighting over available values.

    ``arithmetic``: ``sum_i w_i x_i / sum_i w_i``; ``geometric``:
    ``exp(sum_i w_i ln max(x_i, GEOMETRIC_FLOOR) / sum_i w_i)``, both over the non-missing
    ``x_i`` of the row. The row is NaN when the available weight is below
    ``min_weight_share`` × the total weight (or zero).

    Parameters
    ----------
    values_df : DataFrame
        Normalised values (0–100), one column per weighted item.
    weights : mapping
        Column → weight (>= 0, at least one > 0). Columns not listed are ignored.
    method : str
        ``"arithmetic"`` or ``"geometric"``.
    min_weight_share : float
        Minimum available share of the weight, in [0, 1].

    Returns
    -------
    Series
        Aggregated values in [0, 100], aligned on ``values_df.index``.

    Raises
    ------
    ConfigError
        Negative or non-finite weight, all-zero weights, a weight for an unknown column, or an
        unknown method (the message names the key).
    """
    if method not in AGGREGATIONS:
        raise ConfigError(f"unknown aggregation {method!r}; choose one of {list(AGGREGATIONS)}")
    _check_weight_table(
        weights, list(values_df.columns), "aggregate", "weights.", "column", require_all=False
    )
    if not any(v > 0 for v in weights.values()):
        raise ConfigError(
            f"aggregate: all weights are zero: {dict(weights)}; at least one must be > 0"
        )
    cols = [c for c, v in weights.items() if v > 0]
    x = values_df[cols].to_numpy(dtype=float)
    w = np.array([float(weights[c]) for c in cols])
    return pd.Series(_aggregate_core(x, w, method, min_weight_share), index=values_df.index)


# --------------------------------------------------------------------------------------------
# the model: normalised tensor + weights, evaluated for one or many draws
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    """A batch of model settings: one row per draw."""

    method: np.ndarray  # (D,) index into _Model.methods
    geometric: np.ndarray  # (D,) bool
    column: np.ndarray  # (D, J) index into _Model.columns
    pillar_w: np.ndarray  # (D, K) pillar weights


@dataclass(frozen=True)
class _Model:
    """Normalised indicators and weights of one profile, ready for batched evaluation."""

    methods: tuple[str, ...]
    columns: tuple[str, ...]  # candidate columns (indicators and their alternatives)
    tensor: np.ndarray  # (M, n, C) normalised values, communes in the input order
    indicators: tuple[str, ...]  # J used indicators
    candidates: tuple[np.ndarray, ...]  # per indicator: candidate column indices (first = default)
    ind_w: np.ndarray  # (J,)
    pillar_of: np.ndarray  # (J,) index into pillars
    pillars: tuple[str, ...]  # K pillars with positive weight
    pillar_w: np.ndarray  # (K,)
    min_share: float
    tie_order: np.ndarray  # (n,) positions sorted by code (tie-break)


def _used_indicators(df: pd.DataFrame, config: ScoringConfig, fit_df: pd.DataFrame) -> list[str]:
    cols = list(config.indicators)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(
            f"indicator table: missing indicator column(s) {format_values(missing)} declared in "
            f"{config.source} [indicators]; available columns: "
            f"{format_values(df.columns, limit=80)}"
        )
    used = []
    n = len(fit_df)
    for c in cols:
        cover = float(fit_df[c].notna().mean()) if n else 0.0
        if cover < config.method["min_coverage"]:
            key = (str(config.source), c)
            log = logger.debug if key in _SPARSE_WARNED else logger.warning
            _SPARSE_WARNED.add(key)
            log(
                "indicator %r left out: available for %.0f%% of communes (< min_coverage %.0f%%)",
                c,
                100 * cover,
                100 * config.method["min_coverage"],
            )
            continue
        used.append(c)
    return used


#: Sparse indicators already reported (warned once per process, then logged at DEBUG).
_SPARSE_WARNED: set[tuple[str, str]] = set()


def _prepare(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str,
    methods: Sequence[str],
    alternatives: bool,
    fit_on: pd.DataFrame | None = None,
) -> _Model:
    """Validate inputs and normalise every used indicator (and alternatives) per method."""
    if "code" not in df.columns:
        raise DataError(
            f"indicator table: missing column 'code' (INSEE code, used to break rank ties); "
            f"available columns: {format_values(df.columns, limit=80)}"
        )
    if df["code"].duplicated().any():
        dup = df["code"][df["code"].duplicated(keep=False)]
        raise DataError(
            f"indicator table: duplicated commune code(s) {format_values(sorted(set(dup)))}"
        )
    fit_df = df if fit_on is None else fit_on
    ind_w_all, pil_w_all = config.profile_weights(profile)
    used = [c for c in _used_indicators(df, config, fit_df) if ind_w_all[c] > 0]
    pillars = [p for p, w in pil_w_all.items() if w > 0]
    for p in pillars:
        if not any(config.indicators[c]["pillar"] == p for c in used):
            logger.warning(
                "profile %r: pillar %r has no usable indicator; it is NaN for every commune",
                profile,
                p,
            )
    alts_cfg = config.montecarlo["threshold_alternatives"] if alternatives else {}
    columns: list[str] = []
    candidates = []
    for c in used:
        cand = [c] + [a for a in alts_cfg.get(c, []) if a != c]
        missing = [a for a in cand if a not in df.columns]
        if missing:
            raise DataError(
                f"indicator table: missing threshold alternative column(s) {format_values(missing)} "
                f"(montecarlo.threshold_alternatives.{c} in {config.source}); available columns: "
                f"{format_values(df.columns, limit=80)}"
            )
        idx = []
        for a in cand:
            if a not in columns:
                columns.append(a)
            idx.append(columns.index(a))
        candidates.append(np.array(idx))
    win = config.method["winsorise"]
    tensor = np.empty((len(methods), len(df), len(columns)))
    for j, col in enumerate(columns):
        owner = next(c for c, cand in zip(used, candidates, strict=True) if j in cand)
        spec = config.indicators[owner]
        s = pd.to_numeric(df[col], errors="coerce").astype(float)
        f = pd.to_numeric(fit_df[col], errors="coerce").astype(float) if fit_on is not None else s
        if win:
            s, f = winsorise(s, win[0], win[1], fit_on=f), winsorise(f, win[0], win[1])
        for m, meth in enumerate(methods):
            tensor[m, :, j] = normalise(
                s, meth, spec["direction"], spec["reference"], fit_on=f
            ).to_numpy()
    pil_index = {p: k for k, p in enumerate(pillars)}
    keep = [j for j, c in enumerate(used) if config.indicators[c]["pillar"] in pil_index]
    used = [used[j] for j in keep]
    candidates = [candidates[j] for j in keep]
    return _Model(
        methods=tuple(methods),
        columns=tuple(columns),
        tensor=tensor,
        indicators=tuple(used),
        candidates=tuple(candidates),
        ind_w=np.array([ind_w_all[c] for c in used], dtype=float),
        pillar_of=np.array([pil_index[config.indicators[c]["pillar"]] for c in used], dtype=int),
        pillars=tuple(pillars),
        pillar_w=np.array([pil_w_all[p] for p in pillars], dtype=float),
        min_share=config.method["min_weight_share"],
        tie_order=np.argsort(df["code"].astype(str).to_numpy(), kind="stable"),
    )


def _evaluate(model: _Model, design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Pillar scores (D, n, K) and composite scores (D, n) for a batch of draws."""
    n = model.tensor.shape[1]
    d = design.method.shape[0]
    rows = np.arange(n)[None, :, None]
    x = model.tensor[design.method[:, None, None], rows, design.column[:, None, :]]  # (D, n, J)
    geo = design.geometric[:, None]
    pil = np.full((d, n, len(model.pillars)), np.nan)
    for k in range(len(model.pillars)):
        sel = np.flatnonzero(model.pillar_of == k)
        if sel.size:
            pil[:, :, k] = _aggregate_core(x[:, :, sel], model.ind_w[sel], geo, model.min_share)
    comp = _aggregate_core(pil, design.pillar_w[:, None, :], geo, model.min_share)
    return pil, comp


def _ranks(scores: np.ndarray, tie_order: np.ndarray) -> np.ndarray:
    """Ranks (1 = best) along the last axis; ties broken by ``tie_order``; NaN → NaN."""
    s = np.round(np.atleast_2d(scores), RANK_DECIMALS)[:, tie_order]
    order = np.argsort(-s, axis=1, kind="stable")  # NaN last
    ranks_sorted = np.empty_like(order)
    np.put_along_axis(ranks_sorted, order, np.arange(1, s.shape[1] + 1)[None, :], axis=1)
    out = np.empty(s.shape)
    out[:, tie_order] = ranks_sorted
    out[np.isnan(np.atleast_2d(scores))] = np.nan
    return out


def _base_design(model: _Model) -> _Design:
    return _Design(
        method=np.zeros(1, int),
        geometric=np.zeros(1, bool),
        column=np.array([[c[0] for c in model.candidates]], dtype=int).reshape(1, -1),
        pillar_w=model.pillar_w[None, :],
    )


def rank_scores(scores: pd.Series, codes: pd.Series) -> pd.Series:
    """Rank scores, 1 = best, as a permutation of ``1..k`` over the k non-missing scores.

    Scores are rounded to :data:`RANK_DECIMALS` decimals; equal scores are ranked by
    ascending INSEE code (deterministic tie-break), so ranks never repeat.

    Parameters
    ----------
    scores : Series
        Scores (NaN allowed: rank NaN).
    codes : Series
        Tie-break keys aligned with ``scores``.

    Returns
    -------
    Series
        Nullable integer ranks (``Int64``) aligned on ``scores.index``.
    """
    tie = np.argsort(codes.astype(str).to_numpy(), kind="stable")
    r = _ranks(scores.to_numpy(dtype=float), tie)[0]
    return pd.Series(r, index=scores.index).astype("Int64")


# --------------------------------------------------------------------------------------------
# deterministic scores
# --------------------------------------------------------------------------------------------


def pillar_scores(
    indicators_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    fit_on: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Pillar scores (0–100) of a profile, one column ``pillar_<pillar>`` per weighted pillar.

    Parameters
    ----------
    indicators_df : DataFrame
        Indicators per commune (columns of ``[indicators]`` and ``code``).
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile whose indicator weights are used.
    fit_on : DataFrame, optional
        Data the normalisation statistics come from (default ``indicators_df``).

    Returns
    -------
    DataFrame
        Aligned on ``indicators_df.index``; NaN where less than ``min_weight_share`` of the
        pillar's indicator weight is available.
    """
    model = _prepare(
        indicators_df, config, profile, [config.method["normalisation"]], False, fit_on
    )
    design = _base_design(model)
    design = _Design(
        design.method,
        np.array([config.method["aggregation"] == "geometric"]),
        design.column,
        design.pillar_w,
    )
    pil, _ = _evaluate(model, design)
    return pd.DataFrame(
        pil[0], index=indicators_df.index, columns=[f"pillar_{p}" for p in model.pillars]
    )


def composite_scores(
    indicators_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    fit_on: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Composite score, rank, pillar scores and missing-data flags of one profile.

    Parameters
    ----------
    indicators_df : DataFrame
        One row per study commune: ``code`` and every column of ``[indicators]``.
    config : ScoringConfig
        Scoring configuration (:func:`load_scoring_config`).
    profile : str
        Name of a ``[profiles.<name>]`` table.
    fit_on : DataFrame, optional
        Data the normalisation statistics come from (fixed goal-posts, used by
        :func:`score_changes`); default ``indicators_df``.

    Returns
    -------
    DataFrame
        Aligned on ``indicators_df.index``, columns ``score_<profile>`` (0–100, NaN when less than
        ``min_weight_share`` of the pillar weight is available), ``rank_<profile>`` (1 = best,
        a permutation over scored communes, ties broken by code), ``pillar_<pillar>_<profile>``,
        ``n_missing_indicators_<profile>`` (used indicators missing for the commune) and
        ``missing_pillars_<profile>`` (``;``-separated pillars that could not be computed, "" if none).
        ``attrs["indicators"]`` lists the indicators used.

    Raises
    ------
    ConfigError
        Unknown profile.
    DataError
        Missing ``code`` or indicator column (the message lists the available columns).
    """
    model = _prepare(
        indicators_df, config, profile, [config.method["normalisation"]], False, fit_on
    )
    geo = np.array([config.method["aggregation"] == "geometric"])
    base = _base_design(model)
    pil, comp = _evaluate(model, _Design(base.method, geo, base.column, base.pillar_w))
    out = pd.DataFrame(index=indicators_df.index)
    out[f"score_{profile}"] = comp[0]
    out[f"rank_{profile}"] = pd.Series(_ranks(comp, model.tie_order)[0], index=out.index).astype(
        "Int64"
    )
    for k, p in enumerate(model.pillars):
        out[f"pillar_{p}_{profile}"] = pil[0, :, k]
    raw = indicators_df[list(model.indicators)]
    out[f"n_missing_indicators_{profile}"] = raw.isna().sum(axis=1).astype(int)
    miss = np.isnan(pil[0])
    out[f"missing_pillars_{profile}"] = [
        ";".join(p for p, m in zip(model.pillars, row, strict=True) if m) for row in miss
    ]
    out.attrs["indicators"] = list(model.indicators)
    n_flag = int((out[f"missing_pillars_{profile}"] != "").sum())
    if n_flag:
        logger.info(
            "profile %r: %d commune(s) with at least one pillar not computable", profile, n_flag
        )
    return out


def score_all_profiles(
    indicators_df: pd.DataFrame, config: ScoringConfig, fit_on: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Composite scores of every profile, plus unsuffixed pillar scores and missing flags.

    Parameters
    ----------
    indicators_df : DataFrame
        Indicators per commune.
    config : ScoringConfig
        Scoring configuration.
    fit_on : DataFrame, optional
        Normalisation statistics source (see :func:`composite_scores`).

    Returns
    -------
    DataFrame
        The columns of :func:`composite_scores` for each profile, ``pillar_<pillar>`` from the
        ``general`` profile (or the first profile when there is none),
        ``n_missing_indicators`` and ``missing_indicators`` (``;``-separated names) over every
        used indicator.
    """
    parts = [composite_scores(indicators_df, config, p, fit_on) for p in config.profiles]
    out = pd.concat(parts, axis=1)
    ref = REFERENCE_PROFILE if REFERENCE_PROFILE in config.profiles else next(iter(config.profiles))
    for p in config.pillars:
        col = f"pillar_{p}_{ref}"
        if col in out.columns:
            out[f"pillar_{p}"] = out[col]
    used = sorted(
        {c for part in parts for c in part.attrs["indicators"]}, key=list(config.indicators).index
    )
    isna = indicators_df[used].isna()
    out["n_missing_indicators"] = isna.sum(axis=1).astype(int)
    out["missing_indicators"] = [
        ";".join(c for c, m in zip(used, row, strict=True) if m) for row in isna.to_numpy()
    ]
    out.attrs["indicators"] = used
    return out


def score_changes(
    before_df: pd.DataFrame,
    after_df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
) -> pd.DataFrame:
    """Score and rank change per commune between two indicator tables, by pillar.

    The ``after`` table is normalised with the statistics of ``before`` (fixed goal-posts,
    Handbook §5), so a change in one commune does not move the others' normalised values.

    Parameters
    ----------
    before_df, after_df : DataFrame
        Indicator tables with the same index and codes.
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile.

    Returns
    -------
    DataFrame
        Aligned on ``before_df.index``: ``code``, ``score_before``, ``score_after``,
        ``score_change``, ``rank_before``, ``rank_after``, ``rank_change`` (before − after:
        positive = moved up), and per pillar ``pillar_<p>_change`` and ``contribution_<p>`` (the
        normalised pillar weight times the pillar change; with arithmetic aggregation and the
        same pillars available before and after, contributions sum to ``score_change``).

    Raises
    ------
    DataError
        If the two tables do not have the same index and codes.
    """
    if (
        not before_df.index.equals(after_df.index)
        or "code" not in after_df.columns
        or not before_df["code"].equals(after_df["code"])
    ):
        raise DataError(
            "score_changes: before and after tables must have the same index and 'code' column"
        )
    b = composite_scores(before_df, config, profile)
    a = composite_scores(after_df, config, profile, fit_on=before_df)
    out = pd.DataFrame({"code": before_df["code"]}, index=before_df.index)
    out["score_before"] = b[f"score_{profile}"]
    out["score_after"] = a[f"score_{profile}"]
    out["score_change"] = out["score_after"] - out["score_before"]
    out["rank_before"] = b[f"rank_{profile}"]
    out["rank_after"] = a[f"rank_{profile}"]
    out["rank_change"] = out["rank_before"] - out["rank_after"]
    _, pil_w = config.profile_weights(profile)
    used = {p: w for p, w in pil_w.items() if w > 0 and f"pillar_{p}_{profile}" in b.columns}
    # each commune's score is re-weighted over the pillars it has (missing-data rule), so its
    # contributions use the weights normalised over its own available pillars
    avail = pd.DataFrame(
        {p: b[f"pillar_{p}_{profile}"].notna() & a[f"pillar_{p}_{profile}"].notna() for p in used}
    )
    total = sum(avail[p] * w for p, w in used.items())
    for p, w in used.items():
        col = f"pillar_{p}_{profile}"
        out[f"pillar_{p}_change"] = a[col] - b[col]
        share = (w * avail[p]).div(total.where(total > 0))
        out[f"contribution_{p}"] = share * out[f"pillar_{p}_change"]
    return out


# --------------------------------------------------------------------------------------------
# EPCI aggregation
# --------------------------------------------------------------------------------------------


def epci_scores(df: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Population-weighted mean of commune scores per EPCI.

    ``score_EPCI = sum_c pop_c score_c / sum_c pop_c`` over the member communes whose score is
    not missing (a missing commune score is left out, not counted as 0).

    Parameters
    ----------
    df : DataFrame
        One row per commune with ``epci``, ``epci_nom``, ``population`` and the score columns
        (for example the commune table joined with :func:`score_all_profiles`).
    columns : sequence of str, optional
        Columns to aggregate; default every ``score_*`` and ``pillar_*`` column.

    Returns
    -------
    DataFrame
        One row per EPCI (sorted by code): ``epci``, ``epci_nom``, ``population``,
        ``n_communes``, the aggregated columns and ``rank_<profile>`` for every ``score_<profile>``
        (1 = best among EPCIs, ties by EPCI code).

    Raises
    ------
    DataError
        Missing columns, or a missing / negative population.
    """
    need = ["epci", "epci_nom", "population"]
    cols = (
        list(columns)
        if columns is not None
        else [
            c
            for c in df.columns
            if c.startswith(("score_", "pillar_")) and pd.api.types.is_numeric_dtype(df[c])
        ]
    )
    missing = [c for c in need + cols if c not in df.columns]
    if missing:
        raise DataError(
            f"epci_scores: missing column(s) {format_values(missing)}; available: "
            f"{format_values(df.columns, limit=80)}"
        )
    pop = pd.to_numeric(df["population"], errors="coerce")
    bad = pop.isna() | (pop < 0)
    if bad.any():
        who = df.loc[bad, "code"] if "code" in df.columns else df.index[bad]
        raise DataError(
            f"epci_scores: missing or negative population for {format_values(list(who))}"
        )
    if df["epci"].isna().any():
        who = (
            df.loc[df["epci"].isna(), "code"]
            if "code" in df.columns
            else df.index[df["epci"].isna()]
        )
        raise DataError(f"epci_scores: commune(s) without EPCI: {format_values(list(who))}")
    vals = df[cols].apply(pd.to_numeric, errors="coerce").astype(float)
    wx = vals.mul(pop, axis=0)
    wsum = vals.notna().mul(pop, axis=0)
    key = df["epci"].astype(str)
    num = wx.groupby(key).sum(min_count=1)
    den = wsum.groupby(key).sum()
    res = num / den.where(den > 0)
    head = df.groupby(key).agg(
        epci_nom=("epci_nom", "first"),
        population=("population", "sum"),
        n_communes=("epci", "size"),
    )
    out = head.join(res).rename_axis("epci").reset_index()
    for c in cols:
        if c.startswith("score_") and not c.endswith(tuple(f"_{q}" for q in MC_QUANTILES)):
            out["rank_" + c[len("score_") :]] = rank_scores(out[c], out["epci"])
    return out


# --------------------------------------------------------------------------------------------
# uncertainty (Monte Carlo) and sensitivity (Sobol)
# --------------------------------------------------------------------------------------------


def _mc_settings(config: ScoringConfig, n: int | None, seed: int | None) -> tuple[int, int]:
    n = config.montecarlo["n"] if n is None else int(n)
    seed = config.montecarlo["seed"] if seed is None else int(seed)
    if n < 2:
        raise ConfigError(f"{config.source}: Monte Carlo needs at least 2 draws, got n={n}")
    return n, seed


def _mc_model(df: pd.DataFrame, config: ScoringConfig, profile: str) -> _Model:
    methods = list(config.montecarlo["normalisations"])
    return _prepare(df, config, profile, methods, alternatives=True)


def _sample(model: _Model, config: ScoringConfig, n: int, rng: np.random.Generator) -> _Design:
    """Independent draws of every uncertain input (the same order for every profile)."""
    aggs = config.montecarlo["aggregations"]
    method = rng.integers(0, len(model.methods), size=n)
    geometric = np.array(aggs)[rng.integers(0, len(aggs), size=n)] == "geometric"
    column = np.empty((n, len(model.indicators)), dtype=int)
    for j, cand in enumerate(model.candidates):
        column[:, j] = cand[rng.integers(0, cand.size, size=n)] if cand.size > 1 else cand[0]
    w = model.pillar_w / model.pillar_w.sum()
    alpha = config.montecarlo["concentration"] * w
    pillar_w = rng.dirichlet(alpha, size=n) if w.size > 1 else np.ones((n, 1))
    return _Design(method, geometric, column, pillar_w)


def _run(model: _Model, design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Composite scores and ranks (D, n) for a design, in chunks."""
    d = design.method.shape[0]
    scores = np.empty((d, model.tensor.shape[1]))
    for start in range(0, d, MC_CHUNK):
        sl = slice(start, start + MC_CHUNK)
        part = _Design(
            design.method[sl], design.geometric[sl], design.column[sl], design.pillar_w[sl]
        )
        scores[sl] = _evaluate(model, part)[1]
    return scores, _ranks(scores, model.tie_order)


def monte_carlo_ranks(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    n: int | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Uncertainty analysis of scores and ranks (Handbook §7, Monte Carlo).

    Each draw samples, independently: the normalisation (uniform over
    ``montecarlo.normalisations``), the aggregation (uniform over ``montecarlo.aggregations``),
    for each indicator with ``threshold_alternatives`` the column representing it (uniform),
    and the pillar weights from a Dirichlet distribution with mean the profile's normalised
    weights and concentration ``montecarlo.concentration``. Indicator weights within pillars
    are kept. Ranks are computed per draw as in :func:`composite_scores`.

    Parameters
    ----------
    df : DataFrame
        Indicators per commune (with the alternative columns).
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile.
    n : int, optional
        Number of draws (default ``montecarlo.n``).
    seed : int, optional
        Seed of :func:`numpy.random.default_rng` (default ``montecarlo.seed``).

    Returns
    -------
    DataFrame
        Aligned on ``df.index``: ``rank_<profile>_median``, ``rank_<profile>_p05``,
        ``rank_<profile>_p95`` and the same three for ``score_<profile>`` (linear-interpolated
        quantiles over the draws where the commune is scored; NaN if never).
    """
    n, seed = _mc_settings(config, n, seed)
    model = _mc_model(df, config, profile)
    design = _sample(model, config, n, np.random.default_rng(seed))
    scores, ranks = _run(model, design)
    out = pd.DataFrame(index=df.index)
    for name, arr in (("rank", ranks), ("score", scores)):
        all_nan = np.isnan(arr).all(axis=0)
        safe = np.where(all_nan[None, :], 0.0, arr)
        for suffix, q in MC_QUANTILES.items():
            vals = np.nanquantile(safe, q, axis=0)
            out[f"{name}_{profile}_{suffix}"] = np.where(all_nan, np.nan, vals)
    return out


def monte_carlo_all_profiles(
    df: pd.DataFrame, config: ScoringConfig, n: int | None = None, seed: int | None = None
) -> pd.DataFrame:
    """:func:`monte_carlo_ranks` for every profile, side by side (same seed per profile)."""
    return pd.concat([monte_carlo_ranks(df, config, p, n, seed) for p in config.profiles], axis=1)


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Mean over axis 0 ignoring NaN, NaN (without a warning) where every value is NaN."""
    valid = ~np.isnan(a)
    cnt = valid.sum(axis=0)
    tot = np.where(valid, a, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)


def _groups(model: _Model, config: ScoringConfig) -> list[str]:
    g = ["weights"] if model.pillar_w.size > 1 else []
    if len(model.methods) > 1:
        g.append("normalisation")
    if any(c.size > 1 for c in model.candidates):
        g.append("thresholds")
    if len(config.montecarlo["aggregations"]) > 1:
        g.append("aggregation")
    return g


def _mix(a: _Design, b: _Design, group: str) -> _Design:
    """Design A with the inputs of ``group`` taken from B (the A_B^(i) matrix)."""
    return _Design(
        method=b.method if group == "normalisation" else a.method,
        geometric=b.geometric if group == "aggregation" else a.geometric,
        column=b.column if group == "thresholds" else a.column,
        pillar_w=b.pillar_w if group == "weights" else a.pillar_w,
    )


def sensitivity(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str = REFERENCE_PROFILE,
    n: int | None = None,
    seed: int | None = None,
    per_commune: bool = False,
) -> pd.DataFrame:
    """Variance-based sensitivity of the ranks to groups of uncertain inputs (Handbook §7).

    Groups: ``weights`` (Dirichlet pillar weights), ``normalisation``, ``thresholds`` (all
    threshold alternatives together) and ``aggregation``; a group with a single option is left
    out. Two independent designs A and B of ``n`` draws are sampled as in
    :func:`monte_carlo_ranks`; for each group i, ``A_B^(i)`` is A with group i taken from B
    (``n (k + 2)`` evaluations). For the rank ``f`` of a commune, with ``V`` the variance of
    ``f`` over A and B:

    * first order (Saltelli et al. 2010): ``S_i = mean(f(B) (f(A_B^(i)) - f(A))) / V``;
    * total order (Jansen 1999): ``ST_i = mean((f(A) - f(A_B^(i)))^2) / (2 V)``.

    The summary pools communes by summing numerators and variances (the share of the total
    rank variance of all communes explained by the group). Estimates are noisy for small
    ``n`` and may fall slightly outside [0, 1].

    Parameters
    ----------
    df : DataFrame
        Indicators per commune.
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile.
    n : int, optional
        Base sample size (default ``montecarlo.n``).
    seed : int, optional
        Seed (default ``montecarlo.seed``).
    per_commune : bool
        Return one row per commune (columns ``S_<group>``, ``ST_<group>``, ``rank_variance``)
        instead of the pooled summary.

    Returns
    -------
    DataFrame
        Pooled: index = group, columns ``first_order``, ``total_order``; ``attrs`` holds
        ``n`` and ``evaluations``. Per commune: aligned on ``df.index``.
    """
    n, seed = _mc_settings(config, n, seed)
    model = _mc_model(df, config, profile)
    groups = _groups(model, config)
    rng = np.random.default_rng(seed)
    a = _sample(model, config, n, rng)
    b = _sample(model, config, n, rng)
    fa = _run(model, a)[1]
    fb = _run(model, b)[1]
    var = _nanmean(np.concatenate([fa, fb]) ** 2) - _nanmean(np.concatenate([fa, fb])) ** 2
    var = np.where(var > _EPS, np.nan_to_num(var), 0.0)
    first, total = {}, {}
    for g in groups:
        fab = _run(model, _mix(a, b, g))[1]
        first[g] = np.nan_to_num(_nanmean(fb * (fab - fa)))
        total[g] = np.nan_to_num(_nanmean((fa - fab) ** 2) / 2)
    if per_commune:
        out = pd.DataFrame(index=df.index)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for g in groups:
                out[f"S_{g}"] = np.where(var > 0, first[g] / var, np.nan)
                out[f"ST_{g}"] = np.where(var > 0, total[g] / var, np.nan)
        out["rank_variance"] = var
        return out
    vt = var.sum()
    rows = {
        g: {
            "first_order": float(np.nansum(first[g]) / vt) if vt > 0 else 0.0,
            "total_order": float(np.nansum(total[g]) / vt) if vt > 0 else 0.0,
        }
        for g in groups
    }
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["first_order", "total_order"])
    out.index.name = "group"
    out.attrs.update({"n": n, "evaluations": n * (len(groups) + 2), "profile": profile})
    return out
