"""Tests of geoattract.outputs: labels, classification, folium maps, static maps, escaping, size.

The map inputs (``map_inputs``, from ``conftest_d/maps.py``) are the real 319 Lot-et-Garonne
communes with deterministic synthetic scores, small isochrones, a few facilities of three real
catalogue categories, the labels of the real study configuration and a schematic-network
caption; two communes and one facility carry hostile names to check HTML escaping.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest_d.maps import (
    CATEGORY_LABELS,
    EVIL_IMG,
    EVIL_SCRIPT,
    PILLARS,
    PROFILES,
    SCHEMATIC_TEXT,
    Caption,
    study_labels,
)
from matplotlib.colors import to_rgb

from geoattract import outputs, settings
from geoattract.errors import ConfigError, DataError, DataNotFoundError
from geoattract.outputs import (
    assets,
    basemap,
    classes,
    controls,
    geometry,
    labels,
    layers,
    static,
)
from geoattract.outputs import maps as plot
from geoattract.outputs.html import rank_text


def decode_js(text: str) -> str:
    r"""Undo the ``\uXXXX`` escapes of JSON embedded in a page (what the browser sees)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), text)


@pytest.fixture(scope="module")
def inputs(map_inputs):
    return map_inputs


@pytest.fixture(scope="module")
def labels_of_the_study():
    """Labels of the shipped study configuration (no data needed)."""
    return study_labels()


@pytest.fixture(scope="module")
def written_maps(inputs, tmp_path_factory):
    communes, iso, fac, base, context = inputs
    out = tmp_path_factory.mktemp("maps")
    return out, plot.make_maps(communes, context, out, isochrones=iso, facilities=fac, basemap=base)


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
    assert labels.detect_profiles(communes) == PROFILES
    assert labels.detect_pillars(communes) == PILLARS
    assert labels.detect_profiles(pd.DataFrame({"score_x": [1], "rank_x": [1]})) == ["x"]
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
    assert labels.detect_profiles(derived) == ["jeunes"]
    assert labels.detect_pillars(derived) == ["health"]


def test_column_labels_come_from_the_study_toml(labels_of_the_study):
    lab = labels_of_the_study
    # scoring.toml: [profiles.<p>] label_fr and [pillars] <p>.label_fr
    assert lab.column("score_general") == "Score — Population générale"
    assert lab.column("score_personnel_medical") == "Score — Personnels médicaux et soignants"
    assert lab.column("pillar_health") == "Pilier — Santé"
    assert lab.column("pillar_transition") == "Pilier — Transition écologique et mobilités"
    assert lab.column("pillar_health_jeunes") == "Pilier — Santé (profil Jeunes (15-29 ans))"
    assert lab.column("rank_familles") == "Rang — Familles avec enfants"
    assert lab.column("rank_familles_p05") == (
        "Rang — Familles avec enfants (5e centile des tirages)"
    )
    # facilities.toml categories and the column patterns of the accessibility stage
    assert lab.column("time_gp_min") == "Temps d'accès — Médecin généraliste"
    assert lab.column("count_cinema_20min") == "Cinéma à moins de 20 min (sites)"
    assert lab.unit("count_cinema_20min") == "sites"
    assert lab.unit("count_gp_20min") == "équipements"
    assert lab.unit("e2sfca_cinema") == "fauteuils pour 100 000 hab."
    assert (
        lab.column("outside_unknown_gp") == "Médecin généraliste : offre hors département inconnue"
    )
    # indicators.toml (registry) first, then scoring.toml [indicators]
    assert lab.column("tr_cyclability") == "Cyclabilité de la voirie"
    assert lab.column("env_forest_cover_missing") == "Couvert forestier : donnée manquante"
    assert lab.column("tr_rail_time_min") == "Temps d'accès à une gare voyageurs"
    assert lab.unit("tr_rail_time_min") == "min"
    # names outside the configuration get a label from the name
    assert lab.column("pillar_new_thing") == "Pilier — New thing"
    assert outputs.Labels().column("score_x") == "Score — X"


