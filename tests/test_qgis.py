"""QGIS-ready GeoPackages: French aliases (schema extension) and default styles (layer_styles).

Read with sqlite3 only, on the GeoPackages the tiny study writes; the same files opened in
QGIS 3.22 are checked by ``scripts/check_qgis.py`` (docs/maps.md).
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoattract._util.io import write_gpkg_atomic
from geoattract.outputs import Labels, classify, layer_style, make_qgis_ready, palette_colours
from geoattract.outputs.classes import MISSING_COLOUR


@pytest.fixture(scope="module")
def written(tiny_state, tmp_path_factory) -> Path:
    """The GeoPackages of the tiny study, written as a run writes them (no maps)."""
    from geoattract.outputs import write

    out = tmp_path_factory.mktemp("qgis")
    write.write_outputs(tiny_state, out, ["99005"], {}, maps=False)
    return out


def query(path: Path, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def fields(path: Path, table: str) -> list[str]:
    """Fields of a table as QGIS lists them: every column but the geometry, fid first."""
    geometry = query(
        path, "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", table
    )
    skip = {geometry[0][0]} if geometry else set()
    return [r[1] for r in query(path, f'PRAGMA table_info("{table}")') if r[1] not in skip]


def tables(path: Path) -> list[str]:
    rows = query(path, "SELECT table_name FROM gpkg_contents WHERE table_name != 'layer_styles'")
    return [r[0] for r in rows]


def default_style(path: Path, table: str) -> ET.Element:
    rows = query(
        path,
        "SELECT styleQML, f_table_catalog, f_table_schema, f_geometry_column FROM layer_styles "
        "WHERE f_table_name = ? AND useAsDefault = 1",
        table,
    )
    assert len(rows) == 1, (table, len(rows))
    qml, catalog, schema, geometry_column = rows[0]
    # QGIS looks a layer's default style up by empty catalog and schema and its geometry column
    assert (catalog, schema) == ("", "")
    geometry = query(
        path, "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", table
    )
    assert geometry_column == (geometry[0][0] if geometry else "")
    root = ET.fromstring(qml)
    assert root.tag == "qgis"
    return root


@pytest.mark.parametrize("name", ["communes.gpkg", "territory.gpkg", "isochrones.gpkg"])
def test_every_field_has_a_french_alias_from_the_dictionary(written, name):
    path = written / name
    extension = query(
        path,
        "SELECT column_name, definition, scope FROM gpkg_extensions "
        "WHERE table_name = 'gpkg_data_columns' AND extension_name = 'gpkg_schema'",
    )
    assert extension == [
        (None, "http://www.geopackage.org/spec121/#extension_schema", "read-write")
    ]
    for table in tables(path):
        described = {
            column: (alias, title, description)
            for column, alias, title, description in query(
                path,
                "SELECT column_name, name, title, description FROM gpkg_data_columns "
                "WHERE table_name = ?",
                table,
            )
        }
        for field in fields(path, table):
            alias, title, description = described[field]
            # a label of the dictionary, never the name itself nor the fallback built from it
            # (which has no definition)
            assert alias and alias != field, (table, field, alias)
            assert title.startswith(alias) and description, (table, field)
        # the default style carries the same aliases, in QGIS's field order (QGIS < 3.30)
        aliases = default_style(path, table).find("aliases")
        assert aliases is not None
        assert [(a.get("field"), a.get("index"), a.get("name")) for a in aliases] == [
            (f, str(i), described[f][0]) for i, f in enumerate(fields(path, table))
        ]


def test_communes_aliases_are_the_columns_table_labels(written):
    """One source of facts: the aliases of the communes layer are the ``columns`` layer."""
    path = written / "communes.gpkg"
    dictionary = dict(query(path, 'SELECT "column", label_fr FROM columns'))
    aliases = dict(
        query(
            path,
            "SELECT column_name, name FROM gpkg_data_columns WHERE table_name = 'communes' "
            "AND column_name NOT IN ('fid', 'geom')",
        )
    )
    assert aliases == {c: v for c, v in dictionary.items() if c != "geometry"}
    assert len(aliases) == len(fields(path, "communes")) - 1  # every field but the fid
    assert aliases["score_general"] == "Score — Population générale"
    assert aliases["time_gp_min"] == "Temps d'accès — Médecin généraliste"
    title, description = query(
        path,
        "SELECT title, description FROM gpkg_data_columns "
        "WHERE table_name = 'communes' AND column_name = 'time_gp_min'",
    )[0]
    assert title == "Temps d'accès — Médecin généraliste (min)"
    assert description.startswith("Temps de trajet en voiture de la mairie au plus proche")
    assert "Unité : min." in description and "Source : bpe D265" in description
    # the other layers' own fields: the code of a facility is the commune it lies in
    facility_code = query(
        path,
        "SELECT name FROM gpkg_data_columns WHERE table_name = 'facilities' AND column_name = 'code'",
    )
    assert facility_code == [("Commune de l'équipement",)]


def test_communes_default_style_is_the_printed_maps_score(written, tiny_state):
    path = written / "communes.gpkg"
    root = default_style(path, "communes")
    renderer = root.find("renderer-v2")
    assert renderer is not None
    assert (renderer.get("type"), renderer.get("attr")) == ("graduatedSymbol", '"score_general"')
    scores = tiny_state.communes_layer()["score_general"]
    breaks = classify(scores)  # the printed maps' classes: quantiles, 5 classes
    ranges = renderer.findall("ranges/range")
    assert [r.get("label") for r in ranges] == breaks.labels()
    assert float(ranges[0].get("lower")) == scores.min()
    assert float(ranges[-1].get("upper")) == scores.max()
    colours = []
    for r in ranges:
        symbol = renderer.find(f"symbols/symbol[@name='{r.get('symbol')}']")
        colour = symbol.find("layer/Option/Option[@name='color']").get("value")
        colours.append("#{:02x}{:02x}{:02x}".format(*map(int, colour.split(",")[:3])))
    assert colours == palette_colours(len(ranges)) == breaks.colours
    # darker = better: the luminance falls from the lowest class to the highest
    rgb = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colours])
    luminance = rgb @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) < 0)
    # town names: the most populous commune (Esclottes, 2 100 inhabitants) at every scale,
    # every other commune when zoomed in
    assert root.get("labelsEnabled") == "1"
    rules = root.findall("labeling/rules/rule")
    assert [(r.get("filter"), r.get("scalemaxdenom")) for r in rules] == [
        ("\"code\" IN ('99005')", None),
        ("ELSE", "150000"),
    ]
    assert {r.find("settings/text-style").get("fieldName") for r in rules} == {"nom"}
    assert root.findtext("previewExpression") == '"nom"'


def test_other_layers_default_styles(written):
    facilities = default_style(written / "communes.gpkg", "facilities").find("renderer-v2")
    categories = [(c.get("value"), c.get("label")) for c in facilities.iter("category")]
    assert categories == [
        ("gp", "Médecin généraliste"),
        ("pharmacy", "Pharmacie"),
        ("school_primary", "École maternelle ou élémentaire"),
        ("train_station", "Gare voyageurs"),
    ]
    territory = default_style(written / "territory.gpkg", "territory").find("renderer-v2")
    assert [r.get("label") for r in territory.iter("rule")] == ["Zone d'étude", "Zone tampon"]
    iso = default_style(written / "isochrones.gpkg", "isochrones").find("renderer-v2")
    drawn = [r.get("filter") for r in iso.iter("rule") if r.get("checkstate") != "0"]
    assert drawn == [f'"minutes" = {m} AND "code" IN (\'99005\')' for m in (10, 20, 30)]
    # a table without geometry: its aliases, no renderer
    columns = default_style(written / "communes.gpkg", "columns")
    assert columns.find("renderer-v2") is None and len(columns.find("aliases")) == 6


def _communes(scores: list[float]) -> gpd.GeoDataFrame:
    n = len(scores)
    return gpd.GeoDataFrame(
        {
            "code": [f"9900{i}" for i in range(n)],
            "nom": [f"Commune {i}" for i in range(n)],
            "population": [100.0 * (i + 1) for i in range(n)],
            "score_general": scores,
        },
        geometry=[shapely.box(i * 1000, 0, i * 1000 + 1000, 1000) for i in range(n)],
        crs=2154,
    )


def test_missing_scores_are_a_grey_class(tmp_path):
    """As on the printed maps: communes without a score in grey, counted in the legend."""
    communes = _communes([10.0, 20.0, np.nan, 40.0, 50.0, 60.0])
    qml, _ = layer_style(communes, {"code": "Code INSEE"}, Labels(), geometry_type="POLYGON")
    renderer = ET.fromstring(qml).find("renderer-v2")
    assert renderer.get("attr") == 'coalesce("score_general", 9)'
    first = renderer.find("ranges/range")
    assert (first.get("label"), first.get("lower"), first.get("upper")) == (
        "Donnée manquante (1)",
        "9.0",
        "9.0",
    )
    colour = renderer.find("symbols/symbol[@name='0']/layer/Option/Option[@name='color']")
    assert colour.get("value") == "189,189,189,255" and MISSING_COLOUR == "#bdbdbd"


def test_written_atomically_and_again_without_duplicates(tmp_path):
    communes = _communes([10.0, 20.0, 30.0])
    target = tmp_path / "c.gpkg"

    def fail(path: Path) -> None:
        make_qgis_ready(path, {"communes": communes}, Labels())
        raise RuntimeError("interrupted after the styles")

    with pytest.raises(RuntimeError):
        write_gpkg_atomic(target, {"communes": communes}, finish=fail)
    assert not target.exists() and list(tmp_path.iterdir()) == []
    write_gpkg_atomic(target, {"communes": communes})
    for _ in range(2):  # a second call replaces its own rows
        counts = make_qgis_ready(target, {"communes": communes}, Labels())
    assert counts == {"communes": 5}  # fid, code, nom, population, score_general
    assert query(target, "SELECT COUNT(*) FROM layer_styles") == [(1,)]
    assert query(target, "SELECT COUNT(*) FROM gpkg_data_columns") == [(6,)]  # and geom
    schema = query(
        target, "SELECT table_name FROM gpkg_extensions WHERE extension_name = ?", "gpkg_schema"
    )
    assert sorted(schema) == [("gpkg_data_column_constraints",), ("gpkg_data_columns",)]
