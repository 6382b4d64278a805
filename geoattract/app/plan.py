"""Back ends of ``geoattract plan`` and ``geoattract levers``, and the plan of a study's run.

The plan file and the lever catalogue are checked against the study before any routing
(:func:`study_facts` reads the study file, the catalogue, the scoring profiles, the station
file and the territory: a few seconds); then the study is computed, the actions evaluated
(:mod:`geoattract.scoring.plan`, :mod:`geoattract.scoring.levers`) and the answer printed and
written. A study that names a plan (``[configs] plan``) gets it checked at the door of
``geoattract run`` (:func:`~geoattract.app.plan_check.study_plan_at_door`), evaluated after
the scores, its chapter « Plan d'action » in ``report.html`` and its tables beside it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.app.plan_check import check_plan, study_facts
from geoattract.config.plan import check_actions, load_levers
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import ConfigError, DataError, format_values

logger = logging.getLogger(__name__)


def _config(config: StudyConfig | str | os.PathLike | None, data_dir: Any) -> StudyConfig:
    if isinstance(config, StudyConfig):
        return config
    return load_study_config(config, data_dir=data_dir)


def _out_folder(out: str | os.PathLike | None, cfg: StudyConfig) -> Path:
    folder = Path(out) if out is not None else Path(cfg.study["output_dir"])
    parent = folder if folder.exists() else folder.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{folder}: cannot write there (folder {parent} missing or not writable)")
    return folder


def _fr(value: Any, decimals: int = 0) -> str:
    from geoattract.outputs.html import fr_number

    return "n.d." if pd.isna(value) else fr_number(value, decimals)


def plan_text(result: Any, labels: Any) -> str:
    """Printed summary of a plan: one line per action and for the plan, then the interaction."""
    table = result.actions_table()
    rows = pd.DataFrame(
        {
            "Action": table["scenario"],
            "Coût (€)": table["cost_eur"].map(_fr),
            "Gagnent l'accès": table["population_gaining_access"].map(_fr),
            "€/habitant": table["cost_per_inhabitant_eur"].map(_fr),
            "Communes": table["communes_changed"],
            "AFOM levée": table["afom_lifted"].map(
                lambda v: "—" if v is None or pd.isna(v) else ("oui" if v else "non")
            ),
        }
    )
    inter = result.interaction()
    lines = [
        f"Plan : {result.plan.title} ({len(result.separate)} action(s))",
        rows.to_string(index=False),
        "",
        "Plan complet et somme des actions seules (écart de score moyen pondéré) :",
    ]
    for _, r in inter.iterrows():
        name = r["measure"]
        label = labels.profile(name) if name in result.profiles else "habitants gagnant l'accès"
        lines.append(
            f"  {label} : somme {_fr(r['sum_separate'], 3)}, ensemble {_fr(r['joint'], 3)}"
        )
    return "\n".join(lines)


def plan_command(
    path: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> tuple[str, Any]:
    """Run ``geoattract plan PLAN.toml``: check, compute the study, evaluate, print, write.

    Writes :data:`~geoattract.outputs.plan_section.PLAN_TABLES` and ``plan.html`` (the chapter « Plan d'action ») in ``out``
    (default the study's output folder).

    Returns
    -------
    (str, PlanResult)
    """
    cfg = _config(config, data_dir)
    plan = check_plan(cfg, path)
    folder = _out_folder(out, cfg)
    # the heavy imports after the checks at the door
    from geoattract.app.pipeline import compute_study
    from geoattract.outputs import Labels
    from geoattract.outputs.plan_section import plan_tables, write_plan_page
    from geoattract.scoring.plan import evaluate_plan

    state = compute_study(cfg, isochrones=False, progress=verbose)
    result = evaluate_plan(state, plan)
    labels = Labels.from_configs(state.scores.config, state.offer.catalogue)
    folder.mkdir(parents=True, exist_ok=True)
    written = [
        write_text_atomic(folder / name, frame.to_csv(index=False))
        for name, frame in plan_tables(result).items()
    ]
    written.append(write_plan_page(folder, result, labels, cfg.name))
    text = plan_text(result, labels)
    text += "\n\nÉcrit : " + ", ".join(str(p) for p in written)
    return text, result


def levers_command(
    code: str,
    *,
    profile: str,
    catalogue: str | os.PathLike | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> tuple[str, Any]:
    """Run ``geoattract levers CODE --profile P``: the smallest lever that lifts a quintile.

    Parameters
    ----------
    code : str
        A study commune (code or exact name).
    profile : str
    catalogue : path-like, optional
        A lever catalogue (default the study's ``[configs] levers``).

    Returns
    -------
    (str, LeversResult)
    """
    from geoattract.app.codes import resolve_codes
    from geoattract.territory import build_territory

    cfg = _config(config, data_dir)
    if catalogue is None:
        if cfg.raw.get("configs", {}).get("levers") is None:
            raise ConfigError(
                f"{cfg.path}: no lever catalogue ([configs] levers); give one with --catalogue"
            )
        catalogue = cfg.config_file("levers")
    levers = load_levers(catalogue)
    from geoattract.scoring import load_scoring_config

    profiles = list(load_scoring_config(cfg.config_file("scoring")).profiles)
    if profile not in profiles:
        raise DataError(
            f"--profile {profile!r}: unknown profile; profiles: {format_values(profiles)}"
        )
    facts = study_facts(cfg, rail=False)
    (commune,) = resolve_codes([code], build_territory(cfg).study)
    check_actions([lv.at(commune) for lv in levers], facts, catalogue)
    # the heavy imports after the checks at the door
    from geoattract.app.pipeline import compute_study
    from geoattract.scoring.levers import try_levers

    state = compute_study(cfg, isochrones=False, progress=verbose)
    result = try_levers(state, commune, profile, levers)
    return levers_text(result, state), result


def levers_text(result: Any, state: Any) -> str:
    """Printed answer of ``levers``: the commune's quintile, each lever, the smallest."""
    from geoattract.outputs import Labels
    from geoattract.scoring.levers import NONE_SUFFICES

    labels = Labels.from_configs(state.scores.config, state.offer.catalogue)
    prof = labels.profile(result.profile)
    lines = [
        f"{result.nom} ({result.code}), profil « {prof} » : score {_fr(result.score, 2)}, "
        f"quintile {result.quintile} sur 5"
    ]
    if result.quintile >= 5:
        lines.append("Déjà dans le quintile supérieur : aucun quintile à gagner.")
    else:
        lines.append(f"Score à atteindre pour le quintile suivant : {_fr(result.needed, 2)}")
    table = result.table()
    rows = pd.DataFrame(
        {
            "Levier": table["label"].str.slice(0, 40),
            "Score après": table["score_after"].map(lambda v: _fr(v, 2)),
            "Écart": table["score_change"].map(lambda v: _fr(v, 3)),
            "Quintile": table["quintile_after"],
            "Indicateurs pondérés": table["indicators_weighted"].replace("", "aucun"),
        }
    )
    lines += ["", rows.to_string(index=False), ""]
    best = result.smallest
    if result.quintile < 5:
        lines.append(
            f"Plus petite action suffisante : {best.lever.label}" if best else NONE_SUFFICES
        )
    notes = sorted({n for o in result.outcomes for n in o.notes})
    lines += [f"Hypothèse : {n}" for n in notes]
    return "\n".join(lines)
