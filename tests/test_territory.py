"""Foundation: the study territory, its validation and the data-folder lookup."""

from __future__ import annotations

import json

import pytest
import shapely

import geoattract as ga
from geoattract import settings
from geoattract._util.io import resolve_data_dir

# --- the real Lot-et-Garonne territory ------------------------------------------------------


def test_study_has_319_communes_and_legal_population(territory):
    study = territory[territory["in_study"]]
    assert len(study) == 319
    assert study["population"].sum() == 333_602
    assert study.loc[study["code"] == "47001", "population"].item() == 32_801
    assert study["code"].is_unique
    assert territory.crs.to_epsg() == 2154


def test_buffer_zone_has_the_six_neighbour_departements(territory):
    buffer = territory[~territory["in_study"]]
    # communes of the 2025 geography within 30 km of Lot-et-Garonne, by département
    assert buffer.groupby("dep").size().to_dict() == {
        "24": 217,
        "32": 171,
        "33": 253,
        "40": 46,
        "46": 88,
        "82": 109,
    }
    assert len(buffer) == 884 and not buffer["dep"].eq("47").any()
    # every buffer commune lies within 30 km of the département
    dep_shape = shapely.union_all(territory.loc[territory["in_study"], "geometry"].values)
    assert (buffer.distance(dep_shape) <= 30_000 + 1e-6).all()


def test_territory_columns_and_town_halls(territory):
    for col in ["code", "nom", "population", "epci", "in_study", "town_hall", "geometry"]:
        assert col in territory.columns
    assert territory["code"].map(type).eq(str).all()
    # every town hall is inside or within 200 m of its commune (others were replaced)
    dist = shapely.distance(territory["town_hall"].values, territory.geometry.values)
    assert (dist <= 200 + 1e-6).all()
    report = territory.attrs["report"]
    replaced = territory.loc[territory["town_hall_replaced"], "code"]
    assert set(report.town_halls_replaced) | set(report.town_halls_missing) == set(replaced)
    # every study commune has an EPCI
    assert territory.loc[territory["in_study"], "epci"].notna().all()


def test_buffer_distance_is_configurable(study_config):
    small = ga.load_territory(study_config, buffer_m=5_000)
    full = ga.load_territory(study_config)
    assert small["in_study"].sum() == 319
    assert 0 < (~small["in_study"]).sum() < (~full["in_study"]).sum()


# --- data folder lookup ---------------------------------------------------------------------


def test_data_dir_found_by_default_and_overridable(monkeypatch, tmp_path):
    # the default places: ../shared/data/<study> beside the checkout, then the current folder
    shared = tmp_path / "shared" / "data"
    (shared / "lot-et-garonne" / "boundaries").mkdir(parents=True)
    monkeypatch.setattr(settings, "data_dir_candidates", (tmp_path / "absent", shared))
    monkeypatch.delenv(settings.data_dir_env_var, raising=False)
    found = resolve_data_dir(None, "lot-et-garonne")
    assert found == (shared / "lot-et-garonne").resolve()
    env = tmp_path / "env"
    env.mkdir()
    monkeypatch.setenv(settings.data_dir_env_var, str(env))
    assert resolve_data_dir(None, "lot-et-garonne") == env.resolve()
    assert resolve_data_dir(found, "ignored") == found


def test_missing_data_dir_says_where_it_looked(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv(settings.data_dir_env_var, str(missing))
    with pytest.raises(ga.DataNotFoundError, match="nowhere") as exc:
        ga.load_study_config()
    assert settings.data_dir_env_var in str(exc.value)
    assert isinstance(exc.value, FileNotFoundError)


# --- the tiny study and its bad inputs -------------------------------------------------------


def test_tiny_study_loads(tiny_study):
    toml, data = tiny_study()
    terr = ga.load_territory(ga.load_study_config(toml, data_dir=data))
    assert list(terr["code"]) == ["99001", "99002", "98001"]
    assert list(terr["in_study"]) == [True, True, False]
    assert list(terr["population"]) == [1000, 250, 40]
    assert list(terr["epci"]) == ["200000001", "200000001", "200000002"]


def test_missing_file(tiny_study):
    toml, data = tiny_study()
    (data / "population.csv").unlink()
    with pytest.raises(ga.DataNotFoundError, match="population.csv"):
        ga.load_territory(ga.load_study_config(toml, data_dir=data))


def test_missing_column(tiny_study):
    toml, data = tiny_study(population="code,nom,habitants\n99001,Alpha,1000\n")
    with pytest.raises(ga.DataError, match=r"population.csv: missing column\(s\) 'population'"):
        ga.load_territory(ga.load_study_config(toml, data_dir=data))


def test_duplicate_codes(tiny_study):
    toml, data = tiny_study(
        population="code,population\n99001,1000\n99001,5\n99002,250\n98001,40\n"
    )
    with pytest.raises(ga.DataError, match="duplicate codes.*'99001'"):
        ga.load_territory(ga.load_study_config(toml, data_dir=data))


def test_negative_population(tiny_study):
    toml, data = tiny_study(population="code,population\n99001,-3\n99002,250\n98001,40\n")
    with pytest.raises(ga.DataError, match="negative.*'99001'"):
        ga.load_territory(ga.load_study_config(toml, data_dir=data))


def _communes_doc(geometry_of_first=None, crs=True):
    toml_dir_doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "99001", "nom": "Alpha", "dep": "99"},
                "geometry": geometry_of_first
                or {
                    "type": "Polygon",
                    "coordinates": [
                        [[0.5, 44.3], [0.51, 44.3], [0.51, 44.31], [0.5, 44.31], [0.5, 44.3]]
                    ],
                },
            },
            {
                "type": "Feature",
                "properties": {"code": "99002", "nom": "Beta", "dep": "99"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[0.51, 44.3], [0.52, 44.3], [0.52, 44.31], [0.51, 44.31], [0.51, 44.3]]
                    ],
                },
            },
        ],
    }
    if crs:
        toml_dir_doc["crs"] = {
            "type": "name",
            "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"},
        }
    return json.dumps(toml_dir_doc)


