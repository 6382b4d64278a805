"""Reconcile the weights of several workshop groups: scores, consensus, contested communes.

Each group's weight set (:mod:`~geoattract.scoring.weights`) gives its own scores and ranks
(:func:`~geoattract.scoring.aggregate.composite_scores` under
:func:`~geoattract.scoring.weights.apply_weight_set`). :func:`merge_weight_sets` then names

* the **consensus** communes: in the top quintile of the ranking under every group's weights
  (rank ≤ ⌈k / 5⌉ over the k scored communes, the top class of the atelier map);
* the **contested** communes: those whose rank moves by at least a quintile (⌈k / 5⌉ places)
  from one group's weights to another's (``rank_spread`` = highest − lowest rank);

and draws rank intervals from a Monte Carlo over the groups' weights with the package's
uncertainty code (:func:`~geoattract.scoring.uncertainty.monte_carlo_draws`): each group gets
an equal share of the draws, whose pillar weights follow a Dirichlet distribution centred on
the group's weights (``[montecarlo] concentration``); normalisation, aggregation and
indicator columns stay those of the group, so the interval measures the weights alone.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from geoattract.errors import ConfigError
from geoattract.scoring.aggregate import composite_scores
from geoattract.scoring.config import ScoringConfig
from geoattract.scoring.uncertainty import draw_quantiles, monte_carlo_draws
from geoattract.scoring.weights import WeightSet, apply_weight_set

#: Share of the ranking that makes the top class (a quintile).
TOP_SHARE: float = 0.2


def group_key(name: str) -> str:
    """ASCII snake_case key of a group name, for column names (``Vivre et habiter`` → ``vivre_et_habiter``)."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return key or "groupe"


def group_keys(sets: Sequence[WeightSet]) -> list[str]:
    """The column key of each weight set; two sets of the same group are refused.

    Raises
    ------
    ConfigError
        Fewer than two sets, or two sets whose group names give the same key.
    """
    if len(sets) < 2:
        raise ConfigError(
            f"atelier merge needs the weights of at least two groups, got {len(sets)}"
        )
    keys = [group_key(s.group) for s in sets]
    seen: dict[str, WeightSet] = {}
    for key, s in zip(keys, sets, strict=True):
        if key in seen:
            raise ConfigError(
                f"{s.source}: group {s.group!r} is also the group of {seen[key].source}; "
                "give each group's weights a distinct group name"
            )
        seen[key] = s
    return keys


def top_count(k: int, share: float = TOP_SHARE) -> int:
    """Communes in the top class of a ranking of ``k``: ``⌈share · k⌉`` (64 of 319)."""
    return int(math.ceil(share * k - 1e-9))


@dataclass(frozen=True)
class MergeResult:
    """Scores of several groups' weights, side by side, and what they agree on.

    Attributes
    ----------
    sets : list of WeightSet
        The groups' weight sets, in the order given.
    keys : list of str
        Column key of each group (:func:`group_key`).
    table : DataFrame
        One row per commune (the order of the indicator table): ``code``, ``nom``,
        ``score_<key>`` and ``rank_<key>`` per group, ``rank_min``, ``rank_max``,
        ``rank_spread``, ``n_groups_top`` (groups ranking it in the top class), ``consensus``,
        ``contested``, and the Monte Carlo ``rank_p05``, ``rank_median``, ``rank_p95``.
    n_top : int
        Size of the top class (:func:`top_count`).
    draws : int
        Monte Carlo draws in all.
    seed : int
        Seed of the first group's draws (group ``i`` uses ``seed + i``).
    """

    sets: list[WeightSet]
    keys: list[str]
    table: pd.DataFrame
    n_top: int
    draws: int
    seed: int

    @property
    def consensus(self) -> pd.DataFrame:
        """Consensus communes, best mean rank first."""
        t = self.table[self.table["consensus"]]
        return (
            t.assign(_m=t[[f"rank_{k}" for k in self.keys]].mean(axis=1))
            .sort_values(["_m", "code"])
            .drop(columns="_m")
        )

    @property
    def contested(self) -> pd.DataFrame:
        """Contested communes, widest rank spread first."""
        t = self.table[self.table["contested"]]
        return t.sort_values(["rank_spread", "rank_min", "code"], ascending=[False, True, True])


def _weights_only(config: ScoringConfig, weights: WeightSet) -> ScoringConfig:
    """The group's configuration with a Monte Carlo that draws the pillar weights only."""
    cfg = apply_weight_set(config, weights)
    mc = {
        **cfg.montecarlo,
        "normalisations": [cfg.method["normalisation"]],
        "aggregations": [weights.aggregation],
        "threshold_alternatives": {},
    }
    return replace(cfg, montecarlo=mc)


