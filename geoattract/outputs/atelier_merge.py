"""Outputs of ``geoattract atelier merge``: scores per group, consensus and contested maps, report section.

From a :class:`~geoattract.scoring.consensus.MergeResult`:

* ``atelier_scores.csv``: one row per commune, the columns of the result's table;
* ``consensus.png``: the communes in the top quintile under every group's weights;
* ``contested.png``: how far each commune's rank moves from one group's weights to another's;
* ``atelier_section.html``: the French section for the report (an HTML fragment, maps
  embedded), and ``atelier_merge.html``, the same section as a self-contained page.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoattract._util.io import write_bytes_atomic, write_text_atomic
from geoattract.errors import DataError, format_values
from geoattract.outputs.basemap import Basemap, draw_basemap
from geoattract.outputs.context import ReportContext
from geoattract.outputs.html import esc, fr_number, fr_ordinal, page, png_data_uri, table
from geoattract.outputs.labels import Labels
from geoattract.outputs.static import LEGEND_BELOW, NOTE_COLOUR, figure_png, map_figure
from geoattract.scoring import ScoringConfig
from geoattract.scoring.consensus import MergeResult

#: Files written by :func:`write_merge_outputs`.
MERGE_FILES: tuple[str, ...] = (
    "atelier_scores.csv",
    "consensus.png",
    "contested.png",
    "atelier_section.html",
    "atelier_merge.html",
)

#: Anchor of the report section.
MERGE_SECTION_ID: str = "atelier"

#: Colours of the consensus map: in the top quintile for every group, for some, for none.
CONSENSUS_COLOURS: tuple[str, str, str] = ("#225ea8", "#a6cde3", "#f2f2f2")

#: Colours of the contested map, by rank spread in quintiles (< ½, ½–1, 1–2, ≥ 2): a
#: sequential orange palette (ColorBrewer Oranges), readable with colour-vision deficiencies.
SPREAD_COLOURS: tuple[str, str, str, str] = ("#fee6ce", "#fdae6b", "#e6550d", "#a63603")

#: Communes listed in the contested table of the section (widest spread first).
CONTESTED_ROWS: int = 25


def _names(result: MergeResult) -> list[str]:
    return [s.group for s in result.sets]


def _aligned(communes: gpd.GeoDataFrame, result: MergeResult) -> gpd.GeoDataFrame:
    """The commune polygons in the order of the result's table, with its columns."""
    geo = communes.set_index(communes["code"].astype(str))
    missing = sorted(set(result.table["code"]) - set(geo.index))
    if missing:
        raise DataError(f"atelier merge: commune(s) without geometry: {format_values(missing)}")
    geom = geo.loc[result.table["code"].tolist(), communes.geometry.name].to_numpy()
    return gpd.GeoDataFrame(result.table.reset_index(drop=True), geometry=geom, crs=communes.crs)


def _finish_map(ax: Any, gdf: gpd.GeoDataFrame, basemap: Basemap | None, title: str) -> None:
    draw_basemap(ax, basemap, under=False)
    minx, miny, maxx, maxy = gdf.total_bounds
    dx, dy = (maxx - minx) * 0.04, (maxy - miny) * 0.04
    ax.set_xlim(minx - dx, maxx + dx)
    ax.set_ylim(miny - dy, maxy + dy)
    ax.set_axis_off()
    ax.set_aspect("equal")
    ax.set_title(title, fontsize=13, fontweight="bold")


def _notes(result: MergeResult, context: ReportContext | None) -> list[str]:
    labels = context.labels if context is not None else Labels()
    groups = "Poids des groupes : " + " ; ".join(
        f"{s.group} ({s.date}, profil de départ « {labels.profile(s.profile)} »)"
        for s in result.sets
    )
    notes = [groups]
    if context is not None:
        notes += [t for t in (context.source_line, context.caption_text) if t]
    return notes


