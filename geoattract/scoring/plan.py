"""Evaluate an action plan: each action alone, then all of them together.

:func:`evaluate_plan` applies every action of a :class:`~geoattract.config.plan.Plan` alone and
all of them at once (:func:`~geoattract.scoring.actions.apply_actions`; they interact: the
joint effect is not the sum of the separate ones), scores each indicator table with the
baseline's goal-posts (:func:`~geoattract.scoring.aggregate.score_changes`) and reports, per
commune, EPCI and profile, the indicator changes, the score and rank changes, the population
affected and the cost per inhabitant who gains access
(:func:`~geoattract.scoring.actions.access_gains`).

The tables (:meth:`PlanResult.communes_table`, :meth:`~PlanResult.epci_table`,
:meth:`~PlanResult.indicators_table`, :meth:`~PlanResult.actions_table`) have stable ASCII
column names; ``scenario`` is the action id, or :data:`PLAN_ID` for the whole plan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geoattract.config.plan import Action, Plan
from geoattract.scoring.actions import ActionEffect, access_gains, apply_actions
from geoattract.scoring.afom import afom_table
from geoattract.scoring.epci import epci_scores
from geoattract.scoring.scenario import profile_changes

logger = logging.getLogger(__name__)

#: ``scenario`` of the rows of the whole plan.
PLAN_ID = "plan"

#: A score change smaller than this is no change.
EPS = 1e-9

#: Columns of :meth:`PlanResult.actions_table` (then ``score_change_<profile>``).
ACTION_COLUMNS: tuple[str, ...] = (
    "scenario",
    "label",
    "type",
    "owner",
    "target_date",
    "cost_eur",
    "profiles",
    "afom_kind",
    "afom_indicator",
    "afom_found",
    "afom_lifted",
    "indicators_changed",
    "communes_changed",
    "population_affected",
    "population_gaining_access",
    "population_losing_access",
    "cost_per_inhabitant_eur",
)


@dataclass(frozen=True)
class Outcome:
    """What one action, or the whole plan, changes.

    Attributes
    ----------
    id, label : str
        Action id and French name (:data:`PLAN_ID` and the plan's title for the whole plan).
    actions : tuple of Action
    effect : ActionEffect
        Indicator tables before and after.
    changes : dict
        Profile → per-commune score and rank changes (with ``nom``).
    gains : Series
        Inhabitants of each commune who gain access (>= 0); for the plan, the largest gain of
        any of its actions in the commune (an inhabitant counted once).
    losses : Series
        Inhabitants who lose access (>= 0).
    afom : dict
        ``found`` (the AFOM item it answers is in the baseline, for its commune or anywhere)
        and ``lifted`` (no longer there after), for a single action with an AFOM item.
    """

    id: str
    label: str
    actions: tuple[Action, ...]
    effect: ActionEffect
    changes: dict[str, pd.DataFrame]
    gains: pd.Series
    losses: pd.Series
    afom: dict[str, Any] = field(default_factory=dict)

    @property
    def cost_eur(self) -> float:
        """Total cost of the actions (NaN when one has none)."""
        costs = [a.cost_eur for a in self.actions]
        return float(np.nan) if any(c is None for c in costs) else float(sum(costs))  # type: ignore[arg-type]

    @property
    def changed_rows(self) -> pd.Series:
        """Communes with a scored indicator changed (aligned on the indicator table)."""
        b, a = self.effect.before, self.effect.after
        moved = pd.Series(False, index=b.index)
        for c in self.effect.changed:
            moved |= ~((b[c] == a[c]) | (b[c].isna() & a[c].isna()))
        return moved

    def summary(self) -> dict[str, Any]:
        """One row of :meth:`PlanResult.actions_table`."""
        b = self.effect.before
        pop = pd.to_numeric(b["population"], errors="coerce").fillna(0.0)
        moved = self.changed_rows
        gain = float(self.gains.sum())
        kinds = {a.afom["kind"] for a in self.actions if a.afom}
        inds = {a.afom["indicator"] for a in self.actions if a.afom}
        row: dict[str, Any] = {
            "scenario": self.id,
            "label": self.label,
            "type": ";".join(dict.fromkeys(a.type for a in self.actions)),
            "owner": ";".join(dict.fromkeys(a.owner for a in self.actions if a.owner)),
            "target_date": max((a.target_date for a in self.actions), default=""),
            "cost_eur": self.cost_eur,
            "profiles": ";".join(dict.fromkeys(p for a in self.actions for p in a.profiles)),
            "afom_kind": ";".join(sorted(kinds)),
            "afom_indicator": ";".join(sorted(inds)),
            "afom_found": self.afom.get("found"),
            "afom_lifted": self.afom.get("lifted"),
            "indicators_changed": ";".join(self.effect.changed),
            "communes_changed": int(moved.sum()),
            "population_affected": float(pop[moved].sum()),
            "population_gaining_access": gain,
            "population_losing_access": float(self.losses.sum()),
            "cost_per_inhabitant_eur": self.cost_eur / gain if gain > 0 else np.nan,
        }
        total = float(pop.sum())
        for p, ch in self.changes.items():
            row[f"score_change_{p}"] = float((ch["score_change"].fillna(0.0) * pop).sum() / total)
        return row


@dataclass(frozen=True)
class PlanResult:
    """Each action alone and the whole plan (the last outcome, id :data:`PLAN_ID`)."""

    plan: Plan
    outcomes: tuple[Outcome, ...]
    profiles: tuple[str, ...]

    @property
    def joint(self) -> Outcome:
        """The whole plan."""
        return self.outcomes[-1]

    @property
    def separate(self) -> tuple[Outcome, ...]:
        """Each action alone."""
        return self.outcomes[:-1]

    def actions_table(self) -> pd.DataFrame:
        """One row per action and one for the plan: cost, owner, gains, cost per inhabitant."""
        return pd.DataFrame([o.summary() for o in self.outcomes])

    def communes_table(self) -> pd.DataFrame:
        """Per scenario, profile and commune whose indicators or score change: scores, ranks, gains."""
        frames = []
        for o in self.outcomes:
            b = o.effect.before
            keep = o.changed_rows | (o.gains > 0) | (o.losses > 0)
            for p, ch in o.changes.items():
                rows = keep | (ch["score_change"].abs() > EPS)
                if not rows.any():
                    continue
                part = ch.loc[rows, ["code", "nom", "score_before", "score_after", "score_change"]]
                part = part.assign(
                    rank_before=ch.loc[rows, "rank_before"],
                    rank_after=ch.loc[rows, "rank_after"],
                    rank_change=ch.loc[rows, "rank_change"],
                    epci=b.loc[rows, "epci"],
                    epci_nom=b.loc[rows, "epci_nom"],
                    population=b.loc[rows, "population"],
                    population_gaining_access=o.gains[rows],
                    population_losing_access=o.losses[rows],
                )
                frames.append(part.assign(scenario=o.id, profile=p))
        cols = [
            "scenario",
            "profile",
            "code",
            "nom",
            "epci",
            "epci_nom",
            "population",
            "score_before",
            "score_after",
            "score_change",
            "rank_before",
            "rank_after",
            "rank_change",
            "population_gaining_access",
            "population_losing_access",
        ]
        return pd.concat(frames, ignore_index=True)[cols] if frames else pd.DataFrame(columns=cols)

    def epci_table(self) -> pd.DataFrame:
        """Per scenario, profile and EPCI: population-weighted scores, EPCI ranks, gains."""
        frames = []
        for o in self.outcomes:
            b = o.effect.before
            base = b[["code", "epci", "epci_nom", "population"]].copy()
            gains = base.assign(g=o.gains, lo=o.losses).groupby("epci")[["g", "lo"]].sum()
            for p, ch in o.changes.items():
                col = f"score_{p}"
                sb = epci_scores(base.assign(**{col: ch["score_before"]}), [col])
                sa = epci_scores(base.assign(**{col: ch["score_after"]}), [col])
                out = sb[["epci", "epci_nom", "population", "n_communes"]].copy()
                out["score_before"] = sb[col]
                out["score_after"] = sa[col].to_numpy()
                out["score_change"] = out["score_after"] - out["score_before"]
                out["rank_before"] = sb[f"rank_{p}"]
                out["rank_after"] = sa[f"rank_{p}"].to_numpy()
                out["rank_change"] = out["rank_before"] - out["rank_after"]
                out["population_gaining_access"] = out["epci"].map(gains["g"]).fillna(0.0)
                out["population_losing_access"] = out["epci"].map(gains["lo"]).fillna(0.0)
                frames.append(out.assign(scenario=o.id, profile=p))
        out = pd.concat(frames, ignore_index=True)
        first = ["scenario", "profile"]
        return out[first + [c for c in out.columns if c not in first]]

    def indicators_table(self) -> pd.DataFrame:
        """Per scenario, commune and scored indicator that changed: before, after, change."""
        frames = []
        for o in self.outcomes:
            b, a = o.effect.before, o.effect.after
            for c in o.effect.changed:
                diff = ~((b[c] == a[c]) | (b[c].isna() & a[c].isna()))
                if not diff.any():
                    continue
                frames.append(
                    pd.DataFrame(
                        {
                            "scenario": o.id,
                            "code": b.loc[diff, "code"],
                            "nom": b.loc[diff, "nom"],
                            "indicator": c,
                            "before": b.loc[diff, c],
                            "after": a.loc[diff, c],
                            "change": a.loc[diff, c] - b.loc[diff, c],
                        }
                    )
                )
        cols = ["scenario", "code", "nom", "indicator", "before", "after", "change"]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)

    def interaction(self) -> pd.DataFrame:
        """The joint effect against the sum of the separate ones, per profile.

        ``sum_separate`` and ``joint``: population-weighted mean score change over the study;
        and the same for the inhabitants gaining access (profile ``access``).
        """
        rows = []
        summaries = [o.summary() for o in self.outcomes]
        for p in self.profiles:
            col = f"score_change_{p}"
            sep = sum(s[col] for s in summaries[:-1])
            rows.append({"measure": p, "sum_separate": sep, "joint": summaries[-1][col]})
        sep_gain = sum(s["population_gaining_access"] for s in summaries[:-1])
        rows.append(
            {
                "measure": "population_gaining_access",
                "sum_separate": sep_gain,
                "joint": summaries[-1]["population_gaining_access"],
            }
        )
        out = pd.DataFrame(rows)
        out["difference"] = out["joint"] - out["sum_separate"]
        return out


def _afom_check(
    action: Action, effect: ActionEffect, scfg: Any, baseline: pd.DataFrame
) -> dict[str, Any]:
    """Whether the action's AFOM item is in the baseline (its commune, or any) and after."""
    if action.afom is None:
        return {}
    kind, ind = action.afom["kind"], action.afom["indicator"]

    def has(table: pd.DataFrame) -> pd.Series:
        rows = table[(table["kind"] == kind) & (table["indicator"] == ind)]
        return rows["code"].astype(str)

    before = has(baseline)
    after = has(afom_table(effect.after, scfg))
    code = action.commune
    if code is not None:
        return {
            "found": bool((before == code).any()),
            "lifted": bool((before == code).any() and not (after == code).any()),
        }
    return {
        "found": bool(len(before)),
        "lifted": bool(len(before) and len(after) < len(before)),
        "communes_before": len(before),
        "communes_after": len(after),
    }


def _outcome(
    oid: str,
    label: str,
    actions: Sequence[Action],
    effect: ActionEffect,
    state: Any,
    profiles: Sequence[str],
) -> Outcome:
    scores = state.scores
    scfg = scores.config
    baseline = scores.scores if effect.before is scores.indicators else None
    changes = profile_changes(
        effect.before, effect.after, scfg, profiles, effect.changed, baseline=baseline
    )
    metro = state.accessibility.metropolitan
    rail_category = state.transition.params.rail_category
    per = [
        access_gains(
            a,
            effect.before,
            effect.after,
            state.accessibility.inputs.catalogue,
            metro.spec if metro is not None else None,
            rail_category,
        )
        for a in actions
    ]
    both = pd.concat(per, axis=1) if per else pd.DataFrame(index=effect.before.index)
    gains = both.clip(lower=0).max(axis=1).fillna(0.0) if per else both.sum(axis=1)
    losses = both.clip(upper=0).min(axis=1).abs().fillna(0.0) if per else both.sum(axis=1)
    afom = _afom_check(actions[0], effect, scfg, scores.afom) if len(actions) == 1 else {}
    return Outcome(oid, label, tuple(actions), effect, changes, gains, losses, afom)


def evaluate_plan(state: Any, plan: Plan, profiles: Sequence[str] | None = None) -> PlanResult:
    """Evaluate each action of a plan alone and all of them together.

    Parameters
    ----------
    state : StudyState
        A finished study (its ``territory``, ``accessibility``, ``transition``, ``scores``).
    plan : Plan
        Checked actions (:func:`geoattract.config.plan.check_actions`).
    profiles : sequence of str, optional
        Profiles scored (default all).

    Returns
    -------
    PlanResult
    """
    scfg = state.scores.config
    wanted = tuple(profiles) if profiles else tuple(scfg.profiles)
    territory = state.territory.communes
    outcomes = []
    for a in plan.actions:
        effect = apply_actions(territory, state.accessibility, state.transition, state.scores, [a])
        outcomes.append(_outcome(a.id, a.label, [a], effect, state, wanted))
        logger.info("plan: action %s changes %s", a.id, effect.changed)
    if len(plan.actions) > 1:
        effect = apply_actions(
            territory, state.accessibility, state.transition, state.scores, plan.actions
        )
    outcomes.append(_outcome(PLAN_ID, plan.title, plan.actions, effect, state, wanted))
    return PlanResult(plan, tuple(outcomes), wanted)
