"""Climate-transition and environment indicators: registry, tables, rasters, point layers."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely

from geoattract import settings
from geoattract.errors import ConfigError, DataError, DataNotFoundError
from geoattract.facilities import load_catalogue
from geoattract.transition import (
    Indicator,
    ev_charging_points,
    load_indicator_registry,
    load_point_sources,
    raster_indicators,
    registry_table,
    table_indicators,
    train_stations,
    transition_indicators,
)

#: The study's registry, shipped inside the package.
REGISTRY = settings.config_folder / "indicators.toml"
SOURCES = load_point_sources(REGISTRY)
CATALOGUE = load_catalogue(REGISTRY.parent / "facilities.toml", check_files=False)
ENV_CSV = "indicators/environment_health_social_communes_47.csv"
REF_TIF = "climate/drias2020_ALADIN63_CNRM-CM5_REF_heat_dep47buffer_8km_EPSG27572.tif"
RCP_TIF = "climate/drias2020_ALADIN63_CNRM-CM5_RCP45_H1_heat_dep47buffer_8km_EPSG27572.tif"


def study_communes(territory: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The 319 study communes (kept as a helper so the source of the territory is one place)."""
    return territory[territory["in_study"]]


@pytest.fixture(scope="module")
def data_dir(study_config):
    """The study's data folder, found as the package finds it."""
    return study_config.data_dir


@pytest.fixture(scope="module")
def indicators(territory, data_dir):
    return transition_indicators(territory, REGISTRY, data_dir)


# --- registry -------------------------------------------------------------------------------

REQUIRED_IDS = {
    "transition": {
        "cyclability",
        "organic_converted",
        "pvd",
        "climate_tx35_delta",
        "climate_tropical_nights_delta",
        "climate_heatwave_delta",
    },
    "environment": {"forest_cover", "impervious", "air_quality", "water_quality", "drought"},
}


def test_study_registry_has_the_required_indicators():
    reg = load_indicator_registry(REGISTRY)
    by_pillar = {p: {i.id for i in reg if i.pillar == p} for p in REQUIRED_IDS}
    for pillar, ids in REQUIRED_IDS.items():
        assert ids <= by_pillar[pillar]
    table = registry_table(reg)
    assert "tr_climate_tx35_delta" in table.index and "env_forest_cover" in table.index
    assert table["unit"].str.len().gt(0).all() and table["vintage"].str.len().gt(0).all()


def test_registry_table_by_hand():
    # a table indicator shows its column, a raster its band; the index is the output column
    table_ind = Indicator(
        id="forest",
        label_fr="Forêt",
        label_en="Forest",
        pillar="environment",
        kind="table",
        source="t.csv",
        unit="%",
        direction="higher_is_better",
        vintage="2022",
        column="Couvert",
        code_column="code",
    )
    raster_ind = replace(
        table_ind, id="heat", pillar="transition", kind="raster", column=None, band="TX35"
    )
    table = registry_table([table_ind, raster_ind])
    assert list(table.index) == ["env_forest", "tr_heat"]
    assert table["column"].tolist() == ["Couvert", "TX35"]
    assert table["pillar"].tolist() == ["environment", "transition"]


def test_point_sources_of_the_study_and_missing_table(tmp_path):
    assert SOURCES.rail.passengers_column() == "Total Voyageurs 2019"
    assert SOURCES.rail.passengers_column(2020) == "Total Voyageurs 2020"
    assert SOURCES.ev_charging.power_per_kw == 1000.0
    reg = write_registry(tmp_path, [{}])
    with pytest.raises(ConfigError, match=r"missing table \[ev_charging\]"):
        load_point_sources(reg)
    text = (tmp_path / "indicators.toml").read_text()
    bad = text + '[ev_charging]\nfile = "x.geojson"\nvintage = "v"\nid_column = "id"\n'
    with pytest.raises(ConfigError, match=r"missing key 'ev_charging\.points_column'"):
        load_point_sources(write_registry(tmp_path, bad))


def test_data_folder_is_required(tiny_territory):
    with pytest.raises(DataError, match="data_dir is required"):
        table_indicators(tiny_territory.communes, REGISTRY, None)


ENTRY = """
[[indicators]]
id = "{id}"
label_fr = "x"
label_en = "x"
pillar = "environment"
kind = "table"
source = "{source}"
column = "{column}"
code_column = "code_insee"
unit = "%"
direction = "{direction}"
vintage = "2022"
"""


