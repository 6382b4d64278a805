"""OpenStreetMap facilities: the ``osm`` sources of the catalogue, online or from a PBF file.

:func:`facilities_from_osm_online` (osmnx / Overpass) and :func:`facilities_from_pbf` (pyrosm,
a local ``.osm.pbf``) return the features matching each category's ``osm`` sources, one row
per (feature, category); :func:`load_osm_facilities` places them in the territory for
:func:`geoattract.facilities.load_facilities` with ``source="osm"``. Tag matching is in
:mod:`geoattract.facilities.osm_features`.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geoattract import settings
from geoattract._util.io import require_columns, require_file
from geoattract.errors import DataError, NetworkError, format_values
from geoattract.facilities.catalogue import Catalogue, Category
from geoattract.facilities.osm_features import (
    combined_tags,
    feature_ids,
    match_source,
    representative_points,
)
from geoattract.facilities.placement import (
    LoadContext,
    empty_category,
    finish,
    place_points,
    select_categories,
)

logger = logging.getLogger(__name__)


def _osm_categories(catalogue: Catalogue, categories: Iterable[str] | None) -> list[Category]:
    return [c for c in select_categories(catalogue, categories) if c.sources_of("osm")]


def _polygon_4326(polygon: Any, polygon_crs: str) -> Any:
    """Return ``polygon`` as one shapely (Multi)Polygon in EPSG:4326."""
    if isinstance(polygon, gpd.GeoDataFrame | gpd.GeoSeries):
        if polygon.crs is None:
            raise DataError("polygon: GeoSeries/GeoDataFrame without CRS")
        return shapely.union_all(polygon.to_crs(settings.source_crs).geometry.to_numpy())
    if not isinstance(polygon, shapely.Polygon | shapely.MultiPolygon):
        raise DataError(
            f"polygon must be a shapely (Multi)Polygon or a GeoSeries, got {type(polygon).__name__}"
        )
    return gpd.GeoSeries([polygon], crs=polygon_crs).to_crs(settings.source_crs).iloc[0]


def _classify(features: gpd.GeoDataFrame, cats: list[Category], crs: str) -> gpd.GeoDataFrame:
    """One row per (feature, category) it matches; representative points; target CRS."""
    columns = ["category", "facility_id", "name", "capacity", "source", "geometry"]
    if features is None or len(features) == 0:
        return gpd.GeoDataFrame(
            {c: [] for c in columns[:-1]}, geometry=gpd.GeoSeries([], crs=crs), crs=crs
        )
    if features.crs is None:
        features = features.set_crs(settings.source_crs)
    ids = feature_ids(features)
    names = (
        features["name"] if "name" in features.columns else pd.Series(None, index=features.index)
    )
    points = representative_points(features.geometry.to_numpy())
    frames = []
    for cat in cats:
        mask = pd.Series(False, index=features.index)
        for src in cat.sources_of("osm"):
            mask |= match_source(features, src.tags, src.require, src.exclude)
        m = mask.to_numpy()
        if not m.any():
            continue
        frames.append(
            gpd.GeoDataFrame(
                {
                    "category": cat.id,
                    "facility_id": ids.to_numpy()[m],
                    "name": names.to_numpy()[m],
                    "capacity": 1.0,
                    "source": "osm",
                },
                geometry=list(points[m]),
                crs=features.crs,
            )
        )
    if not frames:
        return _classify(None, cats, crs)
    out = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=features.crs).to_crs(crs)


def facilities_from_osm_online(
    polygon: Any,
    catalogue: Catalogue,
    *,
    polygon_crs: str = settings.source_crs,
    crs: str = settings.default_crs,
    categories: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Download the catalogue's OSM facilities inside a polygon (osmnx / Overpass).

    Parameters
    ----------
    polygon : shapely (Multi)Polygon, GeoSeries or GeoDataFrame
        Area to query; a bare shapely geometry is in ``polygon_crs``.
    catalogue : Catalogue
        Its ``osm`` sources give the tags.
    polygon_crs : str
        CRS of a bare shapely ``polygon`` (default EPSG:4326, the osmnx convention).
    crs : str
        CRS of the result.
    categories : iterable of str, optional
        Restrict to these category ids.

    Returns
    -------
    GeoDataFrame
        Columns ``category``, ``facility_id`` (``osm:<element>/<id>``), ``name``,
        ``capacity`` (1.0), ``source`` ("osm"), Point geometry (polygons → a point on their
        surface). A feature matching two categories gives two rows.

    Raises
    ------
    NetworkError
        Overpass cannot be reached.
    """
    import osmnx as ox

    cats = _osm_categories(catalogue, categories)
    tags: dict[str, bool | str | list[str]] = dict(
        combined_tags(s.tags for c in cats for s in c.sources_of("osm"))
    )
    poly = _polygon_4326(polygon, polygon_crs)
    try:
        features = ox.features_from_polygon(poly, tags)
    except ox._errors.InsufficientResponseError:
        logger.warning("Overpass returned no feature for tags %s", tags)
        features = None
    except (ConnectionError, OSError) as exc:
        raise NetworkError(
            f"cannot download OSM features from Overpass ({exc}); use a local .osm.pbf "
            f"with facilities_from_pbf"
        ) from exc
    except Exception as exc:  # requests' exceptions do not all derive from OSError
        if type(exc).__module__.startswith(("requests", "urllib3")):
            raise NetworkError(f"cannot download OSM features from Overpass ({exc})") from exc
        raise
    return _classify(features, cats, crs)


