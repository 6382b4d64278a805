"""The scoring model: normalised indicators and weights, evaluated for one or many draws.

:func:`prepare_model` normalises every usable indicator of a profile (and its threshold
alternatives) with each normalisation method into a tensor; :func:`evaluate_model` turns a
batch of settings (:class:`Design`: method, aggregation, column, pillar weights per draw)
into pillar and composite scores, and :func:`rank_matrix` ranks them. The deterministic
scores (:mod:`~geoattract.scoring.aggregate`) are a batch of one draw; the Monte Carlo and
Sobol analyses (:mod:`~geoattract.scoring.uncertainty`) evaluate thousands at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoattract.errors import DataError, format_values
from geoattract.scoring.config import ScoringConfig
from geoattract.scoring.normalise import SCORE_MAX, normalise, winsorise

logger = logging.getLogger(__name__)

#: Geometric aggregation: normalised values below this floor (on the 0–100 scale) are raised
#: to it, since a geometric mean is undefined/zero-absorbing at 0 (Handbook §6.2).
GEOMETRIC_FLOOR: float = 1.0

#: Scores are rounded to this many decimals before ranking, so that floating noise does not
#: break ties; ties are then broken by INSEE code (ascending).
RANK_DECIMALS: int = 9

#: Tolerance on weight shares and variances (floating sums).
EPS: float = 1e-12

#: Sparse indicators already reported (warned once per process, then logged at DEBUG).
_SPARSE_WARNED: set[tuple[str, str]] = set()


def weighted_mean(
    x: np.ndarray, w: np.ndarray, method: str | np.ndarray, min_share: float
) -> np.ndarray:
    """Weighted mean over the last axis with NaN re-weighting.

    Parameters
    ----------
    x : ndarray
        Values, shape (..., k); NaN = missing.
    w : ndarray
        Weights, broadcastable to ``x``.
    method : str or ndarray
        ``"arithmetic"`` / ``"geometric"``, or a boolean array (True = geometric)
        broadcastable to ``x.shape[:-1]``.
    min_share : float
        A result is NaN unless the available weight is at least this share of the total.

    Returns
    -------
    ndarray
        Shape ``x.shape[:-1]``, values clipped to [0, 100].
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
        ok = (wsum > 0) & (wsum >= min_share * wtot - EPS * np.maximum(wtot, 1.0))
    return np.where(ok, np.clip(out, 0.0, SCORE_MAX), np.nan)


@dataclass(frozen=True)
class Design:
    """A batch of model settings: one row per draw.

    Attributes
    ----------
    method : ndarray
        (D,) index into :attr:`ScoreModel.methods`.
    geometric : ndarray
        (D,) bool, geometric aggregation.
    column : ndarray
        (D, J) index into :attr:`ScoreModel.columns`, per indicator.
    pillar_w : ndarray
        (D, K) pillar weights.
    """

    method: np.ndarray
    geometric: np.ndarray
    column: np.ndarray
    pillar_w: np.ndarray


@dataclass(frozen=True)
class ScoreModel:
    """Normalised indicators and weights of one profile, ready for batched evaluation.

    Attributes
    ----------
    methods : tuple of str
        Normalisation methods (first axis of ``tensor``).
    columns : tuple of str
        Candidate columns: the indicators and their threshold alternatives.
    tensor : ndarray
        (M, n, C) normalised values, communes in the input order.
    indicators : tuple of str
        The J indicators used.
    candidates : tuple of ndarray
        Per indicator, its candidate column indices (the first is the declared column).
    ind_w : ndarray
        (J,) indicator weights.
    pillar_of : ndarray
        (J,) index of each indicator's pillar.
    pillars : tuple of str
        The K pillars with a positive weight.
    pillar_w : ndarray
        (K,) pillar weights.
    min_share : float
        ``min_weight_share``.
    tie_order : ndarray
        (n,) positions sorted by code (rank tie-break).
    """

    methods: tuple[str, ...]
    columns: tuple[str, ...]
    tensor: np.ndarray
    indicators: tuple[str, ...]
    candidates: tuple[np.ndarray, ...]
    ind_w: np.ndarray
    pillar_of: np.ndarray
    pillars: tuple[str, ...]
    pillar_w: np.ndarray
    min_share: float
    tie_order: np.ndarray