def consensus_figure(
    communes: gpd.GeoDataFrame,
    result: MergeResult,
    context: ReportContext | None = None,
    basemap: Basemap | None = None,
) -> Any:
    """Map of the consensus communes (top quintile under every group's weights).

    Parameters
    ----------
    communes : GeoDataFrame
        Study communes (``code``, polygons in a projected CRS).
    result : MergeResult
        The merge.
    context : ReportContext, optional
        Source line and network caption, printed under the map.
    basemap : Basemap, optional
        Neighbours, roads, outline and town names.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Patch

    gdf = _aligned(communes, result)
    g = len(result.sets)
    top = gdf["n_groups_top"].to_numpy()
    cls = [0 if t == g else 1 if t > 0 else 2 for t in top]
    fig, ax = map_figure(_notes(result, context), NOTE_COLOUR)
    draw_basemap(ax, basemap, under=True)
    gdf.plot(ax=ax, color=[CONSENSUS_COLOURS[c] for c in cls], edgecolor="#666666", linewidth=0.25)
    _finish_map(ax, gdf, basemap, "Communes consensuelles entre les groupes")
    counts = [cls.count(c) for c in range(3)]
    labels = [
        f"1er quintile pour les {g} groupes ({counts[0]})",
        f"1er quintile pour 1 à {g - 1} groupe(s) ({counts[1]})",
        f"1er quintile pour aucun groupe ({counts[2]})",
    ]
    handles = [
        Patch(facecolor=c, edgecolor="#555555", label=lab)
        for c, lab in zip(CONSENSUS_COLOURS, labels, strict=True)
    ]
    ax.legend(
        handles=handles,
        title=f"Premier quintile : rangs 1 à {result.n_top}",
        **{**LEGEND_BELOW, "ncol": 2},
        fontsize=8,
        title_fontsize=9,
    )
    return fig


def spread_classes(spread: pd.Series, n_top: int) -> tuple[list[int], list[str]]:
    """Class (0–3) of each rank spread in quintiles of the ranking, and the class labels.

    Classes: under half a quintile, half to one, one to two (contested), two or more.
    """
    half, two = n_top / 2, 2 * n_top
    out = []
    for v in spread:
        if pd.isna(v):
            out.append(-1)
        else:
            out.append(0 if v < half else 1 if v < n_top else 2 if v < two else 3)
    lo = int(-(-half // 1))
    labels = [
        f"moins de {lo} places",
        f"{lo} à {n_top - 1} places",
        f"{n_top} à {two - 1} places (disputée)",
        f"{two} places ou plus (disputée)",
    ]
    return out, labels


def contested_figure(
    communes: gpd.GeoDataFrame,
    result: MergeResult,
    context: ReportContext | None = None,
    basemap: Basemap | None = None,
) -> Any:
    """Map of the rank spread between groups; contested communes outlined.

    Parameters
    ----------
    communes, result, context, basemap
        As in :func:`consensus_figure`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.patches import Patch

    gdf = _aligned(communes, result)
    cls, labels = spread_classes(gdf["rank_spread"], result.n_top)
    fig, ax = map_figure(_notes(result, context), NOTE_COLOUR)
    draw_basemap(ax, basemap, under=True)
    colours = [SPREAD_COLOURS[c] if c >= 0 else "#bdbdbd" for c in cls]
    gdf.plot(ax=ax, color=colours, edgecolor="#777777", linewidth=0.25)
    contested = gdf[gdf["contested"]]
    if not contested.empty:
        contested.boundary.plot(ax=ax, color="#222222", linewidth=0.9)
    _finish_map(ax, gdf, basemap, "Communes disputées entre les groupes")
    counts = [cls.count(c) for c in range(4)]
    handles = [
        Patch(facecolor=c, edgecolor="#555555", label=f"{lab} ({n})")
        for c, lab, n in zip(SPREAD_COLOURS, labels, counts, strict=True)
    ]
    ax.legend(
        handles=handles,
        title="Écart de rang entre groupes",
        **{**LEGEND_BELOW, "ncol": 2},
        fontsize=8,
        title_fontsize=9,
    )
    return fig


def _share_table(result: MergeResult, config: ScoringConfig, labels: Labels) -> str:
    rows = []
    for s in result.sets:
        total = sum(s.pillars.values())
        row = {
            "group": s.group,
            "date": s.date,
            "profile": labels.profile(s.profile),
            "aggregation": "géométrique" if s.aggregation == "geometric" else "arithmétique",
        }
        for p in config.pillars:
            row[p] = f"{fr_number(100 * s.pillars.get(p, 0.0) / total, 0)} %"
        rows.append(row)
    columns = {"group": "Groupe", "date": "Date", "profile": "Profil de départ"}
    columns |= {"aggregation": "Agrégation"} | {p: labels.pillar(p) for p in config.pillars}
    return table(pd.DataFrame(rows), columns, caption="Part de chaque pilier dans les poids")


def _ranks_table(result: MergeResult, rows: pd.DataFrame, spread: bool) -> str:
    out = pd.DataFrame(
        {
            "commune": [
                f"{n} ({c})"
                for n, c in zip(rows.get("nom", rows["code"]), rows["code"], strict=True)
            ]
        }
    )
    columns = {"commune": "Commune"}
    for s, k in zip(result.sets, result.keys, strict=True):
        out[k] = [fr_ordinal(v) for v in rows[f"rank_{k}"]]
        columns[k] = f"Rang — {s.group}"
    if spread:
        out["spread"] = [fr_number(v) for v in rows["rank_spread"]]
        columns["spread"] = "Écart (places)"
    out["interval"] = [
        f"{fr_ordinal(a)}–{fr_ordinal(b)}"
        for a, b in zip(rows["rank_p05"], rows["rank_p95"], strict=True)
    ]
    columns["interval"] = "Intervalle 5–95 % (Monte Carlo)"
    return table(out, columns)