def merge_weight_sets(
    df: pd.DataFrame,
    config: ScoringConfig,
    sets: Sequence[WeightSet],
    *,
    n: int | None = None,
    seed: int | None = None,
    top_share: float = TOP_SHARE,
) -> MergeResult:
    """Score the communes under each group's weights and reconcile the rankings.

    Parameters
    ----------
    df : DataFrame
        Indicator table (``code``, ``nom`` and the indicator columns), one row per commune.
    config : ScoringConfig
        The study's scoring configuration.
    sets : sequence of WeightSet
        Checked weight sets (:func:`~geoattract.scoring.weights.read_weight_set`), two or more.
    n : int, optional
        Monte Carlo draws in all (default ``[montecarlo] n``), shared equally by the groups.
    seed : int, optional
        Seed (default ``[montecarlo] seed``).
    top_share : float
        Share of the ranking in the top class.

    Returns
    -------
    MergeResult

    Raises
    ------
    ConfigError
        Fewer than two sets, duplicate groups, or fewer than two draws per group.
    """
    keys = group_keys(sets)
    n = int(config.montecarlo["n"] if n is None else n)
    seed = int(config.montecarlo["seed"] if seed is None else seed)
    if n < 2 * len(sets):
        raise ConfigError(
            f"atelier merge: {n} Monte Carlo draws for {len(sets)} groups; give at least "
            f"{2 * len(sets)} (two per group)"
        )
    table = pd.DataFrame({"code": df["code"].astype(str).to_numpy()}, index=df.index)
    if "nom" in df.columns:
        table["nom"] = df["nom"].to_numpy()
    ranks = []
    for key, ws in zip(keys, sets, strict=True):
        out = composite_scores(df, apply_weight_set(config, ws), ws.profile)
        table[f"score_{key}"] = out[f"score_{ws.profile}"]
        table[f"rank_{key}"] = out[f"rank_{ws.profile}"]
        ranks.append(out[f"rank_{ws.profile}"].astype(float).to_numpy())
    r = np.vstack(ranks)  # (G, n)
    scored = ~np.isnan(r).any(axis=0)
    k = int(scored.sum())
    n_top = top_count(k, top_share)
    with np.errstate(invalid="ignore"):
        table["rank_min"] = pd.array(np.where(scored, r.min(axis=0), np.nan)).astype("Int64")
        table["rank_max"] = pd.array(np.where(scored, r.max(axis=0), np.nan)).astype("Int64")
        spread = np.where(scored, r.max(axis=0) - r.min(axis=0), np.nan)
    table["rank_spread"] = pd.array(spread).astype("Int64")
    with np.errstate(invalid="ignore"):
        in_top = r <= n_top
        table["n_groups_top"] = in_top.sum(axis=0)
        table["consensus"] = np.asarray(scored & in_top.all(axis=0), dtype=bool)
        table["contested"] = np.asarray(scored & (spread >= n_top), dtype=bool)
    shares = [n // len(sets) + (1 if i < n % len(sets) else 0) for i in range(len(sets))]
    draws = [
        monte_carlo_draws(df, _weights_only(config, ws), ws.profile, m, seed + i)[1]
        for i, (ws, m) in enumerate(zip(sets, shares, strict=True))
    ]
    for suffix, vals in draw_quantiles(np.vstack(draws)).items():
        table[f"rank_{suffix}"] = vals
    return MergeResult(sets=list(sets), keys=keys, table=table, n_top=n_top, draws=n, seed=seed)


def merge_summary(result: MergeResult, top: int = 10) -> str:
    """A short French text of the merge for the terminal."""
    lines = [
        f"Groupes : {', '.join(s.group for s in result.sets)} ; premier quintile = "
        f"rangs 1 à {result.n_top}",
        f"Communes consensuelles (premier quintile pour chaque groupe) : {len(result.consensus)}",
    ]
    names = result.consensus.get("nom", result.consensus["code"]).head(top)
    if len(names):
        lines.append("  " + ", ".join(str(v) for v in names))
    lines.append(
        f"Communes disputées (rang qui varie d'au moins {result.n_top} places) : "
        f"{len(result.contested)}"
    )
    c = result.contested.head(top)
    for _, row in c.iterrows():
        ranks = ", ".join(
            f"{s.group} {row[f'rank_{k}']}" for s, k in zip(result.sets, result.keys, strict=True)
        )
        lines.append(f"  {row.get('nom', row['code'])} : {ranks}")
    return "\n".join(lines)