def test_rank_text_french_ordinals():
    assert rank_text(12, 8, 19) == "12e (8e–19e)"
    assert rank_text(1, 1, 3) == "1er (1er–3e)"
    assert rank_text(4, np.nan, 9) == "4e"
    assert rank_text(np.nan) == "—"


def test_method_paragraphs_follow_the_configs(labels_of_the_study):
    from geoattract.scoring import load_scoring_config

    lab = labels_of_the_study
    scfg = load_scoring_config(settings.config_folder / "scoring.toml")
    text = "\n".join(
        outputs.method_paragraphs(scfg, lab, caption=Caption(SCHEMATIC_TEXT), buffer_km=30)
    )
    assert text.startswith(SCHEMATIC_TEXT)
    assert "min-max sur 0–100" in text and "moyenne arithmétique pondérée" in text
    assert "au moins 50 %" in text  # min_weight_share = 0.5
    # general: six equal pillars → 17 % each; saisonniers: housing 2 / 5.5 = 36 %
    assert "Population générale (Services et commerces du quotidien, éducation 17 %" in text
    assert "Logement 36 %" in text
    assert "10/20/30 min pour" in text and "15/30/45 min pour" in text
    assert "APL de la DREES" in text and "≤ 20 min : 0,68" in text
    assert "zone tampon de 30 km comptent pour" in text
    # BPE-based categories (covers_buffer false): the offer outside the département is
    # unknown; GPs of the buffer come from the national BPE 2017 table: known
    end = text.index(", les sources ne couvrent que le département")
    local = text[text.rindex("Pour ", 0, end) : end]
    assert "Pharmacie" in local and "Bibliothèque" in local
    assert "Médecin généraliste" not in local
    assert "Cinéma" not in local and "Maternité" not in local
    assert "inconnue (et non nulle)" in text
    assert "500 tirages Monte Carlo" in text and "concentration 20" in text


# ------------------------------------------------------------------------------ classification


def test_quantiles_of_one_to_ten_are_pairs():
    br = classes.classify(np.arange(1, 11, dtype=float), "quantiles", 5)
    np.testing.assert_allclose(br.bins, [2.8, 4.6, 6.4, 8.2, 10.0])
    assert br.classes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert br.title == "Quantiles (5 classes)"
    assert br.labels()[0] == "1,0 – 2,8"
    assert br.labels()[-1] == "8,2 – 10,0"


def test_fisherjenks_finds_the_three_obvious_groups():
    br = classes.classify([1, 2, 3, 10, 11, 12, 50, 51], "fisherjenks", 3)
    assert br.bins.tolist() == [3, 12, 51]
    assert br.classes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert br.title == "Fisher-Jenks (3 classes)"


def test_missing_values_get_no_class_and_grey():
    br = classes.classify([1.0, np.nan, 3.0, 4.0], "equalinterval", 3)
    assert br.classes[1] == -1
    assert br.colour_of()[1] == classes.MISSING_COLOUR
    assert br.title == "Intervalles égaux (3 classes)"


def test_ties_merge_classes_and_every_class_keeps_a_colour():
    br = classes.classify([5.0] * 20 + [1.0, 9.0], "quantiles", 5)
    assert br.k < 5
    assert len(br.colours) == br.k == len(br.labels())
    assert set(br.classes) <= set(range(br.k))


def test_palette_darkens_with_the_score():
    colours = classes.palette_colours(5)
    luminance = [0.2126 * r + 0.7152 * g + 0.0722 * b for r, g, b in map(to_rgb, colours)]
    assert all(a > b for a, b in zip(luminance, luminance[1:], strict=False))
    assert len(set(colours)) == 5


