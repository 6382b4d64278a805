"""Study territory: communes of the study département and their buffer zone.

:func:`load_territory` reads the commune polygons, the town-hall points, the legal population
and the EPCI table named in the study configuration, validates them, and returns one
GeoDataFrame in Lambert-93 (EPSG:2154), one row per commune: the study communes
(``in_study = True``) and the neighbouring communes within the buffer distance
(``in_study = False``), whose facilities count for accessibility because access does not stop
at the border.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract._util.io import read_csv, read_vector
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.config.territory import TerritorySpec
from geoattract.errors import ConfigError, DataError, format_values
from geoattract.territory.check import study_departements, study_rows
from geoattract.territory.report import TERRITORY_COLUMNS, TerritoryReport
from geoattract.territory.select import departements_within, national_territory

logger = logging.getLogger(__name__)


def validate_communes(
    communes: gpd.GeoDataFrame,
    source: str | os.PathLike = "<communes>",
    report: TerritoryReport | None = None,
) -> gpd.GeoDataFrame:
    """Validate commune polygons: CRS present, unique codes, valid polygonal geometries.

    Invalid geometries are repaired with :func:`shapely.make_valid` (keeping the polygonal
    part) and reported; a geometry that is empty or not polygonal after repair is an error.

    Parameters
    ----------
    communes : GeoDataFrame
        Must have a ``code`` column.
    source : path-like
        File name used in error messages.
    report : TerritoryReport, optional
        Receives the codes of repaired geometries.

    Returns
    -------
    GeoDataFrame
        A copy with repaired geometries.

    Raises
    ------
    DataError
        Missing CRS, duplicate codes, missing or unrepairable geometry.
    """
    if communes.crs is None:
        raise DataError(f"{source}: layer has no CRS")
    if "code" not in communes.columns:
        raise DataError(
            f"{source}: missing column 'code'; available: {format_values(communes.columns)}"
        )
    dup = communes["code"][communes["code"].duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"{source}: duplicate commune codes in column 'code': {format_values(sorted(set(dup)))}"
        )
    out = communes.copy()
    geoms = out.geometry.values
    missing = out["code"][shapely.is_missing(geoms) | shapely.is_empty(geoms)]
    if len(missing):
        raise DataError(f"{source}: communes without geometry: {format_values(missing)}")
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        fixed = shapely.make_valid(geoms[invalid])
        # keep only the polygonal part of a GeometryCollection
        fixed = np.array([_polygonal(g) for g in fixed], dtype=object)
        bad = out["code"].to_numpy()[invalid][[g is None or g.is_empty for g in fixed]]
        if len(bad):
            raise DataError(
                f"{source}: invalid geometries that cannot be repaired: {format_values(bad)}"
            )
        codes = list(out["code"].to_numpy()[invalid])
        out.loc[invalid, out.geometry.name] = fixed
        logger.warning(
            "%s: repaired %d invalid polygon(s): %s", source, len(codes), format_values(codes)
        )
        if report is not None:
            report.repaired_geometries.extend(codes)
    return out


def _polygonal(geom):
    if geom is None:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return None
    return shapely.union_all(parts)


def load_territory(
    config: StudyConfig | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    buffer_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Load the study communes and their buffer zone.

    The communes come from the study's ``[inputs]`` files or from the national commune file
    (:func:`~geoattract.territory.select.national_territory`), as ``[territory] source``
    says; with ``"auto"`` (the default) from the study's files when they cover the study
    départements and every département the buffer reaches (``[inputs] departements``), else
    from the national file (logged).

    Parameters
    ----------
    config : StudyConfig, optional
        Study configuration; defaults to Lot-et-Garonne.
    data_dir : path-like, optional
        Data folder override (used only when ``config`` is None).
    buffer_m : float, optional
        Buffer distance in metres; defaults to ``study.buffer_km`` of the configuration.

    Returns
    -------
    GeoDataFrame
        Columns ``code`` (str), ``nom``, ``dep``, ``population`` (legal population, float;
        NaN where absent, with ``population_missing``), ``epci``, ``epci_nom``, ``in_study``,
        ``town_hall`` (Point, EPSG:2154), ``town_hall_replaced`` (and ``polygon_missing``
        from the national file) and the commune polygon as active geometry, in the
        configuration's CRS (EPSG:2154). Study communes come first, sorted by code.
        ``attrs["report"]`` holds the :class:`TerritoryReport`, ``attrs["source"]`` the
        adapter used.

    Raises
    ------
    DataNotFoundError
        An input file is missing.
    DataError
        Missing column, duplicate codes, missing CRS, invalid geometry that cannot be
        repaired, negative population, no commune in the study département, unknown codes in
        ``[territory]``.
    """
    cfg = config if config is not None else load_study_config(data_dir=data_dir)
    buffer = cfg.buffer_m if buffer_m is None else float(buffer_m)
    spec = cfg.territory
    national_path = _national_path(cfg, spec)
    if _territory_source(cfg, spec) == "inputs":
        terr = _inputs_territory(cfg, spec.codes, buffer)
        if spec.source == "inputs" or _inputs_cover_buffer(cfg, terr, buffer, national_path):
            return terr
    terr = national_territory(
        spec,
        national_path,
        buffer,
        tolerance_m=cfg.study["town_hall_tolerance_m"],
        crs=cfg.crs,
    )
    _log_territory(cfg.name, f" ({spec.describe()}, national file {national_path})", terr, buffer)
    return terr


