"""Tables and layers read the way French open data really comes."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoattract._util.io import read_csv, read_vector, sniff_separator
from geoattract.errors import DataError


def _write(path, text: str, encoding: str = "utf-8") -> None:
    path.write_bytes(text.encode(encoding))


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp1252", b"")],
)
def test_encodings_utf8_bom_latin1(tmp_path, encoding, bom):
    p = tmp_path / "t.csv"
    p.write_bytes(bom + "code;nom;valeur\n47001;Agen;1,5\n47157;Marmande;2\n".encode(encoding))
    df = read_csv(p, columns=["nom", "valeur"], commune_columns=["code"])
    assert list(df.columns) == ["code", "nom", "valeur"]
    assert df["nom"].tolist() == ["Agen", "Marmande"]
    assert df["valeur"].tolist() == [1.5, 2.0]


def test_latin1_accents_are_kept(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "code;nom\n47323;Villeneuve-sur-Lot\n47145;Lédat\n", "cp1252")
    assert read_csv(p, commune_columns=["code"])["nom"].tolist() == ["Villeneuve-sur-Lot", "Lédat"]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_separators_are_sniffed(tmp_path, sep):
    p = tmp_path / "t.csv"
    _write(p, sep.join(["code", "n"]) + "\n" + sep.join(["47001", "3"]) + "\n")
    df = read_csv(p, commune_columns=["code"])
    assert df.loc[0, "n"] == 3


def test_semicolon_with_decimal_commas_is_not_ambiguous(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "code;prix\n47001;1234,5\n47002;99,25\n")
    assert sniff_separator(p) == ";"
    assert read_csv(p, commune_columns=["code"])["prix"].tolist() == [1234.5, 99.25]


def test_ambiguous_separator_is_reported(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "a,b;c\n1,2;3\n4,5;6\n")
    with pytest.raises(DataError, match=r"ambiguous separator"):
        read_csv(p)


def test_thousands_separators_and_decimal_commas(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "code;population\n47001;32\u00a0801,0\n47002;1 234,5\n")
    assert read_csv(p, commune_columns=["code"])["population"].tolist() == [32801.0, 1234.5]


def test_mixed_decimal_marks_are_refused(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "code;x\n47001;1,5\n47002;2.5\n")
    with pytest.raises(DataError, match=r"column 'x' mixes decimal commas and decimal points"):
        read_csv(p, commune_columns=["code"])


def test_text_with_commas_stays_text(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, 'code;adresse\n47001;"1, place du Maréchal"\n')
    assert read_csv(p, commune_columns=["code"])["adresse"].tolist() == ["1, place du Maréchal"]


def test_commune_codes_restored_to_five_characters(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "code,v\n1001,1\n1001.0,2\n2A004,3\n47001,4\n,5\n")
    codes = read_csv(p, commune_columns=["code"])["code"].tolist()
    assert codes[:4] == ["01001", "01001", "2A004", "47001"]
    assert codes[4] is None


def test_missing_column_names_file_and_columns(tmp_path):
    p = tmp_path / "t.csv"
    _write(p, "code;nom\n47001;Agen\n")
    with pytest.raises(DataError, match=r"t\.csv: missing column\(s\) 'population'"):
        read_csv(p, columns=["population"])


def _layer(tmp_path, geoms, crs="EPSG:2154", name="l.gpkg"):
    gdf = gpd.GeoDataFrame(
        {"code": [f"4700{i}" for i in range(len(geoms))]}, geometry=geoms, crs=crs
    )
    path = tmp_path / name
    gdf.to_file(path)
    return path


def test_empty_layer_is_an_error(tmp_path):
    gdf = gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:2154")
    p = tmp_path / "empty.gpkg"
    gdf.to_file(p)
    with pytest.raises(DataError, match=r"empty\.gpkg: the layer is empty"):
        read_vector(p)


def test_null_geometry_reported_by_code(tmp_path):
    p = _layer(tmp_path, [shapely.Point(500_000, 6_400_000), None])
    with pytest.raises(DataError, match=r"1 feature\(s\) without geometry: '47001'"):
        read_vector(p, id_column="code")
    kept = read_vector(p, id_column="code", null_geometries="drop")
    assert kept["code"].tolist() == ["47000"]


def test_degrees_declared_as_lambert93_are_out_of_range(tmp_path):
    # longitude/latitude of Agen written in a file that claims EPSG:2154
    p = _layer(tmp_path, [shapely.Point(0.62, 44.2), shapely.Point(500_000, 6_350_000)])
    with pytest.raises(
        DataError, match=r"1 feature\(s\) with coordinates outside the range .*'47000'"
    ):
        read_vector(p, id_column="code")


def test_lambert93_coordinates_declared_as_wgs84_are_out_of_range(tmp_path):
    p = _layer(tmp_path, [shapely.Point(500_000, 6_350_000)], crs="EPSG:4326")
    with pytest.raises(DataError, match=r"EPSG:4326"):
        read_vector(p)


def test_valid_layer_passes(tmp_path):
    p = _layer(tmp_path, [shapely.Point(500_000, 6_350_000), shapely.Point(510_000, 6_360_000)])
    gdf = read_vector(p, columns=["code"])
    np.testing.assert_allclose(gdf.geometry.x, [500_000, 510_000])