def facilities_from_pbf(
    path: str | os.PathLike,
    catalogue: Catalogue,
    polygon: Any = None,
    *,
    polygon_crs: str = settings.source_crs,
    crs: str = settings.default_crs,
    categories: Iterable[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read the catalogue's OSM facilities from a local ``.osm.pbf`` file (pyrosm).

    Parameters
    ----------
    path : path-like
        The PBF extract.
    catalogue : Catalogue
        Its ``osm`` sources give the tags.
    polygon : shapely (Multi)Polygon, GeoSeries or GeoDataFrame, optional
        Keep only features inside it (pyrosm ``bounding_box``).
    polygon_crs : str
        CRS of a bare shapely ``polygon`` (default EPSG:4326).
    crs : str
        CRS of the result.
    categories : iterable of str, optional
        Restrict to these category ids.

    Returns
    -------
    GeoDataFrame
        Same columns as :func:`facilities_from_osm_online`.

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        The file cannot be parsed as OSM PBF.
    """
    import pyrosm

    p = require_file(path, "OSM PBF file")
    cats = _osm_categories(catalogue, categories)
    tags = combined_tags(s.tags for c in cats for s in c.sources_of("osm"))
    bbox = _polygon_4326(polygon, polygon_crs) if polygon is not None else None
    try:
        reader = pyrosm.OSM(str(p), bounding_box=bbox)
        with warnings.catch_warnings():
            # pyrosm warns when nothing matches; an empty category is reported by the caller
            warnings.filterwarnings(
                "ignore", message="Could not find any POIs", category=UserWarning
            )
            features = reader.get_pois(
                custom_filter={k: (v if isinstance(v, bool) else list(v)) for k, v in tags.items()}
            )
    except (ValueError, KeyError, RuntimeError, OSError) as exc:
        raise DataError(f"{p}: cannot read OSM features ({exc})") from exc
    if features is not None and len(features):
        features = gpd.GeoDataFrame(
            features, geometry="geometry", crs=features.crs or settings.source_crs
        )
    return _classify(features, cats, crs)


def load_osm_facilities(ctx: LoadContext, cats: list[Category], osm: Any) -> gpd.GeoDataFrame:
    """Adapter of ``osm`` sources: the categories' OSM features placed in the territory.

    Parameters
    ----------
    ctx : LoadContext
        The load in progress (territory, catalogue, report).
    cats : list of Category
        Categories to load; those without an ``osm`` source are skipped (logged).
    osm : GeoDataFrame, path-like or None
        Features already extracted (columns ``category``, ``facility_id``, geometry), a
        ``.osm.pbf`` path, or None to query Overpass.

    Returns
    -------
    GeoDataFrame
        The facility table (columns of :data:`~geoattract.facilities.placement.FACILITY_COLUMNS`).
    """
    with_osm = [c for c in cats if c.sources_of("osm")]
    skipped = [c.id for c in cats if not c.sources_of("osm")]
    if skipped:
        logger.info(
            "source='osm': categories without an OSM source skipped: %s",
            format_values(skipped, limit=40),
        )
    ids = [c.id for c in with_osm]
    if osm is None:
        features = facilities_from_osm_online(
            ctx.territory, ctx.catalogue, crs=ctx.territory.crs, categories=ids
        )
    elif isinstance(osm, gpd.GeoDataFrame):
        require_columns(osm, ["category", "facility_id", "geometry"], "osm features")
        features = osm.to_crs(ctx.territory.crs)
        features = features.loc[features["category"].isin(ids)]
    else:
        features = facilities_from_pbf(
            osm, ctx.catalogue, ctx.territory, crs=ctx.territory.crs, categories=ids
        )
    frames = []
    for cat in with_osm:
        part = features.loc[features["category"] == cat.id]
        part = gpd.GeoDataFrame(
            part.drop(columns=["code"], errors="ignore"), geometry="geometry", crs=ctx.territory.crs
        )
        if len(part):
            part = place_points(ctx, cat, part, None, "OSM")
        if not len(part):
            empty_category(ctx, cat, cat.sources_of("osm"))
            continue
        part = part.assign(category=cat.id, source="osm")
        if "capacity" not in part:
            part["capacity"] = 1.0
        if "name" not in part:
            part["name"] = None
        frames.append(part)
    return finish(ctx, frames)