def _log_territory(name: str, origin: str, terr: gpd.GeoDataFrame, buffer: float) -> None:
    """Log the size and population of a loaded territory.

    Parameters
    ----------
    name : str
        Study name.
    origin : str
        Said after the name (" (<spec>, national file <path>)"), or "".
    terr : GeoDataFrame
        The territory (``in_study``, ``population``).
    buffer : float
        Buffer width, metres.
    """
    n_study = int(terr["in_study"].sum())
    logger.info(
        "territory %s%s: %d study communes, %d buffer communes (%s km), population %d",
        name,
        origin,
        n_study,
        len(terr) - n_study,
        buffer / 1000,
        terr.loc[terr["in_study"], "population"].sum(),
    )


def _national_path(cfg: StudyConfig, spec: TerritorySpec) -> Path:
    path = Path(spec.communes_file)
    return path if path.is_absolute() else (cfg.data_dir / path).resolve()


def _territory_source(cfg: StudyConfig, spec: TerritorySpec) -> str:
    """``"inputs"`` or ``"national"``: the adapter to try first."""
    if spec.source != "auto":
        if spec.source == "inputs" and spec.kind != "departements":
            raise ConfigError(
                f"{cfg.path}: the [inputs] territory files select départements only; "
                f"[territory] {spec.kind} needs source = 'national'"
            )
        return spec.source
    if not cfg.has_inputs or spec.kind != "departements":
        return "national"
    covered = cfg.raw["inputs"].get("departements")
    if covered is not None and not set(spec.codes) <= set(covered):
        logger.warning(
            "%s: the [inputs] files cover départements %s, not %s: territory from the "
            "national commune file",
            cfg.path,
            format_values(covered),
            format_values(sorted(set(spec.codes) - set(covered))),
        )
        return "national"
    return "inputs"


def _inputs_cover_buffer(
    cfg: StudyConfig, terr: gpd.GeoDataFrame, buffer: float, national_path: Path
) -> bool:
    """Whether the study's files hold every département the buffer reaches (else: national)."""
    covered = cfg.raw["inputs"].get("departements")
    if covered is None or buffer <= 0:
        return True
    if not national_path.is_file():
        logger.warning(
            "%s: national commune file %s not found: cannot check that the [inputs] files "
            "cover the buffer; territory from the [inputs] files",
            cfg.path,
            national_path,
        )
        return True
    outline = shapely.union_all(terr.geometry.values[terr["in_study"].to_numpy(dtype=bool)])
    reached = departements_within(outline, buffer, national_path)
    missing = sorted(reached - set(covered))
    if missing:
        logger.warning(
            "%s: the buffer of the study (%g km) reaches département(s) %s, which the [inputs] "
            "files (%s) do not hold: territory from the national commune file %s",
            cfg.path,
            buffer / 1000,
            format_values(missing),
            format_values(covered),
            national_path,
        )
        return False
    return True