def write_registry(tmp_path, entries: list[dict] | str) -> str:
    text = (
        entries
        if isinstance(entries, str)
        else "".join(
            ENTRY.format(
                **{
                    "id": "forest_cover",
                    "source": ENV_CSV,
                    "column": "Couvert Forestier",
                    "direction": "higher_is_better",
                    **e,
                }
            )
            for e in entries
        )
    )
    path = tmp_path / "indicators.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_bad_direction_names_the_key(tmp_path):
    path = write_registry(tmp_path, [{"direction": "up"}])
    with pytest.raises(ConfigError, match=r"indicators\.forest_cover\.direction.*higher_is_better"):
        load_indicator_registry(path)


def test_duplicate_id_and_missing_kind_key_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="duplicate indicator id 'forest_cover'"):
        load_indicator_registry(write_registry(tmp_path, [{}, {}]))
    text = ENTRY.format(id="x", source=ENV_CSV, column="c", direction="lower_is_better")
    text = text.replace('kind = "table"', 'kind = "raster"').replace('column = "c"\n', "")
    with pytest.raises(ConfigError, match=r"'indicators\.x\.band'.*raster"):
        load_indicator_registry(write_registry(tmp_path, text))


def test_unknown_file_raises_data_not_found_naming_it(tmp_path, territory, data_dir):
    reg = write_registry(tmp_path, [{"source": "indicators/nothere.csv"}])
    with pytest.raises(DataNotFoundError, match="nothere.csv"):
        table_indicators(territory, reg, data_dir)


def test_unknown_column_lists_the_available_columns(tmp_path, territory, data_dir):
    reg = write_registry(tmp_path, [{"column": "Forest"}])
    with pytest.raises(DataError, match=r"'Forest'.*available columns:.*'Couvert Forestier'"):
        table_indicators(territory, reg, data_dir)


def test_unknown_band_lists_the_available_bands(territory, data_dir):
    ind = Indicator(
        id="x",
        label_fr="x",
        label_en="x",
        pillar="transition",
        kind="raster",
        source=REF_TIF,
        unit="d",
        direction="lower_is_better",
        vintage="v",
        band="TX40",
    )
    with pytest.raises(DataError, match=r"'TX40'.*available bands: 'NORTAV'.*'NORTXHWD'"):
        raster_indicators(territory, [ind], data_dir)


# --- tables on a hand-made territory --------------------------------------------------------


def tiny_territory() -> gpd.GeoDataFrame:
    squares = [shapely.box(i * 1000.0, 0.0, (i + 1) * 1000.0, 1000.0) for i in range(4)]
    return gpd.GeoDataFrame(
        {
            "code": ["99001", "99002", "99003", "98001"],
            "dep": ["99", "99", "99", "98"],
            "in_study": [True, True, True, False],
        },
        geometry=squares,
        crs="EPSG:2154",
        index=[10, 11, 12, 13],
    )


def test_table_join_flags_missing_and_reports_unmatched_codes(tmp_path, caplog):
    data = tmp_path / "data"
    data.mkdir()
    # 99001 has a value, 99002 an empty cell, 99003 is absent; 99777 (merged commune?) and
    # 98001 (buffer) / 12345 (elsewhere) match no study commune
    (data / "t.csv").write_text("code,val\n99001,12.5\n99002,\n99777,3\n98001,7\n12345,1\n")
    # a one-column list: the separator is declared (sniffing cannot guess it)
    (data / "members.csv").write_text("insee\n99003\n99003\n12345\n")
    reg = write_registry(
        tmp_path,
        ENTRY.format(id="v", source="t.csv", column="val", direction="lower_is_better").replace(
            "code_insee", "code"
        )
        + ENTRY.format(id="m", source="members.csv", column="x", direction="higher_is_better")
        .replace('kind = "table"', 'kind = "membership"')
        .replace('column = "x"\n', "")
        .replace("code_insee", "insee")
        + 'sep = ","\n',
    )
    with caplog.at_level(logging.WARNING, logger="geoattract.transition.report"):
        out = table_indicators(tiny_territory(), reg, data)
    assert list(out.index) == [10, 11, 12]
    assert out["env_v"].iloc[0] == 12.5
    assert out["env_v"].iloc[1:].isna().all()
    assert out["env_v_missing"].tolist() == [False, True, True]
    # membership: absence from the list means "not a member" (0), no flag
    assert out["env_m"].tolist() == [0, 0, 1]
    assert "env_m_missing" not in out.columns
    report = out.attrs["report"]
    assert report.unmatched_codes["t.csv"] == ["99777"]
    assert report.outside_codes["t.csv"] == 1  # 12345; 98001 is a buffer commune
    assert report.missing["env_v"] == 2
    assert "99777" in caplog.text


