"""The command line: run, help, errors and exit codes."""

from __future__ import annotations

import subprocess
import sys

import geopandas as gpd
import pyogrio
import pytest

from geoattract.cli import main


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