def test_missing_crs(tiny_study, tmp_path):
    toml, data = tiny_study()
    # a GeoPackage written without CRS (GeoJSON always defaults to WGS84)
    import geopandas as gpd

    gdf = gpd.read_file(data / "communes.geojson")
    gdf = gdf.set_crs(None, allow_override=True)
    with pytest.warns(UserWarning, match="crs"):
        gdf.to_file(data / "nocrs.gpkg", driver="GPKG")
    toml.write_text(
        toml.read_text().replace('communes = "communes.geojson"', 'communes = "nocrs.gpkg"')
    )
    with pytest.raises(ga.DataError, match="nocrs.gpkg: no CRS"):
        ga.load_territory(ga.load_study_config(toml, data_dir=data))


_ORPHAN_HALL = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"code": "99009"},
            "geometry": {"type": "Point", "coordinates": [0.5, 44.3]},
        }
    ],
}


def test_invalid_polygon_is_repaired_and_reported(tiny_study):
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[0.5, 44.3], [0.51, 44.31], [0.51, 44.3], [0.5, 44.31], [0.5, 44.3]]],
    }
    toml, data = tiny_study(
        communes=_communes_doc(bowtie),
        population="code,population\n99001,1\n99002,2\n",
        halls=_ORPHAN_HALL,
    )
    terr = ga.load_territory(ga.load_study_config(toml, data_dir=data))
    assert terr.attrs["report"].repaired_geometries == ["99001"]
    assert terr.geometry.is_valid.all()
    # no town hall at all: points inside the polygons are used and reported
    assert sorted(terr.attrs["report"].town_halls_missing) == ["99001", "99002"]
    assert terr["town_hall_replaced"].all()
    assert terr.attrs["report"].town_halls_orphan == ["99009"]


def test_unrepairable_polygon_is_an_error(tiny_study):
    line_like = {
        "type": "Polygon",
        "coordinates": [[[0.5, 44.3], [0.51, 44.3], [0.52, 44.3], [0.5, 44.3]]],
    }
    toml, data = tiny_study(
        communes=_communes_doc(line_like), population="code,population\n99001,1\n99002,2\n"
    )
    with pytest.raises(ga.DataError, match="cannot be repaired.*'99001'"):
        ga.load_territory(ga.load_study_config(toml, data_dir=data))


def test_far_town_hall_is_replaced(tiny_study):
    halls = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "99001"},
                "geometry": {"type": "Point", "coordinates": [0.9, 44.9]},
            },
            {
                "type": "Feature",
                "properties": {"code": "99002"},
                "geometry": {"type": "Point", "coordinates": [0.515, 44.305]},
            },
        ],
    }
    toml, data = tiny_study(halls=halls)
    terr = ga.load_territory(ga.load_study_config(toml, data_dir=data))
    report = terr.attrs["report"]
    assert list(report.town_halls_replaced) == ["99001"]
    assert report.town_halls_replaced["99001"] > 50_000
    first = terr.iloc[0]
    assert first["geometry"].contains(first["town_hall"])
    assert report.town_halls_missing == ["98001"]


def test_codes_missing_from_one_source_are_reported(tiny_study):
    toml, data = tiny_study(population="code,population\n99001,1000\n99003,12\n98001,40\n")
    terr = ga.load_territory(ga.load_study_config(toml, data_dir=data))
    report = terr.attrs["report"]
    assert report.only_in_polygons == ["99002"]
    assert report.only_in_population == ["99003"]
    row = terr.set_index("code").loc["99002"]
    assert row["population_missing"] and row["population"] != row["population"]  # NaN, not 0


def test_commune_names_take_back_the_article_the_polygon_file_dropped(caplog):
    import geopandas as gpd
    import pandas as pd

    from geoattract.territory.load import _with_articles

    terr = gpd.GeoDataFrame(
        {"code": ["47201", "24067", "47001", "47999"], "nom": ["Passage", "Bugue", "Agen", "Xa"]}
    )
    official = pd.Series(
        ["Le Passage", "Le Bugue", "Agen", "Nouvelle-Xa"],
        index=["47201", "24067", "47001", "47999"],
    )
    with caplog.at_level("INFO", logger="geoattract.territory.load"):
        names = _with_articles(terr, official, "pop.csv")
    # an article restored; an equal name kept; another difference (a new name) is not taken
    assert names.tolist() == ["Le Passage", "Le Bugue", "Agen", "Xa"]
    assert "2 commune name(s) take back their article" in caplog.text