def test_non_numeric_values_are_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "t.csv").write_text("code_insee,val\n99001,12.5\n99002,<5\n")
    reg = write_registry(tmp_path, [{"source": "t.csv", "column": "val"}])
    with pytest.raises(DataError, match=r"non-numeric.*'<5'"):
        table_indicators(tiny_territory(), reg, data)


# --- the real Lot-et-Garonne study ----------------------------------------------------------


def test_every_study_commune_has_a_finite_climate_exposure(indicators, territory):
    study = study_communes(territory)
    assert len(indicators) == 319
    assert indicators.index.equals(study.index)
    assert (indicators["code"] == study["code"]).all()
    for col in [
        "tr_climate_tx35_delta",
        "tr_climate_tropical_nights_delta",
        "tr_climate_heatwave_delta",
        "tr_climate_tx35_ref",
        "tr_climate_tx35_rcp45",
    ]:
        assert np.isfinite(indicators[col]).all(), col
        assert not indicators[f"{col}_missing"].any()
    # the delta is the scenario minus the reference, commune by commune
    np.testing.assert_allclose(
        indicators["tr_climate_tx35_delta"],
        indicators["tr_climate_tx35_rcp45"] - indicators["tr_climate_tx35_ref"],
    )


def test_more_hot_days_under_rcp45_than_reference(indicators):
    # measured: mean over the 319 communes 1.46 days > 35 °C (REF 1976–2005) against 4.90
    # (RCP4.5 H1 2021–2050); tropical nights 6.07 → 11.41; heatwave days 5.88 → 21.16
    ref, rcp = indicators["tr_climate_tx35_ref"].mean(), indicators["tr_climate_tx35_rcp45"].mean()
    assert rcp > ref
    assert (indicators["tr_climate_tx35_delta"] > 0).all()
    assert (indicators["tr_climate_heatwave_delta"] > 0).all()
    assert (
        indicators["tr_climate_tropical_nights_rcp45"]
        > indicators["tr_climate_tropical_nights_ref"]
    ).all()


def test_commune_inside_one_cell_gets_that_cell_value(indicators, territory, data_dir):
    """Independent check: a commune lying inside a single 8 km cell takes its exact value."""
    study = study_communes(territory).to_crs("EPSG:27572")
    with rasterio.open(data_dir / REF_TIF) as src:
        band = list(src.descriptions).index("NORTX35") + 1
        grid = src.read(band)
        checked = 0
        for idx, geom in study.geometry.items():
            minx, miny, maxx, maxy = geom.bounds
            r0, c0 = src.index(minx, maxy)
            r1, c1 = src.index(maxx, miny)
            if (r0, c0) == (r1, c1):
                assert indicators.loc[idx, "tr_climate_tx35_ref"] == pytest.approx(
                    float(grid[r0, c0]), rel=1e-6
                )
                checked += 1
    assert checked >= 10


def test_table_values_match_the_source_file(indicators, territory, data_dir):
    src = pd.read_csv(data_dir / ENV_CSV, dtype={"code_insee": str}).set_index("code_insee")
    agen = indicators.index[indicators["code"] == "47001"][0]
    assert indicators.loc[agen, "env_forest_cover"] == pytest.approx(
        src.loc["47001", "Couvert Forestier"]
    )
    assert indicators.loc[agen, "tr_cyclability"] == pytest.approx(0.176)
    # the 15 "Petites villes de demain" of 47 in the ANCT list, e.g. Nérac (47195); Agen is not one
    pvd = pd.read_csv(data_dir / "indicators/petites_villes_de_demain.csv", dtype=str)
    assert indicators["tr_pvd"].sum() == (pvd["insee_dep"] == "47").sum() == 15
    assert indicators.loc[indicators["code"] == "47195", "tr_pvd"].item() == 1
    assert indicators.loc[agen, "tr_pvd"] == 0
    # sparse columns stay NaN + flag: air quality only for Marmande, drought empty
    assert indicators["env_air_quality_missing"].sum() == 318
    assert indicators["env_drought"].isna().all() and indicators["env_drought_missing"].all()
    assert (
        indicators["tr_organic_converted_missing"].sum()
        == src["Part des Surfaces Agricoles Biologiques"].isna().sum()
        == 56
    )
    # the column is the share of the organic area past its conversion (denominator: the
    # organic area, not the farmland): all of Agen's organic area is certified
    assert indicators.loc[agen, "tr_organic_converted"] == 100.0
    organic = indicators["tr_organic_converted"]
    assert ((organic == 100).sum(), (organic == 0).sum()) == (24, 72)
    report = indicators.attrs["report"]
    assert report.unmatched_codes[ENV_CSV] == []
    assert "env_drought" in report.empty_columns


