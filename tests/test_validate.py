"""Line layers checked at the door: layer, CRS, geometries, classes (network/validate.py),
and the one loader's errors on every kind of source; property tests with hypothesis."""

from __future__ import annotations

import logging
import math
import time

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, MultiLineString, Point

from geoattract import settings as ga_settings
from geoattract.app.cli import main
from geoattract.errors import DataError, GeoattractError
from geoattract.network import load_network
from geoattract.network.lines import line_network

X0, Y0 = 500_000.0, 6_300_000.0  # Lambert-93, in France


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(ga_settings, "cache_folder", tmp_path / "cache")


def roads(classes=("secondary", "secondary", "motorway"), crs="EPSG:2154", dx=X0, dy=Y0):
    """Three roads of a triangle (3 km sides)."""
    pts = [(dx, dy), (dx + 3000, dy), (dx + 3000, dy + 3000)]
    return gpd.GeoDataFrame(
        {"highway": list(classes)},
        geometry=[
            LineString([pts[0], pts[1]]),
            LineString([pts[1], pts[2]]),
            LineString([pts[2], pts[0]]),
        ],
        crs=crs,
    )


def test_layer_picked_by_name_preset_or_alone(tmp_path):
    path = tmp_path / "many.gpkg"
    roads().to_file(path, layer="roads", driver="GPKG")
    roads(("tertiary",) * 3).to_file(path, layer="other", driver="GPKG")
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(X0, Y0)], crs=2154).to_file(
        path, layer="pois", driver="GPKG"
    )
    # the Travel Mapping preset's layer is "roads"
    net = load_network(path, preset="travelmapping", calibration=None)
    assert set(net.lines.classes) == {"secondary", "motorway"}
    other = load_network(path, layer="other", preset="travelmapping", calibration=None)
    assert set(other.lines.classes) == {"tertiary"}
    with pytest.raises(
        DataError, match=r"no layer 'nope'; layers: roads \(LineString\), other .*, pois \(Point\)"
    ):
        load_network(path, layer="nope", preset="travelmapping")
    two = tmp_path / "two.gpkg"
    roads().to_file(two, layer="a", driver="GPKG")
    roads().to_file(two, layer="b", driver="GPKG")
    with pytest.raises(DataError, match=r"2 line layers; name one with --layer .*: a \(.*\), b"):
        load_network(two, preset="travelmapping")


def test_empty_layer_and_missing_crs_refused(tmp_path):
    empty = tmp_path / "empty.gpkg"
    roads().iloc[:0].to_file(empty, driver="GPKG")
    with pytest.raises(DataError, match="empty"):
        load_network(empty, preset="travelmapping")
    with pytest.raises(DataError, match="no CRS"):
        line_network(roads().set_crs(None, allow_override=True), calibration=None)


def test_degrees_labelled_as_metres_and_the_reverse():
    degrees = roads(dx=0.5, dy=44.2).set_crs("EPSG:2154", allow_override=True)
    degrees.geometry = degrees.geometry.scale(0.0001, 0.0001, origin=(0.5, 44.2))
    with pytest.raises(
        DataError, match=r"EPSG:2154 is in metres but the coordinates look like degrees"
    ):
        line_network(degrees, calibration=None)
    metres = roads().set_crs("EPSG:4326", allow_override=True)
    with pytest.raises(DataError, match=r"EPSG:4326 is in degrees but the coordinates are not"):
        line_network(metres, calibration=None)


def test_degenerate_geometries_repaired_or_dropped_in_one_warning(caplog):
    gdf = roads()
    extra = gpd.GeoDataFrame(
        {"highway": ["secondary"] * 5},
        geometry=[
            None,
            LineString(),
            LineString([(X0, Y0), (X0, Y0)]),  # zero-length
            MultiLineString([[(X0, Y0 + 3000), (X0, Y0)], [(X0 + 3000, Y0), (X0 + 3000, Y0 - 10)]]),
            LineString([(X0, Y0, 5.0), (X0 - 2000, Y0, 9.0)]),  # Z
        ],
        crs=2154,
    )
    with caplog.at_level(logging.WARNING):
        net = line_network(
            gpd.pd.concat([gdf, extra], ignore_index=True),
            columns={"class": "highway"},
            calibration=None,
        )
    warnings = [r.getMessage() for r in caplog.records if "line geometries" in r.getMessage()]
    assert len(warnings) == 1
    text = warnings[0]
    for part in (
        "1 null dropped",
        "1 empty dropped",
        "1 with Z repaired",
        "1 multi-part repaired",
        "1 zero-length dropped",
    ):
        assert part in text, text
    # 3 triangle sides + 2 parts + the Z line = 6 lines, two edges each
    assert net.n_edges == 12