def usable_indicators(
    df: pd.DataFrame, config: ScoringConfig, fit_on: pd.DataFrame | None = None
) -> list[str]:
    """List the indicators of the configuration that the table can score.

    Every indicator of ``[indicators]`` must be a column of ``df``; those available for less
    than ``method.min_coverage`` of the rows of ``fit_on`` are left out (warned once per
    configuration and indicator, then logged at DEBUG). The AFOM synthesis uses the same rule.

    Parameters
    ----------
    df : DataFrame
        Indicator table.
    config : ScoringConfig
        Scoring configuration.
    fit_on : DataFrame, optional
        Table the coverage is measured on (default ``df``).

    Returns
    -------
    list of str
        In configuration order.

    Raises
    ------
    DataError
        An indicator column is missing (the message lists the available columns).
    """
    fit_df = df if fit_on is None else fit_on
    cols = list(config.indicators)
    _require_columns(df, cols, "indicator", f"declared in {config.source} [indicators]")
    used = []
    sparse = []
    left_out = []
    n = len(fit_df)
    for c in cols:
        cover = float(fit_df[c].notna().mean()) if n else 0.0
        if cover < config.method["min_coverage"]:
            sparse.append(f"{c} ({100 * cover:.0f} %)")
            left_out.append(c)
            continue
        used.append(c)
    if sparse:
        key = (str(config.source), ",".join(left_out))
        log = logger.debug if key in _SPARSE_WARNED else logger.warning
        _SPARSE_WARNED.add(key)
        log(
            "%d indicator(s) of %s left out of the scores, available for fewer than %.0f %% of "
            "communes (min_coverage): %s; give them data or remove them from [indicators]",
            len(sparse),
            config.source,
            100 * config.method["min_coverage"],
            ", ".join(sparse),
        )
    return used


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str, where: str) -> None:
    """Refuse an indicator table that lacks some of ``columns``.

    Parameters
    ----------
    df : DataFrame
        The indicator table.
    columns : sequence of str
        Columns it must have.
    what : str
        What the columns are, for the message ("indicator", "threshold alternative").
    where : str
        Where they are declared, for the message.

    Raises
    ------
    DataError
        Naming the missing columns and listing the available ones.
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"indicator table: missing {what} column(s) {format_values(missing)} {where}; "
            f"available columns: {format_values(df.columns, limit=80)}"
        )


def _check_codes(df: pd.DataFrame) -> None:
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


def _candidate_columns(
    df: pd.DataFrame, config: ScoringConfig, used: Sequence[str], alternatives: bool
) -> tuple[list[str], list[np.ndarray]]:
    """Candidate columns (indicators, then new alternatives) and each indicator's candidates."""
    alts_cfg = config.montecarlo["threshold_alternatives"] if alternatives else {}
    columns: list[str] = []
    candidates = []
    for c in used:
        cand = [c] + [a for a in alts_cfg.get(c, []) if a != c]
        where = f"(montecarlo.threshold_alternatives.{c} in {config.source})"
        _require_columns(df, cand, "threshold alternative", where)
        idx = []
        for a in cand:
            if a not in columns:
                columns.append(a)
            idx.append(columns.index(a))
        candidates.append(np.array(idx))
    return columns, candidates


def _normalised_tensor(
    df: pd.DataFrame,
    config: ScoringConfig,
    methods: Sequence[str],
    columns: Sequence[str],
    owners: Sequence[str],
    fit_on: pd.DataFrame | None,
) -> np.ndarray:
    """(M, n, C): each candidate column normalised by each method, as its owner indicator."""
    fit_df = df if fit_on is None else fit_on
    win = config.method["winsorise"]
    tensor = np.empty((len(methods), len(df), len(columns)))
    for j, col in enumerate(columns):
        spec = config.indicators[owners[j]]
        s = pd.to_numeric(df[col], errors="coerce").astype(float)
        f = pd.to_numeric(fit_df[col], errors="coerce").astype(float) if fit_on is not None else s
        if win:
            s, f = winsorise(s, win[0], win[1], fit_on=f), winsorise(f, win[0], win[1])
        for m, meth in enumerate(methods):
            tensor[m, :, j] = normalise(
                s, meth, spec["direction"], spec["reference"], fit_on=f
            ).to_numpy()
    return tensor