# --- point layers for routing ---------------------------------------------------------------


def test_ev_charging_points_real_file(territory, data_dir):
    ev = ev_charging_points(SOURCES.ev_charging, data_dir, territory)
    assert ev.crs.to_epsg() == 2154
    assert ev["nbre_pdc"].dtype == np.int64 and (ev["nbre_pdc"] >= 1).all()
    # ids left duplicated are exactly the ones reported as listed at distinct places
    repeated = sorted(set(ev.loc[ev["station_id"].duplicated(), "station_id"]))
    assert repeated == ev.attrs["report"]["same_id_apart"]
    # stations outside every territory polygon are kept with code NaN
    outside = ev[ev["code_missing"]]
    assert len(outside) > 0 and outside["code"].isna().all()
    inside47 = ev[ev["code"].str.startswith("47", na=False)]
    dep47 = shapely.union_all(study_communes(territory).geometry.values)
    assert shapely.covered_by(inside47.geometry.values, dep47.buffer(1.0)).all()


def test_ev_duplicates_dropped_and_outside_station_kept(tmp_path):
    feats = [
        ("A", "2", "22000", 0.5050, 44.3050),
        ("A", "2", "50000", 0.50501, 44.30501),  # ~1 m apart
        ("B", "4", "7400", 0.5150, 44.3050),
        ("C", "1", "3700", 1.5, 45.0),
    ]
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"id_station_itinerance": i, "nbre_pdc": n, "puissance_nominale": p},
                "geometry": {"type": "Point", "coordinates": [x, y]},
            }
            for i, n, p, x, y in feats
        ],
    }
    path = tmp_path / "ev.geojson"
    path.write_text(json.dumps(gj))
    communes = gpd.GeoDataFrame(
        {"code": ["99001", "99002"]},
        geometry=[shapely.box(0.50, 44.30, 0.51, 44.31), shapely.box(0.51, 44.30, 0.52, 44.31)],
        crs="EPSG:4326",
    )
    source = replace(SOURCES.ev_charging, file=str(path))
    ev = ev_charging_points(source, tmp_path, communes)
    assert ev["station_id"].tolist() == ["A", "B", "C"]
    assert ev["nbre_pdc"].tolist() == [2, 4, 1]
    assert ev["power_kw"].tolist() == [50.0, 7.4, 3.7]  # the higher power of the two A records
    assert ev["code"].iloc[:2].tolist() == ["99001", "99002"]
    assert math.isnan(ev["code"].iloc[2]) and ev["code_missing"].iloc[2]
    assert ev.attrs["report"]["duplicates_dropped"] == ["A"]
    gj["features"][2]["properties"]["nbre_pdc"] = "2.5"
    path.write_text(json.dumps(gj))
    with pytest.raises(DataError, match=r"nbre_pdc.*'2.5'"):
        ev_charging_points(source, tmp_path, communes)


def test_train_stations_join_ridership_on_normalised_uic(data_dir):
    st = train_stations(SOURCES.rail, data_dir, CATALOGUE)
    agen = st.set_index("uic").loc["87586008"]  # "0087586008" in the station file
    assert agen["code"] == "47001" and agen["drg_segment"] == "A"
    assert agen["ridership"] == 1_211_323  # Total Voyageurs 2019 in the ridership file
    assert agen["service_weight"] == pytest.approx(math.log10(1_211_324))
    assert agen["segment_weight"] == 3.0
    # Marsac (0087595207) closed on 2018-12-15 and has no ridership row: NaN + flag
    marsac = st.set_index("uic").loc["87595207"]
    assert (
        not marsac["active"]
        and marsac["ridership_missing"]
        and math.isnan(marsac["service_weight"])
    )
    assert st.attrs["report"]["ridership_only"] == ["87725473"]
    assert st["ridership_missing"].sum() == 1
    assert (st.loc[~st["ridership_missing"], "service_weight"] >= 0).all()
    with pytest.raises(DataError, match=r"Total Voyageurs 2030.*available"):
        train_stations(SOURCES.rail, data_dir, CATALOGUE, year=2030)


