"""Tests of geoattract.outputs.maps: classification, folium maps, static maps, escaping, size budget.

The inputs are the real 319 Lot-et-Garonne communes with deterministic synthetic scores
(seeded numpy), small isochrones (discs around the town halls of the main towns) and a few
facilities; two communes and one facility carry hostile names to check HTML escaping.
"""

from __future__ import annotations

import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb

from geoattract import settings
from geoattract.errors import ConfigError, DataError, DataNotFoundError
from geoattract.outputs import maps as plot
from geoattract.outputs.html import rank_text

PROFILES = ["general", "jeunes", "familles", "personnel_medical", "saisonniers", "teletravailleurs"]
PILLARS = ["services", "health", "culture", "housing", "transition", "environment"]
EVIL_SCRIPT = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"
CATEGORY_LABELS = {"doctor": "Médecins généralistes", "school": "Écoles", "pharmacy": "Pharmacies"}
#: Isochrone disc radius per minute of travel (synthetic: 36 km/h as the crow flies).
ISO_M_PER_MIN = 600.0


def make_inputs(seed: int = 47):
    """Realistic map inputs: (communes, isochrones, facilities, outline, meta)."""
    from geoattract.territory.load import load_territory

    territory = load_territory()
    communes = territory[territory["in_study"]].reset_index(drop=True).copy()
    rng = np.random.default_rng(seed)
    n = len(communes)
    for p in PILLARS:
        communes[f"pillar_{p}"] = rng.uniform(0, 100, n).round(1)
    for p in PROFILES:
        score = rng.uniform(0, 100, n).round(1)
        rank = pd.Series(score).rank(ascending=False, method="min").astype(int).to_numpy()
        communes[f"score_{p}"] = score
        communes[f"rank_{p}"] = rank
        communes[f"rank_{p}_median"] = rank
        communes[f"rank_{p}_p05"] = np.maximum(1, rank - 5)
        communes[f"rank_{p}_p95"] = np.minimum(n, rank + 7)
    communes["afom_atouts"] = "Bonne accessibilité aux services"
    communes["afom_faiblesses"] = "Offre de santé limitée"
    communes.loc[5, "nom"] = EVIL_SCRIPT
    communes.loc[6, "nom"] = EVIL_IMG
    halls = gpd.GeoSeries(communes["town_hall"], crs=communes.crs)
    iso = []
    for code in plot.main_town_codes(communes):
        hall = halls[communes["code"] == code].iloc[0]
        for minutes in (10, 20, 30):
            disc = hall.buffer(minutes * ISO_M_PER_MIN)
            iso.append(
                {
                    "code": code,
                    "minutes": minutes,
                    "area_km2": disc.area / 1e6,
                    "population_reached": minutes * 1000.0,
                    "geometry": disc,
                }
            )
    isochrones = gpd.GeoDataFrame(iso, crs=communes.crs)
    cats = list(CATEGORY_LABELS)
    fac = [
        {
            "category": cats[i % 3],
            "name": f"Équipement {i}",
            "capacity": float(i),
            "code": communes["code"].iloc[i],
            "geometry": halls.iloc[i],
        }
        for i in range(40)
    ]
    fac[0]["name"] = EVIL_SCRIPT
    fac[1]["name"] = EVIL_IMG
    facilities = gpd.GeoDataFrame(fac, crs=communes.crs)
    outline = communes[["geometry"]].dissolve()
    meta = {
        "name": "Lot-et-Garonne",
        "schematic": True,
        "category_labels": CATEGORY_LABELS,
        "sources": [
            {"name": "IGN Admin Express", "vintage": "2025", "licence": "Licence Ouverte 2.0"},
            {
                "name": "INSEE populations légales",
                "vintage": "2023",
                "licence": "Licence Ouverte 2.0",
            },
        ],
        "method": "Scores par pilier, puis moyenne pondérée par profil.\n\nDeuxième paragraphe.",
    }
    return communes.drop(columns=["town_hall"]), isochrones, facilities, outline, meta


