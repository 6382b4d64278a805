"""Levers: the smallest single action that lifts a commune by one quintile of a profile's score.

The study's catalogue of levers (``levers.toml``, :func:`geoattract.config.plan.load_levers`)
lists single actions from the smallest to the largest: one GP, a France Services office, a
crèche, fibre to 100 %, a rail stop… :func:`try_levers` places each at the commune, scores the
indicator table after it with the baseline's goal-posts, and reports the first that moves the
commune's score into the next quintile of the profile's baseline scores (the breaks stay those
of today, as the goal-posts do), or that none of them does (« aucune action du catalogue ne
suffit »).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geoattract.config.plan import Action
from geoattract.scoring.actions import apply_actions
from geoattract.scoring.aggregate import score_changes
from geoattract.scoring.scenario import weighting_profiles

#: Quantiles of the baseline scores that separate the quintiles.
QUINTILE_BREAKS: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)

#: What is said when no lever of the catalogue lifts the commune by one quintile.
NONE_SUFFICES = "aucune action du catalogue ne suffit"


def quintile_breaks(scores: Any) -> np.ndarray:
    """The 20, 40, 60 and 80 % quantiles of the scores (linear interpolation; NaN left out)."""
    values = pd.to_numeric(pd.Series(scores), errors="coerce").dropna().to_numpy(dtype=float)
    return np.quantile(values, QUINTILE_BREAKS)


def quintile(score: float, breaks: np.ndarray) -> int:
    """Quintile of a score, 1 (the lowest fifth) to 5 (the highest); 0 when missing."""
    if score is None or not np.isfinite(score):
        return 0
    return int(np.searchsorted(breaks, score, side="right")) + 1


@dataclass(frozen=True)
class LeverOutcome:
    """One lever tried at the commune.

    Attributes
    ----------
    lever : Action
        The lever, placed at the commune.
    score_before, score_after : float
    quintile_before, quintile_after : int
    lifted : bool
        The score reaches the next quintile.
    changed : list of str
        Scored indicators the lever changed (anywhere).
    weighted : list of str
        Those the profile weights.
    notes : tuple of str
        Assumptions made (e.g. the trains of a new stop).
    """

    lever: Action
    score_before: float
    score_after: float
    quintile_before: int
    quintile_after: int
    lifted: bool
    changed: list[str]
    weighted: list[str]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class LeversResult:
    """The levers tried at one commune for one profile, and the smallest that suffices."""

    code: str
    nom: str
    profile: str
    breaks: np.ndarray
    outcomes: tuple[LeverOutcome, ...]

    @property
    def quintile(self) -> int:
        """The commune's quintile today."""
        return self.outcomes[0].quintile_before if self.outcomes else 0

    @property
    def score(self) -> float:
        """The commune's score today."""
        return self.outcomes[0].score_before if self.outcomes else np.nan

    @property
    def needed(self) -> float:
        """The score of the next quintile (NaN in the top quintile)."""
        q = self.quintile
        return float(self.breaks[q - 1]) if 1 <= q <= len(self.breaks) else np.nan

    @property
    def smallest(self) -> LeverOutcome | None:
        """The first lever of the catalogue that lifts the commune by one quintile."""
        return next((o for o in self.outcomes if o.lifted), None)

    def table(self) -> pd.DataFrame:
        """One row per lever, in catalogue order.

        Columns ``lever``, ``label``, ``score_before``, ``score_after``, ``score_change``,
        ``quintile_before``, ``quintile_after``, ``lifted``, ``indicators_weighted``.
        """
        return pd.DataFrame(
            [
                {
                    "lever": o.lever.id,
                    "label": o.lever.label,
                    "score_before": o.score_before,
                    "score_after": o.score_after,
                    "score_change": o.score_after - o.score_before,
                    "quintile_before": o.quintile_before,
                    "quintile_after": o.quintile_after,
                    "lifted": o.lifted,
                    "indicators_weighted": ";".join(o.weighted),
                }
                for o in self.outcomes
            ]
        )


def try_levers(state: Any, code: str, profile: str, levers: Sequence[Action]) -> LeversResult:
    """Place each lever at a commune and say which lifts it by one quintile of ``profile``.

    Parameters
    ----------
    state : StudyState
        A finished study.
    code : str
        A study commune.
    profile : str
        A profile of the scoring configuration.
    levers : sequence of Action
        The catalogue, in order (without commune: :meth:`Action.at` places them).

    Returns
    -------
    LeversResult
    """
    scores = state.scores
    scfg = scores.config
    before = scores.indicators
    row = before.index[before["code"] == code][0]
    outcomes = []
    breaks: np.ndarray = np.array([])
    for lever in levers:
        placed = lever.at(code)
        effect = apply_actions(
            state.territory.communes, state.accessibility, state.transition, scores, [placed]
        )
        ch = score_changes(before, effect.after, scfg, profile)
        if not len(breaks):
            breaks = quintile_breaks(ch["score_before"])
        b = float(ch["score_before"].loc[row])
        a = float(ch["score_after"].loc[row])
        qb, qa = quintile(b, breaks), quintile(a, breaks)
        outcomes.append(
            LeverOutcome(
                placed,
                b,
                a,
                qb,
                qa,
                bool(qb and qb < 5 and qa >= qb + 1),
                effect.changed,
                weighting_profiles(scfg, effect.changed)[profile],
                effect.notes,
            )
        )
    nom = str(before.at[row, "nom"]) if "nom" in before.columns else code
    return LeversResult(code, nom, profile, breaks, tuple(outcomes))