def _inputs_territory(
    cfg: StudyConfig, departements: tuple[str, ...], buffer: float
) -> gpd.GeoDataFrame:
    """Study and buffer communes from the study's own ``[inputs]`` files."""
    deps = set(departements)
    report = TerritoryReport()

    src = cfg.input_path("communes")
    communes = read_vector(src, columns=["code", "nom"], id_column="code")
    communes["code"] = communes["code"].astype(str)
    communes = validate_communes(communes, src, report).to_crs(cfg.crs)
    if "dep" not in communes.columns:
        communes["dep"] = communes["code"].str[:2]
    communes["dep"] = communes["dep"].astype(str)

    in_dep = communes["dep"].isin(deps)
    if not in_dep.any():
        raise DataError(
            f"{src}: no commune of département(s) {format_values(sorted(deps))} in column 'dep'; "
            f"départements present: {format_values(sorted(communes['dep'].unique()))}"
        )
    dep_shape = shapely.union_all(communes.geometry.values[in_dep.to_numpy()])
    near = (
        shapely.dwithin(communes.geometry.values, dep_shape, buffer)
        if buffer > 0
        else np.zeros(len(communes), bool)
    )
    keep = in_dep.to_numpy() | near
    terr = communes.loc[keep, ["code", "nom", "dep", "geometry"]].copy()
    terr["in_study"] = terr["dep"].isin(deps).to_numpy()

    terr = _attach_population(terr, cfg.input_path("population"), report)
    terr = _attach_epci(terr, cfg.input_path("epci"), report)
    terr = _attach_town_halls(
        terr, cfg.input_path("town_halls"), cfg.crs, cfg.study["town_hall_tolerance_m"], report
    )

    terr = terr.sort_values(["in_study", "code"], ascending=[False, True]).reset_index(drop=True)
    terr = gpd.GeoDataFrame(terr[TERRITORY_COLUMNS], geometry="geometry", crs=cfg.crs)
    terr["town_hall"] = gpd.GeoSeries(terr["town_hall"], crs=cfg.crs)
    terr.attrs["report"] = report
    terr.attrs["departement"] = sorted(deps)[0]
    terr.attrs["departements"] = tuple(sorted(deps))
    terr.attrs["source"] = "inputs"
    terr.attrs["buffer_m"] = buffer
    _log_territory(cfg.name, "", terr, buffer)
    return terr


@dataclass(frozen=True)
class Territory:
    """Result of the territory stage.

    Attributes
    ----------
    communes : GeoDataFrame
        Study and buffer communes (:func:`load_territory`), EPSG:2154.
    report : TerritoryReport
        What validation found and fixed.
    name : str
        Study name.
    buffer_m : float
        Buffer distance in metres.
    source : str
        The adapter the communes came from: ``"inputs"`` (the study's files) or
        ``"national"`` (the national commune file).
    """

    communes: gpd.GeoDataFrame
    report: TerritoryReport
    name: str
    buffer_m: float
    source: str = "inputs"

    @property
    def study(self) -> gpd.GeoDataFrame:
        """The study communes (``in_study``)."""
        return study_rows(self.communes)

    @property
    def departements(self) -> tuple[str, ...]:
        """Codes of the study départements."""
        return study_departements(self.communes)

    @property
    def buffer_departements(self) -> tuple[str, ...]:
        """Codes of the départements of the buffer communes that are not study départements."""
        rest = self.communes.loc[~self.communes["in_study"].astype(bool), "dep"].astype(str)
        return tuple(sorted(set(rest) - set(self.departements)))

    @property
    def all_departements(self) -> tuple[str, ...]:
        """Codes of every département of the territory (study and buffer)."""
        return tuple(sorted(set(self.departements) | set(self.buffer_departements)))

    @property
    def outline(self) -> shapely.Geometry:
        """Union of the study communes' polygons."""
        return shapely.union_all(self.study.geometry.to_numpy())

    @property
    def town_halls(self) -> gpd.GeoDataFrame:
        """Town halls of every commune as a point layer (``code``, ``nom``, ``in_study``)."""
        cols = [
            c
            for c in ("code", "nom", "dep", "in_study", "town_hall_replaced")
            if c in self.communes
        ]
        return gpd.GeoDataFrame(
            self.communes[cols].copy(),
            geometry=gpd.GeoSeries(self.communes["town_hall"], crs=self.communes.crs),
            crs=self.communes.crs,
        )


