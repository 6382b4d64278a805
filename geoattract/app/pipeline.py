"""The main job: run every stage of a study and write its outputs.

:func:`run_study` chains the stages (territory → network → facilities → accessibility →
transition → scoring → maps and report). Each stage is a plain function of the previous
results; the runner only times them, shows one progress bar per stage when ``verbose`` and
writes the outputs.

Outputs are staged in a temporary folder inside the output folder and moved into place
only once every stage has succeeded, each file with an atomic :func:`os.replace`: a failed or
interrupted run leaves the previous outputs intact and readable.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from tqdm.auto import tqdm

from geoattract._util.io import write_gpkg_atomic, write_text_atomic
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import ConfigError
from geoattract.territory.load import load_territory

__all__ = ["StudyResult", "run_study"]

logger = logging.getLogger(__name__)

#: Caption carried by every output made on the schematic network.
SCHEMATIC_NOTE = (
    "Réseau routier schématique, construit à partir des limites communales (aucune donnée "
    "OpenStreetMap disponible hors ligne) : temps de trajet indicatifs. / Schematic road network "
    "built from commune geometry: travel times are indicative."
)

#: Prefix of the staging folder created inside the output folder during a run.
STAGING_PREFIX = ".staging-"


@dataclass
class StudyResult:
    """Everything a run produced, for scripts and tests.

    Attributes
    ----------
    config : StudyConfig
    out_dir : Path
        Folder the outputs were written to.
    files : dict
        Output label → path.
    timings : dict
        Stage name → seconds.
    data : dict
        Stage outputs kept in memory (``territory``, ``graph``, ``communes``…).
    """

    config: StudyConfig
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def timing_summary(self) -> str:
        """A small table of stage durations."""
        width = max((len(k) for k in self.timings), default=5)
        lines = [f"{name:<{width}}  {secs:8.2f} s" for name, secs in self.timings.items()]
        lines.append(f"{'total':<{width}}  {sum(self.timings.values()):8.2f} s")
        return "\n".join(lines)


Stage = Callable[["_Context"], None]


@dataclass
class _Context:
    config: StudyConfig
    staging: Path
    verbose: bool
    data: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)


def _stage_territory(ctx: _Context) -> None:
    terr = load_territory(ctx.config)
    ctx.data["territory"] = terr
    study = terr[terr["in_study"]].copy()
    ctx.data["communes"] = study
    ctx.metadata.update(
        {
            "study": ctx.config.name,
            "name": ctx.config.name,
            "sources": json.dumps(ctx.config.raw.get("sources", []), ensure_ascii=False),
            "departement": ctx.config.departement,
            "buffer_km": str(ctx.config.buffer_m / 1000),
            "territory_report": terr.attrs["report"].summary(),
        }
    )


def _network_source(cfg: StudyConfig) -> str:
    source = str(cfg.section("network").get("source", "schematic"))
    if source.lower() in ("schematic", "online"):
        return source.lower()
    path = Path(source)
    return str(path if path.is_absolute() else cfg.data_dir / path)


def _stage_network(ctx: _Context) -> None:
    from geoattract.network.graph import graph_summary, load_graph

    source = _network_source(ctx.config)
    terr = ctx.data["territory"]
    polygon = shapely.union_all(terr.geometry.values) if source != "schematic" else None
    G = load_graph(source, territory=terr, polygon=polygon)
    ctx.data["graph"] = G
    summary = graph_summary(G)
    ctx.data["network_summary"] = summary
    schematic = bool(G.graph.get("schematic", False))
    ctx.metadata.update(
        {
            "network_source": str(G.graph.get("source", source)),
            "network_source_date": str(G.graph.get("source_date", "")),
            "schematic": str(schematic),
            "network_nodes": str(G.number_of_nodes()),
            "network_edges": str(G.number_of_edges()),
        }
    )
    if schematic:
        ctx.metadata["schematic_note"] = SCHEMATIC_NOTE
        logger.warning("road network: SCHEMATIC (built from commune geometry): %s", SCHEMATIC_NOTE)
    else:
        logger.info("road network: %s (%s)", G.graph.get("source"), G.graph.get("source_date"))


def _stage_facilities(ctx: _Context) -> None:
    from geoattract.facilities.catalogue import housing_table, load_catalogue, load_facilities

    catalogue = load_catalogue(ctx.config.config_file("catalogue"), data_dir=ctx.config.data_dir)
    fac = load_facilities(
        ctx.data["territory"], catalogue, ctx.config.data_dir, verbose=ctx.verbose
    )
    ctx.data["catalogue"] = catalogue
    ctx.data["facilities"] = fac
    ctx.data["housing"] = housing_table(ctx.data["territory"], ctx.config.data_dir)


def _snap_params(ctx: _Context) -> dict[str, float | None]:
    net = ctx.config.section("network")
    if ctx.data["graph"].graph.get("schematic"):
        return {
            "max_snap_m": net.get("schematic_snap_max_distance_m"),
            "snap_speed_kph": net.get("schematic_snap_speed_kph"),
        }
    return {
        "max_snap_m": net.get("snap_max_distance_m"),
        "snap_speed_kph": net.get("snap_speed_kph"),
    }


def _stage_accessibility(ctx: _Context) -> None:
    from geoattract.accessibility.metrics import (
        category_accessibility,
        housing_accessibility,
        prepare_inputs,
    )

    inputs = prepare_inputs(
        ctx.data["graph"],
        ctx.data["territory"],
        ctx.data["facilities"],
        ctx.data["catalogue"],
        **_snap_params(ctx),
    )
    ctx.data["inputs"] = inputs
    acc = category_accessibility(inputs, verbose=ctx.verbose)
    threshold = ctx.config.section("accessibility")["housing_threshold_min"]
    housing = housing_accessibility(inputs, ctx.data["housing"], threshold_min=threshold)
    snap = inputs.communes.loc[acc.index, ["snap_m", "snap_s", "too_far"]].rename(
        columns={
            "snap_m": "town_hall_snap_m",
            "snap_s": "town_hall_snap_s",
            "too_far": "town_hall_unsnapped",
        }
    )
    ctx.data["accessibility"] = pd.concat([snap, acc, housing], axis=1)


def _stage_isochrones(ctx: _Context) -> None:
    from geoattract.routing.isochrones import isochrones_for_communes

    iso = isochrones_for_communes(
        ctx.data["graph"],
        ctx.data["territory"],
        minutes=ctx.config.thresholds_min,
        rg=ctx.data["inputs"].rg,
        verbose=ctx.verbose,
    )
    ctx.data["isochrones"] = iso
    path = ctx.staging / "isochrones.gpkg"
    write_gpkg_atomic(path, {"isochrones": iso}, metadata=ctx.metadata)
    ctx.files["isochrones.gpkg"] = path


def _stage_transition(ctx: _Context) -> None:
    from geoattract.transition.indicators import (
        ev_charging_points,
        network_indicators,
        train_stations,
        transition_indicators,
    )

    cfg = ctx.config
    tr = transition_indicators(
        ctx.data["territory"], cfg.config_file("indicators"), cfg.data_dir, verbose=ctx.verbose
    )
    section = cfg.section("transition")
    params = {
        "ev_threshold_min": section["ev_threshold_min"],
        "rail_catchment_min": section["rail_catchment_min"],
    }
    ev = ev_charging_points(cfg.data_dir, communes=ctx.data["territory"])
    stations = train_stations(cfg.data_dir)
    ctx.data.update(ev_points=ev, stations=stations, transition_params=params)
    net = network_indicators(ctx.data["inputs"], ev, stations, **params)
    ctx.data["transition"] = pd.concat([tr.drop(columns=["code"], errors="ignore"), net], axis=1)


def _stage_scoring(ctx: _Context) -> None:
    from geoattract.scoring.afom import afom_epci, afom_sentences, afom_table
    from geoattract.scoring.core import (
        epci_scores,
        load_scoring_config,
        monte_carlo_all_profiles,
        score_all_profiles,
        sensitivity,
    )

    scfg = load_scoring_config(ctx.config.config_file("scoring"))
    ctx.data["scoring_config"] = scfg
    communes = ctx.data["communes"]
    base = communes[["code", "nom", "population", "epci", "epci_nom"]]
    indicators = pd.concat([base, ctx.data["accessibility"], ctx.data["transition"]], axis=1)
    ctx.data["indicators"] = indicators
    section = ctx.config.section("scoring")
    scores = score_all_profiles(indicators, scfg)
    mc = monte_carlo_all_profiles(
        indicators, scfg, n=section.get("montecarlo_draws"), seed=section.get("seed")
    )
    ctx.data["scores"] = pd.concat([scores, mc], axis=1)
    sens = [
        sensitivity(
            indicators, scfg, profile, n=section.get("sensitivity_draws"), seed=section.get("seed")
        )
        .rename_axis("input")
        .reset_index()
        .assign(profile=profile)
        for profile in scfg.profiles
    ]
    ctx.data["sensitivity"] = pd.concat(sens, ignore_index=True)
    table = pd.concat([indicators, ctx.data["scores"]], axis=1)
    # rank intervals do not aggregate (a mean of commune quantiles is no EPCI quantile): the
    # EPCI table carries scores, ranks and pillars only
    columns = [
        c
        for c in table.columns
        if c.startswith(("score_", "pillar_")) and not c.endswith(("_p05", "_median", "_p95"))
    ]
    epci = epci_scores(table, columns=columns)
    terr = ctx.data["territory"]
    outside = terr.loc[~terr["in_study"] & terr["epci"].notna(), "epci"]
    epci["partial"] = epci["epci"].isin(set(outside))  # EPCI straddling the département
    ctx.data["epci"] = epci
    afom = afom_table(indicators, scfg)
    ctx.data["afom"] = afom
    ctx.data["afom_epci"] = afom_epci(indicators, scfg)
    ctx.data["afom_sentences"] = afom_sentences(afom)


def _meta(ctx: _Context) -> Any:
    """Context the maps and the report show: study, labels, network caption, sources, method."""
    from types import SimpleNamespace

    from geoattract.outputs import Labels, ReportContext, method_paragraphs
    from geoattract.transition.indicators import load_indicator_registry

    G = ctx.data.get("graph")
    schematic = bool(G.graph.get("schematic")) if G is not None else False
    source = str(G.graph.get("source", "")) if G is not None else ""
    vintage = str(G.graph.get("source_date", "")) if G is not None else ""
    # stand-in for network.NetworkCaption (same attributes) until the network stage has it
    caption = SimpleNamespace(
        text_fr=SCHEMATIC_NOTE.split(" / ")[0]
        if schematic
        else f"Réseau routier : {source} ({vintage}).",
        schematic=schematic,
        source=source,
        vintage=vintage,
    )
    scfg = ctx.data.get("scoring_config")
    labels = Labels.from_configs(
        scfg,
        ctx.data.get("catalogue"),
        load_indicator_registry(ctx.config.config_file("indicators")),
    )
    method = method_paragraphs(
        scfg,
        labels,
        caption=caption,
        buffer_km=ctx.config.buffer_m / 1000,
        draws=ctx.config.section("scoring").get("montecarlo_draws"),
    )
    return ReportContext.build(
        ctx.config.name,
        labels=labels,
        caption=caption,
        sources=ctx.config.raw.get("sources", []),
        method=method,
    )


def _stage_maps(ctx: _Context) -> None:
    from geoattract.outputs import (
        make_basemap,
        make_maps,
        make_static_maps,
        roads_from_graph,
        write_report,
    )

    communes = ctx.data["communes_out"]
    context = _meta(ctx)
    ctx.data["context"] = context
    G = ctx.data.get("graph")
    basemap = make_basemap(ctx.data["territory"], roads_from_graph(G) if G is not None else None)
    codes = ctx.data.get("isochrone_codes") or ctx.config.section("maps").get("isochrone_communes")
    if codes:
        from geoattract.app.commands import resolve_codes

        codes = resolve_codes(codes, communes)
    maps = make_maps(
        communes,
        context,
        ctx.staging,
        isochrones=ctx.data.get("isochrones"),
        facilities=ctx.data.get("facilities"),
        basemap=basemap,
        isochrone_codes=codes,
        tiles=ctx.config.section("maps").get("tiles"),
        verbose=ctx.verbose,
    )
    for key, path in maps.items():
        ctx.files[f"{key}.html"] = path
    static = make_static_maps(
        communes, context, ctx.staging / "static", basemap=basemap, verbose=ctx.verbose
    )
    for key, path in static.items():
        ctx.files[f"static/{key}.png"] = path
    report = write_report(
        ctx.staging,
        communes,
        context,
        epci_table=ctx.data.get("epci"),
        afom=ctx.data.get("afom_sentences"),
        sensitivity=ctx.data.get("sensitivity"),
        static_maps=static,
    )
    ctx.files["report.html"] = report


#: French labels of the index page, by output file name (maps get theirs from the column).
INDEX_LABELS = {
    "report.html": "Rapport d'étude (HTML autonome)",
    "communes.gpkg": "Communes : indicateurs, scores et rangs (GeoPackage, couche communes)",
    "isochrones.gpkg": "Isochrones 10/20/30 min de chaque commune (GeoPackage)",
    "territory.gpkg": "Territoire d'étude et zone tampon (GeoPackage)",
    "epci.csv": "Scores par EPCI (CSV)",
    "afom.csv": "AFOM par commune (CSV)",
    "afom_epci.csv": "AFOM par EPCI (CSV)",
    "afom.json": "AFOM : phrases par commune (JSON)",
    "sensitivity.csv": "Analyse de sensibilité (indices de Sobol, CSV)",
    "run.json": "Résumé de l'exécution (JSON)",
}


def _stage_index(ctx: _Context) -> None:
    from geoattract.outputs import write_index

    context = ctx.data.get("context") or _meta(ctx)
    column_label = context.labels.column

    summary = {
        "study": ctx.config.name,
        "files": sorted(p.relative_to(ctx.staging).as_posix() for p in ctx.files.values())
        + ["index.html", "run.json"],
        "metadata": ctx.metadata,
    }
    path = ctx.staging / "run.json"
    write_text_atomic(path, json.dumps(summary, indent=2, ensure_ascii=False))
    ctx.files["run.json"] = path
    labels = {}
    for name, p in ctx.files.items():
        if name.endswith(".html") and name not in INDEX_LABELS:
            stem = Path(name).stem
            label = (
                "Carte — isochrones" if stem == "isochrones" else f"Carte — {column_label(stem)}"
            )
        elif name.startswith("static/"):
            label = f"Carte imprimable — {column_label(Path(name).stem)}"
        else:
            label = INDEX_LABELS.get(name, name)
        labels[label] = p
    ctx.files["index.html"] = write_index(ctx.staging, labels, context)


#: Strengths and weaknesses listed per commune in the map tooltips.
AFOM_TOOLTIP_ITEMS = 3


def _afom_summary(afom: pd.DataFrame, codes: pd.Series) -> pd.DataFrame:
    """``afom_atouts`` / ``afom_faiblesses``: the strongest findings per commune, as short text.

    The AFOM table is sorted by strength within each commune and kind, so the first rows are
    the most striking.
    """
    out = pd.DataFrame(index=codes.index)
    for kind, col in (("atout", "afom_atouts"), ("faiblesse", "afom_faiblesses")):
        rows = afom[afom["kind"] == kind]
        top = rows.groupby("code", sort=False)["label"].apply(
            lambda s: " ; ".join(s.head(AFOM_TOOLTIP_ITEMS))
        )
        out[col] = codes.map(top).fillna("")
    return out


def _stage_write(ctx: _Context) -> None:
    communes = ctx.data["communes"]
    parts = [communes.drop(columns=["town_hall"])]
    for key in ("accessibility", "transition", "scores"):
        if key in ctx.data:
            parts.append(ctx.data[key].drop(columns=[c for c in ("code",) if c in ctx.data[key]]))
    table = pd.concat(parts, axis=1)
    if "afom" in ctx.data:
        table = pd.concat([table, _afom_summary(ctx.data["afom"], table["code"])], axis=1)
    table = gpd.GeoDataFrame(table, geometry="geometry", crs=communes.crs)
    ctx.data["communes_out"] = table
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame] = {"communes": _gpkg_ready(table)}
    if "facilities" in ctx.data:
        layers["facilities"] = _gpkg_ready(ctx.data["facilities"])
    path = ctx.staging / "communes.gpkg"
    write_gpkg_atomic(path, layers, metadata=ctx.metadata)
    ctx.files["communes.gpkg"] = path
    terr = _gpkg_ready(ctx.data["territory"])
    path = ctx.staging / "territory.gpkg"
    write_gpkg_atomic(path, {"territory": terr}, metadata=ctx.metadata)
    ctx.files["territory.gpkg"] = path
    for key, name in (
        ("epci", "epci.csv"),
        ("afom", "afom.csv"),
        ("afom_epci", "afom_epci.csv"),
        ("sensitivity", "sensitivity.csv"),
    ):
        if key in ctx.data:
            path = ctx.staging / name
            write_text_atomic(path, ctx.data[key].to_csv(index=False))
            ctx.files[name] = path
    if "afom_sentences" in ctx.data:
        path = ctx.staging / "afom.json"
        write_text_atomic(
            path, json.dumps(ctx.data["afom_sentences"], indent=1, ensure_ascii=False)
        )
        ctx.files["afom.json"] = path


def _gpkg_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drop or convert columns a GeoPackage cannot hold (extra geometry columns → WKT)."""
    out = gdf.copy()
    for col in out.columns:
        if col != out.geometry.name and isinstance(out[col], gpd.GeoSeries):
            out[col] = out[col].to_wkt()
    return out