def test_study_registry_ships_in_the_package(tmp_path):
    from geoattract.config import load_study_config

    config = load_study_config("lot-et-garonne", data_dir=tmp_path)  # the TOML, not the data
    assert config.config_file("indicators") == REGISTRY.resolve()
    assert REGISTRY.is_file()


# --- network indicators on a hand-made line graph --------------------------------------------


class LineInputs:
    """Four nodes 1 km apart on a line, 60 s per edge both ways; access legs at 36 km/h."""

    def __init__(self):
        from geoattract.network.snapping import SnapRule
        from geoattract.routing import routing_graph_from_arrays

        u = np.array([0, 1, 1, 2, 2, 3])
        v = np.array([1, 0, 2, 1, 3, 2])
        self.rg = routing_graph_from_arrays(
            u,
            v,
            np.full(6, 60.0),
            x=np.array([0.0, 1000.0, 2000.0, 3000.0]) + 500_000.0,
            y=np.full(4, 6_400_000.0),
            node_ids=np.array([0, 1, 2, 3]),
        )
        self.rule = SnapRule(max_distance_m=500.0, speed_kph=36.0)
        # A at node 0, B at node 3 with a 30 s access leg, C not snapped
        self.communes = pd.DataFrame(
            {
                "code": ["99001", "99002", "99003"],
                "in_study": [True, True, True],
                "node": pd.array([0, 3, pd.NA], dtype="Int64"),
                "snap_s": [0.0, 30.0, np.nan],
                "too_far": [False, False, True],
            },
            index=[5, 6, 7],
        )

    def snap(self, points, *, ids=None, on_far="flag", what="point(s)"):
        nodes = pd.DataFrame({"x": self.rg.x, "y": self.rg.y}, index=self.rg.node_ids)
        return self.rule.snap(nodes, points, ids=ids, on_far=on_far, what=what)


def _points(xy, **columns):
    geom = [shapely.Point(500_000.0 + x, 6_400_000.0 + y) for x, y in xy]
    return gpd.GeoDataFrame(columns, geometry=geom, crs="EPSG:2154")


def test_network_indicators_by_hand():
    from geoattract.transition import network_indicators

    # EV: 4 points at node 1; 2 points 100 m off node 3 (10 s access leg)
    ev = _points([(1000, 0), (3000, 100)], nbre_pdc=[4, 2])
    # stations: S1 at node 2 (weight 6), S2 50 m off node 0 (5 s, unknown ridership),
    # S3 at node 3 but closed
    st = _points(
        [(2000, 0), (0, 50), (3000, 0)],
        service_weight=[6.0, np.nan, 9.0],
        active=[True, True, False],
    )
    out = network_indicators(LineInputs(), ev, st, ev_threshold_min=2, rail_catchment_min=3)
    # A: EV at node 1 in 60 s, the other at 180 + 10 s; 4 points within 120 s
    # B: EV 30 + 10 = 40 s, the other 30 + 120 = 150 s; 2 points within 120 s
    assert out["tr_ev_time_min"].iloc[:2].tolist() == pytest.approx([1.0, 40 / 60])
    assert out["tr_ev_points_2min"].iloc[:2].tolist() == [4, 2]
    # rail, S3 closed: A reaches S2 in 5 s, S1 in 120 s; B reaches S1 in 30 + 60 = 90 s
    assert out["tr_rail_time_min"].iloc[:2].tolist() == pytest.approx([5 / 60, 1.5])
    # service within 180 s: A 6 (1 - 120/180) = 2 (S2 unknown adds nothing: partial);
    # B 6 (1 - 90/180) = 3 (S2 at 30 + 180 + 5 s is out of the catchment: not partial)
    assert out["tr_rail_service"].iloc[:2].tolist() == pytest.approx([2.0, 3.0])
    assert out["tr_rail_service_partial"].tolist() == [True, False, False]
    # C (town hall not snapped): NaN and flagged everywhere
    for col in ("tr_ev_time_min", "tr_ev_points_2min", "tr_rail_time_min", "tr_rail_service"):
        assert np.isnan(out.loc[7, col]) and out.loc[7, f"{col}_missing"], col
        assert not out.loc[[5, 6], f"{col}_missing"].any(), col