def build_territory(config: StudyConfig) -> Territory:
    """Run the territory stage: load and validate the study communes and their buffer.

    Parameters
    ----------
    config : StudyConfig
        The study configuration.

    Returns
    -------
    Territory
    """
    communes = load_territory(config)
    return Territory(
        communes=communes,
        report=communes.attrs["report"],
        name=config.name,
        buffer_m=float(communes.attrs["buffer_m"]),
        source=str(communes.attrs.get("source", "inputs")),
    )


def _attach_population(terr: gpd.GeoDataFrame, path, report: TerritoryReport) -> gpd.GeoDataFrame:
    pop = read_csv(path, columns=["population"], commune_columns=["code"])
    dup = pop["code"][pop["code"].duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"{path}: duplicate codes in column 'code': {format_values(sorted(set(dup)))}"
        )
    values = pd.to_numeric(pop["population"], errors="coerce")
    negative = pop.loc[values < 0, "code"]
    if len(negative):
        raise DataError(
            f"{path}: negative values in column 'population' for codes {format_values(negative)}"
        )
    series = pd.Series(values.to_numpy(), index=pop["code"])
    # only compare sources inside the départements the territory covers
    deps = set(terr["dep"])
    pop_codes = set(pop.loc[pop["code"].str[:2].isin(deps), "code"])
    terr_codes = set(terr["code"])
    study_codes = set(terr.loc[terr["in_study"], "code"])
    report.only_in_polygons = sorted(terr_codes - pop_codes)
    study_dep = next(iter({c[:2] for c in study_codes}))
    report.only_in_population = sorted(c for c in pop_codes - terr_codes if c[:2] == study_dep)
    if report.only_in_polygons:
        logger.warning(
            "%s: %d commune(s) of the territory have no legal population: %s",
            path,
            len(report.only_in_polygons),
            format_values(report.only_in_polygons),
        )
    if report.only_in_population:
        logger.warning(
            "%s: %d code(s) of the study département have no 2025 polygon (merged?): %s",
            path,
            len(report.only_in_population),
            format_values(report.only_in_population),
        )
    terr = terr.copy()
    terr["population"] = terr["code"].map(series).astype(float)
    terr["population_missing"] = terr["population"].isna()
    if "nom" in pop.columns and "nom" in terr.columns:
        terr["nom"] = _with_articles(terr, pop.set_index("code")["nom"], path)
    return terr


#: Leading articles of official commune names (COG), which some boundary files drop.
ARTICLES: tuple[str, ...] = ("Le ", "La ", "Les ", "L'")


def _with_articles(terr: gpd.GeoDataFrame, official: pd.Series, path: Any) -> pd.Series:
    """Commune names with the article the polygon file dropped (``Passage`` → ``Le Passage``).

    A name is replaced only when the population table's name is that name after one of
    :data:`ARTICLES`: any other difference (a merged commune's new name) keeps the polygon's.
    """
    names = terr["nom"].astype(object)
    full = terr["code"].map(official.astype(str))
    restored = pd.Series(
        [
            isinstance(n, str) and isinstance(f, str) and any(f == a + n for a in ARTICLES)
            for n, f in zip(names, full, strict=True)
        ],
        index=terr.index,
    )
    if restored.any():
        logger.info(
            "%s: %d commune name(s) take back their article: %s",
            path,
            int(restored.sum()),
            format_values(
                [f"{n} → {f}" for n, f in zip(names[restored], full[restored], strict=True)]
            ),
        )
    return names.where(~restored, full)


