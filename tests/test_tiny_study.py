"""The whole pipeline on the tiny study of ``tests/data/tiny``, every number checked by hand.

The tiny study (written by ``tests/data/tiny/make_tiny.py``, whose docstring gives the design):

* 9 square communes of 4 km (16 km²) on a 3 × 3 grid, columns ``c`` west to east and rows
  ``r`` south to north; rows 0-1 are the study communes 99001-99006, row 2 the buffer
  communes 98001-98003::

      98001 (300)   98002 (500)   98003 (700)      row 2, département 98
      99004 (900)   99005 (2100)  99006 (400)      row 1
      99001 (1200)  99002 (600)   99003 (1800)     row 0

* town halls at the centres, on road nodes (access leg 0 m);
* a départementale (40 km/h) between every pair of neighbouring town halls: 4 km = 6 min;
* a motorway (120 km/h) south of row 0 with 1 km interchange links (60 km/h) to 99001 and
  99003: 99001 → 99003 takes 1 + 4 + 1 = 6 min instead of 12 min by the départementales;
* the access leg runs at 30 km/h; a facility known only by its commune (BPE) sits at the
  town hall with an intra-commune leg of 0.5·√(16 km²/π) = 1 128.4 m, i.e. 2.257 min;
* GPs: 2 in 99005, 1 in 99003; pharmacies in 99002 and 99006; a school 600 m north of the
  town hall of 99002 and one at the town hall of 98002.

Drive times between town halls (minutes) are therefore multiples of 6 on the grid, with the
motorway shortcut between 99001 and 99003.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

from geoattract import settings
from geoattract.app import pipeline
from geoattract.app.cli import main
from geoattract.routing import travel_times_to

#: A départementale between neighbouring town halls: 4 000 m at 40 km/h (seconds, minutes).
D_STEP_S = 4000 / (40 / 3.6)
D_STEP_MIN = D_STEP_S / 60
#: Intra-commune leg of a BPE facility: 0.5 · √(area / π) at the 30 km/h access speed.
LEG_M = 0.5 * math.sqrt(16e6 / math.pi)
LEG_MIN = LEG_M / (30 / 3.6) / 60


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setattr(settings, "cache_folder", tmp_path / "cache")


def by_code(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("code")


@pytest.fixture(scope="module")
def communes(tiny_state) -> pd.DataFrame:
    """The ``communes`` layer of the tiny study, indexed by code."""
    return by_code(tiny_state.communes_layer())


# ------------------------------------------------------------------------------- the data files


def test_the_generator_rewrites_the_committed_files(tiny_config, tmp_path):
    """make_tiny.py is deterministic: it gives back the committed data folder."""
    script = Path(__file__).parent / "data" / "make_tiny.py"
    out = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    committed = tiny_config.data_dir
    names = sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    for name in names:
        if name.endswith(".gpkg"):  # GDAL versions may lay the pages out differently
            a, b = gpd.read_file(committed / name), gpd.read_file(out / name)
            pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
            assert a.geometry.geom_equals_exact(b.geometry, tolerance=0).all()
        elif name.endswith(".tif"):
            with rasterio.open(committed / name) as a, rasterio.open(out / name) as b:
                np.testing.assert_array_equal(a.read(), b.read())
                assert a.transform == b.transform and a.descriptions == b.descriptions
        else:
            assert (committed / name).read_bytes() == (out / name).read_bytes(), name
    for path in committed.rglob("*"):
        assert path.is_dir() or path.stat().st_size < 25_000, path


# ----------------------------------------------------------------------------------- territory


def test_config_and_territory(tiny_config, tiny_territory):
    assert (tiny_config.name, tiny_config.departement, tiny_config.buffer_m) == ("Tiny", "99", 5000)
    communes = tiny_territory.communes
    assert communes["code"].tolist() == [f"9900{i}" for i in range(1, 7)] + [
        "98001",
        "98002",
        "98003",
    ]
    assert tiny_territory.departements == ("99",)
    np.testing.assert_allclose(communes.area, 16e6)  # 4 km squares in Lambert-93
    # population.csv is ';'-separated with a BOM: read by the tolerant reader
    assert tiny_territory.study["population"].sum() == 1200 + 600 + 1800 + 900 + 2100 + 400
    assert communes.loc[~communes["in_study"], "population"].sum() == 300 + 500 + 700
    assert by_code(communes).loc["98003", "epci_nom"] == "CA du Bourg"
    assert not communes["town_hall_replaced"].any()
    assert tiny_territory.report.summary() == "no issue found"
    hall = by_code(communes).loc["99005", "town_hall"]
    assert (hall.x, hall.y) == (500_000.0, 6_300_000.0)
    assert tiny_territory.outline.area == pytest.approx(6 * 16e6)


# ------------------------------------------------------------------------------------- network


def test_network_and_snap_rule(tiny_state):
    net = tiny_state.network
    # 9 town halls + 2 motorway ends + 2 interchanges; 12 départementales, 3 motorway pieces
    # (split at the interchanges) and 2 links, each both ways
    assert (net.summary["nodes"], net.summary["edges"]) == (13, 2 * (12 + 3 + 2))
    assert net.summary["km_by_class"] == {"motorway": 12.0, "motorway_link": 2.0, "secondary": 48.0}
    rule = net.snap_rule
    assert (rule.speed_kph, rule.detour, rule.dense_delay_s) == (30.0, 1.0, 0.0)
    assert not net.schematic
    table = tiny_state.accessibility.table
    assert (table["town_hall_snap_m"] == 0).all() and (table["town_hall_snap_s"] == 0).all()


def test_motorway_beats_the_departementale(tiny_state):
    inputs = tiny_state.accessibility.inputs
    node = dict(zip(inputs.communes["code"], inputs.communes["node"], strict=True))
    seconds = travel_times_to(inputs.rg, [node["99001"]], [node["99002"], node["99003"]])[0]
    # 99001 → 99002: one départementale, 4 000 m at 40 km/h = 360 s
    assert seconds[0] == pytest.approx(4000 / (40 / 3.6))
    # 99001 → 99003: link 1 000 m at 60 km/h + motorway 8 000 m at 120 km/h + link = 360 s,
    # against 2 × 360 = 720 s by the départementales
    assert seconds[1] == pytest.approx(1000 / (60 / 3.6) + 8000 / (120 / 3.6) + 1000 / (60 / 3.6))
    G = tiny_state.network.graph
    path = nx.shortest_path(G, node["99001"], node["99003"], weight="travel_time")
    assert [G.edges[u, v, 0]["highway"] for u, v in zip(path[:-1], path[1:], strict=True)] == [
        "motorway_link",
        "motorway",
        "motorway_link",
    ]
    local = G.edge_subgraph(
        [(u, v, k) for u, v, k, h in G.edges(keys=True, data="highway") if h == "secondary"]
    )
    assert nx.shortest_path_length(
        local, node["99001"], node["99003"], weight="travel_time"
    ) == pytest.approx(2 * 4000 / (40 / 3.6))


# -------------------------------------------------------------------------------- accessibility


def test_nearest_gp_of_a_commune_without_gp(tiny_state, communes):
    gps = tiny_state.accessibility.inputs.facilities.query("category == 'gp'")
    assert sorted(gps["code"]) == ["99003", "99005"]
    assert (gps["snap_m"] == 0).all()  # at the town hall, which is a node
    np.testing.assert_allclose(gps["intra_commune_m"], 0.5 * math.sqrt(16e6 / math.pi))
    # 99001 has no GP: 99003 by the motorway (6 min) beats 99005 (2 départementales, 12 min);
    # the GP sits 1 128.4 m from the town hall of 99003, 2.257 min at 30 km/h
    assert communes.loc["99001", "time_gp_min"] == pytest.approx(6 + LEG_MIN)
    assert LEG_MIN == pytest.approx(2.2568, abs=1e-4)
    # 99005 has its own GPs: the intra-commune leg alone, not a false 0 min
    assert communes.loc["99005", "time_gp_min"] == pytest.approx(LEG_MIN)


def test_gp_counts_within_10_20_30_min(communes):
    counts = communes[["count_gp_10min", "count_gp_20min", "count_gp_30min"]]
    # 99001: the GP of 99003 at 6 + 2.26 min; the 2 of 99005 at 12 + 2.26 min
    assert counts.loc["99001"].tolist() == [1, 3, 3]
    # 99002: both sites one départementale away (6 + 2.26 min)
    assert counts.loc["99002"].tolist() == [3, 3, 3]
    # 99004: 99005 at 6 + 2.26; 99003 through 99001 and the motorway, 12 + 2.26
    assert counts.loc["99004"].tolist() == [2, 3, 3]
    # BPE counts of the study département only: the offer across the border is unknown
    assert communes["outside_share_gp"].isna().all() and communes["outside_unknown_gp"].all()


def test_e2sfca_of_gps(communes):
    # APL decay: 1 up to 10 min, 2/3 up to 15, 1/3 up to 20. Times from each GP site to each
    # study town hall (the 2.26 min leg included) and the weighted demand of the site:
    # 99005 (2 GPs): 99001 and 99003 at 12 + 2.26 min (2/3), the others within 10 min (1):
    #   2/3 · (1200 + 1800) + 600 + 900 + 2100 + 400 = 6000
    # 99003 (1 GP): 99004 and 99005 at 12 + 2.26 min (2/3), the others within 10 min (1):
    #   1200 + 600 + 1800 + 400 + 2/3 · (900 + 2100) = 6000
    r_5, r_3 = 2 / 6000, 1 / 6000
    # 99002 reaches both sites within 10 min
    assert communes.loc["99002", "e2sfca_gp"] == pytest.approx((r_5 + r_3) * 100_000)
    assert communes.loc["99002", "e2sfca_gp"] == pytest.approx(50.0)
    # 99001: 99005 at 14.26 min (2/3), 99003 at 8.26 min (1)
    assert communes.loc["99001", "e2sfca_gp"] == pytest.approx((r_5 * 2 / 3 + r_3) * 100_000)


def test_pharmacy_and_school_times(tiny_state, communes):
    # 99004 → 99002: two départementales (12 min) plus the leg of the pharmacy of 99002
    assert communes.loc["99004", "time_pharmacy_min"] == pytest.approx(12 + LEG_MIN)
    schools = tiny_state.offer.facilities.query("category == 'school_primary'")
    assert sorted(schools["code"]) == ["98002", "99002"]  # the collège is filtered out
    # 99001 → 99002 (6 min) then 600 m at 30 km/h (1.2 min) from the node to the school
    assert communes.loc["99001", "time_school_primary_min"] == pytest.approx(6 + 1.2, abs=1e-4)
    # 99004 → 98001 → 98002: the buffer school at its town hall, 2 départementales
    assert communes.loc["99004", "time_school_primary_min"] == pytest.approx(12, abs=1e-4)
    # points cover the buffer: the outside share is known
    assert communes.loc["99004", "outside_share_school_primary"] == pytest.approx(1 / 2)


def test_isochrone_population(tiny_state):
    iso = tiny_state.isochrones.set_index(["code", "minutes"])
    # from 99001 within 10 min: 99002 and 99004 (6 min), 99003 (6 min by the motorway);
    # 99005 is at 12 min
    assert iso.loc[("99001", 10), "population_reached"] == 1200 + 600 + 1800 + 900
    # within 20 min: every town hall (the farthest, 98002 and 98003, at 18 min), buffer included
    total = 1200 + 600 + 1800 + 900 + 2100 + 400 + 300 + 500 + 700
    assert iso.loc[("99001", 20), "population_reached"] == total
    assert not iso["empty"].any()
    assert set(iso.index.get_level_values("minutes")) == {10, 20, 30}


# ----------------------------------------------------------------------------------- transition


def test_raster_delta_is_an_area_weighted_mean(communes):
    # 1 km cells from x = 493 500: a 4 km commune covers half a cell, three whole cells and
    # half a cell per row. The scenario adds 8 days in the cells x 497 500-498 500 and 4 days
    # in x 501 500-502 500. Column 0 (x 494 000-498 000): (0.5 · 8) / 4 = 1.0; column 1:
    # (0.5 · 8 + 0.5 · 4) / 4 = 1.5; column 2: (0.5 · 4) / 4 = 0.5.
    expected = {"99001": 1.0, "99002": 1.5, "99003": 0.5, "99004": 1.0, "99005": 1.5, "99006": 0.5}
    np.testing.assert_allclose(
        communes.loc[list(expected), "tr_climate_tx35_delta"], list(expected.values())
    )
    assert (communes["tr_climate_tx35_ref"] == 5.0).all()
    assert not communes["tr_climate_tx35_delta_missing"].any()


def test_table_membership_and_network_indicators(tiny_state, communes):
    # decimal commas in a ';' table; an empty cell is NaN and flagged, never 0
    assert communes["env_forest_cover"].tolist() == [10.0, 50.0, 30.0, 20.0, 0.0, 40.0]
    assert np.isnan(communes.loc["99005", "env_impervious"])
    assert communes["env_impervious_missing"].tolist() == [False] * 4 + [True, False]
    assert communes["tr_pvd"].tolist() == [0, 0, 0, 0, 1, 0]
    # EV: the station 300 m north of the town hall of 99003: 6 min by the motorway + 0.6 min
    assert communes.loc["99001", "tr_ev_time_min"] == pytest.approx(
        6 + 300 / (30 / 3.6) / 60, abs=1e-4
    )
    # within 15 min: 4 points there and 2 at 99005 (12 min); its duplicate record is dropped
    assert communes.loc["99001", "tr_ev_points_15min"] == 4 + 2
    assert tiny_state.transition.ev_points.attrs["report"]["duplicates_dropped"] == ["FRTINY01"]
    # rail: the open station 500 m east of the town hall of 99006 (1 min); the closed one is
    # left out. 99001 → 99003 → 99006: 12 min, + 1 = 13 min; ridership 99 999 → weight 5.0
    assert communes.loc["99001", "tr_rail_time_min"] == pytest.approx(13, abs=1e-4)
    assert communes.loc["99001", "tr_rail_service"] == pytest.approx(5 * (1 - 13 / 45), abs=1e-4)
    stations = tiny_state.transition.stations.set_index("uic")
    assert stations.loc["87000018", "service_weight"] == pytest.approx(5.0)
    assert not stations.loc["87000026", "active"]


# -------------------------------------------------------------------------------------- scoring


def test_nature_score_is_the_mean_of_two_minmax_indicators(communes):
    # The "nature" profile weighs the environment pillar alone: forest cover (higher is
    # better; 0-50 %) and the TX35 increase (lower is better; 0.5-1.5 days), min-max on 0-100.
    forest = 100 * (communes["env_forest_cover"] - 0) / (50 - 0)
    heat = 100 * (1.5 - communes["tr_climate_tx35_delta"]) / (1.5 - 0.5)
    assert forest.tolist() == pytest.approx([20, 100, 60, 40, 0, 80])
    assert heat.tolist() == pytest.approx([50, 0, 100, 50, 0, 100])
    assert communes["score_nature"].tolist() == pytest.approx([35, 50, 80, 45, 0, 90])
    assert communes.loc["99001", "score_nature"] == pytest.approx((20 + 50) / 2)
    assert communes["rank_nature"].tolist() == [5, 3, 2, 4, 6, 1]
    assert communes["pillar_environment"].tolist() == pytest.approx([35, 50, 80, 45, 0, 90])
    # general: the mean of the four pillars
    pillars = communes[
        [f"pillar_{p}_general" for p in ("services", "health", "transition", "environment")]
    ]
    np.testing.assert_allclose(communes["score_general"], pillars.mean(axis=1))


# -------------------------------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def tiny_run(tiny_config, tmp_path_factory):
    """``run_study`` on the tiny study, written without maps."""
    out = tmp_path_factory.mktemp("tiny-run") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(settings, "cache_folder", tmp_path_factory.mktemp("tiny-run-cache"))
        result = pipeline.run_study(tiny_config, out_dir=out, maps=False)
    return result


def test_run_study_writes_the_outputs(tiny_run, communes):
    out = tiny_run.out_dir
    assert sorted(tiny_run.files) == [
        "afom.csv",
        "afom.json",
        "afom_epci.csv",
        "columns.csv",
        "communes.gpkg",
        "epci.csv",
        "index.html",
        "isochrones.gpkg",
        "run.json",
        "run.log",
        "sensitivity.csv",
        "territory.gpkg",
    ]
    layers = [name for name, _ in pyogrio.list_layers(out / "communes.gpkg")]
    # layer_styles: the default QGIS styles (tests/test_qgis.py)
    assert layers == ["communes", "facilities", "town_halls", "columns", "metadata", "layer_styles"]
    written = gpd.read_file(out / "communes.gpkg", layer="communes").set_index("code")
    assert list(written.index) == [f"9900{i}" for i in range(1, 7)]
    assert written.loc["99001", "time_gp_min"] == pytest.approx(6 + LEG_MIN)
    assert written.loc["99003", "score_nature"] == pytest.approx(80)
    facilities = gpd.read_file(out / "communes.gpkg", layer="facilities")
    assert facilities.groupby("category")["capacity"].sum().to_dict() == {
        "gp": 3.0,
        "pharmacy": 2.0,
        "school_primary": 2.0,
        "train_station": 2.0,  # the station category: the stations' one declaration
    }
    halls = gpd.read_file(out / "communes.gpkg", layer="town_halls")
    assert len(halls) == 6 and halls["in_study"].all()
    meta = pyogrio.read_dataframe(out / "communes.gpkg", layer="metadata").set_index("key")["value"]
    assert meta["study"] == "Tiny" and meta["network.nodes"] == "13"
    assert meta["network.schematic"] == "false"
    assert not list(out.glob(".staging-*"))


def test_run_json_holds_json_values_and_run_log_the_warnings(tiny_run):
    out = tiny_run.out_dir
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    meta = run["metadata"]
    assert meta["study"] == "Tiny" and meta["departements"] == ["99"]
    assert (meta["study_communes"], meta["buffer_communes"], meta["buffer_km"]) == (6, 3, 5.0)
    net = meta["network"]
    assert (net["nodes"], net["edges"], net["schematic"]) == (13, 34, False)
    assert (net["snap_speed_kph"], net["snap_detour"]) == (30.0, 1.0)
    assert sorted(run["files"]) == sorted(tiny_run.files)
    assert set(run["timings_s"]) == set(pipeline.STAGE_NAMES)  # written during "outputs"
    log = (out / "run.log").read_text(encoding="utf-8")
    # a data fact the package handles goes to run.log (INFO), not to the console: the tiny
    # study needs no action, so the run has no warning
    assert (
        f"INFO geoattract.transition.network: {tiny_run.config.data_dir / 'facilities' / 'ev_charging.geojson'}: "
        "1 duplicate record(s) of the same station dropped: 'FRTINY01'"
    ) in log
    assert tiny_run.warnings == []


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_failed_run_leaves_previous_outputs_intact(tiny_config, tmp_path, monkeypatch):
    out = tmp_path / "out"
    pipeline.run_study(tiny_config, out_dir=out, maps=False, isochrones=False)
    before = _digest(out)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C after the data files were staged

    monkeypatch.setattr("geoattract.outputs.write.write_index", boom)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run_study(tiny_config, out_dir=out, maps=False, isochrones=False)
    assert _digest(out) == before
    assert not list(out.glob(".staging-*"))
    assert len(gpd.read_file(out / "communes.gpkg", layer="communes")) == 6


def test_rerun_replaces_outputs_cleanly(tiny_config, tmp_path):
    out = tmp_path / "out"
    first = pipeline.run_study(tiny_config, out_dir=out, maps=False, isochrones=False)
    assert (out / "communes.gpkg").is_file() and not (out / "isochrones.gpkg").exists()
    (out / "notes-du-planificateur.txt").write_text("à garder")
    # a stale output listed in the manifest disappears; a user's file stays
    manifest = json.loads((out / "run.json").read_text())
    manifest["files"].append("old_map.html")
    (out / "run.json").write_text(json.dumps(manifest))
    (out / "old_map.html").write_text("<html></html>")
    second = pipeline.run_study(tiny_config, out_dir=out, maps=False, isochrones=False)
    assert not (out / "old_map.html").exists()
    assert (out / "notes-du-planificateur.txt").read_text() == "à garder"
    assert set(first.files) == set(second.files)
    assert json.loads((out / "run.json").read_text())["files"] == manifest["files"][:-1]


def _decode_js(text: str) -> str:
    """Undo the ``\\uXXXX`` escapes of the JSON embedded in a page (what the browser shows)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def test_maps_report_and_index_without_the_pngs(tiny_state, tmp_path, monkeypatch):
    """The outputs with maps: folium maps, report and index (the printable PNGs, drawn by
    matplotlib in about 20 s, are left out here and checked by the slow run below)."""
    from geoattract.outputs import assets, write

    monkeypatch.setattr(write, "make_static_maps", lambda *args, **kwargs: {})
    # the separate maps of each profile and pillar ([maps] separate_maps; by default the
    # atelier page alone holds them, see test_atelier.py)
    separate = replace(
        tiny_state, config=tiny_state.config.with_section("maps", separate_maps=True)
    )
    files = write.write_outputs(separate, tmp_path, ["99005"], {}, maps=True)
    pillars = ("services", "health", "transition", "environment")
    maps = {f"score_{p}.html" for p in ("general", "nature")} | {
        f"pillar_{p}.html" for p in pillars
    }
    assert maps | {"isochrones.html", "report.html", "index.html", "atelier.html"} <= set(files)
    page = _decode_js((tmp_path / "score_general.html").read_text(encoding="utf-8"))
    # facilities counted in their unit: 1 + 2 GPs, 2 pharmacies, 2 schools (collège filtered)
    for name in (
        "Médecin généraliste (3 équipements)",
        "Pharmacie (2 équipements)",
        "École maternelle ou élémentaire (2 équipements)",
        " sur 6 (5–95 % : ",  # the rank in the tooltip: « Rang : 2e sur 6 (5–95 % : 1er–3e) »
        "Réseau routier : Travel Mapping, routes classées de France (22 août 2026)",
    ):
        assert name in page, name
    assert "roads.gpkg" not in page  # the network is named, not its file
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    for text in ("Tiny", "Esclottes", "CC des Coteaux", "CA du Bourg", "Amoureux de la nature"):
        assert text in report, text
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    for name in sorted(maps) + ["report.html", "communes.gpkg"]:
        assert f'href="{name}"' in index, name
    for name in maps | {"report.html", "index.html"}:
        assert assets.external_resources((tmp_path / name).read_text(encoding="utf-8")) == []


@pytest.mark.slow
def test_geoattract_run_with_maps(tiny_config, tmp_path, capsys):
    """The command a user types, maps included (about 30 s: matplotlib draws the PNGs)."""
    out = tmp_path / "maps"
    args = ["run", "--config", str(tiny_config.path), "--data-dir", str(tiny_config.data_dir)]
    assert main([*args, "--out", str(out), "--separate-maps"]) == 0
    assert "geoattract run: Tiny" in capsys.readouterr().out
    profiles, pillars = ("general", "nature"), ("services", "health", "transition", "environment")
    for name in [f"score_{p}" for p in profiles] + [f"pillar_{p}" for p in pillars]:
        assert (out / f"{name}.html").is_file() and (out / "static" / f"{name}.png").is_file()
    for name in (
        "index.html",
        "report.html",
        "atelier.html",
        "isochrones.html",
        "communes.gpkg",
        "run.log",
    ):
        assert (out / name).is_file(), name
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Tiny" in report and "Esclottes" in report
