"""The main job on the real Lot-et-Garonne study: outputs, numbers, atomicity, commands.

These tests share one `geoattract run` (the ``study_run`` fixture, about a minute). The
mechanics of the output folder (a failed run, a rerun) are tested on the tiny study
(``tests/test_tiny_study.py``).
"""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from geoattract.app.cli import main

pytestmark = pytest.mark.slow


PROFILES = ["general", "jeunes", "familles", "personnel_medical", "saisonniers", "teletravailleurs"]
PILLARS = ["services", "health", "culture", "housing", "transition", "environment"]


@pytest.fixture(scope="module")
def communes(study_run):
    return gpd.read_file(study_run / "communes.gpkg", layer="communes")


def test_run_writes_every_output(study_run):
    expected = [
        "index.html",
        "report.html",
        "communes.gpkg",
        "isochrones.gpkg",
        "epci.csv",
        "afom.csv",
        "afom_epci.csv",
        "afom.json",
        "sensitivity.csv",
        "isochrones.html",
        "atelier.html",
        "run.json",
        *[f"score_{p}.html" for p in PROFILES],
        *[f"pillar_{p}.html" for p in PILLARS],
        *[f"static/score_{p}.png" for p in PROFILES],
        *[f"static/pillar_{p}.png" for p in PILLARS],
    ]
    missing = [f for f in expected if not (study_run / f).is_file()]
    assert missing == []
    for f in study_run.glob("*.html"):
        assert f.stat().st_size < 5_000_000, f
    assert not list(study_run.glob(".staging-*"))
    index = (study_run / "index.html").read_text()
    linked = ["atelier.html", "report.html", "communes.gpkg", "score_general.html"]
    for f in [*linked, "isochrones.gpkg", "epci.csv"]:
        assert f'href="{f}"' in index


def test_communes_layer_has_319_scored_communes(communes):
    assert len(communes) == 319
    assert communes["code"].is_unique
    for p in PROFILES:
        assert communes[f"score_{p}"].notna().all(), p
        assert communes[f"score_{p}"].between(0, 100).all()
        assert sorted(communes[f"rank_{p}"]) == list(range(1, 320))
        lo, med, hi = (communes[f"rank_{p}_{s}"] for s in ("p05", "median", "p95"))
        assert (lo <= med).all() and (med <= hi).all()
    for p in PILLARS:
        assert f"pillar_{p}" in communes.columns


