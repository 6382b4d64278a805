"""Back ends of the planner's commands (``isochrones``, ``compare``, ``scenario``).

They return data (and text for the terminal); :mod:`geoattract.app.cli` only parses arguments
and prints. Scripts can call them directly.
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import atomic_path, write_text_atomic
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import DataError

__all__ = [
    "compare_command",
    "compare_table",
    "isochrones_command",
    "resolve_codes",
    "scenario_command",
]

logger = logging.getLogger(__name__)

#: Stages a comparison or a scenario does not need (they only need the scores).
SCORE_ONLY_SKIP = ("isochrones", "maps", "index")

#: Close names suggested for an unknown commune.
N_SUGGESTIONS = 5


def _config(config: StudyConfig | str | os.PathLike | None, data_dir: Any) -> StudyConfig:
    return (
        config if isinstance(config, StudyConfig) else load_study_config(config, data_dir=data_dir)
    )


def resolve_codes(names: Sequence[str], communes: pd.DataFrame) -> list[str]:
    """INSEE codes of the given codes or exact names (case-insensitive).

    Raises
    ------
    DataError
        For an unknown code or name, suggesting close names and codes.
    """
    codes = communes["code"].astype(str).tolist()
    by_name = {str(n).casefold(): c for n, c in zip(communes["nom"], codes, strict=True)}
    display = {str(n).casefold(): str(n) for n in communes["nom"]}
    out = []
    for name in names:
        if name in codes:
            out.append(name)
            continue
        if name.casefold() in by_name:
            out.append(by_name[name.casefold()])
            continue
        labels = [f"{n} ({c})" for n, c in zip(communes["nom"], codes, strict=True)]
        close = difflib.get_close_matches(name, codes, n=N_SUGGESTIONS, cutoff=0.6)
        close_names = difflib.get_close_matches(
            name.casefold(), list(by_name), n=N_SUGGESTIONS, cutoff=0.5
        )
        hints = [lab for lab in labels if lab.split(" (")[-1].rstrip(")") in close]
        hints += [f"{display[n]} ({by_name[n]})" for n in close_names]
        hints = list(dict.fromkeys(hints))[:N_SUGGESTIONS]
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise DataError(f"unknown commune {name!r} (not a study commune code or name){hint}")
    return out


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
    from geoattract.app.pipeline import _network_source
    from geoattract.network.graph import load_graph
    from geoattract.routing.isochrones import isochrones_for_communes
    from geoattract.territory.load import load_territory

    cfg = _config(config, data_dir)
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in (".geojson", ".json", ".gpkg"):
        raise DataError(f"{path}: output must end in .geojson or .gpkg")
    terr = load_territory(cfg)
    wanted = resolve_codes(codes, terr[terr["in_study"]])
    source = _network_source(cfg)
    G = load_graph(source, territory=terr)
    sub = terr.copy()
    sub["in_study"] = sub["code"].isin(wanted)
    iso = isochrones_for_communes(G, sub, minutes=minutes or cfg.thresholds_min, verbose=verbose)
    if G.graph.get("schematic"):
        iso["network"] = "schematic"
    with atomic_path(path) as tmp:
        if suffix == ".gpkg":
            iso.to_file(tmp, layer="isochrones", driver="GPKG")
        else:
            iso.to_crs("EPSG:4326").to_file(tmp, driver="GeoJSON")
    return path, iso


def _scores(
    results: str | os.PathLike | None, cfg: StudyConfig, verbose: bool
) -> tuple[pd.DataFrame, Any]:
    """The scored commune table: from a previous run's ``communes.gpkg``, else recomputed."""
    from geoattract.scoring.core import load_scoring_config

    folder = Path(results) if results is not None else Path(cfg.study["output_dir"])
    gpkg = folder / "communes.gpkg"
    scfg = load_scoring_config(cfg.config_file("scoring"))
    if gpkg.is_file():
        table = gpd.read_file(gpkg, layer="communes").copy()
        if any(c.startswith("score_") for c in table.columns):
            logger.info("comparing from %s", gpkg)
            return table, scfg
    if results is not None:
        raise DataError(
            f"{gpkg}: no scored commune layer; run `geoattract run --out {folder}` first"
        )
    from geoattract.app.pipeline import run_study

    logger.info("no previous results in %s: computing the scores (without maps)", folder)
    res = run_study(cfg, skip=SCORE_ONLY_SKIP, publish=False, verbose=verbose)
    return res.data["communes_out"], scfg