def merge_section_html(
    result: MergeResult,
    config: ScoringConfig,
    *,
    labels: Labels | None = None,
    maps: Mapping[str, bytes] | None = None,
) -> str:
    """The French section of the report on the groups' weights (an HTML fragment).

    Parameters
    ----------
    result : MergeResult
        The merge.
    config : ScoringConfig
        Scoring configuration (pillars, concentration of the draws).
    labels : Labels, optional
        French labels (default from ``config``).
    maps : mapping, optional
        ``consensus`` / ``contested`` → PNG bytes, embedded as data URIs.

    Returns
    -------
    str
    """
    labels = labels if labels is not None else Labels.from_configs(config)
    maps = maps or {}
    k = int(result.table["rank_min"].notna().sum())
    g = len(result.sets)
    names = ", ".join(f"« {n} »" for n in _names(result))
    conc = config.montecarlo["concentration"]
    parts = [
        f'<h2 id="{MERGE_SECTION_ID}">{esc("Ateliers : réconciliation des pondérations")}</h2>',
        "<p>"
        + esc(
            f"Les poids choisis par {g} groupes ({names}) ont été appliqués aux {k} communes "
            "avec la méthode du diagnostic (mêmes indicateurs normalisés, même agrégation). "
            f"Une commune est consensuelle lorsqu'elle figure dans le premier quintile du "
            f"classement (rangs 1 à {result.n_top}) pour chacun des groupes ; elle est disputée "
            f"lorsque son rang varie d'au moins {result.n_top} places (un quintile) d'un groupe "
            "à l'autre."
        )
        + "</p>",
        _share_table(result, config, labels),
        "<p>"
        + esc(
            f"Intervalles de rang : simulation Monte Carlo de {result.draws} tirages répartis "
            "à parts égales entre les groupes ; pour chaque tirage, les poids des piliers "
            "suivent une loi de Dirichlet centrée sur les poids du groupe (concentration "
            f"{fr_number(conc, 0)}) ; l'intervalle va du 5e au 95e centile des rangs obtenus. "
            "Un intervalle étroit signale un rang que les désaccords entre groupes ne remettent "
            "pas en cause."
        )
        + "</p>",
    ]
    consensus = result.consensus
    parts.append(f"<h3>{esc(f'Communes consensuelles ({len(consensus)})')}</h3>")
    if "consensus" in maps:
        parts.append(
            f'<figure><img src="{png_data_uri(maps["consensus"])}" '
            f'alt="{esc("Carte des communes consensuelles")}"></figure>'
        )
    parts.append(
        _ranks_table(result, consensus, spread=False)
        if len(consensus)
        else "<p>"
        + esc("Aucune commune n'est dans le premier quintile pour tous les groupes.")
        + "</p>"
    )
    contested = result.contested
    parts.append(f"<h3>{esc(f'Communes disputées ({len(contested)})')}</h3>")
    if "contested" in maps:
        parts.append(
            f'<figure><img src="{png_data_uri(maps["contested"])}" '
            f'alt="{esc("Carte des écarts de rang entre groupes")}"></figure>'
        )
    if len(contested):
        if len(contested) > CONTESTED_ROWS:
            parts.append(
                "<p>"
                + esc(
                    f"Les {CONTESTED_ROWS} écarts les plus grands ; la liste complète est dans "
                    "atelier_scores.csv (colonne contested)."
                )
                + "</p>"
            )
        parts.append(_ranks_table(result, contested.head(CONTESTED_ROWS), spread=True))
    else:
        parts.append("<p>" + esc("Aucun rang ne varie d'un quintile entre les groupes.") + "</p>")
    return "\n".join(parts)


def write_merge_outputs(
    out_dir: str | os.PathLike,
    result: MergeResult,
    communes: gpd.GeoDataFrame,
    config: ScoringConfig,
    *,
    study: str,
    context: ReportContext | None = None,
    basemap: Basemap | None = None,
) -> dict[str, Path]:
    """Write the files of :data:`MERGE_FILES` (atomic writes).

    Parameters
    ----------
    out_dir : path-like
        Output folder (created).
    result : MergeResult
        The merge.
    communes : GeoDataFrame
        Study communes (``code``, polygons in a projected CRS).
    config : ScoringConfig
        Scoring configuration.
    study : str
        Study name (page title).
    context : ReportContext, optional
        Labels, source line and network caption.
    basemap : Basemap, optional
        Offline basemap of the maps.

    Returns
    -------
    dict
        File name → path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = context.labels if context is not None else None
    files = {
        "atelier_scores.csv": write_text_atomic(
            out / "atelier_scores.csv", result.table.to_csv(index=False)
        )
    }
    pngs = {
        "consensus": figure_png(consensus_figure(communes, result, context, basemap)),
        "contested": figure_png(contested_figure(communes, result, context, basemap)),
    }
    for name, data in pngs.items():
        files[f"{name}.png"] = write_bytes_atomic(out / f"{name}.png", data)
    section = merge_section_html(result, config, labels=labels, maps=pngs)
    files["atelier_section.html"] = write_text_atomic(out / "atelier_section.html", section + "\n")
    title = f"Ateliers — réconciliation des pondérations — {study}"
    files["atelier_merge.html"] = write_text_atomic(
        out / "atelier_merge.html", page(title, f"<h1>{esc(title)}</h1>\n{section}")
    )
    return files