def test_darker_is_better_on_every_map(inputs):
    """One rule: the darkest class is the better end, whichever way the column is better.

    The direction is the scoring configuration's (time_gp_min: lower_is_better); a score is
    better high. Checked on the classes, on an interactive map and on a printed map.
    """
    communes, *_, context = inputs
    labels = context.labels
    assert labels.higher_is_better("time_gp_min") is False
    assert labels.higher_is_better("score_familles") is True
    assert labels.higher_is_better("rank_familles") is False
    assert labels.higher_is_better("population") is None
    palette = classes.palette_colours(5)
    darkest, palest = palette[-1], palette[0]
    times = np.arange(1.0, 11.0)  # 1 min is the best
    br = classes.classify(times, higher_is_better=labels.higher_is_better("time_gp_min"))
    assert br.colour_of()[0] == darkest and br.colour_of()[-1] == palest
    assert br.reading == "Plus foncé = plus favorable (valeurs faibles)"
    scores = classes.classify(times, higher_is_better=True)
    assert scores.colour_of()[-1] == darkest and scores.colour_of()[0] == palest
    assert scores.reading == "Plus foncé = plus favorable (valeurs élevées)"
    unknown = classes.classify(times, higher_is_better=None)
    assert unknown.colour_of()[-1] == darkest and "favorable" not in unknown.reading
    # the maps: the commune with the shortest time is darkest, as the best score is
    data = communes.assign(time_gp_min=np.linspace(40.0, 2.0, len(communes)))
    fastest, best = len(communes) - 1, int(np.argmax(communes["score_familles"].to_numpy()))
    for column, top in (("time_gp_min", fastest), ("score_familles", best)):
        m = plot.choropleth_map(data, column, context)
        feats = _geojson_layers(m)[0].data["features"]
        assert len(feats) == len(communes)
        assert feats[top]["properties"]["fill"] == darkest, column
        html = m.get_root().render()
        assert "Plus foncé = plus favorable" in decode_js(html)
        fig = static.static_map(data, column, context)
        fills = fig.axes[0].collections[0].get_facecolors()
        np.testing.assert_allclose(fills[top][:3], to_rgb(darkest), atol=1e-6)


def test_classify_rejects_bad_scheme_and_empty_values():
    with pytest.raises(ConfigError, match="'rainbow'"):
        classes.classify([1, 2, 3], "rainbow")
    with pytest.raises(ConfigError, match="at least 2"):
        classes.classify([1, 2, 3], "quantiles", 1)
    with pytest.raises(DataError, match="every value is missing"):
        classes.classify([np.nan, np.nan])


# --------------------------------------------------------------------------------- folium maps


def test_main_towns_are_the_four_largest(inputs):
    assert geometry.main_town_codes(inputs[0]) == ["47001", "47323", "47157", "47310"]


def test_choropleth_tooltip_is_compact_and_popup_holds_the_afom(inputs):
    communes, iso, fac, base, context = inputs
    m = plot.choropleth_map(
        communes, "score_familles", context, isochrones=iso, facilities=fac, basemap=base
    )
    layer = next(g for g in _geojson_layers(m) if len(g.data["features"]) == 319)
    features = layer.data["features"]
    agen = communes.index[communes["code"] == "47001"][0]
    props = next(f["properties"] for f in features if f["properties"]["code"] == "47001")
    r = int(communes.loc[agen, "rank_familles"])
    lo, hi = max(1, r - 5), min(319, r + 7)  # the synthetic interval of conftest_d/maps.py
    score = f"{communes.loc[agen, 'score_familles']:.1f}".replace(".", ",")

    def ordinal(n):
        return "1er" if n == 1 else f"{n}e"

    # three short lines: commune and population, value with its unit, rank and interval
    assert props["t_tip"] == (
        "<b>Agen</b> · 32\u202f801 hab.<br>"
        f"Score : <b>{score} / 100</b><br>"
        f"Rang : {ordinal(r)} sur 319 (5–95 % : {ordinal(lo)}–{ordinal(hi)})"
    )
    assert props["t_popup"].startswith("<b>Agen</b><br><b>Atouts</b> : Bonne accessibilité")
    tooltip = next(c for c in layer._children.values() if isinstance(c, folium.GeoJsonTooltip))
    assert tooltip.fields == ["t_tip"] and not tooltip.labels
    assert tooltip.class_name == controls.POPUP_HINT_CLASS  # « Clic : atouts et faiblesses »
    popup = next(c for c in layer._children.values() if isinstance(c, folium.GeoJsonPopup))
    assert popup.fields == ["t_popup"]
    # a travel time: its unit, no « / 100 »
    times = communes.assign(time_gp_min=np.linspace(1.0, 40.0, len(communes)))
    m = plot.choropleth_map(times, "time_gp_min", context)
    tips = [f["properties"]["t_tip"] for f in _geojson_layers(m)[0].data["features"]]
    assert tips[0].split("<br>")[1] == "Valeur : <b>1,0 min</b>"