def _decode_js(text: str) -> str:
    r"""Undo the ``\uXXXX`` escapes of the JSON embedded in a page (what the browser shows)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


def test_network_is_declared_everywhere(study_run):
    network = json.loads((study_run / "run.json").read_text())["metadata"]["network"]
    assert network["schematic"] is False and network["kind"] == "lines"
    caption = network["caption"]
    assert caption.startswith("Réseau routier : Travel Mapping, routes classées de France")
    for name in ("communes.gpkg", "isochrones.gpkg"):
        meta = pyogrio.read_dataframe(study_run / name, layer="metadata").set_index("key")
        assert meta.loc["network.schematic", "value"] == "false", name
        assert meta.loc["network.caption", "value"] == caption, name
    assert caption in _decode_js((study_run / "score_general.html").read_text())
    assert caption in (study_run / "report.html").read_text()


def test_gp_access_around_agen(communes, study_run):
    from geoattract.network import read_calibration

    agen = communes.set_index("code").loc["47001"]
    # BPE 2024: 32 GPs in Agen itself; within 30 min there are at least as many
    assert agen["count_gp_30min"] >= 32
    assert agen["count_gp_10min"] <= agen["count_gp_20min"] <= agen["count_gp_30min"]
    # BPE GPs are known by commune: they sit at Agen's town hall with an intra-commune leg of
    # half the radius of the disc of Agen's area. The trip through the network is the town
    # hall's access leg twice (out to the network and back), each end waiting the calibration's
    # delay of a dense commune (Agen: about 2,860 inhabitants/km²), plus that intra-commune leg;
    # the same-commune rule replaces it by the direct trip across the commune (the intra-commune
    # leg alone), at the access pace of the line network (detour / speed): 105 s, not 174 s
    network = json.loads((study_run / "run.json").read_text())["metadata"]["network"]
    pace = network["snap_detour"] / (network["snap_speed_kph"] / 3.6)  # s per metre
    delay_s = 60 * read_calibration(name="travelmapping_calibration.toml")["dense_delay_min"]
    radius_m = np.sqrt(agen.geometry.area / np.pi)
    assert agen["town_hall_snap_s"] == pytest.approx(agen["town_hall_snap_m"] * pace + delay_s)
    direct_s = 0.5 * radius_m * pace
    through_network_s = 2 * (agen["town_hall_snap_m"] * pace + delay_s) + direct_s
    assert direct_s == pytest.approx(105.0, abs=1.0)
    assert through_network_s == pytest.approx(174.1, abs=1.0)
    assert agen["time_gp_min"] == pytest.approx(direct_s / 60, rel=1e-6)


def test_every_commune_reaches_a_pharmacy(communes):
    t = communes["time_pharmacy_min"].to_numpy(float)
    assert len(t) == 319 and np.isfinite(t).all()
    assert not communes["unreachable_pharmacy"].any()
    # the département is about 100 km across: no town hall is an hour from a pharmacy
    assert t.max() < 60


def test_bpe_outside_share_is_unknown_not_zero(communes):
    # pharmacies come from the BPE of 47 only: their offer beyond the border is unknown
    assert communes["outside_share_pharmacy"].isna().all()
    # flagged where a town hall across the border is within 30 min (the largest pharmacy
    # threshold) or closer than the nearest pharmacy: 260 communes, not Lacépède (47125), among
    # the farthest from the border (45.3 min; its pharmacy at 7.6 min)
    near = (communes["time_outside_min"] <= 30) | (
        communes["time_pharmacy_min"] > communes["time_outside_min"]
    )
    assert communes["outside_unknown_pharmacy"].tolist() == near.tolist()
    assert int(near.sum()) == 260
    by_code = communes.set_index("code")
    assert by_code.loc["47125", "time_outside_min"] == pytest.approx(45.3, abs=0.5)
    assert not by_code.loc["47125", "outside_unknown_pharmacy"]
    # GPs of the buffer come from the national table (BPE 2017, adjusted): known, not zero
    assert not communes["outside_unknown_gp"].any()
    gp_share = communes["outside_share_gp"]
    assert gp_share.notna().all() and gp_share.max() > 0.3
    # schools come from a national directory: their outside share is known, and border
    # communes draw on schools of the neighbouring départements
    share = communes["outside_share_college"]
    assert share.notna().sum() > 300 and share.max() > 0.5


def test_climate_exposure_for_every_commune(communes):
    for col in [
        "tr_climate_tx35_delta",
        "tr_climate_tropical_nights_delta",
        "tr_climate_heatwave_delta",
    ]:
        assert communes[col].notna().all(), col
    assert communes["tr_climate_tx35_rcp45"].mean() > communes["tr_climate_tx35_ref"].mean()


def test_isochrones_layer(study_run):
    iso = gpd.read_file(study_run / "isochrones.gpkg", layer="isochrones")
    assert set(iso["minutes"]) == {10, 20, 30}
    assert iso["code"].nunique() == 319
    wide = iso.pivot_table(index="code", columns="minutes", values="area_km2")
    assert (wide[10] <= wide[20]).all() and (wide[20] <= wide[30]).all()
    assert iso.geometry.is_valid.all()


def test_isochrones_hold_their_town_and_agree_with_the_matrix(study_run, study_state):
    """The area within reach holds its own town hall; its population agrees with the matrix."""
    from geoattract.accessibility.poles import with_delay
    from geoattract.routing import od_matrix, od_network

    iso = gpd.read_file(study_run / "isochrones.gpkg", layer="isochrones")
    terr = study_state.territory.communes
    halls = gpd.GeoDataFrame(
        {"density": terr["population"] / (terr.geometry.area / 1e6)},
        geometry=terr["town_hall"].to_numpy(),
        crs=terr.crs,
    ).set_index(terr["code"].to_numpy())
    own = shapely.contains(iso.geometry.to_numpy(), halls.geometry.loc[iso["code"]].to_numpy())
    assert own.all()  # 319 communes x 10, 20, 30 min
    agen = iso[(iso["code"] == "47001") & (iso["minutes"] == 10)]
    assert agen["population_reached"].iloc[0] >= 32_801  # Agen alone
    # the OD matrix between the town halls of the study (dense-commune delays included)
    onet = od_network(study_state.network.graph)
    points = with_delay(halls, onet)
    study = points.loc[terr.loc[terr["in_study"], "code"]]
    matrix = od_matrix(onet, study, study)
    near = matrix[matrix["minutes"] <= 20]
    within = set(zip(near["origin"], near["destination"], strict=True))
    twenty = iso[iso["minutes"] == 20].set_index("code").geometry
    tree = shapely.STRtree(study.geometry.to_numpy())
    poly, hall = tree.query(twenty.to_numpy(), predicate="contains")
    inside = set(zip(twenty.index[poly], study.index[hall], strict=True))
    agreement = 1 - len(inside ^ within) / len(study) ** 2
    # 0.99887 (60 halls inside but beyond 20 min by the matrix, at most 22.4 min; 55 within but
    # outside, next to the polygon's edge); 0.98893 before off-road legs were limited to each
    # point's nearest node (1,107 inside but beyond, up to 38.8 min)
    assert agreement >= 0.998


def test_compare_prints_both_communes_with_ranks(study_run, capsys):
    assert main(["compare", "47001", "47323", "--results", str(study_run)]) == 0
    out = capsys.readouterr().out
    assert "Agen (47001)" in out and "Villeneuve-sur-Lot (47323)" in out
    rank_line = next(line for line in out.splitlines() if line.startswith("Rang"))
    assert rank_line.count("/319") == 2


def test_compare_unknown_code_suggests_names(study_run, capsys):
    assert main(["compare", "47001", "Agem", "--results", str(study_run)]) == 2
    err = capsys.readouterr().err
    assert "unknown commune 'Agem'" in err and "Agen (47001)" in err


def test_border_commune_afom_line_says_the_offer_across_is_unknown(study_run, communes):
    """Tourliac (47311), on the Dordogne border: its nearest emergency unit in 47 is 60 min away,
    a town hall of Dordogne 8 min; Dordogne's emergency units are not in the BPE extract."""
    import pandas as pd

    from geoattract.accessibility import unknown_offer

    by_code = communes.set_index("code")
    tourliac = by_code.loc["47311"]
    assert tourliac["time_emergency_min"] == pytest.approx(60.0, abs=1.0)
    assert tourliac["time_outside_min"] == pytest.approx(7.7, abs=0.5)
    flagged = unknown_offer(by_code, "time_emergency_min")
    assert flagged["47311"] and not flagged["47001"]  # Agen: its own unit, 1.7 min
    afom = pd.read_csv(study_run / "afom.csv", dtype={"code": str})
    line = afom[(afom["code"] == "47311") & (afom["indicator"] == "time_emergency_min")]
    assert line["sentence"].tolist() == [
        "Faiblesse : temps d'accès à un service d'urgences parmi les 25 % les plus longs du "
        "département (60 min, offre hors département non renseignée)."
    ]
    # the map tooltip's weaknesses (the three most striking) say it too
    assert tourliac["afom_faiblesses"].split(" ; ")[1] == (
        "temps d'accès à une boulangerie (offre hors département non renseignée)"
    )
    report = (study_run / "report.html").read_text(encoding="utf-8")
    assert "(60 min, offre hors département non renseignée)" in report