def compare_table(
    table: pd.DataFrame, codes: Sequence[str], scfg: Any, profile: str = "general"
) -> pd.DataFrame:
    """Side-by-side table: one column per commune, rows for scores, ranks, pillars, indicators.

    Indicator cells read ``value (méd. median)`` against the département median.
    """
    score = f"score_{profile}"
    if score not in table.columns:
        profiles = sorted(
            c[6:]
            for c in table.columns
            if c.startswith("score_")
            and c.count("_") >= 1
            and not c.endswith(("_median", "_p05", "_p95"))
        )
        raise DataError(f"unknown profile {profile!r}; profiles: {', '.join(profiles)}")
    sel = table.set_index("code").loc[list(codes)]
    rows: dict[str, list[str]] = {}
    rows["Population"] = [f"{p:,.0f}".replace(",", " ") for p in sel["population"]]
    rows[f"Score {profile} (0-100)"] = [f"{v:.1f}" for v in sel[score]]
    rank = sel[f"rank_{profile}"]
    lo, hi = sel.get(f"rank_{profile}_p05"), sel.get(f"rank_{profile}_p95")
    n = int(table[score].notna().sum())
    rows["Rang (intervalle 5-95 %)"] = [
        f"{int(r)}/{n} ({int(a)}–{int(b)})" if lo is not None else f"{int(r)}/{n}"
        for r, a, b in zip(
            rank, lo if lo is not None else rank, hi if hi is not None else rank, strict=True
        )
    ]
    for col in sorted(
        c for c in table.columns if c.startswith("pillar_") and c.endswith(f"_{profile}")
    ):
        pillar = col[len("pillar_") : -len(profile) - 1]
        med = table[col].median()
        rows[f"Pilier {pillar}"] = [f"{v:.1f} (méd. {med:.1f})" for v in sel[col]]
    for ind, spec in scfg.indicators.items():
        if ind not in table.columns:
            continue
        med = table[ind].median()
        arrow = "↓" if spec["direction"] == "lower_is_better" else "↑"
        rows[f"{ind} {arrow}"] = [
            "n.d." if pd.isna(v) else f"{v:.3g} (méd. {med:.3g})" for v in sel[ind]
        ]
    header = [f"{nom} ({code})" for code, nom in zip(sel.index, sel["nom"], strict=True)]
    return pd.DataFrame(rows, index=header).T


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

    cfg = _config(config, data_dir)
    table, scfg = _scores(results, cfg, verbose)
    wanted = list(dict.fromkeys(resolve_codes(codes, table)))  # "Agen 47001" is one commune
    if len(wanted) < len(codes):
        logger.warning("compare: %d duplicate commune(s) ignored", len(codes) - len(wanted))
    out = compare_table(table, wanted, scfg, profile)
    if html is not None:
        rows = table.loc[[table.index[table["code"] == c][0] for c in wanted]].copy()
        suffix = f"_{profile}"
        for col in [c for c in rows.columns if c.startswith("pillar_") and c.endswith(suffix)]:
            rows[col[: -len(suffix)]] = rows[col]
        compare_html(
            pd.DataFrame(rows.drop(columns="geometry", errors="ignore")),
            profile,
            html,
            labels=Labels.from_configs(scfg),
        )
    with pd.option_context("display.max_colwidth", 40, "display.width", 200):
        return out.to_string()


def scenario_command(
    add: Sequence[str],
    remove: Sequence[str],
    *,
    profile: str = "general",
    top: int = 15,
    out: str | os.PathLike | None = None,
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> str:
    """Run a what-if scenario on the study and return the text summary."""
    from geoattract.app.pipeline import run_study
    from geoattract.scoring.scenario import parse_change, run_scenario

    adds = [parse_change(a, "add") for a in add]
    removes = [parse_change(r, "remove") for r in remove]
    if not adds and not removes:
        raise DataError("scenario: give at least one --add or --remove")
    cfg = _config(config, data_dir)
    res = run_study(cfg, skip=SCORE_ONLY_SKIP, publish=False, verbose=verbose)
    sc = run_scenario(res.data, add=adds, remove=removes)
    if profile not in sc.changes:
        raise DataError(f"unknown profile {profile!r}; profiles: {', '.join(sc.changes)}")
    if out is not None:
        frames = [ch.assign(profile=p) for p, ch in sc.changes.items()]
        write_text_atomic(out, pd.concat(frames, ignore_index=True).to_csv(index=False))
    ch = sc.summary(profile, top)
    cols = [
        "code",
        "nom",
        "score_before",
        "score_after",
        "score_change",
        "rank_before",
        "rank_after",
        "rank_change",
    ] + [c for c in ch.columns if c.startswith("contribution_")]
    moved = int((sc.changes[profile]["score_change"].abs() > 1e-9).sum())
    lines = [
        f"Scénario : {', '.join(add) or '-'} ajouté(s) ; {', '.join(remove) or '-'} retiré(s)",
        f"Catégories recalculées : {', '.join(sc.categories)} ; communes dont le score change "
        f"({profile}) : {moved}",
        "",
        ch[cols].round(3).to_string(index=False),
    ]
    if np.isfinite(ch["score_change"]).any():
        lines.append("")
    return "\n".join(lines)
