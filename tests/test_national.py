"""Territories from the national file, source coverage, and the partitioned national run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import geoattract as ga
from geoattract._util.cluster import Engine, EngineOptions, PartitionError
from geoattract.config import territory_spec
from geoattract.routing.partition import group_balls

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
    folder: Path, name: str, selection: str, buffer_km: float = 0.0, scoring: bool = True
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


def _same_columns(a, b) -> None:
    """Two indicator tables equal column by column (numbers to 1e-9, flags exactly)."""
    assert list(a.columns) == list(b.columns)
    b = b.reindex(a.index)
    for col in a.columns:
        if a[col].dtype.kind not in "fiub":
            assert a[col].equals(b[col]), col
            continue
        x, y = a[col].to_numpy(float), b[col].to_numpy(float)
        assert np.array_equal(np.isnan(x), np.isnan(y)), col
        ok = ~np.isnan(x)
        assert np.allclose(x[ok], y[ok], rtol=1e-12, atol=1e-9), col


def test_partitioned_equals_global(tmp_path, shared_dir):
    from geoattract.app.pipeline import compute_study

    toml = _national_study(
        tmp_path, "seven départements", 'departements = ["47", "82", "32", "75", "92", "93", "94"]'
    )
    cfg = ga.load_study_config(toml, data_dir=shared_dir / "france")
    whole = compute_study(cfg.with_section("partitions", enabled=False), isochrones=False)
    single = compute_study(cfg.with_section("partitions", group=False), isochrones=False)
    parts = single.accessibility.stats
    assert parts["partitions"] == 7
    assert parts["widened"]  # maternity answers beyond 90 min were widened
    grouped = compute_study(cfg, isochrones=False)
    stats = grouped.accessibility.stats
    # the 90-min balls of Paris and its three neighbours overlap (on the roads of the study's
    # territory): grouped, none larger than the largest single partition
    assert stats["partitions"] == 4
    assert any({"75", "92"} <= set(name.split(",")) for name in stats["names"])
    assert stats["largest_partition"]["nodes"] <= parts["largest_partition"]["nodes"]
    _same_columns(whole.accessibility.table, grouped.accessibility.table)
    a = whole.accessibility.table
    _same_columns(a, single.accessibility.table)
    assert a["time_gp_min"].notna().all()
    agen = a.index[whole.territory.communes.loc[a.index, "code"] == "47001"][0]
    assert a.loc[agen, "time_prefecture_min"] == 0.0
    assert 30 < a.loc[agen, "time_regional_capital_min"] < 150  # Agen → Bordeaux


def test_one_pipeline_partitions_of_the_study_give_the_study(study_config, study_state):
    """The 47 study cut into partitions (one per EPCI, as a national run cuts départements)
    gives the study's own accessibility table, e2sfca_gp (APL, age-standardised) included."""
    from geoattract.accessibility import build_accessibility

    cfg = study_config.with_section("partitions", enabled=True, by="epci", group=False)
    state = study_state
    parted = build_accessibility(cfg, state.territory.communes, state.network, state.offer)
    assert parted.stats["partitions"] >= 10
    study = state.accessibility.table
    _same_columns(study, parted.table)
    assert parted.table["e2sfca_gp"].notna().sum() == 319


def test_dordogne_study_on_national_tables_runs(tmp_path, shared_dir):
    toml = _national_study(
        tmp_path, "Dordogne", 'departements = ["24"]', buffer_km=30.0, scoring=True
    )
    import geopandas as gpd

    from geoattract.app.pipeline import run_study

    cfg = ga.load_study_config(toml, data_dir=shared_dir / "france")
    run = run_study(cfg, out_dir=tmp_path / "out", engine="local", maps=False)
    assert run.state.accessibility.stats["partitions"] == 1  # the study's own département
    layer = gpd.read_file(tmp_path / "out" / "communes.gpkg", layer="communes").set_index("code")
    assert len(layer) == 503 and set(layer["dep"]) == {"24"}  # study communes only
    perigueux = layer.loc["24322"]
    # GPs in Périgueux itself (BPE 2017): the trip crosses the commune, the intra-commune leg
    # only: 0.5 × √(10.13 km² / π) = 897.8 m, × 1.3 detour at 42.57 km/h (the access speed of
    # the calibration of issue 22; 30.8 before) = 1.6451 min
    assert perigueux["time_gp_min"] == pytest.approx(1.6451, abs=1e-4)
    assert perigueux["time_prefecture_min"] == 0.0
    # the préfecture and its agglomeration lead: Marsac-sur-l'Isle (92.3), Périgueux (91.4),
    # Razac-sur-l'Isle, Coulounieix-Chamiers, Sanilhac, all within 12 km of Périgueux
    assert perigueux["rank_general"] <= 2
    top5 = layer.sort_values("rank_general").head(5)
    assert top5.geometry.centroid.distance(perigueux.geometry.centroid).max() < 12_000
    assert layer["time_gp_min"].notna().all() and layer["score_general"].notna().all()


def test_a_killed_worker_has_its_partitions_run_again(tmp_path, shared_dir):
    """A dask worker killed (SIGKILL) while partitions run: they run again, same results."""
    import os
    import signal
    import threading
    import time

    from geoattract.app.pipeline import compute_study
    from geoattract.routing.partition import warm_up_kernels

    toml = _national_study(tmp_path, "four départements", 'departements = ["47", "82", "32", "40"]')
    cfg = ga.load_study_config(toml, data_dir=shared_dir / "france").with_section(
        "partitions", group=False
    )
    clean = compute_study(cfg, isochrones=False)
    killed: list[int] = []
    options = EngineOptions(engine="dask", workers=2, retries=1, memory_limit="2GB")
    with Engine(options, warm_up=warm_up_kernels) as engine:
        pids = engine.client.run(os.getpid)
        done = threading.Event()

        def kill_when_busy() -> None:
            while not done.is_set():
                busy = [w for w, keys in engine.client.processing().items() if keys]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(pids[busy[0]])
                    return
                time.sleep(0.05)

        killer = threading.Thread(target=kill_when_busy, daemon=True)
        killer.start()
        try:
            state = compute_study(cfg, isochrones=False, mapper=engine.map)
        finally:
            done.set()
            killer.join(5)
    assert killed, "no worker was killed while partitions ran"
    assert state.accessibility.stats["partitions"] == 4
    _same_columns(clean.accessibility.table, state.accessibility.table)
    _same_columns(clean.scores.scores, state.scores.scores)
