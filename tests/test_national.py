"""Territories from the national file, source coverage, and the partitioned national run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import geoattract as ga
from geoattract.app.cluster import Engine, EngineOptions, PartitionError
from geoattract.app.partition import group_balls
from geoattract.config import territory_spec

STUDIES = Path(ga.__file__).parent / "config" / "studies"


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


def _flaky(item):
    """Fails on the first attempt at ``("flaky", folder)``, always on ``"bad"``."""
    if item == "bad":
        raise ValueError("boom")
    if isinstance(item, tuple):
        marker = Path(item[1]) / "tried"
        if not marker.exists():
            marker.write_text("1")
            raise RuntimeError("first attempt fails")
        return "flaky ok"
    return item * 2


def test_local_cluster_retries_once_then_names_the_partition(tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers lack tests/ on sys.path
    try:
        options = EngineOptions(engine="dask", workers=1, retries=1, memory_limit="1GB")
        with Engine(options) as engine:
            items = [1, ("flaky", str(tmp_path)), "bad", 3]
            with pytest.raises(PartitionError) as err:
                engine.map(_flaky, items, ["a", "flaky", "bad", "c"])
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert str(err.value) == "1 partition(s) failed after 1 retry: bad: ValueError: boom"
    assert (tmp_path / "tried").read_text() == "1"  # the flaky one failed once, then passed
    assert list(engine.stats.failures) == ["bad"]
    worker = next(iter(engine.stats.worker_peaks))
    # the worker measured itself: its peak is its own, at least what it held when ready
    assert engine.stats.peak_rss_bytes[worker] >= engine.stats.start_rss_bytes.get(worker, 0) > 0


def test_group_balls_merges_overlapping_balls_within_the_largest():
    balls = [
        np.arange(4),
        np.array([1, 2, 3]),
        np.array([3, 4, 5, 6]),
        np.array([7]),
        np.array([5, 6]),
    ]
    # 0 and 1 share 3 nodes (union 4 <= 4); 2 and 4 share 2 (union 4); 0+1 and 2 share node 3
    # but their union (7 nodes) is larger than the largest ball; 3 overlaps nothing.
    assert group_balls(balls, 8) == [[0, 1], [2, 4], [3]]


def test_dordogne_copy_refused_then_runs_with_national_tables(tmp_path, shared_dir):
    lot = STUDIES / "lot-et-garonne"
    for name in ("study.toml", "facilities.toml", "indicators.toml", "scoring.toml"):
        (tmp_path / name).write_text((lot / name).read_text())
    study = tmp_path / "study.toml"
    study.write_text(study.read_text().replace('departement = "47"', 'departement = "24"'))
    cfg = ga.load_study_config(study, data_dir=shared_dir / "lot-et-garonne")
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
    assert "206 (source of higher precedence) / 259 (2017) = 0.795" in adjust
    # the study's report states it in French only
    adjust_fr = fac.attrs["report"].adjustments_fr["gp"][0]
    assert "multipliée par 0,795" in adjust_fr
    assert "206 (source prioritaire) / 259 (2017) = 0,795, appliquée aux autres" in adjust_fr
    assert "observed" not in adjust_fr and "precedence" not in adjust_fr
    assert offer.catalogue["gp"].covers_buffer is True


def _national_study(
    folder: Path, name: str, selection: str, buffer_km: float = 0.0, scoring: bool = False
) -> Path:
    """A study on the national tables and the France configs: its TOML file in ``folder``."""
    france = STUDIES / "france"
    score = f'scoring = "{france / "scoring.toml"}"' if scoring else ""
    toml = folder / "study.toml"
    toml.write_text(f"""
