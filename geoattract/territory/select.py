"""The national territory adapter: a study's communes and buffer from the national commune file.

:func:`national_territory` selects the study communes named by a
:class:`~geoattract.config.TerritorySpec` (départements, EPCIs, communes or all of France) in
the national file (``france/communes_2025.gpkg``: polygons, town halls, legal population,
EPCI), adds the buffer communes (polygon within the buffer distance of the study outline) and
returns the same GeoDataFrame as the study's own files give
(:data:`~geoattract.territory.TERRITORY_COLUMNS`), plus ``polygon_missing``: the communes
merged in 2025 that have no polygon keep their town hall and are computed like the others,
flagged, never dropped. :func:`departements_within` tells which départements a buffer reaches
(the check that a study's own files cover its buffer).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoattract._util.io import require_file
from geoattract.config.territory import TerritorySpec
from geoattract.errors import DataError, format_values
from geoattract.territory.national import (
    LOCATION_NONE,
    LOCATION_TOWN_HALL,
    NationalCommunes,
    read_national_communes,
)
from geoattract.territory.report import TERRITORY_COLUMNS, TerritoryReport

logger = logging.getLogger(__name__)

#: Column of the national territory flagging communes without polygon.
POLYGON_MISSING: str = "polygon_missing"


def _study_mask(table: pd.DataFrame, spec: TerritorySpec, path: Path) -> np.ndarray:
    """Rows of the national table that the spec names; unknown codes are an error."""
    if spec.kind == "france":
        return np.ones(len(table), dtype=bool)
    column = {"departements": "dep", "epci": "epci", "communes": None}[spec.kind]
    values = table.index if column is None else pd.Index(table[column].astype(str))
    unknown = sorted(set(spec.codes) - set(values))
    if unknown:
        raise DataError(
            f"{path}: [territory] {spec.kind}: unknown code(s) {format_values(unknown)} "
            f"(not in the national commune file)"
        )
    return np.asarray(values.isin(spec.codes), dtype=bool)


def _buffer_mask(
    polygons: np.ndarray, points: np.ndarray, study: np.ndarray, buffer_m: float
) -> np.ndarray:
    """Communes outside the study whose polygon (else point) is within ``buffer_m`` of it."""
    near = np.zeros(len(study), dtype=bool)
    if buffer_m <= 0 or study.all():
        return near
    has_poly = ~pd.isna(polygons)
    parts = list(polygons[study & has_poly]) + list(points[study & ~has_poly & ~pd.isna(points)])
    outline = shapely.union_all(parts)
    shape = np.where(has_poly, polygons, points)
    ok = ~pd.isna(shape) & ~study
    near[ok] = shapely.dwithin(shape[ok].astype(object), outline, buffer_m)
    return near


def national_territory(
    spec: TerritorySpec,
    path: str | os.PathLike,
    buffer_m: float,
    *,
    tolerance_m: float | None = None,
    crs: str = "EPSG:2154",
    national: NationalCommunes | None = None,
) -> gpd.GeoDataFrame:
    """Study and buffer communes from the national commune file.

    Parameters
    ----------
    spec : TerritorySpec
        Which communes form the study.
    path : path-like
        The national commune file (layers ``communes`` and ``mairies``).
    buffer_m : float
        Buffer distance in metres (communes within it of the study outline join the buffer).
    tolerance_m : float, optional
        Town halls farther than this from their polygon are replaced by a point inside it.
    crs : str
        Working CRS.
    national : NationalCommunes, optional
        The file already read (with ``keep_polygons=True``).

    Returns
    -------
    GeoDataFrame
        Columns of :data:`~geoattract.territory.TERRITORY_COLUMNS` plus ``region`` and
        ``polygon_missing`` (before the geometry), study communes first, sorted by code; the polygon is None for
        the communes merged in 2025 that have none (they keep their town hall). ``attrs``:
        ``report``, ``departement`` (first study département), ``departements``,
        ``buffer_m``, ``source`` (``"national"``).

    Raises
    ------
    DataNotFoundError, DataError
        Missing file, unknown codes in the spec, no commune selected.
    """
    p = require_file(path, "national commune file")
    nat = national or read_national_communes(p, tolerance_m=tolerance_m, keep_polygons=True)
    assert nat.polygons is not None  # read with keep_polygons
    table = nat.table
    study = _study_mask(table, spec, p)
    if not study.any():
        raise DataError(f"{p}: [territory] {spec.describe()} selects no commune")
    polygons = nat.polygons.to_numpy()
    points = table.geometry.to_numpy()
    keep = study | _buffer_mask(polygons, points, study, buffer_m)
    nowhere = keep & (table["location"].to_numpy() == LOCATION_NONE)
    if nowhere.any():
        logger.warning(
            "%s: %d commune(s) of the territory have neither polygon nor town hall: no "
            "location, so no indicator; listed in the territory report (locations_missing) and "
            "kept as flagged rows in the national outputs: %s",
            p,
            int(nowhere.sum()),
            format_values(table.index[nowhere]),
        )
    absent = pd.DataFrame(table.loc[nowhere, ["nom", "dep", "region", "epci", "population"]])
    keep &= ~nowhere
    sub = table.loc[keep]
    population = sub["population"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "code": sub.index.to_numpy(dtype=object),
            "nom": sub["nom"].to_numpy(),
            "dep": sub["dep"].to_numpy(),
            "population": population,
            "population_missing": np.isnan(population),
            "epci": sub["epci"].to_numpy(),
            "epci_nom": None,
            "in_study": study[keep],
            "town_hall": sub.geometry.to_numpy(),
            "town_hall_replaced": sub["location"].to_numpy() != LOCATION_TOWN_HALL,
            "region": sub["region"].to_numpy(),
            POLYGON_MISSING: pd.isna(polygons[keep]),
            "geometry": polygons[keep],
        }
    )
    frame = frame.sort_values(["in_study", "code"], ascending=[False, True]).reset_index(drop=True)
    columns = [c for c in TERRITORY_COLUMNS if c != "geometry"]
    columns += ["region", POLYGON_MISSING, "geometry"]
    terr = gpd.GeoDataFrame(frame[columns], geometry="geometry", crs=table.crs).to_crs(crs)
    terr["town_hall"] = gpd.GeoSeries(terr["town_hall"], crs=table.crs).to_crs(crs)
    codes = set(terr["code"])
    report = TerritoryReport(
        town_halls_replaced={c: d for c, d in nat.halls_replaced.items() if c in codes},
        town_halls_missing=[c for c in nat.halls_missing if c in codes],
        polygons_missing=sorted(terr.loc[terr[POLYGON_MISSING], "code"]),
        locations_missing=sorted(absent.index),
    )
    if report.polygons_missing:
        logger.warning(
            "%s: %d commune(s) of the territory have no polygon (merged in 2025): computed at "
            "their town hall, flagged in column %s, left blank on the maps: %s",
            p,
            len(report.polygons_missing),
            POLYGON_MISSING,
            format_values(report.polygons_missing),
        )
    deps = tuple(sorted(set(terr.loc[terr["in_study"], "dep"])))
    terr.attrs.update(
        report=report,
        departement=deps[0],
        departements=deps,
        buffer_m=buffer_m,
        source="national",
        locations_missing=absent.rename_axis("code").reset_index(),
    )
    return terr


def departements_within(
    outline: shapely.Geometry, buffer_m: float, path: str | os.PathLike
) -> set[str]:
    """Départements of the national file with a commune within ``buffer_m`` of ``outline``.

    Reads only the communes in the outline's bounding box grown by the buffer.
    """
    xmin, ymin, xmax, ymax = shapely.bounds(outline)
    box = (xmin - buffer_m, ymin - buffer_m, xmax + buffer_m, ymax + buffer_m)
    nat = read_national_communes(path, bbox=box, keep_polygons=True)
    assert nat.polygons is not None
    poly = nat.polygons.to_numpy()
    ok = ~pd.isna(poly)
    near = np.zeros(len(poly), dtype=bool)
    near[ok] = shapely.dwithin(poly[ok].astype(object), outline, buffer_m)
    return set(nat.table["dep"].to_numpy()[near])
