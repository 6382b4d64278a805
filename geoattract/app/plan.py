"""Back ends of ``geoattract plan`` and ``geoattract levers``, and the plan of a study's run.

The plan file and the lever catalogue are checked against the study before any routing
(:func:`study_facts` reads the study file, the catalogue, the scoring profiles, the station
file and the territory: a few seconds); then the study is computed, the actions evaluated
(:mod:`geoattract.scoring.plan`, :mod:`geoattract.scoring.levers`) and the answer printed and
written. A study that names a plan (``[configs] plan``) gets it checked at the door of
``geoattract run`` (:func:`~geoattract.scoring.plan_check.study_plan_at_door`), evaluated after
the scores, its chapter « Plan d'action » in ``report.html`` and its tables beside it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from geoattract._util.io import write_text_atomic
from geoattract.config.plan import check_actions, load_levers
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.outputs.plan_text import levers_text, plan_text
from geoattract.scoring.plan_check import check_plan, study_facts

logger = logging.getLogger(__name__)


def _out_folder(out: str | os.PathLike | None, cfg: StudyConfig) -> Path:
    folder = Path(out) if out is not None else Path(cfg.study["output_dir"])
    parent = folder if folder.exists() else folder.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(f"{folder}: cannot write there (folder {parent} missing or not writable)")
    return folder


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
    cfg = load_study_config(config, data_dir)
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

    cfg = load_study_config(config, data_dir)
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