def decode_js(text: str) -> str:
    r"""Undo the ``\uXXXX`` escapes of JSON embedded in a page (what the browser sees)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


@pytest.fixture(scope="module")
def inputs():
    return make_inputs()


@pytest.fixture(scope="module")
def written_maps(inputs, tmp_path_factory):
    communes, iso, fac, outline, meta = inputs
    out = tmp_path_factory.mktemp("maps")
    return out, plot.make_maps(communes, iso, fac, outline, meta, out, tiles=None)


def _geojson_layers(m: folium.Map) -> list[folium.GeoJson]:
    found = []

    def walk(el):
        for child in el._children.values():
            if isinstance(child, folium.GeoJson):
                found.append(child)
            walk(child)

    walk(m)
    return found


# ---------------------------------------------------------------------------- detection/labels


def test_detect_profiles_and_pillars_from_columns(inputs):
    communes = inputs[0]
    assert plot.detect_profiles(communes) == PROFILES
    assert plot.detect_pillars(communes) == PILLARS
    assert plot.detect_profiles(pd.DataFrame({"score_x": [1], "rank_x": [1]})) == ["x"]
    # derived columns written by the scoring stage are not profiles or pillars
    derived = pd.DataFrame(
        {
            "score_jeunes": [1.0],
            "score_jeunes_p05": [1.0],
            "score_jeunes_median": [1.0],
            "pillar_health": [2.0],
            "pillar_health_jeunes": [2.0],
            "pillar_health_change": [0.0],
            "score_label": ["texte"],
        }
    )
    assert plot.detect_profiles(derived) == ["jeunes"]
    assert plot.detect_pillars(derived) == ["health"]


def test_column_labels_are_french():
    assert plot.column_label("score_personnel_medical") == "Score — Personnel médical"
    assert plot.column_label("pillar_health") == "Pilier — Santé"
    assert plot.column_label("pillar_new_thing") == "Pilier — New thing"


def test_rank_text_french_ordinals():
    assert rank_text(12, 8, 19) == "12e (8e–19e)"
    assert rank_text(1, 1, 3) == "1er (1er–3e)"
    assert rank_text(4, np.nan, 9) == "4e"
    assert rank_text(np.nan) == "—"


# ------------------------------------------------------------------------------ classification


def test_quantiles_of_one_to_ten_are_pairs():
    br = plot.classify(np.arange(1, 11, dtype=float), "quantiles", 5)
    np.testing.assert_allclose(br.bins, [2.8, 4.6, 6.4, 8.2, 10.0])
    assert br.classes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert br.title == "Quantiles (5 classes)"
    assert br.labels()[0] == "1,0 – 2,8"
    assert br.labels()[-1] == "8,2 – 10,0"


def test_fisherjenks_finds_the_three_obvious_groups():
    br = plot.classify([1, 2, 3, 10, 11, 12, 50, 51], "fisherjenks", 3)
    assert br.bins.tolist() == [3, 12, 51]
    assert br.classes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert br.title == "Fisher-Jenks (3 classes)"


def test_missing_values_get_no_class_and_grey():
    br = plot.classify([1.0, np.nan, 3.0, 4.0], "equalinterval", 3)
    assert br.classes[1] == -1
    assert br.colour_of()[1] == plot.MISSING_COLOUR
    assert br.title == "Intervalles égaux (3 classes)"


def test_ties_merge_classes_and_every_class_keeps_a_colour():
    br = plot.classify([5.0] * 20 + [1.0, 9.0], "quantiles", 5)
    assert br.k < 5
    assert len(br.colours) == br.k == len(br.labels())
    assert set(br.classes) <= set(range(br.k))


def test_palette_darkens_with_the_score():
    colours = plot.palette_colours(5)
    luminance = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in map(to_rgb, colours)]
    assert all(a > b for a, b in zip(luminance, luminance[1:], strict=False))
    assert len(set(colours)) == 5


def test_classify_rejects_bad_scheme_and_empty_values():
    with pytest.raises(ConfigError, match="'rainbow'"):
        plot.classify([1, 2, 3], "rainbow")
    with pytest.raises(ConfigError, match="at least 2"):
        plot.classify([1, 2, 3], "quantiles", 1)
    with pytest.raises(DataError, match="every value is missing"):
        plot.classify([np.nan, np.nan])


# --------------------------------------------------------------------------------- folium maps


def test_main_towns_are_the_four_largest(inputs):
    assert plot.main_town_codes(inputs[0]) == ["47001", "47323", "47157", "47310"]


def test_choropleth_tooltip_fields(inputs):
    communes, iso, fac, outline, meta = inputs
    m = plot.choropleth_map(
        communes,
        "score_familles",
        isochrones=iso,
        facilities=fac,
        outline=outline,
        meta=meta,
        tiles=None,
    )
    layer = _geojson_layers(m)[0]
    features = layer.data["features"]
    assert len(features) == 319
    agen = communes.index[communes["code"] == "47001"][0]
    props = next(f["properties"] for f in features if f["properties"]["code"] == "47001")
    r = communes.loc[agen, "rank_familles"]
    assert props["t_rang"] == rank_text(r, max(1, r - 5), min(319, r + 7))
    assert re.fullmatch(r"\d+(er|e) \(\d+(er|e)–\d+e\)", props["t_rang"])
    assert props["t_nom"] == "Agen"
    assert props["t_population"] == "32\u202f801"
    assert (
        props["t_valeur"]
        == f"{communes.loc[agen, 'score_familles']:.1f}".replace(".", ",") + " / 100"
    )
    assert props["t_afom_atouts"] == "Bonne accessibilité aux services"
    tooltip = next(c for c in layer._children.values() if isinstance(c, folium.GeoJsonTooltip))
    assert tooltip.aliases[:3] == ["Commune", "Population", "Score — Familles"]
    assert tooltip.aliases[3] == "Rang sur 319 (intervalle 5–95 %)"


def test_choropleth_colours_follow_the_classes(inputs):
    communes = inputs[0]
    m = plot.choropleth_map(communes, "pillar_health", tiles=None)
    feats = _geojson_layers(m)[0].data["features"]
    br = plot.classify(communes["pillar_health"])
    top = int(np.argmax(communes["pillar_health"].to_numpy()))
    assert feats[top]["properties"]["fill"] == br.colours[-1]
    # quantiles on 319 distinct values: about 64 communes per class
    counts = pd.Series([f["properties"]["fill"] for f in feats]).value_counts()
    assert counts.min() >= 63 and counts.max() <= 65


def test_coordinates_rounded_and_polygons_simplified(inputs):
    communes = inputs[0]
    web = plot.to_web(communes, plot.SIMPLIFY_TOLERANCE_M, coverage=True)
    assert web.crs.to_epsg() == 4326
    coords = np.concatenate(
        [
            np.asarray(g.exterior.coords)
            for geom in web.geometry
            for g in getattr(geom, "geoms", [geom])
        ]
    )
    np.testing.assert_array_equal(coords, np.round(coords, plot.COORD_DECIMALS))
    assert web.geometry.is_valid.all()
    import shapely

    assert (
        shapely.get_num_coordinates(web.geometry.values).sum()
        <= shapely.get_num_coordinates(communes.geometry.values).sum()
    )
    # area kept within 1 % per commune
    ratio = web.to_crs(2154).area.to_numpy() / communes.area.to_numpy()
    assert np.abs(ratio - 1).max() < 0.01


def test_make_maps_writes_every_map_under_budget(written_maps):
    out, files = written_maps
    expected = {f"score_{p}" for p in PROFILES} | {f"pillar_{p}" for p in PILLARS} | {"isochrones"}
    assert set(files) == expected
    for name, path in files.items():
        assert path.parent == out and path.suffix == ".html"
        size = path.stat().st_size
        assert 50_000 < size < plot.MAP_SIZE_BUDGET_BYTES, (name, size)
        html = decode_js(path.read_text(encoding="utf-8"))
        assert plot.SCHEMATIC_CAPTION in html
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp file left


def test_map_html_has_french_layers_legend_and_no_unused_assets(written_maps):
    _, files = written_maps
    html = decode_js(files["score_jeunes"].read_text(encoding="utf-8"))
    for name in [
        "Score — Jeunes",
        "Isochrones 10 min",
        "Isochrones 20 min",
        "Isochrones 30 min",
        "Équipements — Médecins généralistes (14)",
        "Équipements — Écoles (13)",
        "Équipements — Pharmacies (13)",
        "Limite départementale",
        "Quantiles (5 classes)",
        "Palette YlGnBu (ColorBrewer)",
    ]:
        assert name in html, name
    assert "jquery" not in html and "bootstrap" not in html
    external = set(re.findall(r'(?:src|href)="(https?://[^"]+)"', html))
    assert external <= set(plot.WEB_ASSETS)


def test_hostile_names_are_escaped_in_maps(written_maps):
    _, files = written_maps
    for path in (files["score_general"], files["isochrones"]):
        raw = path.read_text(encoding="utf-8")
        for text in (raw, decode_js(raw)):
            assert EVIL_SCRIPT not in text
            assert EVIL_IMG not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in decode_js(raw)
        assert "&lt;img src=x onerror=alert(1)&gt;" in decode_js(raw)


def test_no_caption_when_network_is_real(inputs):
    communes = inputs[0]
    m = plot.choropleth_map(communes, "score_general", meta={"schematic": False}, tiles=None)
    assert plot.SCHEMATIC_CAPTION not in decode_js(plot.render_map_html(m))


def test_missing_column_is_named(inputs):
    with pytest.raises(DataError, match="score_absent"):
        plot.choropleth_map(inputs[0], "score_absent", tiles=None)
    with pytest.raises(DataError, match="no score_<profile> or pillar_<pillar>"):
        plot.make_maps(inputs[0][["code", "nom", "geometry"]], None, None, None, {}, "/nonexistent")


# ------------------------------------------------------------------------------ offline assets


def _fake_assets(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in set(plot.WEB_ASSETS.values()):
        body = (
            f"/* {name} */ .x{{background:url(images/layers.png)}}"
            if name.endswith(".css")
            else f"/* {name} */ var a = '</script>';"
        )
        (folder / name).write_text(body)
    (folder / "images").mkdir(exist_ok=True)
    (folder / "images" / "layers.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    return folder


def test_inline_web_assets_removes_every_cdn_reference(inputs, tmp_path):
    communes = inputs[0]
    m = plot.choropleth_map(communes.head(20), "score_general", facilities=inputs[2], tiles=None)
    html = plot.render_map_html(m, _fake_assets(tmp_path / "assets"))
    assert not re.findall(r'(?:src|href)="https?://', html)
    for name in plot.WEB_ASSETS.values():
        assert f"/* {name} */" in html
    assert 'url("data:image/png;base64,' in html
    assert "var a = '<\\/script>'" in html  # an inlined script cannot close its own tag


def test_inline_web_assets_names_the_missing_file(inputs, tmp_path):
    m = plot.choropleth_map(inputs[0].head(5), "score_general", tiles=None)
    with pytest.raises(DataNotFoundError, match="leaflet.js"):
        plot.render_map_html(m, tmp_path)


# --------------------------------------------------------------------------------- static maps


def test_static_map_has_legend_source_and_caption(inputs):
    communes, *_, outline, meta = inputs
    fig = plot.static_map(
        communes,
        "score_familles",
        source_text=plot.source_line(meta),
        schematic=True,
        outline=outline,
    )
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "Quantiles (5 classes)"
    assert len(legend.get_texts()) == 5
    # the notes sit in their own band under the map, wrapped: compare with lines joined
    notes = [t.get_text() for t in fig.texts] + [t.get_text() for a in fig.axes for t in a.texts]
    texts = " ".join(" ".join(notes).split())
    assert "Sources : IGN Admin Express 2025 (Licence Ouverte 2.0)" in texts
    assert plot.SCHEMATIC_CAPTION in texts
    assert ax.get_title() == "Score — Familles"


def test_make_static_maps_writes_pngs(inputs, tmp_path):
    communes, *_, outline, meta = inputs
    small = communes[["code", "nom", "geometry", "score_general", "pillar_health"]]
    files = plot.make_static_maps(small, meta, tmp_path, outline=outline, dpi=40)
    assert set(files) == {"score_general", "pillar_health"}
    for path in files.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        json.dumps(sorted(p.name for p in tmp_path.iterdir()))
        == '["pillar_health.png", "score_general.png"]'
    )


def test_make_report_maps_script(inputs, tmp_path):
    """The report script reads a pipeline GeoPackage (layer + metadata) and writes the PNGs."""
    import importlib.util

    from geoattract._util.io import write_gpkg_atomic

    communes, *_, meta = inputs
    gpkg = write_gpkg_atomic(
        tmp_path / "communes.gpkg",
        {
            "communes": communes[
                ["code", "nom", "population", "score_jeunes", "pillar_culture", "geometry"]
            ]
        },
        metadata={
            "schematic": True,
            "name": "Lot-et-Garonne",
            "sources": json.dumps(meta["sources"]),
        },
    )
    spec = importlib.util.spec_from_file_location(
        "make_report_maps", settings.repo_root / "scripts" / "make_report_maps.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.read_meta(gpkg) == {
        "schematic": True,
        "name": "Lot-et-Garonne",
        "sources": meta["sources"],
    }
    assert script.main(["--gpkg", str(gpkg), "--out", str(tmp_path / "png"), "--dpi", "30"]) == 0
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "pillar_culture.png",
        "score_jeunes.png",
    ]
    assert script.main(["--gpkg", str(tmp_path / "absent.gpkg"), "--out", str(tmp_path)]) == 1


def test_map_with_thousands_of_facilities_stays_under_budget(inputs):
    """5,000 facilities (more than all point sources of the study together) fit the budget."""
    communes, iso, _, outline, meta = inputs
    n = 5_000
    rng = np.random.default_rng(3)
    x0, y0, x1, y1 = communes.total_bounds
    points = gpd.points_from_xy(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n), crs=communes.crs)
    facilities = gpd.GeoDataFrame(
        {
            "category": rng.choice(list(CATEGORY_LABELS), n),
            "name": [f"Établissement numéro {i}" for i in range(n)],
            "capacity": rng.integers(1, 100, n).astype(float),
        },
        geometry=points,
    )
    m = plot.choropleth_map(
        communes,
        "score_general",
        isochrones=iso,
        facilities=facilities,
        outline=outline,
        meta=meta,
        category_labels=CATEGORY_LABELS,
        tiles=None,
    )
    size = len(plot.render_map_html(m).encode("utf-8"))
    assert size < plot.MAP_SIZE_BUDGET_BYTES
    # markers are compact rows (about 150 bytes each), not one JS block per marker
    assert size < 400_000 + 200 * n