[study]
name = "{name}"
data_subdir = "france"
buffer_km = {buffer_km}
[territory]
{selection}
source = "national"
communes_file = "communes_2025.gpkg"
[configs]
catalogue = "{france / "facilities.toml"}"
places = "{france / "places.toml"}"
{score}
[network]
source = "../roads/france_roads_travelmapping.gpkg"
[partitions]
enabled = true
""")
    return toml


def test_partitioned_equals_global(tmp_path, shared_dir):
    toml = _national_study(
        tmp_path, "seven départements", 'departements = ["47", "82", "32", "75", "92", "93", "94"]'
    )
    from geoattract.app.national import compute_national

    cfg = ga.load_study_config(toml, data_dir=shared_dir / "france")
    whole = compute_national(cfg, EngineOptions(engine="local"), partitioned=False)
    single = cfg.with_section("partitions", group=False)
    parts = compute_national(single, EngineOptions(engine="local"), partitioned=True)
    assert parts.stats["partitions"] == 7
    assert parts.stats["widened"]  # maternity answers beyond 90 min were widened
    grouped = compute_national(cfg, EngineOptions(engine="local"), partitioned=True)
    # Paris's 90-min buffer lies within that of the Hauts-de-Seine: one partition, no larger
    # than the largest single one (93 or 94 added to it would make it larger)
    assert grouped.stats["partitions"] == 6
    assert grouped.stats["largest_partition"]["name"] == "75,92"
    assert grouped.stats["largest_partition"]["nodes"] <= parts.stats["largest_partition"]["nodes"]
    a = whole.table
    for b in (parts.table, grouped.table):
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


def test_same_commune_trip_takes_the_intra_commune_leg_only():
    from types import SimpleNamespace

    import pandas as pd

    from geoattract.app.national import apply_same_commune
    from geoattract.app.partition import CategorySpec

    territory = SimpleNamespace(communes=pd.DataFrame({"code": ["47001", "47002", "47003"]}))
    # 47002 has 3 GPs at its town hall: routed 2 + 3 = 5 min (both legs), direct 1.5 min
    pairs = pd.DataFrame(
        {"code": ["47002"], "direct_s": [90.0], "network_s": [300.0], "weight": [3.0]}
    )
    snapped = SimpleNamespace(same_commune={"gp": pairs})
    columns = {
        "time_gp_min": np.array([7.0, 5.0, np.inf]),
        "count_gp_2min": np.array([0.0, 0.0, 0.0]),
        "count_gp_10min": np.array([1.0, 3.0, 0.0]),
    }
    spec = CategorySpec("gp", (2, 10), {"type": "apl"})
    assert apply_same_commune(columns, snapped, territory, (spec,)) == 1
    assert columns["time_gp_min"].tolist() == [7.0, 1.5, np.inf]
    assert columns["count_gp_2min"].tolist() == [0.0, 3.0, 0.0]  # gained: 90 s <= 2 min < 300 s
    assert columns["count_gp_10min"].tolist() == [1.0, 3.0, 0.0]  # already counted routed


def test_dordogne_study_on_national_tables_runs(tmp_path, shared_dir):
    toml = _national_study(
        tmp_path, "Dordogne", 'departements = ["24"]', buffer_km=30.0, scoring=True
    )
    import geopandas as gpd

    from geoattract.app.national_write import run_national

    cfg = ga.load_study_config(toml, data_dir=shared_dir / "france")
    run = run_national(cfg, tmp_path / "out", EngineOptions(engine="local"), maps=False)
    assert run["state"].stats["partitions"] >= 2  # 24 and the buffer's départements
    layer = gpd.read_file(tmp_path / "out" / "communes.gpkg", layer="communes").set_index("code")
    assert len(layer) == 503 and set(layer["dep"]) == {"24"}  # study communes only
    perigueux = layer.loc["24322"]
    # GPs in Périgueux itself (BPE 2017): the trip crosses the commune, the intra-commune leg
    # only: 0.5 × √(10.13 km² / π) = 897.8 m, × 1.3 detour at 30.8 km/h (the access speed of
    # the refit calibration; 37.73 before) = 2.2738 min
    assert perigueux["time_gp_min"] == pytest.approx(2.2738, abs=1e-4)
    assert perigueux["time_prefecture_min"] == 0.0
    assert perigueux["rank_general"] == 1
    assert layer["time_gp_min"].notna().all() and layer["score_general"].notna().all()
