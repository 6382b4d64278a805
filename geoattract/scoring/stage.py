"""The scoring stage: composite scores, their robustness, EPCI scores and the AFOM synthesis.

:func:`build_scores`, the pipeline's entry point, joins the commune identity, the
accessibility and transition indicators into one indicator table and returns a
:class:`Scores`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geoattract.config.study import StudyConfig
from geoattract.scoring.afom import afom_epci, afom_sentences, afom_table
from geoattract.scoring.aggregate import score_all_profiles
from geoattract.scoring.config import ScoringConfig, load_scoring_config
from geoattract.scoring.epci import epci_scores
from geoattract.scoring.uncertainty import MC_QUANTILES, monte_carlo_all_profiles, sensitivity

if TYPE_CHECKING:
    from geoattract.transition import AccessibilityResult, TransitionIndicators

#: Commune identity columns at the head of the indicator table.
IDENTITY_COLUMNS: tuple[str, ...] = ("code", "nom", "population", "epci", "epci_nom")


@dataclass(frozen=True)
class Scores:
    """Result of the scoring stage.

    Attributes
    ----------
    config : ScoringConfig
        The study's scoring configuration.
    indicators : DataFrame
        Indicator table, one row per study commune: :data:`IDENTITY_COLUMNS`, the
        accessibility table, then the transition table.
    scores : DataFrame
        Aligned on ``indicators``: :func:`~geoattract.scoring.aggregate.score_all_profiles`
        then the Monte Carlo rank and score intervals of every profile.
    sensitivity : DataFrame
        Sobol indices, one row per (input group, profile): ``input``, ``first_order``,
        ``total_order``, ``profile``.
    epci : DataFrame
        Population-weighted scores, pillars and ranks per EPCI, with ``partial`` (the EPCI
        also has communes outside the study area).
    afom : DataFrame
        AFOM findings per commune (:func:`~geoattract.scoring.afom.afom_table`).
    afom_epci : DataFrame
        AFOM findings per EPCI.
    afom_sentences : dict
        Commune code → French AFOM sentences.
    """

    config: ScoringConfig
    indicators: pd.DataFrame
    scores: pd.DataFrame
    sensitivity: pd.DataFrame
    epci: pd.DataFrame
    afom: pd.DataFrame
    afom_epci: pd.DataFrame
    afom_sentences: dict[str, list[str]]


def indicator_table(
    territory: gpd.GeoDataFrame, accessibility: pd.DataFrame, transition: pd.DataFrame
) -> pd.DataFrame:
    """Join the indicator table the scores are computed on, one row per study commune.

    Parameters
    ----------
    territory : GeoDataFrame
        Study and buffer communes with :data:`IDENTITY_COLUMNS` and ``in_study``.
    accessibility, transition : DataFrame
        Indicator tables aligned on the study communes.

    Returns
    -------
    DataFrame
        The identity columns, then the accessibility and the transition columns.
    """
    study = territory[territory["in_study"]]
    return pd.concat([study[list(IDENTITY_COLUMNS)], accessibility, transition], axis=1)


def _epci_table(
    territory: gpd.GeoDataFrame, indicators: pd.DataFrame, scores: pd.DataFrame
) -> pd.DataFrame:
    table = pd.concat([indicators, scores], axis=1)
    # rank intervals do not aggregate (a mean of commune quantiles is no EPCI quantile): the
    # EPCI table carries scores, ranks and pillars only
    suffixes = tuple(f"_{q}" for q in MC_QUANTILES)
    columns = [
        c for c in table.columns if c.startswith(("score_", "pillar_")) and not c.endswith(suffixes)
    ]
    epci = epci_scores(table, columns=columns)
    outside = territory.loc[~territory["in_study"] & territory["epci"].notna(), "epci"]
    epci["partial"] = epci["epci"].isin(set(outside))  # EPCI straddling the study area
    return epci


def build_scores(
    config: StudyConfig,
    territory: gpd.GeoDataFrame,
    accessibility: AccessibilityResult,
    transition: TransitionIndicators,
) -> Scores:
    """Run the scoring stage of a study.

    Parameters
    ----------
    config : StudyConfig
        The study: its ``scoring`` configuration file (``[configs]``) and its ``[scoring]``
        section (``montecarlo_draws``, ``sensitivity_draws``, ``seed``; absent = the
        scoring file's ``[montecarlo]``).
    territory : GeoDataFrame
        Study and buffer communes (``code``, ``nom``, ``population``, ``epci``,
        ``epci_nom``, ``in_study``).
    accessibility : AccessibilityResult
        The accessibility stage's result (its ``table``).
    transition : TransitionIndicators
        The transition stage's result (its ``table``).

    Returns
    -------
    Scores
    """
    scfg = load_scoring_config(config.config_file("scoring"))
    indicators = indicator_table(territory, accessibility.table, transition.table)
    section = config.section("scoring")
    seed = section.get("seed")
    scores = score_all_profiles(indicators, scfg)
    mc = monte_carlo_all_profiles(indicators, scfg, n=section.get("montecarlo_draws"), seed=seed)
    scores = pd.concat([scores, mc], axis=1)
    sens = pd.concat(
        [
            sensitivity(indicators, scfg, profile, n=section.get("sensitivity_draws"), seed=seed)
            .rename_axis("input")
            .reset_index()
            .assign(profile=profile)
            for profile in scfg.profiles
        ],
        ignore_index=True,
    )
    afom = afom_table(indicators, scfg)
    return Scores(
        config=scfg,
        indicators=indicators,
        scores=scores,
        sensitivity=sens,
        epci=_epci_table(territory, indicators, scores),
        afom=afom,
        afom_epci=afom_epci(indicators, scfg),
        afom_sentences=afom_sentences(afom),
    )