def test_choropleth_colours_follow_the_classes(inputs):
    communes = inputs[0]
    m = plot.choropleth_map(communes, "pillar_health")
    feats = _geojson_layers(m)[0].data["features"]
    br = classes.classify(communes["pillar_health"])
    top = int(np.argmax(communes["pillar_health"].to_numpy()))
    assert feats[top]["properties"]["fill"] == br.colours[-1]
    # quantiles on 319 distinct values: about 64 communes per class
    counts = pd.Series([f["properties"]["fill"] for f in feats]).value_counts()
    assert counts.min() >= 63 and counts.max() <= 65


def test_coordinates_rounded_and_polygons_simplified(inputs):
    communes = inputs[0]
    web = geometry.to_web(communes, geometry.SIMPLIFY_TOLERANCE_M, coverage=True)
    assert web.crs.to_epsg() == 4326
    coords = np.concatenate(
        [
            np.asarray(g.exterior.coords)
            for geom in web.geometry
            for g in getattr(geom, "geoms", [geom])
        ]
    )
    np.testing.assert_array_equal(coords, np.round(coords, geometry.COORD_DECIMALS))
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
        assert SCHEMATIC_TEXT in html
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp file left


def test_maps_are_self_contained_by_default(written_maps):
    """No script, stylesheet, image or tile from any host: Leaflet is inlined."""
    _, files = written_maps
    for path in files.values():
        html = path.read_text(encoding="utf-8")
        assert assets.external_resources(html) == [], path.name
        assert not re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(?:https?:)?//', html)
        assert "Leaflet 1.9.3" in html  # the packaged copy, inlined
        assert "L.MarkerClusterGroup" in html
        assert "tile.openstreetmap" not in html


def test_map_html_has_french_layers_legend_and_no_unused_assets(written_maps):
    _, files = written_maps
    html = decode_js(files["score_jeunes"].read_text(encoding="utf-8"))
    for name in [
        "Score — Jeunes (15-29 ans)",
        "Isochrones 10 min",
        "Isochrones 20 min",
        "Isochrones 30 min",
        # facilities counted in their unit (capacities 1 + i % 4, hand-summed per category)
        "Médecin généraliste (35 équipements)",
        "École maternelle ou élémentaire (32 équipements)",
        "Pharmacie (33 équipements)",
        "Limite départementale",
        "Communes voisines (zone tampon)",
        "Villes principales",
        "Quantiles (5 classes)",
        "Palette YlGnBu (ColorBrewer)",
    ]:
        assert name in html, name
    assert "jquery" not in html and "bootstrap" not in html
    # one scale bar, metric only (Leaflet's default adds miles)
    assert html.count("L.control.scale(") == 1
    assert "L.control.scale({imperial: false" in html
    # the eight most populous towns are named on the basemap
    for town in ("Agen", "Villeneuve-sur-Lot", "Marmande"):
        assert f'class=\\"ga-town\\">{town}<' in html  # JSON inside the page


def test_facility_counts_use_the_unit_of_the_category():
    caps = pd.Series([32.0, 2.0, np.nan])  # BPE rows group several GPs; NaN = one facility
    assert layers.facility_total(caps, "count") == (35.0, 0)
    assert layers.facility_layer_name(
        "Médecin généraliste", 3, 35.0, "équipements", 0, counted=True
    ) == ("Médecin généraliste (35 équipements)")
    seats = pd.Series([1200.0, 350.0, np.nan])
    assert layers.facility_total(seats, "seats") == (1550.0, 1)
    assert (
        layers.facility_layer_name("Cinéma", 3, 1550.0, "fauteuils", 1, counted=False)
        == "Cinéma (3 sites, 1\u202f550 fauteuils, 1 de capacité inconnue)"
    )


