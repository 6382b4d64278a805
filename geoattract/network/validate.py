"""Line layers checked at the door (the osmnx ``_validate.py`` way): one home for every check.

Before a line layer becomes a network:

* **the layer**: in a multi-layer file, the one named (``--layer``), else the preset's, else
  the only line layer; otherwise an error listing the layers (:func:`pick_layer`). An empty
  layer is an error;
* **the CRS**: present, and coordinates plausible for it: degrees in a metre CRS (or metres
  in degrees) is an error naming both (:func:`check_crs`);
* **the geometries**: multi-part lines are split, Z dropped, and null, empty, zero-length or
  non-finite pieces dropped, with their counts in one warning (:func:`repair_lines`);
* **the classes**: values the preset does not know are listed with their counts and the speed
  they get (or that they are dropped), in a warning; an error with ``strict``
  (:func:`check_classes`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)

#: Layer name of each preset's product (matched without regard to case).
PRESET_LAYERS: Mapping[str, str] = {
    "travelmapping": "roads",
    "bdtopo": "troncon_de_route",
    "route500": "troncon_route",
}


def pick_layer(path: str, layer: str | None, preset: str | None) -> str | None:
    """The layer of a file to read: the one named, else the preset's, else the only line layer.

    Raises
    ------
    DataError
        The named layer is absent, or several line layers and none named: the message lists
        the layers.
    """
    try:
        layers = [(str(n), str(t)) for n, t in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{path}: cannot be read as a vector file ({exc})") from exc
    names = [n for n, _ in layers]
    listed = ", ".join(f"{n} ({t})" for n, t in layers)
    if layer is not None:
        if layer not in names:
            raise DataError(f"{path}: no layer {layer!r}; layers: {listed}")
        return layer
    if len(layers) <= 1:
        return None
    key = str(preset or "")
    wanted = [PRESET_LAYERS[key]] if key in PRESET_LAYERS else list(PRESET_LAYERS.values())
    for name in wanted:
        match = [n for n in names if n.lower() == name]
        if match:
            return match[0]
    lines = [n for n, t in layers if "linestring" in t.lower()]
    if len(lines) == 1:
        return lines[0]
    raise DataError(
        f"{path}: {len(lines)} line layers; name one with --layer (or [network] layer): {listed}"
    )


def check_crs(gdf: gpd.GeoDataFrame, where: str) -> None:
    """Check a layer has a CRS and coordinates plausible for it.

    Raises
    ------
    DataError
        No CRS; degrees in a metre CRS or metres in a degree CRS. The message names the CRS
        and the coordinates.
    """
    if gdf.crs is None:
        raise DataError(f"{where}: no CRS; set one (e.g. EPSG:2154) before loading")
    crs = pyproj.CRS(gdf.crs)
    geoms = gdf.geometry.to_numpy()
    ok = ~pd.isna(geoms)
    if not ok.any():
        return
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms[ok])
    if not np.isfinite([xmin, ymin, xmax, ymax]).all():
        return
    name = crs.to_string()
    box = f"x {xmin:.6g} to {xmax:.6g}, y {ymin:.6g} to {ymax:.6g}"
    in_degrees = max(abs(xmin), abs(xmax)) <= 180 and max(abs(ymin), abs(ymax)) <= 90
    if crs.is_geographic and not in_degrees:
        raise DataError(
            f"{where}: CRS {name} is in degrees but the coordinates are not ({box}): are they "
            "in a projected CRS such as EPSG:2154? Set the right one"
        )
    if crs.is_projected and in_degrees and (xmax - xmin) < 360 and (ymax - ymin) < 180:
        raise DataError(
            f"{where}: CRS {name} is in metres but the coordinates look like degrees ({box}): "
            "are they in EPSG:4326? Set the right one"
        )


def repair_lines(gdf: gpd.GeoDataFrame, where: str) -> gpd.GeoDataFrame:
    """Split multi-part lines, drop Z, drop null, empty, zero-length and non-finite pieces.

    One warning gives the counts of what was repaired or dropped.

    Raises
    ------
    DataError
        The layer is empty, or nothing usable is left.
    """
    if len(gdf) == 0:
        raise DataError(f"{where}: the layer is empty (no line)")
    geoms = gdf.geometry.to_numpy()
    null = pd.isna(geoms)
    counts: dict[str, int] = {"null": int(null.sum())}
    safe = np.where(null, None, geoms)
    empty = ~null & shapely.is_empty(safe)
    counts["empty"] = int(empty.sum())
    keep = ~null & ~empty
    kind = shapely.get_type_id(safe)
    counts["not lines"] = int((keep & ~np.isin(kind, (1, 5))).sum())  # points, polygons…
    keep &= np.isin(kind, (1, 5))
    frame = gdf[keep]
    geoms = frame.geometry.to_numpy()
    counts["with Z"] = int(shapely.has_z(geoms).sum())
    if counts["with Z"]:
        geoms = shapely.force_2d(geoms)
    multi = shapely.get_type_id(geoms) == 5
    counts["multi-part"] = int(multi.sum())
    if multi.any():
        parts, owner = shapely.get_parts(geoms, return_index=True)
        frame = frame.iloc[owner].copy()
        geoms = np.asarray(parts, dtype=object)
    coords = shapely.get_coordinates(geoms)
    index = np.repeat(np.arange(len(geoms)), shapely.get_num_coordinates(geoms))
    bad = np.zeros(len(geoms), dtype=bool)
    bad[index[~np.isfinite(coords).all(axis=1)]] = True
    counts["non-finite"] = int(bad.sum())
    length = np.where(bad, 0.0, shapely.length(np.where(bad, None, geoms)))
    zero = ~bad & ~(np.nan_to_num(length) > 0)
    counts["zero-length"] = int(zero.sum())
    good = ~bad & ~zero
    frame = frame.iloc[np.flatnonzero(good)].copy()
    frame = frame.set_geometry(gpd.GeoSeries(geoms[good], index=frame.index, crs=gdf.crs))
    changed = {k: v for k, v in counts.items() if v}
    if changed:
        fixed = ("with Z", "multi-part")
        text = ", ".join(
            f"{v} {k} {'repaired' if k in fixed else 'dropped'}" for k, v in changed.items()
        )
        logger.warning("%s: line geometries: %s", where, text)
    if len(frame) == 0:
        detail = ", ".join(f"{v} {k}" for k, v in changed.items())
        raise DataError(f"{where}: no usable line ({detail})")
    return frame


def check_classes(
    values: Sequence[object] | np.ndarray,
    known: Mapping[str, float],
    fallback_kph: float | None,
    where: str,
    *,
    strict: bool = False,
) -> dict[str, int]:
    """List the class values the preset does not know, with their counts and their speed.

    Parameters
    ----------
    values : sequence
        Class value of every line (None: no rule matched; the line is dropped).
    known : mapping
        Class → speed (km/h) the preset knows.
    fallback_kph : float or None
        Speed given to an unknown class (None: such lines are dropped).
    where : str
        The layer, for messages.
    strict : bool
        Unknown values are an error rather than a warning.

    Returns
    -------
    dict
        Unknown value → number of lines.

    Raises
    ------
    DataError
        With ``strict``, when a value is unknown.
    """
    series = pd.Series(list(values), dtype=object)
    unknown = series[series.notna() & ~series.isin(list(known))].value_counts()
    if unknown.empty:
        return {}
    found = {str(k): int(v) for k, v in unknown.items()}
    what = (
        f"driven at the fallback speed of {fallback_kph:g} km/h"
        if fallback_kph is not None
        else "left out"
    )
    listed = format_values([f"{k} ({v} lines)" for k, v in found.items()])
    message = (
        f"{where}: class value(s) the preset does not know, {what}: {listed}; known classes: "
        f"{format_values(sorted(known))}"
    )
    if strict:
        raise DataError(message)
    logger.warning("%s (give speeds=, or strict=True / --strict to refuse them)", message)
    return found
