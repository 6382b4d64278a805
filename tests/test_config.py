"""Study configuration: safe TOML loading and validation errors."""

from __future__ import annotations

import pytest

import geoattract as ga
from geoattract.config import Field, validate


def test_default_config_is_lot_et_garonne(study_config):
    assert study_config.departement == "47"
    assert study_config.buffer_m == 30_000
    assert study_config.thresholds_min == [10, 20, 30]
    assert study_config.input_path("communes").is_file()


def test_malformed_toml(tiny_study):
    toml, data = tiny_study()
    toml.write_text(toml.read_text() + "\n[study\nname = 3\n")
    with pytest.raises(ga.ConfigError, match="malformed TOML"):
        ga.load_study_config(toml, data_dir=data)


def test_unknown_key(tiny_study):
    toml, data = tiny_study()
    toml.write_text(toml.read_text().replace("buffer_km = 5.0", "buffer_km = 5.0\nbufer = 3"))
    with pytest.raises(ga.ConfigError, match=r"unknown key\(s\) study.bufer"):
        ga.load_study_config(toml, data_dir=data)


def test_wrong_type_names_key_and_type(tiny_study):
    toml, data = tiny_study()
    toml.write_text(toml.read_text().replace("buffer_km = 5.0", 'buffer_km = "five"'))
    with pytest.raises(ga.ConfigError, match="'study.buffer_km' must be a number, got str 'five'"):
        ga.load_study_config(toml, data_dir=data)


def test_missing_key(tiny_study):
    toml, data = tiny_study()
    toml.write_text(toml.read_text().replace('departement = "99"', ""))
    with pytest.raises(ga.ConfigError, match="missing key 'study.departement'"):
        ga.load_study_config(toml, data_dir=data)


def test_bad_thresholds(tiny_study):
    toml, data = tiny_study()
    toml.write_text(
        toml.read_text().replace("buffer_km = 5.0", "buffer_km = 5.0\nthresholds_min = [20, 10]")
    )
    with pytest.raises(ga.ConfigError, match="thresholds_min.*strictly increasing"):
        ga.load_study_config(toml, data_dir=data)


def test_validate_fills_defaults_and_checks_items():
    schema = {
        "a": Field(int),
        "b": Field(float, required=False, default=2.5),
        "c": Field(list, items=str, required=False),
    }
    assert validate({"a": 1}, schema) == {"a": 1, "b": 2.5, "c": None}
    assert validate({"a": 1, "b": 3}, schema)["b"] == 3.0
    with pytest.raises(ga.ConfigError, match=r"'c\[1\]' must be a string"):
        validate({"a": 1, "c": ["x", 2]}, schema)
    with pytest.raises(ga.ConfigError, match="'a' must be an integer, got bool"):
        validate({"a": True}, schema)


def test_exceptions_inherit_builtins():
    assert issubclass(ga.DataError, ValueError) and issubclass(ga.DataError, ga.GeoattractError)
    assert issubclass(ga.ConfigError, ValueError) and issubclass(ga.ConfigError, ga.GeoattractError)
    assert issubclass(ga.DataNotFoundError, FileNotFoundError)


def test_stage_sections_are_validated(tiny_study):
    toml, data = tiny_study(toml_extra="[accessibility]\nhousing_treshold_min = 25\n")
    with pytest.raises(
        ga.ConfigError, match=r"unknown key\(s\) accessibility.housing_treshold_min"
    ):
        ga.load_study_config(toml, data_dir=data)
    toml, data = tiny_study(toml_extra='[transition]\nev_threshold_min = "x"\n')
    with pytest.raises(ga.ConfigError, match="'transition.ev_threshold_min' must be an integer"):
        ga.load_study_config(toml, data_dir=data)
    toml, data = tiny_study(toml_extra='[maps]\nisochrone_method = "fast"\n')
    with pytest.raises(ga.ConfigError, match="maps.isochrone_method.*'grid', 'exact'.*'fast'"):
        ga.load_study_config(toml, data_dir=data)
    toml, data = tiny_study(toml_extra="[scoring]\nmontecarlo_draws = 1\n")
    with pytest.raises(ga.ConfigError, match="'scoring.montecarlo_draws' must be >= 20"):
        ga.load_study_config(toml, data_dir=data)


def test_stage_sections_get_their_defaults(tiny_study):
    toml, data = tiny_study()
    cfg = ga.load_study_config(toml, data_dir=data)
    assert cfg.section("accessibility")["housing_threshold_min"] == 20
    assert cfg.section("transition") == {"ev_threshold_min": 15, "rail_catchment_min": 45.0}
    assert cfg.config_file("scoring").name == "scoring.toml"


def test_shipped_study_resolved_by_name(tmp_path):
    from geoattract.config import load_study_config, shipped_studies

    assert "lot-et-garonne" in shipped_studies()
    cfg = load_study_config("lot-et-garonne", data_dir=tmp_path)  # the TOML, not the data
    assert cfg.name == "Lot-et-Garonne"
    assert cfg.path.name == "study.toml"
    assert cfg.path.parent.name == "lot-et-garonne"


def test_unknown_study_name_lists_the_shipped_ones():
    from geoattract.config import load_study_config
    from geoattract.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"unknown study 'dordogne'.*shipped studies: .*lot-et-garonne"
    ):
        load_study_config("dordogne")
