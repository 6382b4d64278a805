"""Territories from the national file, source coverage, and the partitioned national run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import geoattract as ga
from geoattract.app.cluster import Engine, EngineOptions, PartitionError
from geoattract.config import territory_spec

STUDIES = Path(ga.__file__).parent / "config" / "studies"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
if not (SHARED / "france" / "communes_2025.gpkg").is_file():
    SHARED = Path("/work/shared/data")
needs_data = pytest.mark.skipif(
    not (SHARED / "france" / "communes_2025.gpkg").is_file(), reason="shared data missing"
)


def test_territory_spec_rules():
    assert territory_spec({}, "47").codes == ("47",)
    spec = territory_spec({"epci": ["200069193"]}, None)
    assert (spec.kind, spec.codes) == ("epci", ("200069193",))
    with pytest.raises(ga.ConfigError, match="both 'study.departement'"):
        territory_spec({"departements": ["24"]}, "47")
    with pytest.raises(ga.ConfigError, match="keep exactly one"):
        territory_spec({"departements": ["24"], "communes": ["47001"]}, None)
    with pytest.raises(ga.ConfigError, match="missing key 'study.departement'"):
        territory_spec({}, None)


def _failing(item):
    if item == "bad":
        raise ValueError("boom")
    return item * 2


def test_engine_reports_failed_partition_by_name():
    with Engine(EngineOptions(engine="local", retries=1)) as engine:
        assert engine.map(_failing, [1, 2], ["a", "b"]) == [2, 4]
        with pytest.raises(PartitionError, match=r"1 partition\(s\) failed after 1 retry: b:"):
            engine.map(_failing, [1, "bad"], ["a", "b"])


@needs_data
def test_dordogne_copy_refused_then_runs_with_national_tables(tmp_path):
    lot = STUDIES / "lot-et-garonne"
    for name in ("study.toml", "facilities.toml", "indicators.toml", "scoring.toml"):
        (tmp_path / name).write_text((lot / name).read_text())
    study = tmp_path / "study.toml"
    study.write_text(study.read_text().replace('departement = "47"', 'departement = "24"'))
    cfg = ga.load_study_config(study, data_dir=SHARED / "lot-et-garonne")
    from geoattract.facilities import check_study_coverage
    from geoattract.territory import build_territory

    territory = build_territory(cfg)
    assert territory.source == "national"  # the 47 files do not hold 16, 17, 19, 87
    assert territory.buffer_departements == ("16", "17", "19", "33", "46", "47", "82", "87")
    with pytest.raises(ga.DataError) as err:
        check_study_coverage(cfg, territory.communes)
    text = str(err.value)
    assert "pharmacy (départements 24: bpe D307 covers 47 (2024))" in text
    assert "maternity (départements 16, 17, 19, 87:" in text
    assert "gp (" not in text  # the national GP table covers every département
    france = STUDIES / "france" / "facilities.toml"
    (tmp_path / "facilities.toml").write_text(
        france.read_text().replace('file = "bpe2017', 'file = "../france/bpe2017')
    )
    report = check_study_coverage(cfg, territory.communes)
    assert report.covers_buffer == {"gp": True, "maternity": True}


@needs_data
def test_lot_et_garonne_gp_buffer_from_national_table(study_config):
    from geoattract.facilities import build_offer
    from geoattract.territory import build_territory

    territory = build_territory(study_config)
    offer = build_offer(study_config, territory.communes)
    fac = offer.facilities
    assert fac.attrs["covers_buffer"]["gp"] is True
    assert fac.attrs["covers_buffer"]["pharmacy"] is False
    gp = fac[fac["category"] == "gp"]
    by_dep = gp.groupby(gp["code"].str[:2])["capacity"].sum()
    assert by_dep["47"] == pytest.approx(206.0)  # BPE 2024, untouched
    # buffer GPs: BPE 2017 counts × 206 / 259
    adjust = fac.attrs["report"].adjustments["gp"][0]
    assert "206 (earlier source) / 259 (2017) = 0.795" in adjust
    assert offer.catalogue["gp"].covers_buffer is True


@needs_data
def test_partitioned_equals_global(tmp_path):
    france = STUDIES / "france"
    toml = tmp_path / "few.toml"
    toml.write_text(f"""
[study]
name = "three départements"
data_subdir = "france"
buffer_km = 0.0
[territory]
departements = ["47", "82", "32"]
source = "national"
communes_file = "communes_2025.gpkg"
[configs]
catalogue = "{france / "facilities.toml"}"
places = "{france / "places.toml"}"
[network]
source = "../roads/france_roads_travelmapping.gpkg"
[partitions]
enabled = true
""")
    from geoattract.app.national import compute_national

    cfg = ga.load_study_config(toml, data_dir=SHARED / "france")
    whole = compute_national(cfg, EngineOptions(engine="local"), partitioned=False)
    parts = compute_national(cfg, EngineOptions(engine="local"), partitioned=True)
    assert parts.stats["partitions"] == 3
    assert parts.stats["widened"]  # maternity answers beyond 90 min were widened
    a, b = whole.table, parts.table
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(x)
        assert np.allclose(x[ok], y[ok], rtol=0, atol=1e-9), col
    assert a["time_gp_min"].notna().all()
    agen = a.index[whole.territory.communes["code"] == "47001"][0]
    assert a.loc[agen, "time_prefecture_min"] == 0.0
    assert 30 < a.loc[agen, "time_regional_capital_min"] < 150  # Agen → Bordeaux