def normalised_indicators(
    df: pd.DataFrame, config: ScoringConfig, fit_on: pd.DataFrame | None = None
) -> tuple[list[str], np.ndarray]:
    """Every usable indicator normalised with the configured method, whatever its weight.

    The values are those :func:`prepare_model` puts in its tensor for the configured
    normalisation: an indicator is normalised on its own (its direction, reference and the
    statistics of ``fit_on``), so they do not depend on the profile. The atelier page
    re-weights them in the browser.

    Parameters
    ----------
    df : DataFrame
        Indicator table (``code`` and the indicator columns).
    config : ScoringConfig
        Scoring configuration.
    fit_on : DataFrame, optional
        Table the normalisation statistics come from (default ``df``).

    Returns
    -------
    (list of str, ndarray)
        The usable indicators (:func:`usable_indicators`, configuration order) and their
        normalised values, shape (n, J), NaN where missing.
    """
    _check_codes(df)
    used = usable_indicators(df, config, fit_on)
    tensor = _normalised_tensor(df, config, [config.method["normalisation"]], used, used, fit_on)
    return used, tensor[0]


def prepare_model(
    df: pd.DataFrame,
    config: ScoringConfig,
    profile: str,
    methods: Sequence[str],
    alternatives: bool,
    fit_on: pd.DataFrame | None = None,
) -> ScoreModel:
    """Validate the table and normalise every used indicator (and alternatives) per method.

    Parameters
    ----------
    df : DataFrame
        Indicator table (``code`` and the indicator columns).
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile whose weights are used.
    methods : sequence of str
        Normalisation methods to prepare.
    alternatives : bool
        Also normalise the threshold alternatives (Monte Carlo).
    fit_on : DataFrame, optional
        Table the normalisation statistics come from (default ``df``).

    Returns
    -------
    ScoreModel

    Raises
    ------
    ConfigError
        Unknown profile.
    DataError
        Missing ``code``, duplicated codes, missing indicator or alternative column.
    """
    _check_codes(df)
    ind_w_all, pil_w_all = config.profile_weights(profile)
    used = [c for c in usable_indicators(df, config, fit_on) if ind_w_all[c] > 0]
    pillars = [p for p, w in pil_w_all.items() if w > 0]
    for p in pillars:
        if not any(config.indicators[c]["pillar"] == p for c in used):
            logger.warning(
                "profile %r: pillar %r has no usable indicator; it is NaN for every commune",
                profile,
                p,
            )
    columns, candidates = _candidate_columns(df, config, used, alternatives)
    owners = [
        next(c for c, cand in zip(used, candidates, strict=True) if j in cand)
        for j in range(len(columns))
    ]
    tensor = _normalised_tensor(df, config, methods, columns, owners, fit_on)
    pil_index = {p: k for k, p in enumerate(pillars)}
    keep = [j for j, c in enumerate(used) if config.indicators[c]["pillar"] in pil_index]
    used = [used[j] for j in keep]
    candidates = [candidates[j] for j in keep]
    return ScoreModel(
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


def evaluate_model(model: ScoreModel, design: Design) -> tuple[np.ndarray, np.ndarray]:
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
            pil[:, :, k] = weighted_mean(x[:, :, sel], model.ind_w[sel], geo, model.min_share)
    comp = weighted_mean(pil, design.pillar_w[:, None, :], geo, model.min_share)
    return pil, comp


def rank_matrix(scores: np.ndarray, tie_order: np.ndarray) -> np.ndarray:
    """Ranks (1 = best) along the last axis; ties broken by ``tie_order``; NaN → NaN.

    Scores are rounded to :data:`RANK_DECIMALS` decimals first, so that floating noise does
    not decide a tie.
    """
    s = np.round(np.atleast_2d(scores), RANK_DECIMALS)[:, tie_order]
    order = np.argsort(-s, axis=1, kind="stable")  # NaN last
    ranks_sorted = np.empty_like(order)
    np.put_along_axis(ranks_sorted, order, np.arange(1, s.shape[1] + 1)[None, :], axis=1)
    out = np.empty(s.shape)
    out[:, tie_order] = ranks_sorted
    out[np.isnan(np.atleast_2d(scores))] = np.nan
    return out


def base_design(model: ScoreModel, geometric: bool = False) -> Design:
    """Build the one-draw design of the deterministic scores: first method, declared columns."""
    return Design(
        method=np.zeros(1, int),
        geometric=np.array([geometric]),
        column=np.array([[c[0] for c in model.candidates]], dtype=int).reshape(1, -1),
        pillar_w=model.pillar_w[None, :],
    )