def test_hostile_names_are_escaped_in_maps(written_maps):
    _, files = written_maps
    for path in (files["score_general"], files["isochrones"]):
        raw = path.read_text(encoding="utf-8")
        for text in (raw, decode_js(raw)):
            assert EVIL_SCRIPT not in text
            assert EVIL_IMG not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in decode_js(raw)
        assert "&lt;img src=x onerror=alert(1)&gt;" in decode_js(raw)


def test_caption_is_the_context_sentence(tiny_state):
    communes = tiny_state.communes_layer()
    real = outputs.ReportContext.build(
        "X", caption=Caption("Réseau routier : OpenStreetMap (2026-05-01).", schematic=False)
    )
    html = decode_js(plot.render_map_html(plot.choropleth_map(communes, "score_general", real)))
    assert SCHEMATIC_TEXT not in html
    assert "Réseau routier : OpenStreetMap (2026-05-01)." in html
    assert "ga-schematic" not in html.split("</style>")[-1]
    html = decode_js(plot.render_map_html(plot.choropleth_map(communes, "score_general")))
    assert "ga-caption" not in html.split("</style>")[-1]  # no caption object, no caption


def test_main_roads_from_a_classified_graph():
    import networkx as nx

    G = nx.MultiDiGraph(crs="EPSG:2154")
    for n, (x, y) in enumerate([(0, 0), (1000, 0), (2000, 0), (2000, 1000)]):
        G.add_node(n, x=x, y=y)
    G.add_edge(0, 1, highway="motorway")
    G.add_edge(1, 0, highway="motorway")  # the other direction: drawn once
    G.add_edge(1, 2, highway="trunk")
    G.add_edge(2, 3, highway="secondary")  # not a main road
    roads = basemap.roads_from_graph(G)
    assert roads["highway"].tolist() == ["motorway", "trunk"]
    assert roads.length.tolist() == [1000.0, 1000.0]
    assert basemap.main_roads(roads[roads["highway"] == "secondary"]) is None
    G.graph["schematic"] = True  # links between town halls, whatever their class
    assert basemap.roads_from_graph(G).empty


def test_missing_column_is_named(tiny_state):
    communes = tiny_state.communes_layer()
    with pytest.raises(DataError, match="score_absent"):
        plot.choropleth_map(communes, "score_absent")
    with pytest.raises(DataError, match="no score_<profile> or pillar_<pillar>"):
        plot.make_maps(communes[["code", "nom", "geometry"]], None, "/nonexistent")


# ------------------------------------------------------------------------------ offline assets


def _fake_assets(folder):
    folder.mkdir(parents=True, exist_ok=True)
    for name in assets.WEB_ASSET_PACKAGES:
        body = (
            f"/* {name} */ .x{{background:url(images/layers.png)}}"
            if name.endswith(".css")
            else f"/* {name} */ var a = '</script>';"
        )
        (folder / name).write_text(body)
    (folder / "images").mkdir(exist_ok=True)
    (folder / "images" / "layers.png").write_bytes(b"\x89PNG\r\n\x1a\nfake")
    return folder


def test_inline_web_assets_removes_every_cdn_reference(tiny_state, tmp_path):
    communes = tiny_state.communes_layer()
    m = plot.choropleth_map(communes, "score_general", facilities=tiny_state.offer.facilities)
    cdn = plot.render_map_html(m, offline=False)
    assert len(assets.external_resources(cdn)) == 5  # leaflet js/css, markercluster js + 2 css
    html = plot.render_map_html(m, asset_dirs=_fake_assets(tmp_path / "assets"))
    assert not re.findall(r'(?:src|href)="https?://', html)
    for name in assets.WEB_ASSET_PACKAGES:
        assert f"/* {name} */" in html
    assert 'url("data:image/png;base64,' in html
    assert "var a = '<\\/script>'" in html  # an inlined script cannot close its own tag