#: The stages of :func:`run_study`, in order.
STAGES: list[tuple[str, Stage]] = [
    ("territory", _stage_territory),
    ("network", _stage_network),
    ("facilities", _stage_facilities),
    ("accessibility", _stage_accessibility),
    ("isochrones", _stage_isochrones),
    ("transition", _stage_transition),
    ("scoring", _stage_scoring),
    ("write", _stage_write),
    ("maps", _stage_maps),
    ("index", _stage_index),
]


def run_study(
    config: StudyConfig | str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    verbose: bool = False,
    skip: Iterable[str] = (),
    publish: bool = True,
    isochrone_codes: Sequence[str] | None = None,
) -> StudyResult:
    """Run the whole study pipeline and write its outputs.

    Parameters
    ----------
    config : StudyConfig or path-like, optional
        Study configuration or its TOML file; defaults to Lot-et-Garonne.
    data_dir : path-like, optional
        Data folder override.
    out_dir : path-like, optional
        Output folder; defaults to the configuration's ``study.output_dir`` (``maps/``).
    verbose : bool
        Show one progress bar per stage.
    skip : iterable of str
        Stages to leave out (e.g. ``("isochrones", "maps")`` for a quick scenario base);
        later stages that need their outputs skip the missing parts.
    publish : bool
        Move the outputs into ``out_dir`` (False keeps results in memory only).
    isochrone_codes : sequence of str, optional
        Communes whose isochrones the maps show (default ``[maps] isochrone_communes``, else
        the most populous communes).

    Returns
    -------
    StudyResult
    """
    cfg = (
        config if isinstance(config, StudyConfig) else load_study_config(config, data_dir=data_dir)
    )
    out = Path(out_dir) if out_dir is not None else Path(cfg.study["output_dir"])
    if publish:
        out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=out if publish else None))
    ctx = _Context(config=cfg, staging=staging, verbose=verbose)
    if isochrone_codes:
        ctx.data["isochrone_codes"] = list(isochrone_codes)
    result = StudyResult(config=cfg, out_dir=out)
    try:
        skipped = set(skip)
        unknown = skipped - {name for name, _ in STAGES}
        if unknown:
            raise ConfigError(
                f"run_study: unknown stage(s) {sorted(unknown)}; stages: {[n for n, _ in STAGES]}"
            )
        stages = [(n, f) for n, f in STAGES if n not in skipped]
        bar = tqdm(stages, desc="geoattract run", unit="stage", disable=not verbose)
        for name, stage in bar:
            bar.set_postfix_str(name)
            t0 = time.perf_counter()
            stage(ctx)
            result.timings[name] = time.perf_counter() - t0
            logger.info("stage %s done in %.2f s", name, result.timings[name])
        if publish:
            result.files = _publish(ctx.files, staging, out)
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    result.data = ctx.data
    return result


def _previous_outputs(out: Path) -> set[str]:
    """Relative paths the previous run wrote, from its ``run.json`` manifest (empty if none)."""
    try:
        files = json.loads((out / "run.json").read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {
        f
        for f in files
        if isinstance(f, str) and ".." not in Path(f).parts and not Path(f).is_absolute()
    }


def _publish(files: dict[str, Path], staging: Path, out: Path) -> dict[str, Path]:
    """Move staged files into the output folder, each with an atomic rename.

    Files the previous run listed in its ``run.json`` manifest and this run did not produce
    are removed afterwards, so a re-run replaces the outputs cleanly; files the user put in
    the folder are never touched.
    """
    previous = _previous_outputs(out)
    published: dict[str, Path] = {}
    for label, path in files.items():
        rel = path.relative_to(staging)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        published[label] = target
    current = {p.relative_to(out).as_posix() for p in published.values()}
    for stale in sorted(previous - current):
        with contextlib.suppress(FileNotFoundError):
            (out / stale).unlink()
            logger.info("removed %s, left by the previous run and no longer produced", stale)
    return published
