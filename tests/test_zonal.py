"""Exact area-weighted zonal statistics on small synthetic GeoTIFFs written in the tests."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from geoattract.errors import DataError, DataNotFoundError
from geoattract.transition import zonal as zonal
from geoattract.transition.zonal import raster_band_names, zonal_stats

# Synthetic grid: 4 columns × 3 rows of 100 m cells in Lambert-93, north-up.
X0, Y0, CELL = 700_000.0, 6_600_000.0, 100.0
NODATA = -9999.0
#: Band "heat": row 0 = 10 30 50 70, row 1 = 20 nodata 60 80, row 2 = 1 2 3 4.
HEAT = np.array([[10, 30, 50, 70], [20, NODATA, 60, 80], [1, 2, 3, 4]], dtype="float32")
#: Band "cold" = heat / 10 where heat is valid, no nodata hole.
COLD = np.array([[1, 3, 5, 7], [2, 4, 6, 8], [0.1, 0.2, 0.3, 0.4]], dtype="float32")


def _write(path, bands, names=None, crs="EPSG:2154", nodata=NODATA):
    data = np.stack(bands)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=data.shape[2],
        height=data.shape[1],
        count=data.shape[0],
        dtype=data.dtype,
        crs=crs,
        nodata=nodata,
        transform=Affine(CELL, 0.0, X0, 0.0, -CELL, Y0),
    ) as dst:
        dst.write(data)
        if names:
            for i, name in enumerate(names, start=1):
                dst.set_band_description(i, name)
    return path


@pytest.fixture
def raster(tmp_path):
    return _write(tmp_path / "grid.tif", [HEAT, COLD], names=["heat", "cold"])


def cell_box(
    row: int,
    col: int,
    x_from: float = 0.0,
    x_to: float = 1.0,
    y_from: float = 0.0,
    y_to: float = 1.0,
):
    """Box over cell (row, col); fractions of the cell measured from its left / top edges."""
    left, top = X0 + col * CELL, Y0 - row * CELL
    return shapely.box(
        left + x_from * CELL, top - y_to * CELL, left + x_to * CELL, top - y_from * CELL
    )


def frame(geoms, crs="EPSG:2154", index=None):
    return gpd.GeoDataFrame(geometry=list(geoms), crs=crs, index=index)


def test_half_cell_gives_the_cell_value_with_full_coverage(raster):
    out = zonal_stats(frame([cell_box(0, 2, 0.0, 0.5)]), raster)
    assert out.loc[0, "heat"] == pytest.approx(50.0)
    assert out.loc[0, "cold"] == pytest.approx(5.0)
    assert out.loc[0, "coverage"] == pytest.approx(1.0)
    assert not out.loc[0, "heat_missing"]
    assert not out.loc[0, "zonal_missing"]


def test_two_cells_in_area_proportion_three_to_one(raster):
    # 75 m of cell (0,0) = 10 and 25 m of cell (0,1) = 30: (3 × 10 + 1 × 30) / 4 = 15
    poly = shapely.box(X0 + 25, Y0 - 100, X0 + 125, Y0)
    out = zonal_stats(frame([poly]), raster, ["heat"])
    assert out.loc[0, "heat"] == pytest.approx(15.0)
    assert list(out.columns) == ["heat", "heat_missing", "coverage", "zonal_missing"]


def test_nodata_cell_is_excluded_and_weights_renormalised(raster):
    # a quarter of (1,0) = 20, all of (1,1) = nodata, a quarter of (1,2) = 60
    poly = shapely.box(X0 + 75, Y0 - 200, X0 + 225, Y0 - 100)
    out = zonal_stats(frame([poly]), raster)
    assert out.loc[0, "heat"] == pytest.approx((0.25 * 20 + 0.25 * 60) / 0.5)  # 40
    # the cold band has no hole: (0.25 × 2 + 1 × 4 + 0.25 × 6) / 1.5 = 4
    assert out.loc[0, "cold"] == pytest.approx(4.0)
    # coverage counts cells valid in every band: 50 of the 150 m are over the hole
    assert out.loc[0, "coverage"] == pytest.approx(50 / 150)


def test_polygon_over_nodata_only_is_nan_and_flagged(raster):
    out = zonal_stats(frame([cell_box(1, 1, 0.1, 0.9, 0.1, 0.9)]), raster)
    assert math.isnan(out.loc[0, "heat"])
    assert out.loc[0, "heat_missing"]
    assert out.loc[0, "cold"] == pytest.approx(4.0)
    assert not out.loc[0, "cold_missing"]
    assert not out.loc[0, "zonal_missing"]  # one band still has a value
    assert out.loc[0, "coverage"] == 0.0


def test_polygon_outside_raster_is_nan_and_flagged(raster):
    far = shapely.box(X0 + 10_000, Y0, X0 + 10_100, Y0 + 100)
    out = zonal_stats(frame([far, cell_box(2, 3), None], index=["far", "in", "empty"]), raster)
    assert list(out.index) == ["far", "in", "empty"]
    assert out.loc["far", ["heat", "cold"]].isna().all()
    assert out.loc["far", "zonal_missing"] and out.loc["empty", "zonal_missing"]
    assert out.loc["far", "coverage"] == 0.0
    assert out.loc["in", "heat"] == pytest.approx(4.0)


def test_polygon_partly_outside_raster_keeps_the_inside_part(raster):
    # half over cell (0,0) = 10, half north of the raster
    poly = shapely.box(X0, Y0 - 50, X0 + 100, Y0 + 50)
    out = zonal_stats(frame([poly]), raster, ["heat"])
    assert out.loc[0, "heat"] == pytest.approx(10.0)
    assert out.loc[0, "coverage"] == pytest.approx(0.5)


def test_polygons_in_another_crs_give_the_same_answer(raster):
    polys = frame(
        [
            cell_box(0, 2, 0.0, 0.5),
            shapely.box(X0 + 25, Y0 - 100, X0 + 125, Y0),
            shapely.box(X0 + 75, Y0 - 200, X0 + 225, Y0 - 100),
        ]
    )
    native = zonal_stats(polys, raster)
    in_wgs84 = zonal_stats(polys.to_crs("EPSG:4326"), raster)
    np.testing.assert_allclose(
        in_wgs84[["heat", "cold", "coverage"]], native[["heat", "cold", "coverage"]], rtol=1e-6
    )
    assert in_wgs84.loc[1, "heat"] == pytest.approx(15.0, rel=1e-6)


def test_raster_in_lambert_ii_and_polygons_in_lambert_93(tmp_path):
    # the same grid written in EPSG:27572 (the DRIAS rasters' CRS); the polygon is given in
    # Lambert-93 and must be reprojected, the answer matches the raster-CRS polygon
    path = _write(tmp_path / "l2.tif", [HEAT], names=["heat"], crs="EPSG:27572")
    poly27572 = frame([shapely.box(X0 + 25, Y0 - 100, X0 + 125, Y0)], crs="EPSG:27572")
    native = zonal_stats(poly27572, path)
    reprojected = zonal_stats(poly27572.to_crs("EPSG:2154"), path)
    assert native.loc[0, "heat"] == pytest.approx(15.0)
    # NTF → RGF93 and back is not an exact round trip (datum shift, centimetre level): a 1 cm
    # shift of a 100 m wide box moves the mean by about 20 × 0.01 / 100 = 0.002 at most
    assert reprojected.loc[0, "heat"] == pytest.approx(15.0, abs=2e-3)


def test_multipolygon_parts_are_weighted_by_area(raster):
    # one full cell (0,3) = 70 and a quarter of cell (2,0) = 1: (1 × 70 + 0.25 × 1) / 1.25
    mp = shapely.MultiPolygon([cell_box(0, 3), cell_box(2, 0, 0, 0.5, 0, 0.5)])
    out = zonal_stats(frame([mp]), raster, ["heat"])
    assert out.loc[0, "heat"] == pytest.approx((70 + 0.25) / 1.25)


def test_windowed_reads_match_the_single_read(raster, monkeypatch):
    polys = frame([shapely.box(X0 + 75, Y0 - 200, X0 + 225, Y0 - 100), cell_box(0, 2, 0.0, 0.5)])
    whole = zonal_stats(polys, raster)
    monkeypatch.setattr(zonal, "WHOLE_READ_MAX_CELLS", 0)
    windowed = zonal_stats(polys, raster)
    np.testing.assert_allclose(
        windowed[["heat", "cold", "coverage"]], whole[["heat", "cold", "coverage"]]
    )


def test_band_names_from_config_when_the_file_has_none(tmp_path):
    path = _write(tmp_path / "anon.tif", [HEAT, COLD])
    assert raster_band_names(path) == ["band1", "band2"]
    assert raster_band_names(path, ["heat", "cold"]) == ["heat", "cold"]
    out = zonal_stats(
        frame([cell_box(0, 2, 0.0, 0.5)]), path, ["cold"], band_names=["heat", "cold"]
    )
    assert out.loc[0, "cold"] == pytest.approx(5.0)
    with pytest.raises(DataError, match="2 band"):
        raster_band_names(path, ["only_one"])


def test_unknown_band_lists_the_available_ones(raster):
    with pytest.raises(DataError, match=r"'NORTX35'.*available: 'heat', 'cold'"):
        zonal_stats(frame([cell_box(0, 0)]), raster, ["NORTX35"])


def test_input_errors(raster, tmp_path):
    with pytest.raises(DataNotFoundError, match="nothere.tif"):
        zonal_stats(frame([cell_box(0, 0)]), tmp_path / "nothere.tif")
    with pytest.raises(DataError, match="no CRS"):
        zonal_stats(gpd.GeoDataFrame(geometry=[cell_box(0, 0)]), raster)
    with pytest.raises(DataError, match="Point"):
        zonal_stats(frame([shapely.Point(X0, Y0)]), raster)
    with pytest.raises(ValueError, match="stat"):
        zonal_stats(frame([cell_box(0, 0)]), raster, stat="median")


def test_fractions_of_a_categorical_raster(tmp_path):
    classes = np.array([[1, 2, 2, 3], [1, 0, 3, 3], [1, 1, 1, 1]], dtype="int16")
    path = _write(tmp_path / "landcover.tif", [classes], names=["lc"], nodata=0)
    # 75 m of (0,0) = class 1, 25 m of (0,1) = class 2 → 0.75 / 0.25, class 3 a real zero
    polys = frame([shapely.box(X0 + 25, Y0 - 100, X0 + 125, Y0), cell_box(1, 1), cell_box(0, 3)])
    out = zonal_stats(polys, path, stat="fractions")
    assert out.loc[0, "lc_1"] == pytest.approx(0.75)
    assert out.loc[0, "lc_2"] == pytest.approx(0.25)
    assert out.loc[0, "lc_3"] == 0.0
    assert out.loc[1, ["lc_1", "lc_2", "lc_3"]].isna().all()  # only nodata (class 0)
    assert out.loc[1, "zonal_missing"]
    assert out.loc[2, ["lc_1", "lc_2", "lc_3"]].tolist() == [0.0, 0.0, 1.0]
    with pytest.raises(DataError, match="exactly one"):
        zonal_stats(
            polys, _write(tmp_path / "two.tif", [HEAT, COLD], names=["a", "b"]), stat="fractions"
        )


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


@settings(max_examples=60, deadline=None)
@given(x0=st.floats(0, 390), w=st.floats(1, 400), y0=st.floats(0, 290), h=st.floats(1, 300))
def test_rectangle_mean_matches_the_separable_overlap_formula(tmp_path_factory, x0, w, y0, h):
    """Any rectangle: weights are products of 1-D overlaps, computed independently here."""
    path = tmp_path_factory.getbasetemp() / "hyp_cold.tif"
    if not path.exists():
        _write(path, [COLD], names=["cold"])
    x1, y1 = min(x0 + w, 400.0), min(y0 + h, 300.0)
    if x1 - x0 < 1e-6 or y1 - y0 < 1e-6:
        return
    poly = shapely.box(X0 + x0, Y0 - y1, X0 + x1, Y0 - y0)
    num = den = 0.0
    for r in range(3):
        for c in range(4):
            a = _overlap(x0, x1, c * CELL, (c + 1) * CELL) * _overlap(
                y0, y1, r * CELL, (r + 1) * CELL
            )
            num += a * float(COLD[r, c])
            den += a
    out = zonal_stats(frame([poly]), path)
    assert out.loc[0, "cold"] == pytest.approx(num / den, rel=1e-9)
    assert out.loc[0, "coverage"] == pytest.approx(1.0)
