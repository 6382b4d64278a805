"""Exact area-weighted zonal statistics of GeoTIFF rasters over polygons.

:func:`zonal_stats` summarises one or several bands of a raster (climate grid, land cover,
elevation, population grid…) over each polygon of a GeoDataFrame:

* **area weighting**: every cell counts in proportion to the area of the cell the polygon
  covers, computed exactly with shapely (the polygon is intersected with the boxes of the
  cells of its bounding window, vectorised with shapely 2 arrays). A polygon covering half a
  cell and a quarter of another weighs them 2:1. On a coarse grid (the 8 km DRIAS climate
  grid) this matters: a commune is often smaller than one cell and straddles two to four;
* **nodata**: cells equal to the band's nodata value, or NaN, are left out and the weights are
  renormalised over the valid cells;
* **reprojection**: polygons are reprojected to the raster's CRS before the intersection, so
  the cells stay exact rectangles;
* **missing**: a polygon outside the raster, empty, or covering only nodata cells gets NaN and
  ``<band>_missing = True``; ``coverage`` is the share of the polygon area covered by cells
  that are valid in every requested band (1.0 inside the raster).

Only north-up rasters (no rotation terms in the affine transform) are supported. Areas are
measured in the raster's CRS: for a projected CRS (EPSG:27572, EPSG:2154) they are true
areas up to the projection's scale error; for a geographic raster (EPSG:4326) the weights
are areas in square degrees, a fair approximation over the few cells of one polygon.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import shapely
from rasterio.windows import Window, from_bounds

from geoattract._util.progress import progress_bar
from geoattract.errors import DataError, DataNotFoundError, format_values

logger = logging.getLogger(__name__)

#: Statistics :func:`zonal_stats` computes: area-weighted ``"mean"`` of each band, or the
#: area share of each class of a categorical band (``"fractions"``).
STATS = ("mean", "fractions")

#: Read the whole window spanning every polygon at once when it holds at most this many cells
#: per band (about 32 MB of float64); otherwise read one window per polygon.
WHOLE_READ_MAX_CELLS = 4_000_000

#: A polygon whose valid weight (sum of covered cell fractions) is below this is treated as
#: covering no valid cell (guards against slivers produced by floating-point noise).
MIN_VALID_WEIGHT = 1e-12

#: Name of the flag column used when a polygon has no valid value in any band.
MISSING_FLAG = "zonal_missing"


def raster_band_names(
    raster_path: str | os.PathLike, band_names: Sequence[str] | None = None
) -> list[str]:
    """Names of the bands of a raster.

    Parameters
    ----------
    raster_path : path-like
        A GeoTIFF (any raster rasterio reads).
    band_names : sequence of str, optional
        Names declared in the configuration, used when the file has no band descriptions
        (one name per band, in band order).

    Returns
    -------
    list of str
        Band descriptions stored in the file when every band has one, else ``band_names``,
        else ``["band1", "band2", ...]``.

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    DataError
        ``band_names`` does not have one name per band, or the file cannot be read.
    """
    path = _require_raster(raster_path)
    with _open(path) as src:
        return _band_names(src, path, band_names)


def _require_raster(raster_path: str | os.PathLike) -> Path:
    path = Path(raster_path)
    if not path.is_file():
        raise DataNotFoundError(f"raster not found: {path}")
    return path


def _open(path: Path) -> rasterio.DatasetReader:
    try:
        return rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise DataError(f"{path}: cannot be read as a raster ({exc})") from exc


def _band_names(
    src: rasterio.DatasetReader, path: Path, declared: Sequence[str] | None
) -> list[str]:
    described = [d for d in src.descriptions if d]
    if len(described) == src.count:
        names = list(src.descriptions)
        if declared is not None and list(declared) != names:
            logger.warning(
                "%s: band descriptions %s differ from the declared bands %s; "
                "using the descriptions stored in the file",
                path,
                names,
                list(declared),
            )
        return names
    if declared is not None:
        if len(declared) != src.count:
            raise DataError(
                f"{path}: {src.count} band(s) but {len(declared)} declared band "
                f"name(s): {format_values(declared)}"
            )
        return list(declared)
    return [f"band{i}" for i in range(1, src.count + 1)]


def zonal_stats(
    polygons: gpd.GeoDataFrame,
    raster_path: str | os.PathLike,
    bands: list[str] | None = None,
    *,
    stat: str = "mean",
    band_names: Sequence[str] | None = None,
    verbose: bool = False,
) -> pd.DataFrame:
    """Area-weighted statistics of raster bands over polygons.

    Parameters
    ----------
    polygons : GeoDataFrame
        Polygons (or multipolygons) with a CRS; any CRS, they are reprojected to the raster's.
    raster_path : path-like
        A north-up GeoTIFF.
    bands : list of str, optional
        Band names to summarise (see :func:`raster_band_names`); default every band.
    stat : {"mean", "fractions"}
        ``"mean"``: area-weighted mean of each band over its valid cells.
        ``"fractions"``: for one categorical band, the share of the valid covered area in
        each class (columns ``<band>_<class>``; 0.0 is a real zero, NaN means missing).
    band_names : sequence of str, optional
        Band names declared in the configuration, used when the raster has no band
        descriptions.
    verbose : bool
        Show a progress bar.

    Returns
    -------
    DataFrame
        Indexed like ``polygons``. For ``"mean"``: one float column per band, a boolean
        ``<band>_missing`` per band, ``coverage`` (share of the polygon area covered by cells
        valid in every requested band, 0–1) and ``zonal_missing`` (no valid value at all).
        For ``"fractions"``: one column per class, ``coverage`` and ``zonal_missing``.

    Raises
    ------
    DataNotFoundError
        The raster does not exist.
    DataError
        Polygons without CRS or with non-polygonal geometries, an unknown band name
        (the message lists the available ones), a rotated raster, a raster without CRS,
        or ``"fractions"`` asked for several bands.
    ValueError
        Unknown ``stat``.
    """
    if stat not in STATS:
        raise ValueError(f"stat must be one of {list(STATS)}, got {stat!r}")
    if not isinstance(polygons, gpd.GeoDataFrame):
        raise DataError(f"polygons must be a GeoDataFrame, got {type(polygons).__name__}")
    if polygons.crs is None:
        raise DataError("polygons have no CRS; set one (e.g. EPSG:2154) before zonal statistics")
    geom_types = set(polygons.geometry.dropna().geom_type.unique()) - {"Polygon", "MultiPolygon"}
    if geom_types:
        raise DataError(
            f"zonal statistics need polygons; found geometry type(s) {format_values(sorted(geom_types))}"
        )
    path = _require_raster(raster_path)

    with _open(path) as src:
        names = _band_names(src, path, band_names)
        wanted = list(names) if bands is None else list(bands)
        unknown = [b for b in wanted if b not in names]
        if unknown:
            raise DataError(
                f"{path}: unknown band(s) {format_values(unknown)}; available: {format_values(names)}"
            )
        if stat == "fractions" and len(wanted) != 1:
            raise DataError(
                f"{path}: stat='fractions' needs exactly one categorical band, got {format_values(wanted)}"
            )
        if src.crs is None:
            raise DataError(f"{path}: raster has no CRS")
        t = src.transform
        if t.b != 0 or t.d != 0:
            raise DataError(f"{path}: rotated rasters are not supported (transform {tuple(t)[:6]})")
        indexes = [names.index(b) + 1 for b in wanted]
        nodata = [src.nodatavals[i - 1] for i in indexes]
        geoms = polygons.geometry.to_crs(src.crs).to_numpy()
        reader = _WindowReader(src, indexes, nodata, geoms)
        rows = [
            _polygon_stats(geom, reader, stat)
            for geom in progress_bar(geoms, desc=f"zonal {path.name}", enabled=verbose)
        ]
    return _assemble(rows, wanted, stat, polygons.index)


class _WindowReader:
    """Read pixel windows, from one in-memory block when it is small enough."""

    def __init__(
        self, src: rasterio.DatasetReader, indexes: list[int], nodata: list, geoms: np.ndarray
    ):
        self.src = src
        self.indexes = indexes
        self.nodata = nodata
        self.full = Window(0, 0, src.width, src.height)
        self.block: np.ndarray | None = None
        self.block_mask: np.ndarray | None = None
        self.block_win: Window | None = None
        valid = [g for g in geoms if g is not None and not g.is_empty]
        if valid:
            win = self.window(shapely.total_bounds(np.asarray(valid, dtype=object)))
            if win is not None and win.width * win.height <= WHOLE_READ_MAX_CELLS:
                self.block_win = win
                self.block, self.block_mask = self._read(win)

    def window(self, bounds: Sequence[float] | np.ndarray) -> Window | None:
        """Whole-cell window covering ``bounds``, clipped to the raster; None when outside."""
        minx, miny, maxx, maxy = bounds
        w = from_bounds(minx, miny, maxx, maxy, transform=self.src.transform)
        # from_bounds handles both signs of the pixel size; round outwards to whole cells.
        col0, row0 = math.floor(w.col_off), math.floor(w.row_off)
        col1, row1 = math.ceil(w.col_off + w.width), math.ceil(w.row_off + w.height)
        col0, row0 = max(col0, 0), max(row0, 0)
        col1, row1 = min(col1, self.src.width), min(row1, self.src.height)
        if col1 <= col0 or row1 <= row0:
            return None
        return Window(col0, row0, col1 - col0, row1 - row0)

    def _read(self, win: Window) -> tuple[np.ndarray, np.ndarray]:
        data = self.src.read(self.indexes, window=win).astype("float64")
        invalid = np.isnan(data)
        for k, nd in enumerate(self.nodata):
            if nd is not None and not np.isnan(nd):
                invalid[k] |= data[k] == nd
        return data, invalid

    def read(self, win: Window) -> tuple[np.ndarray, np.ndarray]:
        """Values (bands × rows × cols, float64) and invalid mask of ``win``."""
        if self.block is not None and self.block_win is not None and self.block_mask is not None:
            r0 = int(win.row_off - self.block_win.row_off)
            c0 = int(win.col_off - self.block_win.col_off)
            sl = (slice(None), slice(r0, r0 + int(win.height)), slice(c0, c0 + int(win.width)))
            return self.block[sl], self.block_mask[sl]
        return self._read(win)


def _cell_boxes(transform, win: Window) -> np.ndarray:
    """Shapely boxes of the cells of ``win``, row-major (rows × cols flattened)."""
    cols = np.arange(int(win.col_off), int(win.col_off + win.width))
    rows = np.arange(int(win.row_off), int(win.row_off + win.height))
    x_edges = transform.c + transform.a * np.append(cols, cols[-1] + 1)
    y_edges = transform.f + transform.e * np.append(rows, rows[-1] + 1)
    x0, x1 = np.minimum(x_edges[:-1], x_edges[1:]), np.maximum(x_edges[:-1], x_edges[1:])
    y0, y1 = np.minimum(y_edges[:-1], y_edges[1:]), np.maximum(y_edges[:-1], y_edges[1:])
    xx0, yy0 = np.meshgrid(x0, y0)
    xx1, yy1 = np.meshgrid(x1, y1)
    return shapely.box(xx0.ravel(), yy0.ravel(), xx1.ravel(), yy1.ravel())


def _polygon_stats(geom, reader: _WindowReader, stat: str) -> dict | None:
    """Covered area per cell, values and validity for one polygon; None when no overlap."""
    if geom is None or geom.is_empty:
        return None
    poly_area = geom.area
    win = reader.window(geom.bounds)
    if win is None or poly_area <= 0:
        return None
    boxes = _cell_boxes(reader.src.transform, win)
    shapely.prepare(geom)
    hit = shapely.intersects(geom, boxes)
    areas = np.zeros(len(boxes))
    if hit.any():
        areas[hit] = shapely.area(shapely.intersection(boxes[hit], geom))
    values, invalid = reader.read(win)
    nb = values.shape[0]
    values = values.reshape(nb, -1)
    invalid = invalid.reshape(nb, -1)
    cell_area = abs(reader.src.transform.a * reader.src.transform.e)
    weights = areas / cell_area
    valid_all = ~invalid.any(axis=0)
    coverage = float(areas[valid_all].sum() / poly_area)
    out: dict = {"coverage": min(coverage, 1.0)}
    if stat == "mean":
        means = []
        for k in range(nb):
            w = np.where(invalid[k], 0.0, weights)
            total = w.sum()
            means.append(
                float(np.dot(w, np.where(invalid[k], 0.0, values[k])) / total)
                if total > MIN_VALID_WEIGHT
                else math.nan
            )
        out["values"] = means
    else:
        w = np.where(invalid[0], 0.0, weights)
        total = w.sum()
        if total > MIN_VALID_WEIGHT:
            keep = w > 0
            s = pd.Series(w[keep]).groupby(values[0][keep]).sum() / total
            out["fractions"] = s.to_dict()
        else:
            out["fractions"] = None
    return out


def _class_label(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _assemble(
    rows: list[dict | None], bands: list[str], stat: str, index: pd.Index
) -> pd.DataFrame:
    n = len(rows)
    coverage = np.array([r["coverage"] if r is not None else 0.0 for r in rows], dtype=float)
    if stat == "mean":
        data = np.full((n, len(bands)), np.nan)
        for i, r in enumerate(rows):
            if r is not None:
                data[i] = r["values"]
        out = pd.DataFrame(data, columns=bands, index=index)
        for b in bands:
            out[f"{b}_missing"] = out[b].isna()
        out["coverage"] = coverage
        out[MISSING_FLAG] = out[bands].isna().all(axis=1)
    else:
        band = bands[0]
        classes = sorted(
            {c for r in rows if r is not None and r["fractions"] for c in r["fractions"]}
        )
        cols = [f"{band}_{_class_label(c)}" for c in classes]
        data = np.full((n, len(classes)), np.nan)
        for i, r in enumerate(rows):
            if r is not None and r["fractions"] is not None:
                data[i] = [r["fractions"].get(c, 0.0) for c in classes]
        out = pd.DataFrame(data, columns=cols, index=index)
        out["coverage"] = coverage
        out[MISSING_FLAG] = np.isnan(data).all(axis=1) if classes else np.ones(n, bool)
    n_missing = int(out[MISSING_FLAG].sum())
    if n_missing:
        logger.info("zonal statistics: %d of %d polygon(s) without any valid cell", n_missing, n)
    return out
