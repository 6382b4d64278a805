"""Settings are read when a function is called, and the cache lives outside the package."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

import geoattract as ga
from geoattract.network.lines import line_network
from geoattract.network.snapping import SnapRule
from geoattract.scoring import scoring_config_from_dict

TM = Path(__file__).parent / "data" / "lines" / "travelmapping_tiny.geojson"


def test_a_setting_changed_at_run_time_takes_effect(monkeypatch):
    assert SnapRule().max_distance_m == 2000.0
    monkeypatch.setattr(ga.settings, "snap_max_distance_m", 10.0)
    monkeypatch.setattr(ga.settings, "snap_speed_kph", 20.0)
    rule = SnapRule()
    assert (rule.max_distance_m, rule.speed_kph) == (10.0, 20.0)
    # the scoring file's default seed is the setting when the file is read
    doc = {
        "pillars": {"p": {"label_fr": "P"}},
        "indicators": {"x": {"pillar": "p", "direction": "higher_is_better", "label_fr": "x"}},
        "profiles": {"general": {"label_fr": "G", "rationale": "r", "pillars": {"p": 1}}},
    }
    assert scoring_config_from_dict(doc).montecarlo["seed"] == 47
    monkeypatch.setattr(ga.settings, "random_seed", 1)
    assert scoring_config_from_dict(doc).montecarlo["seed"] == 1


def test_the_cache_is_outside_the_package(tmp_path, monkeypatch):
    default = Path(ga.settings.cache_folder).resolve()
    package = Path(ga.__file__).resolve().parent
    assert package not in default.parents and default != package
    if not os.environ.get(ga.settings.cache_dir_env_var):
        assert default == Path(platformdirs.user_cache_dir("geoattract", appauthor=False))
    # overridden at run time: the next build writes there
    monkeypatch.setattr(ga.settings, "cache_folder", tmp_path / "cache")
    line_network(TM, calibration=None)
    written = sorted(p.suffix for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert ".npz" in written and ".json" in written
    assert not list(package.rglob("*.npz"))