def _attach_epci(terr: gpd.GeoDataFrame, path, report: TerritoryReport) -> gpd.GeoDataFrame:
    epci = read_csv(path, columns=["epci_code", "epci_nom"], commune_columns=["code_commune"])
    epci = epci.drop_duplicates("code_commune").set_index("code_commune")
    terr = terr.copy()
    terr["epci"] = terr["code"].map(epci["epci_code"].astype(str))
    terr["epci_nom"] = terr["code"].map(epci["epci_nom"])
    missing = terr.loc[terr["in_study"] & terr["epci"].isna(), "code"]
    report.only_in_epci = sorted(
        set(epci.index[epci.index.str[:2] == terr.loc[terr["in_study"], "dep"].iloc[0]])
        - set(terr["code"])
    )
    if len(missing):
        logger.warning(
            "%s: %d study commune(s) without EPCI: %s", path, len(missing), format_values(missing)
        )
    if report.only_in_epci:
        logger.warning(
            "%s: EPCI table codes without a 2025 polygon: %s",
            path,
            format_values(report.only_in_epci),
        )
    return terr


def _attach_town_halls(
    terr: gpd.GeoDataFrame, path, crs: str, tolerance_m: float, report: TerritoryReport
) -> gpd.GeoDataFrame:
    halls = read_vector(path, columns=["code"], id_column="code", null_geometries="drop")
    halls["code"] = halls["code"].astype(str)
    halls = halls.to_crs(crs)
    dup = halls["code"][halls["code"].duplicated(keep=False)]
    if len(dup):
        raise DataError(
            f"{path}: duplicate codes in column 'code': {format_values(sorted(set(dup)))}"
        )
    points = halls.set_index("code").geometry
    terr = terr.copy()
    pts = terr["code"].map(points)
    inside_points = shapely.point_on_surface(terr.geometry.values)
    missing = pts.isna().to_numpy()
    report.town_halls_missing = sorted(terr.loc[missing, "code"])
    report.town_halls_orphan = sorted(
        set(points.index[points.index.str[:2].isin(set(terr["dep"]))]) - set(terr["code"]) - set()
    )
    # orphan points are only worth reporting for the study département
    study_dep = terr.loc[terr["in_study"], "dep"].iloc[0]
    report.town_halls_orphan = [c for c in report.town_halls_orphan if c[:2] == study_dep]
    pt_values = np.array(
        [None if m else p for p, m in zip(pts.to_numpy(), missing, strict=True)], dtype=object
    )
    dist = np.full(len(terr), np.inf)
    have = ~missing
    dist[have] = shapely.distance(pt_values[have].astype(object), terr.geometry.values[have])
    far = have & (dist > tolerance_m)
    for code, d in zip(terr.loc[far, "code"], dist[far], strict=True):
        report.town_halls_replaced[code] = round(float(d), 1)
    if far.any():
        logger.info(
            "%s: %d town hall(s) more than %.0f m from their commune replaced by a point inside it: %s",
            path,
            int(far.sum()),
            tolerance_m,
            format_values(sorted(report.town_halls_replaced)),
        )
    if missing.any():
        logger.info(
            "%s: %d commune(s) without town hall, a point inside the polygon is used: %s",
            path,
            int(missing.sum()),
            format_values(report.town_halls_missing),
        )
    replace = missing | far
    pt_values[replace] = inside_points[replace]
    terr["town_hall"] = gpd.GeoSeries(list(pt_values), index=terr.index, crs=crs)
    terr["town_hall_replaced"] = replace
    return terr