def test_packaged_assets_are_found():
    folders = assets.asset_folders()
    for name in assets.WEB_ASSET_PACKAGES:
        assert any((f / name).is_file() for f in folders), name
    leaflet = next(f / "leaflet.js" for f in folders if (f / "leaflet.js").is_file())
    assert "Leaflet 1.9.3" in leaflet.read_text(encoding="utf-8")[:200]


def test_inline_web_assets_names_the_missing_file(tiny_state, tmp_path):
    m = plot.choropleth_map(tiny_state.communes_layer(), "score_general")
    with pytest.raises(DataNotFoundError, match="leaflet"):
        plot.render_map_html(m, asset_dirs=tmp_path)
    unknown = '<script src="https://example.org/other.js"></script>'
    with pytest.raises(DataError, match="other.js"):
        assets.inline_web_assets(unknown)


def test_external_resources_lists_loads_not_links():
    html = (
        '<script src="https://a.org/x.js"></script><a href="https://leafletjs.com">L</a>'
        '<link rel="stylesheet" href="//b.org/y.css"/><img src="data:image/png;base64,AA">'
        "<style>.t{background:url(https://c.org/z.png)}</style>"
        'L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {})'
    )
    assert assets.external_resources(html) == [
        "https://a.org/x.js",
        "//b.org/y.css",
        "https://c.org/z.png",
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    ]


# --------------------------------------------------------------------------------- static maps


def test_static_map_has_legend_source_and_caption(inputs):
    communes, *_, base, context = inputs
    fig = static.static_map(communes, "score_familles", context, basemap=base)
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend.get_title().get_text() == (
        "Quantiles (5 classes), score de 0 à 100\nPlus foncé = plus favorable (valeurs élevées)"
    )
    assert len(legend.get_texts()) == 5
    # the notes sit in their own band under the map, wrapped: compare with lines joined
    notes = [t.get_text() for t in fig.texts] + [t.get_text() for a in fig.axes for t in a.texts]
    texts = " ".join(" ".join(notes).split())
    assert "Sources : IGN Admin Express 2025 (Licence Ouverte 2.0)" in texts
    assert SCHEMATIC_TEXT in texts
    assert ax.get_title() == "Score — Familles avec enfants"
    assert "Agen" in texts  # town names of the basemap


def test_make_static_maps_writes_pngs(inputs, tmp_path):
    communes, *_, base, context = inputs
    small = communes[["code", "nom", "geometry", "score_general", "pillar_health"]]
    files = static.make_static_maps(small, context, tmp_path, basemap=base, dpi=40)
    assert set(files) == {"score_general", "pillar_health"}
    for path in files.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        json.dumps(sorted(p.name for p in tmp_path.iterdir()))
        == '["pillar_health.png", "score_general.png"]'
    )


def _pid() -> int:
    import os

    return os.getpid()


def _fail() -> None:
    raise DataError("boom in a worker")


def test_forked_tasks_run_in_workers_in_order_and_raise_their_errors():
    import os

    from geoattract._util.parallel import ForkedTasks, fork_available

    with ForkedTasks([_pid, _pid, lambda: 7], n_workers=2) as running:
        pids = running.results()
    assert pids[2] == 7
    if fork_available():  # two workers, neither of them this process
        assert os.getpid() not in pids[:2]
    with ForkedTasks([_pid], n_workers=1) as running:  # one worker: this process
        assert running.results() == [os.getpid()]
    with pytest.raises(DataError, match="boom in a worker"):
        with ForkedTasks([_pid, _fail], n_workers=2) as running:
            running.results()


