"""Candidate sites of a location-allocation problem, read from a file and checked.

A CSV of commune codes, or a vector layer of points (each takes the commune it falls in, or its
own ``code`` column); every candidate must be a commune of the study.
"""

from __future__ import annotations

import os

import geopandas as gpd

from geoattract.errors import DataError, format_values

#: Vector formats read as candidate points.
POINT_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".shp", ".fgb")


def read_candidates(
    path: str | os.PathLike, study: gpd.GeoDataFrame
) -> tuple[tuple[str, ...] | None, gpd.GeoDataFrame | None]:
    """Candidate communes (a CSV with a ``code`` column) or points (a vector file).

    Points take the commune they fall in (or their ``code`` column); every candidate must be
    a study commune.

    Raises
    ------
    DataError
        A missing file or column, a code or a point outside the study.
    """
    from geoattract._util.io import read_csv, read_vector, require_file

    p = require_file(path, "candidate file")
    codes_ok = set(study["code"].astype(str))
    if p.suffix.lower() in POINT_SUFFIXES:
        pts = read_vector(p).to_crs(study.crs)
        if pts.empty or not (pts.geom_type == "Point").all():
            raise DataError(f"{p}: candidate points must be a non-empty layer of points")
        if "code" in pts.columns:
            pts["code"] = pts["code"].astype(str).str.zfill(5)
        else:
            joined = gpd.sjoin(pts, study[["code", "geometry"]], how="left", predicate="within")
            pts["code"] = joined["code"].groupby(level=0).first().reindex(pts.index)
        outside = pts.index[~pts["code"].isin(codes_ok)].tolist()
        if outside:
            raise DataError(
                f"{p}: candidate point(s) {format_values(outside)} (row) are outside the study "
                f"communes"
            )
        if "name" not in pts.columns and "nom" in pts.columns:
            pts["name"] = pts["nom"]
        return None, pts.reset_index(drop=True)
    table = read_csv(p, columns=["code"], commune_columns=["code"])
    codes = table["code"].astype(str).tolist()
    outside = sorted(set(codes) - codes_ok)
    if outside:
        raise DataError(
            f"{p}: candidate commune(s) {format_values(outside)} are not communes of the study "
            f"({len(codes_ok)} communes)"
        )
    if not codes:
        raise DataError(f"{p}: no candidate commune")
    return tuple(dict.fromkeys(codes)), None