def test_tooltips_carry_strengths_and_weaknesses(communes):
    agen = communes.set_index("code").loc["47001"]
    assert agen["afom_atouts"]  # Agen has strengths in the top quartile
    assert len(agen["afom_atouts"].split(" ; ")) <= 3
    assert "afom_faiblesses" in communes.columns


def test_network_transition_indicators(communes):
    agen = communes.set_index("code").loc["47001"]
    # Agen has a passenger station (2019 ridership 1.21 M, service weight log10 = 6.08):
    # beyond the town hall's own access leg (Agen's dense-commune delay included): 4.65 min
    # (junction delays by class and the urban pace of the calibration of issue 22; the
    # station keeps node snapping)
    beyond = agen["tr_rail_time_min"] - agen["town_hall_snap_s"] / 60
    assert beyond == pytest.approx(4.65, abs=0.1)
    assert 5.0 < agen["tr_rail_service"] <= 6.09
    assert communes["tr_ev_time_min"].notna().all()
    pts = communes["tr_ev_points_15min"]
    assert (pts >= 0).all() and pts.max() > 50


def test_sensitivity_and_epci_tables(study_run):
    import pandas as pd

    sens = pd.read_csv(study_run / "sensitivity.csv")
    assert set(sens["profile"]) == set(PROFILES)
    assert set(sens["input"]) == {"weights", "normalisation", "thresholds"}
    assert (sens["total_order"] >= sens["first_order"] - 0.05).all()
    epci = pd.read_csv(study_run / "epci.csv", dtype={"epci": str})
    assert epci["population"].sum() == 333_602  # every study commune belongs to one EPCI
    assert epci["n_communes"].sum() == 319
    assert sorted(epci["rank_general"]) == list(range(1, len(epci) + 1))
    assert not any(c.endswith(("_p05", "_p95")) for c in epci.columns)  # no fake EPCI intervals
    assert epci.set_index("epci_nom").at["CC des Deux Rives", "partial"]
    # indicators too sparse at commune level stay out of the EPCI AFOM too
    afom = pd.read_csv(study_run / "afom_epci.csv")
    assert not afom["indicator"].isin(["housing_price_flat_rel", "env_water_quality"]).any()
    assert set(afom["kind"]) <= {"atout", "faiblesse", "opportunite", "menace"}


def test_report_script_makes_print_maps_from_the_run(study_run, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "scripts" / "make_report_maps.py"
    out = tmp_path / "print"
    proc = subprocess.run(
        [
            sys.executable,
            str(script),
            "--gpkg",
            str(study_run / "communes.gpkg"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs == sorted(
        [f"score_{p}.png" for p in PROFILES] + [f"pillar_{p}.png" for p in PILLARS]
    )