def test_class_values_outside_the_preset_listed_then_refused_when_strict(caplog):
    odd = roads(("primary_road", "primary_road", "secondary"))
    with caplog.at_level(logging.WARNING):
        net = line_network(odd, columns={"class": "highway"}, calibration=None)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "'primary_road (2 lines)'" in text and "fallback speed of 40 km/h" in text
    assert net.speed_kph[net.klass == net.classes.index("primary_road")].tolist() == [40.0] * 4
    with pytest.raises(DataError, match=r"does not know.*'primary_road \(2 lines\)'"):
        line_network(odd, columns={"class": "highway"}, calibration=None, strict=True)


def test_bad_sources_exit_2_with_one_line_fast(tmp_path, capsys):
    bad = tmp_path / "roads.gpkg"
    roads(dx=0.5, dy=44.2).set_crs("EPSG:2154", allow_override=True).assign(
        geometry=lambda f: f.geometry.scale(1e-4, 1e-4, origin=(0.5, 44.2))
    ).to_file(bad, driver="GPKG")
    cases = [
        ["network", "--source", str(tmp_path / "missing.graphml")],
        ["network", "--source", str(bad)],
        ["network", "--source", str(tmp_path / "roads.txt")],
    ]
    for argv in cases:
        t0 = time.perf_counter()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("geoattract network: error:"), err
        assert time.perf_counter() - t0 < 5.0


def test_a_graphml_through_the_one_loader(shared_dir, capsys):
    sample = shared_dir / "osm-samples" / "maisons_laffitte_osmnx.graphml"
    net = load_network(sample)
    assert net.kind == "osm" and net.lines is None and net.summary["nodes"] == 652
    assert main(["network", "--source", str(sample)]) == 0
    assert "nodes" in capsys.readouterr().out


CLASSES = ["motorway", "secondary", "tertiary", "trunk", "mystery", ""]
coord = st.floats(min_value=0.0, max_value=5000.0, allow_nan=False)


@st.composite
def pieces(draw):
    """A piece of a line layer: a line, maybe degenerate (empty, a point twice, NaN, Z, multi)."""
    kind = draw(st.sampled_from(["line", "line", "line", "empty", "zero", "nan", "z", "multi"]))
    a = (X0 + draw(coord), Y0 + draw(coord))
    b = (X0 + draw(coord), Y0 + draw(coord))
    if kind == "empty":
        return LineString()
    if kind == "zero":
        return LineString([a, a])
    if kind == "nan":
        return LineString([a, (math.nan, b[1])])
    if kind == "z":
        return LineString([(*a, 1.0), (*b, 2.0)])
    if kind == "multi":
        return MultiLineString([[a, b], [b, (b[0] + 10, b[1])]])
    return LineString([a, b])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(pieces(), st.sampled_from(CLASSES)), min_size=0, max_size=12))
def test_any_small_layer_gives_a_network_or_a_clear_error(layer):
    gdf = gpd.GeoDataFrame(
        {"highway": [c for _, c in layer]}, geometry=[g for g, _ in layer], crs=2154
    )
    try:
        net = line_network(gdf, columns={"class": "highway"}, calibration=None)
    except GeoattractError:
        return
    assert net.n_nodes >= 2 and np.isfinite(net.travel_time).all()
    assert (net.travel_time > 0).all() or net.n_edges == 0


def test_selections_refused_before_any_network_is_built(shared_dir, tmp_path, capsys):
    france = shared_dir / "france"
    cases = [
        ["matrix", "--from", "99", "--to", "75056", "--out", str(tmp_path / "m.csv")],
        ["matrix", "--from", "2A", "--to", "2C", "--out", str(tmp_path / "m.csv")],
        [
            "run",
            "--config",
            "france",
            "--data-dir",
            str(france),
            "--engine",
            "local",
            "--out",
            str(tmp_path / "fr"),
            "--departement-maps",
            "99",
        ],
    ]
    for argv in cases:
        t0 = time.perf_counter()
        assert main(argv) == 2, argv
        lines = capsys.readouterr().err.strip().splitlines()
        errors = [line for line in lines if line.startswith("geoattract ")]
        assert len(errors) == 1 and ("'99'" in errors[0] or "'2C'" in errors[0]), lines
        assert time.perf_counter() - t0 < 15.0  # the national file read, no network built
    assert not (tmp_path / "m.csv").exists() and not (tmp_path / "fr").exists()


def test_a_network_prints_on_one_line():
    import geoattract as ga

    net = load_network(ga.datasets.tiny_roads())
    assert repr(net) == (
        "<Network lines calibrated: 13 nodes, 34 edges, EPSG:2154, Travel Mapping, routes "
        "classées de France (roads.gpkg)>"
    )
    assert repr(net.lines).startswith("<LineNetwork: 13 nodes, 34 edges, EPSG:2154, ")
