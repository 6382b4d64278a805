"""Back ends of the planner's commands (``network``, ``isochrones``, ``compare``, ``scenario``).

They return data (and text for the terminal); :mod:`geoattract.app.cli` only parses arguments
and prints. Scripts can call them directly.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoattract._util.io import (
    GPKG_OPTIONS,
    atomic_path,
    check_writable_file,
    write_text_atomic,
)
from geoattract.app.codes import resolve_codes
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import DataError

__all__ = [
    "compare_command",
    "isochrones_command",
    "network_command",
    "resolve_codes",
    "scenario_command",
]

logger = logging.getLogger(__name__)


def isochrones_command(
    codes: Sequence[str],
    out: str | os.PathLike,
    *,
    minutes: Sequence[float] | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> tuple[Path, gpd.GeoDataFrame]:
    """Isochrones of the given communes written to ``out`` (.geojson or .gpkg)."""
    from geoattract.network import build_network
    from geoattract.routing.isochrones import isochrones_for_communes
    from geoattract.territory.load import load_territory

    cfg = load_study_config(config, data_dir)
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        raise DataError(f"{path}: output must end in .geojson or .gpkg")
    terr = load_territory(cfg)
    wanted = resolve_codes(codes, terr[terr["in_study"]])
    net = build_network(cfg, terr)
    sub = terr.copy()
    sub["in_study"] = sub["code"].isin(wanted)
    iso = isochrones_for_communes(net, sub, minutes=minutes or cfg.thresholds_min, progress=verbose)
    iso["network"] = net.caption.source
    with atomic_path(path) as tmp:
        if suffix == ".gpkg":
            iso.to_file(tmp, layer="isochrones", driver="GPKG", dataset_options=GPKG_OPTIONS)
        else:
            iso.to_crs("EPSG:4326").to_file(tmp, driver="GeoJSON")
    return path, iso


def _scores(
    results: str | os.PathLike | None,
    cfg: StudyConfig,
    progress: bool,
    codes: Sequence[str] = (),
) -> tuple[pd.DataFrame, Any]:
    """The scored commune table: from a previous run's ``communes.gpkg``, else recomputed.

    Before recomputing, ``codes`` are checked against the study's communes (a few seconds).
    """
    from geoattract.outputs.results import read_scored_communes
    from geoattract.scoring import load_scoring_config

    folder = Path(results) if results is not None else Path(cfg.study["output_dir"])
    scfg = load_scoring_config(cfg.config_file("scoring"))
    table = read_scored_communes(folder, required=results is not None)
    if table is not None:
        return table, scfg
    from geoattract.app.pipeline import compute_study
    from geoattract.territory import build_territory

    if codes:  # an unknown commune is refused before the study is computed
        resolve_codes(codes, build_territory(cfg).study)
    logger.info("no previous results in %s: computing the scores (without maps)", folder)
    state = compute_study(cfg, isochrones=False, progress=progress)
    return state.communes_layer(), scfg


def compare_command(
    codes: Sequence[str],
    *,
    profile: str = "general",
    html: str | os.PathLike | None = None,
    results: str | os.PathLike | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> str:
    """Text of the side-by-side comparison (and the HTML page when ``html`` is given)."""
    from geoattract.outputs import Labels, compare_html
    from geoattract.outputs.compare import compare_table

    cfg = load_study_config(config, data_dir)
    table, scfg = _scores(results, cfg, verbose, codes)
    wanted = list(dict.fromkeys(resolve_codes(codes, table)))  # "Agen 47001" is one commune
    if len(wanted) < len(codes):
        logger.warning("compare: %d duplicate commune(s) ignored", len(codes) - len(wanted))
    labels = Labels.from_configs(scfg)
    out = compare_table(table, wanted, scfg, profile, labels)
    if html is not None:
        rows = table.loc[[table.index[table["code"] == c][0] for c in wanted]].copy()
        suffix = f"_{profile}"
        for col in [c for c in rows.columns if c.startswith("pillar_") and c.endswith(suffix)]:
            rows[col[: -len(suffix)]] = rows[col]
        from geoattract.outputs.write import compare_columns, configured_columns, with_column_labels

        described = configured_columns(cfg)
        compare_html(
            pd.DataFrame(rows.drop(columns="geometry", errors="ignore")),
            profile,
            html,
            labels=with_column_labels(Labels.from_configs(scfg), described),
            extra_columns=compare_columns(described),
            indicators=out,
        )
    from geoattract.accessibility.unknown_offer import UNKNOWN_OFFER_FR
    from geoattract.outputs.console import fit_table

    # on the console the caveat is a mark and a footnote (the page spells it in each cell)
    caveat = f", {UNKNOWN_OFFER_FR}"
    marked = out.apply(lambda col: col.str.replace(caveat, " *", regex=False))
    text = fit_table(
        pd.concat([pd.Series(out.index, index=out.index, name=""), marked], axis=1), keys=[""]
    )
    if out.apply(lambda col: col.str.contains(caveat, regex=False)).to_numpy().any():
        text += f"\n\n* {UNKNOWN_OFFER_FR} : seule l'offre du département est comptée."
    return text


def scenario_command(
    add: Sequence[str],
    remove: Sequence[str],
    *,
    rail_links: Sequence[str] = (),
    rail_scenarios: Sequence[str] = (),
    profile: str = "general",
    top: int = 15,
    out: str | os.PathLike | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> str:
    """Run a what-if scenario on the study and return the text summary.

    Facility edits (``add``, ``remove``) or rail edits (``rail_links``
    ``STATION:POLE:MINUTES[:TRAINS]``, ``rail_scenarios`` named in ``[scenarios]``, see
    :mod:`geoattract.app.rail`). Every edit, the profile and the output path are checked
    before the study is computed.
    """
    from dataclasses import replace

    from geoattract.app.pipeline import compute_study
    from geoattract.facilities import build_offer
    from geoattract.outputs.scenario_text import explained_table, scenario_table
    from geoattract.scoring import (
        changed_indicators,
        load_scoring_config,
        run_scenario,
        validate_changes,
    )
    from geoattract.scoring.scenario import parse_change
    from geoattract.territory import build_territory

    adds = [parse_change(a, "add") for a in add]
    removes = [parse_change(r, "remove") for r in remove]
    rail = bool(rail_links or rail_scenarios)
    if not adds and not removes and not rail:
        raise DataError(
            "scenario: give at least one --add, --remove, --rail-link or --rail-scenario"
        )
    if rail and (adds or removes):
        raise DataError(
            "scenario: facility edits (--add, --remove) and rail edits (--rail-link, "
            "--rail-scenario) are separate scenarios; run them one at a time"
        )
    cfg = load_study_config(config, data_dir)
    scfg = load_scoring_config(cfg.config_file("scoring"))
    if profile not in scfg.profiles:
        raise DataError(f"unknown profile {profile!r}; profiles: {', '.join(scfg.profiles)}")
    if out is not None:
        check_writable_file(out)
    if rail:
        from geoattract.app.rail import rail_scenario_command

        return rail_scenario_command(
            cfg, rail_links, rail_scenarios, profile=profile, top=top, out=out, verbose=verbose
        )
    territory = build_territory(cfg)
    offer = build_offer(cfg, territory.communes)
    edits = [replace(e, action="add") for e in adds] + [
        replace(e, action="remove") for e in removes
    ]
    validate_changes(edits, offer.catalogue, territory.communes, offer.facilities)
    state = compute_study(cfg, isochrones=False, progress=verbose)
    sc = run_scenario(
        state.territory.communes,
        state.accessibility,
        state.transition,
        state.scores,
        add=adds,
        remove=removes,
    )
    if out is not None:
        frames = [ch.assign(profile=p) for p, ch in sc.changes.items()]
        write_text_atomic(out, pd.concat(frames, ignore_index=True).to_csv(index=False))
    from geoattract.outputs import Labels

    labels = Labels.from_configs(scfg, offer.catalogue)
    cats = ", ".join(labels.category(c) for c in sc.categories)
    changed = changed_indicators(sc.indicators_before, sc.indicators_after, scfg)
    lines = [
        f"Scénario : {', '.join(add) or '-'} ajouté(s) ; {', '.join(remove) or '-'} retiré(s)",
        f"Catégories recalculées : {cats}",
        *explained_table(
            sc.changes,
            profile,
            changed,
            scfg,
            labels,
            lambda rows: scenario_table(rows, labels),
            top,
        ),
    ]
    return "\n".join(lines)


def network_command(
    source: str | os.PathLike,
    out: str | os.PathLike | None = None,
    *,
    strict: bool = False,
    layer: str | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
) -> dict[str, Any]:
    """Back end of ``geoattract network --source FILE|schematic|online [--out FILE.gpkg]``.

    Parameters
    ----------
    source : str or path-like
        As in :func:`geoattract.network.load_graph`; "schematic" and "online" use the study's
        territory and ``[network]`` section (a file is read as it is, not clipped).
    out : path-like, optional
        GeoPackage to write with :func:`geoattract.network.save_graph_gpkg`.
    config : StudyConfig or path-like, optional
        The study (for "schematic" and "online").
    data_dir : path-like, optional
        Data folder of the study.

    Returns
    -------
    dict
        :func:`geoattract.network.graph_summary` plus ``build_seconds`` and ``out`` (path
        or None).
    """
    from geoattract.network import build_network, load_network, save_graph_gpkg
    from geoattract.territory.load import load_territory

    t0 = time.perf_counter()
    text = str(source)
    if text.lower() in ("schematic", "online"):
        cfg = load_study_config(config, data_dir)
        net = build_network(cfg, load_territory(cfg), source=text)
    else:
        net = load_network(text, strict=strict, layer=layer)
    summary = dict(net.summary)
    summary["build_seconds"] = round(time.perf_counter() - t0, 3)
    summary["out"] = str(save_graph_gpkg(net.graph, out)) if out is not None else None
    return summary
