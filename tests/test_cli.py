"""The command line: run, help, errors and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest

from geoattract import settings
from geoattract.app.cli import main
from geoattract.errors import DataError


@pytest.mark.slow
def test_run_writes_territory(study_run):
    out = study_run
    communes = gpd.read_file(out / "communes.gpkg", layer="communes")
    assert len(communes) == 319
    assert communes["in_study"].all()
    assert communes["population"].sum() == 333_602
    meta = pyogrio.read_dataframe(out / "communes.gpkg", layer="metadata").set_index("key")["value"]
    assert json.loads(meta["departements"]) == ["47"]
    assert not list(out.glob(".staging-*"))


def test_bad_config_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[study\n")
    assert main(["run", "--config", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "malformed TOML" in err[0]
    assert "Traceback" not in err[0]


def test_missing_data_dir_exit_code(tmp_path, capsys):
    assert main(["run", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "data folder not found" in capsys.readouterr().err


@pytest.mark.parametrize("cmd", [[], ["run"]])
def test_help(cmd):
    proc = subprocess.run(
        [sys.executable, "-m", "geoattract", *cmd, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "usage: geoattract" in proc.stdout


@pytest.mark.shared_data
def test_network_command_schematic(tmp_path, capsys):
    out = tmp_path / "net.gpkg"
    assert main(["network", "--source", "schematic", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "schematic" in text and "4631" in text.replace(",", "")
    layers = dict(pyogrio.list_layers(out))
    assert {"nodes", "edges"} <= set(layers)
    edges = gpd.read_file(out, layer="edges")
    assert len(edges) == 13_712
    assert edges["travel_time"].gt(0).all()


def test_network_command_on_the_tiny_line_layer(tiny_config, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    source = tiny_config.data_dir / "roads" / "roads.gpkg"
    out = tmp_path / "net.gpkg"
    assert main(["network", "--source", str(source), "--out", str(out)]) == 0
    summary = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines()[:3])
    # 9 town halls, 2 interchanges, 2 motorway ends; 12 départementales, 3 motorway pieces and
    # 2 links, both ways. A file is read as it is, with the preset's shipped calibration: its
    # detours make 12 km of motorway × 1.025 + 2 km of links + 48 km of départementales × 1.07
    assert summary == {"nodes": "13", "edges": "34", "road_km": f"{12 * 1.025 + 2 + 48 * 1.07:.2f}"}
    edges = gpd.read_file(out, layer="edges")
    assert len(edges) == 34 and edges["travel_time"].gt(0).all()


def test_network_command_graphml_sample(shared_dir, capsys):
    sample = shared_dir / "osm-samples" / "maisons_laffitte_osmnx.graphml"
    assert main(["network", "--source", str(sample)]) == 0
    text = capsys.readouterr().out.replace(",", "")
    # drive-filtered, largest strongly connected component (counts from tests/test_graph.py)
    assert "652" in text and "1209" in text


def _tiny_args(config) -> list[str]:
    return ["--config", str(config.path), "--data-dir", str(config.data_dir)]


def test_isochrones_command(tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")
    out = tmp_path / "iso.geojson"
    args = ["isochrones", "99001", "Bernac", "--minutes", "10", "20", "--out", str(out)]
    assert main([*args, *_tiny_args(tiny_config)]) == 0
    iso = gpd.read_file(out)
    assert sorted(iso["code"].unique()) == ["99001", "99002"]
    assert sorted(iso["minutes"].unique()) == [10, 20]
    assert iso.crs.to_epsg() == 4326
    first = iso[iso["code"] == "99001"].set_index("minutes")
    assert first.loc[10, "area_km2"] < first.loc[20, "area_km2"]
    # town halls within 10 min of 99001: 99002, 99004 (a départementale) and 99003 (motorway)
    assert first.loc[10, "population_reached"] == 1200 + 600 + 900 + 1800


def test_isochrones_command_unknown_code(tiny_config, tmp_path, capsys):
    args = ["isochrones", "99999", "--out", str(tmp_path / "x.gpkg"), *_tiny_args(tiny_config)]
    assert main(args) == 2
    assert "unknown commune '99999'" in capsys.readouterr().err


@pytest.mark.shared_data
def test_scenario_command(tmp_path, capsys):
    out = tmp_path / "changes.csv"
    args = ["scenario", "--remove", "maternity:47323", "--profile", "familles", "--out", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "maternity" in text and "Villeneuve-sur-Lot" in text
    import pandas as pd

    changes = pd.read_csv(out, dtype={"code": str})
    assert set(changes["profile"]) >= {"general", "familles"}
    vsl = changes[(changes["code"] == "47323") & (changes["profile"] == "familles")]
    assert vsl["score_change"].item() < 0


def test_build_network_reads_the_source_named_in_the_config(tiny_config, shared_dir):
    """The Île-de-France GraphML sample is read (652 drivable nodes) and refused: it does not
    cover the study (an error naming the network, not a study of unreachable communes)."""
    from geoattract.network import build_network, load_graph
    from geoattract.territory import load_territory

    sample = shared_dir / "osm-samples" / "maisons_laffitte_osmnx.graphml"
    assert load_graph(sample).number_of_nodes() == 652  # drive-filtered (tests/test_graph.py)
    cfg = tiny_config.with_section("network", source=str(sample))
    with pytest.raises(DataError, match=r"does not cover the study: 6 of 6 town halls"):
        build_network(cfg, load_territory(cfg))


def test_run_on_a_pbf_that_misses_the_study_area(tiny_config):
    """The PBF is clipped to the study area plus buffer: an extract of somewhere else is a
    clear error naming the file, not an empty study."""
    import pyrosm

    from geoattract.errors import NetworkError
    from geoattract.network import build_network
    from geoattract.territory import load_territory

    cfg = tiny_config.with_section("network", source=pyrosm.get_data("test_pbf"))
    with pytest.raises(
        NetworkError, match="test.osm.pbf: no 'driving' road in the area of the polygon"
    ):
        build_network(cfg, load_territory(cfg))


def test_compare_refuses_an_unknown_commune_before_computing(tiny_config, tmp_path, capsys,
                                                             monkeypatch):  # fmt: skip
    import geoattract.app.pipeline as pipeline

    def never(*args, **kwargs):
        raise AssertionError("the study was computed before the communes were checked")

    monkeypatch.setattr(pipeline, "compute_study", never)
    monkeypatch.chdir(tmp_path)  # no previous results (maps/): the study would be computed
    assert not (tmp_path / tiny_config.study["output_dir"] / "communes.gpkg").exists()
    assert main(["compare", "99001", "Agem", *_tiny_args(tiny_config)]) == 2
    err = capsys.readouterr().err
    assert "unknown commune 'Agem'" in err and err.count("\n") == 1
