"""Write a study's outputs into the staging folder: GeoPackages, tables, maps, report, index.

Every fact comes from one place: labels from the study's TOML (:class:`~geoattract.outputs.Labels`),
the network caption from the graph's metadata (:class:`~geoattract.network.NetworkCaption`),
sources and method text from the configuration actually used.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geoattract import __version__
from geoattract._util.io import write_gpkg_atomic, write_text_atomic
from geoattract.accessibility import metro_columns_info
from geoattract.config import MetroSpec, StudyConfig
from geoattract.outputs import (
    DYNAMICS_TITLE,
    Basemap,
    FigureRendering,
    IndicatorLabel,
    Labels,
    ReportContext,
    columns_table,
    connectivity_section,
    demography_method_paragraphs,
    departement_maps,
    dynamics_section,
    make_basemap,
    make_corridor_maps,
    make_dynamics_figures,
    make_maps,
    make_qgis_ready,
    make_static_maps,
    method_paragraphs,
    metropolitan_section,
    national_map_jobs,
    quadrant_columns_info,
    roads_from_graph,
    synthesis_html,
    write_atelier,
    write_departement_table,
    write_index,
    write_report,
)
from geoattract.outputs.geometry import main_town_codes
from geoattract.outputs.plan_section import (
    PLAN_INDEX_LABELS,
    PLAN_SECTION,
    PLAN_TITLE,
    plan_section,
    plan_tables,
)
from geoattract.outputs.state import StudyState
from geoattract.transition import load_connectivity, load_indicator_registry

logger = logging.getLogger(__name__)

#: French labels of the index page, by output file name (maps get theirs from the column).
INDEX_LABELS: dict[str, str] = {
    "atelier.html": "Atelier : poids des piliers et des indicateurs, classement et « pourquoi » "
    "de chaque commune (page autonome)",
    "report.html": "Rapport d'étude (HTML autonome)",
    "communes.gpkg": "Communes : indicateurs, scores et rangs (GeoPackage)",
    "isochrones.gpkg": "Isochrones de chaque commune (GeoPackage)",
    "territory.gpkg": "Territoire d'étude, zone tampon et mairies (GeoPackage)",
    "columns.csv": "Description des colonnes (CSV)",
    "departements.csv": "Indicateurs par département : moyennes pondérées par la population (CSV)",
    "epci.csv": "Scores par EPCI (CSV)",
    "afom.csv": "AFOM par commune (CSV)",
    "afom_epci.csv": "AFOM par EPCI (CSV)",
    "afom.json": "AFOM : phrases par commune (JSON)",
    "sensitivity.csv": "Analyse de sensibilité (indices de Sobol, CSV)",
    "run.json": "Résumé de l'exécution (JSON)",
    "run.log": "Journal de l'exécution (texte)",
    "metropoles_population.csv": "Population à portée des métropoles, par département et EPCI (CSV)",
    "rail_links.csv": "Liaisons ferroviaires : gare, pôle, train direct le plus rapide, marge de correspondance (transfer_min), source, url, millésime (CSV)",
    "fibre_epci.csv": "Fibre : locaux sans fibre par EPCI (CSV)",
    "static/corridor.png": "Carte imprimable — accès aux métropoles aujourd'hui",
    "demographie_territoires.csv": "Dynamique démographique : l'étude et les départements voisins (CSV)",
    "demographie_epci.csv": "Dynamique démographique par EPCI (CSV)",
    "demographie_points.csv": "Points forts et faibles face aux départements voisins (CSV)",
    "quadrants_epci.csv": "Offre et solde migratoire : communes et population par EPCI et quadrant (CSV)",
    "correlations_migration.csv": "Corrélations de rang entre scores et solde migratoire (CSV)",
    "gains_indicateurs.csv": "Indicateurs et gains migratoires : corrélations pondérées (CSV)",
    "static/demography_decomposition.png": "Figure — variation de la population et ses deux soldes",
    "static/demo_migration_rate_pct.png": "Carte imprimable — solde migratoire apparent",
    "static/quadrants.png": "Carte imprimable — offre et solde migratoire par profil",
    **PLAN_INDEX_LABELS,
}

#: Anchor of the report section on population dynamics.
DYNAMICS_SECTION: str = "dynamique"

#: Anchors of the report sections of the metropolitan reach and of broadband.
METRO_SECTION: str = "metropoles"
CONNECTIVITY_SECTION: str = "fibre"
CONNECTIVITY_TITLE: str = "Fibre et télétravail"

#: Columns of the metropolitan reach and broadband also drawn as interactive maps (when present).
INTERACTIVE_COLUMNS: tuple[str, ...] = (
    "time_metropole_best_min",
    "fibre_share_pct",
    "telework_index",
)

#: CSV tables of the scoring stage, by file name.
SCORE_TABLES: dict[str, str] = {
    "epci.csv": "epci",
    "afom.csv": "afom",
    "afom_epci.csv": "afom_epci",
    "sensitivity.csv": "sensitivity",
}


def configured_columns(cfg: StudyConfig, network: str = "") -> dict[str, tuple[str, str, str, str]]:
    """Column → (label, unit, definition, source) of the columns the study file describes.

    The metropolitan reach (``[poles]`` of the study file), broadband and the telework index
    (``[connectivity]``, ``[telework]`` of the indicator registry); empty when not configured.
    """
    out: dict[str, tuple[str, str, str, str]] = {}
    spec = MetroSpec.from_config(cfg)
    if spec is not None:
        out |= metro_columns_info(spec, network)
    connectivity, telework = (
        load_connectivity(cfg.config_file("indicators"))
        if cfg.has_config("indicators")
        else (None, None)
    )
    if connectivity is not None:
        out |= connectivity.columns_info()
    if telework is not None:
        out |= telework.columns_info()
    return out


#: Endings and beginnings of the configured columns left out of the comparison page (flags,
#: codes, details of the faster mode and of the technologies other than fibre).
COMPARE_SKIP_SUFFIXES: tuple[str, ...] = ("_missing", "_code", "_rail_min", "_share_pct")
COMPARE_SKIP_PREFIXES: tuple[str, ...] = ("rail_station_", "mode_", "nearest_metropole", "premises")
COMPARE_KEEP: tuple[str, ...] = ("fibre_share_pct",)


def compare_columns(columns: Mapping[str, tuple[str, str, str, str]]) -> list[str]:
    """The configured columns shown on the comparison page (see :data:`COMPARE_SKIP_SUFFIXES`)."""
    return [
        c
        for c in columns
        if c in COMPARE_KEEP
        or not (c.endswith(COMPARE_SKIP_SUFFIXES) or c.startswith(COMPARE_SKIP_PREFIXES))
    ]


def with_column_labels(labels: Labels, columns: Mapping[str, tuple[str, str, str, str]]) -> Labels:
    """Labels that also know the columns of :func:`configured_columns` (scoring labels win)."""
    extra = {
        c: IndicatorLabel(label, unit=unit, source=source)
        for c, (label, unit, _definition, source) in columns.items()
    }
    return replace(labels, indicators={**extra, **labels.indicators})


def report_context(state: StudyState) -> ReportContext:
    """Labels, network caption, sources and method text of a study, for maps and the report."""
    cfg = state.config
    scfg = state.scores.config
    registry = (
        load_indicator_registry(cfg.config_file("indicators"))
        if cfg.has_config("indicators")
        else None
    )
    labels = Labels.from_configs(scfg, state.offer.catalogue, registry)
    labels = with_column_labels(labels, configured_columns(cfg))
    method = method_paragraphs(
        scfg,
        labels,
        caption=state.network.caption,
        buffer_km=state.territory.buffer_m / 1000,
        draws=cfg.section("scoring").get("montecarlo_draws"),
    )
    report = state.offer.facilities.attrs.get("report")
    assumptions = [
        f"{labels.category(cid)} — {sentence}"
        for cid, sentences in (getattr(report, "adjustments_fr", {}) or {}).items()
        for sentence in sentences
    ]
    demography = state.demography
    demo = demography_method_paragraphs(
        demography.source if demography is not None and demography.available else None,
        state.dynamics,
    )
    method = (*method, *assumptions, *demo)
    return ReportContext.build(
        cfg.name,
        labels=labels,
        caption=state.network.caption,
        sources=cfg.raw.get("sources", []),
        method=method,
    )


def run_metadata(state: StudyState) -> dict[str, Any]:
    """What a run used, as JSON values: study, network, snapping rule, territory findings."""
    cfg = state.config
    net = state.network
    rule = net.snap_rule
    report = state.territory.report
    return {
        "study": cfg.name,
        "config": str(cfg.path),
        "geoattract_version": __version__,
        "departements": list(state.territory.departements),
        "buffer_km": state.territory.buffer_m / 1000,
        "study_communes": len(state.territory.study),
        "buffer_communes": len(state.territory.communes) - len(state.territory.study),
        "network": {
            "source": net.caption.source,
            "kind": net.caption.kind,
            "vintage": net.caption.vintage,
            "schematic": net.caption.schematic,
            "caption": net.caption.text_fr,
            "nodes": net.summary["nodes"],
            "edges": net.summary["edges"],
            "snap_max_distance_m": rule.max_distance_m,
            "snap_speed_kph": rule.speed_kph,
            "snap_detour": rule.detour,
        },
        "territory_report": {k: v for k, v in vars(report).items() if v},
        "vintage_adjustments": dict(
            getattr(state.offer.facilities.attrs.get("report"), "adjustments", {}) or {}
        ),
        "sources": [dict(s) for s in cfg.raw.get("sources", [])],
    }


def _gpkg_metadata(meta: Mapping[str, Any]) -> dict[str, str]:
    """Flatten the run metadata into the key/value ``metadata`` table of a GeoPackage."""
    out: dict[str, str] = {}
    for key, value in meta.items():
        if isinstance(value, Mapping):
            for k, v in value.items():
                out[f"{key}.{k}"] = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        else:
            out[key] = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return out


def national_scale(config: StudyConfig) -> bool:
    """Whether a study runs at national scale (its accessibility cut into partitions)."""
    return bool(config.section("partitions").get("enabled"))


@dataclass
class PrintedFigures:
    """The printed figures of a run being drawn by worker processes, and their future paths.

    Attributes
    ----------
    rendering : FigureRendering
        The workers (:meth:`FigureRendering.finish` writes the files).
    paths : dict
        Kind (``static``, ``corridor``, ``dynamics``) → figure name → path.
    basemap : Basemap or None
        The basemap the maps are drawn on (None: no maps).
    communes, context : GeoDataFrame, ReportContext
        The communes layer and the report context the figures were drawn from (neither
        depends on the action plan): the other outputs use the same.
    """

    rendering: FigureRendering
    paths: dict[str, dict[str, Path]]
    basemap: Basemap | None
    communes: gpd.GeoDataFrame
    context: ReportContext

    def close(self) -> None:
        """Stop the workers (a run that fails before its outputs)."""
        self.rendering.close()


def start_figures(state: StudyState, staging: Path, *, maps: bool = True) -> PrintedFigures:
    """Queue every printed figure of the run and start drawing them in worker processes.

    The figures need only the scores, the accessibility and the population dynamics: the
    pipeline starts them before its action plan, so that they are drawn while the plan is
    evaluated and the other outputs written (:func:`write_outputs`).
    """
    communes = state.communes_layer()
    context = report_context(state)
    basemap = (
        make_basemap(state.territory.communes, roads_from_graph(state.network.graph))
        if maps and not national_scale(state.config)
        else None
    )
    rendering = FigureRendering()
    paths = _queue_figures(state, communes, context, staging, rendering, basemap, maps)
    rendering.start()
    return PrintedFigures(rendering, paths, basemap, communes, context)


def write_outputs(
    state: StudyState,
    staging: Path,
    isochrone_codes: Sequence[str],
    timings: Mapping[str, float],
    *,
    maps: bool = True,
    departements: Sequence[str] = (),
    figures: PrintedFigures | None = None,
) -> dict[str, Path]:
    """Write every output of a study into ``staging``.

    Parameters
    ----------
    state : StudyState
        The typed stage results.
    staging : Path
        The staging folder.
    isochrone_codes : sequence of str
        Communes whose isochrones the maps show.
    timings : mapping
        Stage timings recorded in ``run.json``.
    maps : bool
        Draw the maps and the report (False: GeoPackages, tables and the index only).
    departements : sequence of str
        A study at national scale (``[partitions] enabled``): the départements whose
        interactive map is drawn.
    figures : PrintedFigures, optional
        The printed figures, already being drawn (:func:`start_figures`, called by the
        pipeline before its last stages); started here when not given.

    Returns
    -------
    dict
        Output name (relative path) → staged path.
    """
    files: dict[str, Path] = {}
    printing = figures if figures is not None else start_figures(state, staging, maps=maps)
    communes, context = printing.communes, printing.context
    meta = run_metadata(state)
    national = national_scale(state.config)
    basemap = printing.basemap
    printed = printing.paths
    with printing.rendering as figures_:
        # the printed maps are drawn by worker processes while this one writes the rest
        files.update(_write_layers(state, communes, context, meta, staging, isochrone_codes))
        files.update(_write_tables(state, staging))
        if national:
            # no map of every commune nor report listing them: what scales to France
            files.update(write_departement_table(communes, staging))
            if departements:
                files.update(departement_maps(communes, departements, context, staging))
        elif basemap is not None:
            files.update(_write_pages(state, communes, context, staging, isochrone_codes, basemap))
        figures_.finish()
    for group in printed.values():
        files.update({f"static/{key}.png": path for key, path in group.items()})
    if basemap is not None:
        files["report.html"] = _write_report(state, communes, context, staging, printed)
    manifest = {
        "study": state.config.name,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": sorted([*files, "index.html", "run.json", "run.log"]),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "metadata": meta,
    }
    files["run.json"] = write_text_atomic(
        staging / "run.json", json.dumps(manifest, indent=2, ensure_ascii=False)
    )
    first: dict[str, Path] = {k: files[k] for k in ("atelier.html", "report.html") if k in files}
    linked = {**first, **files, "run.log": staging / "run.log"}
    files["index.html"] = write_index(staging, _index_labels(linked, context), context)
    return files


def _write_layers(
    state: StudyState,
    communes: gpd.GeoDataFrame,
    context: ReportContext,
    meta: Mapping[str, Any],
    staging: Path,
    isochrone_codes: Sequence[str] = (),
) -> dict[str, Path]:
    metro = state.accessibility.metropolitan
    network = metro.network_source if metro is not None else ""
    extra = configured_columns(state.config, network)
    if state.demography is not None:
        extra |= state.demography.columns_info()
        src = state.demography.source
        extra |= quadrant_columns_info(
            state.dynamics, context.labels, src.source_text if src is not None else ""
        )
    columns = columns_table(
        list(communes.columns), context.labels, caption=state.network.caption, extra=extra
    )
    gmeta = _gpkg_metadata(meta)
    halls = state.territory.town_halls
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {
        "communes": communes,
        "facilities": state.offer.facilities,
        "town_halls": halls[halls["in_study"]],
        "columns": columns,
    }
    # French aliases and default styles for QGIS, added before each file is renamed into place
    qgis = partial(
        make_qgis_ready,
        labels=context.labels,
        caption=state.network.caption,
        extra=extra,
        isochrone_codes=list(isochrone_codes) or main_town_codes(communes),
    )

    def gpkg(name: str, frames: dict[str, gpd.GeoDataFrame | pd.DataFrame]) -> Path:
        finish = partial(qgis, layers=frames)
        return write_gpkg_atomic(staging / name, frames, metadata=gmeta, finish=finish)

    out = {
        "communes.gpkg": gpkg("communes.gpkg", layers),
        "columns.csv": write_text_atomic(staging / "columns.csv", columns.to_csv(index=False)),
    }
    territory = state.territory.communes.drop(columns=["town_hall"])
    out["territory.gpkg"] = gpkg("territory.gpkg", {"territory": territory, "town_halls": halls})
    if state.isochrones is not None:
        out["isochrones.gpkg"] = gpkg("isochrones.gpkg", {"isochrones": state.isochrones})
    return out


def _write_tables(state: StudyState, staging: Path) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for name, attr in SCORE_TABLES.items():
        table = getattr(state.scores, attr)
        out[name] = write_text_atomic(staging / name, table.to_csv(index=False))
    out["afom.json"] = write_text_atomic(
        staging / "afom.json",
        json.dumps(state.scores.afom_sentences, indent=1, ensure_ascii=False),
    )
    metro = state.accessibility.metropolitan
    if metro is not None:
        tables = {
            "metropoles_population.csv": metro.population,
            "rail_links.csv": metro.link_table(),
        }
        for name, sc in metro.scenarios.items():
            tables[f"scenario_{name}_communes.csv"] = sc.changes
            tables[f"scenario_{name}_epci.csv"] = sc.epci
        for name, frame in tables.items():
            out[name] = write_text_atomic(staging / name, frame.to_csv(index=False))
    out.update(_write_dynamics_tables(state, staging))
    connectivity = state.transition.connectivity
    if connectivity is not None:
        out["fibre_epci.csv"] = write_text_atomic(
            staging / "fibre_epci.csv", connectivity.epci.to_csv(index=False)
        )
    if state.plan is not None:
        for name, frame in plan_tables(state.plan).items():
            out[name] = write_text_atomic(staging / name, frame.to_csv(index=False))
    return out


def _write_dynamics_tables(state: StudyState, staging: Path) -> dict[str, Path]:
    """Tables of the population dynamics and of the offer against them (none without)."""
    demo, dyn = state.demography, state.dynamics
    tables: dict[str, pd.DataFrame] = {}
    if demo is not None and demo.available:
        tables["demographie_territoires.csv"] = demo.territories.reset_index()
        tables["demographie_epci.csv"] = demo.epci
        tables["demographie_points.csv"] = demo.points
    if dyn is not None:
        tables["quadrants_epci.csv"] = dyn.counts.rename(columns={"group": "epci_nom"})
        tables["correlations_migration.csv"] = dyn.correlations
        tables["gains_indicateurs.csv"] = dyn.associations
    return {
        name: write_text_atomic(staging / name, frame.to_csv(index=False))
        for name, frame in tables.items()
    }


def _queue_figures(
    state: StudyState,
    communes: gpd.GeoDataFrame,
    context: ReportContext,
    staging: Path,
    figures: FigureRendering,
    basemap: Basemap | None,
    maps: bool,
) -> dict[str, dict[str, Path]]:
    """Queue every printed figure of the run; return their future paths, by kind."""
    static_dir = staging / "static"
    if not maps:
        return {}
    if national_scale(state.config):
        return {"static": figures.add(national_map_jobs(communes, context, staging))}
    metro = state.accessibility.metropolitan
    return {
        "static": make_static_maps(
            communes, context, static_dir, basemap=basemap, rendering=figures
        ),
        "corridor": (
            make_corridor_maps(metro, context, static_dir, rendering=figures)
            if metro is not None
            else {}
        ),
        "dynamics": make_dynamics_figures(
            communes,
            state.demography,
            state.dynamics,
            context,
            static_dir,
            basemap=basemap,
            rendering=figures,
        ),
    }


def _write_report(
    state: StudyState,
    communes: gpd.GeoDataFrame,
    context: ReportContext,
    staging: Path,
    printed: Mapping[str, Mapping[str, Path]],
) -> Path:
    """The report, its printed figures written."""
    sections = []
    metro = state.accessibility.metropolitan
    if metro is not None:
        corridor = printed.get("corridor", {})
        sections.append((METRO_SECTION, metro.spec.title, metropolitan_section(metro, corridor)))
    transition = state.transition
    if transition.connectivity is not None or transition.telework is not None:
        html = connectivity_section(transition.connectivity, transition.telework, communes)
        sections.append((CONNECTIVITY_SECTION, CONNECTIVITY_TITLE, html))
    if state.plan is not None:
        sections.append((PLAN_SECTION, PLAN_TITLE, plan_section(state.plan, context.labels)))
    synthesis = synthesis_html(
        state.demography,
        communes,
        context.labels,
        dynamics=state.dynamics,
        epci=state.scores.epci,
        metro=state.accessibility.metropolitan,
        scoring_config=state.scores.config,
    )
    dynamics = printed.get("dynamics", {})
    front = [
        (
            DYNAMICS_SECTION,
            DYNAMICS_TITLE,
            dynamics_section(state.demography, state.dynamics, context.labels, dynamics),
        )
    ]
    return write_report(
        staging,
        communes,
        context,
        synthesis=synthesis,
        front_sections=front,
        epci_table=state.scores.epci,
        afom=state.scores.afom_sentences,
        sensitivity=state.scores.sensitivity,
        static_maps=printed.get("static", {}),
        catchment_sensitivity=state.accessibility.sensitivity,
        sections=sections,
        profile_indicators=weighed_indicators(state.scores.config),
    )


def _write_pages(
    state: StudyState,
    communes: gpd.GeoDataFrame,
    context: ReportContext,
    staging: Path,
    isochrone_codes: Sequence[str],
    basemap: Basemap,
) -> dict[str, Path]:
    """The atelier page and the interactive maps."""
    maps_cfg = state.config.section("maps")
    out = {
        "atelier.html": write_atelier(
            staging,
            communes,
            state.scores.indicators,
            state.scores.config,
            study=state.config.name,
            context=context,
            afom=state.scores.afom,
            basemap=basemap,
        )
    }
    maps = make_maps(
        communes,
        context,
        staging,
        isochrones=state.isochrones,
        facilities=state.offer.facilities,
        basemap=basemap,
        isochrone_codes=list(isochrone_codes) or None,
        tiles=maps_cfg.get("tiles"),
        choropleths=bool(maps_cfg.get("separate_maps")),
    )
    out.update({f"{key}.html": path for key, path in maps.items()})
    extra = [c for c in INTERACTIVE_COLUMNS if c in communes.columns]
    if extra:
        more = make_maps(
            communes, context, staging, basemap=basemap, columns=extra, tiles=maps_cfg.get("tiles")
        )
        out.update({f"{key}.html": path for key, path in more.items()})
    return out


def weighed_indicators(config: Any) -> dict[str, list[str]]:
    """Profile → the indicator columns its score weighs (positive weight, in a weighed pillar)."""
    out: dict[str, list[str]] = {}
    for profile in config.profiles:
        ind_w, pil_w = config.profile_weights(profile)
        out[profile] = [
            c
            for c, spec in config.indicators.items()
            if ind_w.get(c, 0.0) > 0 and pil_w.get(spec["pillar"], 0.0) > 0
        ]
    return out


def _index_labels(files: Mapping[str, Path], context: ReportContext) -> dict[str, Path]:
    labels: dict[str, Path] = {}
    column = context.labels.column
    for name, path in files.items():
        if name in INDEX_LABELS:
            label = INDEX_LABELS[name]
        elif name.startswith("static/corridor_"):
            label = f"Carte imprimable — accès aux métropoles, scénario {Path(name).stem[9:]}"
        elif name.startswith("scenario_") and name.endswith(".csv"):
            scenario, _, level = Path(name).stem[9:].rpartition("_")
            label = f"Scénario {scenario} : changements par {level.replace('communes', 'commune')} (CSV)"
        elif name.startswith("static/"):
            label = f"Carte imprimable — {column(Path(name).stem)}"
        elif name.endswith(".html"):
            stem = Path(name).stem
            label = "Carte — isochrones" if stem == "isochrones" else f"Carte — {column(stem)}"
        else:
            label = name
        labels[label] = path
    return labels