def test_figures_drawn_in_workers_are_those_drawn_here(inputs, tmp_path):
    """Queued maps are written by finish(): the same PNG bytes from two workers or from one."""
    communes, *_, base, context = inputs
    small = communes[["code", "nom", "geometry", "score_general", "pillar_health"]]
    written = {}
    for folder, workers in (("a", 2), ("b", 1)):
        with static.FigureRendering(n_workers=workers) as rendering:
            queued = static.make_static_maps(
                small, context, tmp_path / folder, basemap=base, dpi=40, rendering=rendering
            )
            assert not any(path.exists() for path in queued.values())  # not drawn yet
            rendering.start()
            written[folder] = rendering.finish()
        assert written[folder] == queued
    for name in ("score_general", "pillar_health"):
        assert written["a"][name].read_bytes() == written["b"][name].read_bytes(), name


def test_make_report_maps_script(inputs, tmp_path):
    """The report script reads a pipeline GeoPackage (layer + metadata) and writes the PNGs."""
    import importlib.util

    from geoattract._util.io import write_gpkg_atomic

    communes, *_, context = inputs
    sources = [
        {"name": s.name, "vintage": s.vintage, "licence": s.licence} for s in context.sources
    ]
    gpkg = write_gpkg_atomic(
        tmp_path / "communes.gpkg",
        {
            "communes": communes[
                ["code", "nom", "population", "score_jeunes", "pillar_culture", "geometry"]
            ]
        },
        metadata={
            "schematic": True,
            "schematic_note": SCHEMATIC_TEXT + " / Schematic road network.",
            "name": "Lot-et-Garonne",
            "sources": json.dumps(sources),
        },
    )
    spec = importlib.util.spec_from_file_location(
        "make_report_maps",
        Path(__file__).resolve().parent.parent / "scripts" / "make_report_maps.py",
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.read_meta(gpkg) == {
        "schematic": True,
        "schematic_note": SCHEMATIC_TEXT + " / Schematic road network.",
        "name": "Lot-et-Garonne",
        "sources": sources,
    }
    made = script.read_context(gpkg, labels=context.labels)
    assert made.caption_text == SCHEMATIC_TEXT and made.schematic
    assert made.source_line == context.source_line
    assert script.main(["--gpkg", str(gpkg), "--out", str(tmp_path / "png"), "--dpi", "30"]) == 0
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "pillar_culture.png",
        "score_jeunes.png",
    ]
    assert script.main(["--gpkg", str(tmp_path / "absent.gpkg"), "--out", str(tmp_path)]) == 1


def test_map_with_thousands_of_facilities_stays_under_budget(inputs):
    """5,000 facilities (more than all point sources of the study together) fit the budget."""
    communes, iso, _, base, context = inputs
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
    sizes = [
        len(
            plot.render_map_html(
                plot.choropleth_map(
                    communes, "score_general", context, isochrones=iso, facilities=f, basemap=base
                )
            ).encode("utf-8")
        )
        for f in (facilities, None)
    ]
    assert sizes[0] < plot.MAP_SIZE_BUDGET_BYTES
    # markers are compact rows (about 150 bytes each), not one JS block per marker
    assert sizes[0] - sizes[1] < 200 * n


def test_basemap_roads_from_the_real_road_layer(inputs, territory, shared_dir):
    """Main roads of the offline road layer in Lot-et-Garonne: the A62 (about 80 km) and the
    national roads (91 km), as the data README measures them; départementales left out."""
    roads = gpd.read_file(
        shared_dir / "roads" / "france_roads_travelmapping.gpkg",
        layer="roads",
        bbox=tuple(territory.total_bounds),
        columns=["route", "highway"],
    )
    base = basemap.make_basemap(territory, roads)
    assert set(base.roads["highway"]) == {"motorway", "trunk"}
    km = base.roads.clip(base.outline).length.groupby(base.roads["highway"]).sum() / 1000
    assert km["motorway"] == pytest.approx(80.3, abs=0.5)
    assert km["trunk"] == pytest.approx(90.7, abs=0.5)
    m = plot.choropleth_map(inputs[0], "score_general", inputs[4], basemap=base)
    assert "Routes principales" in plot.render_map_html(m, offline=False)
