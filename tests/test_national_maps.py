"""National maps: French titles from the study's labels, darker is better, no white holes.

Drawn on a fake national table (nine square communes, one without a polygon, one without a
value) with the labels of the shipped France study; no data needed.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from matplotlib.colors import to_rgb

import geoattract as ga
from geoattract.facilities.catalogue import load_catalogue
from geoattract.outputs import Labels, ReportContext, classes, national
from geoattract.scoring import load_scoring_config

FRANCE = Path(ga.__file__).parent / "config" / "studies" / "france"

#: Side of a fake commune, metres (Lambert-93).
SIDE = 10_000.0


class Caption:
    text_fr = "Réseau routier : routes classées de France (essai)."
    schematic = False


@pytest.fixture(scope="module")
def france_context() -> ReportContext:
    cfg = ga.load_study_config(FRANCE / "study.toml")
    labels = Labels.from_configs(
        load_scoring_config(FRANCE / "scoring.toml"),
        load_catalogue(FRANCE / "facilities.toml", check_files=False),
    )
    return ReportContext.build(
        cfg.name, labels=labels, caption=Caption(), sources=cfg.raw.get("sources", [])
    )


@pytest.fixture(scope="module")
def fake_layer() -> gpd.GeoDataFrame:
    """Nine 10-km squares in a 3 × 3 grid; the centre one lost its polygon, one has no value."""
    squares = [
        shapely.box(
            700_000 + i * SIDE,
            6_400_000 + j * SIDE,
            700_000 + (i + 1) * SIDE,
            6_400_000 + (j + 1) * SIDE,
        )
        for j in range(3)
        for i in range(3)
    ]
    n = len(squares)
    rng = np.random.default_rng(0)
    layer = gpd.GeoDataFrame(
        {
            "code": [f"99{i:03d}" for i in range(n)],
            "nom": [f"Commune {i}" for i in range(n)],
            "dep": ["99"] * n,
            "population": np.full(n, 1000.0),
            **{c: rng.uniform(1.0, 60.0, n) for c in national.NATIONAL_MAP_COLUMNS},
        },
        geometry=squares,
        crs=2154,
    )
    layer.loc[4, "geometry"] = None  # the centre: no polygon (merged commune)
    layer.loc[0, "time_gp_min"] = np.nan  # no value
    layer.loc[8, "time_gp_min"] = 1.0  # the shortest time: the best
    return layer


def test_national_titles_are_french_labels_never_column_names(fake_layer, france_context):
    titles = national.national_map_titles(list(national.NATIONAL_MAP_COLUMNS), france_context)
    assert set(titles) == set(national.NATIONAL_MAP_COLUMNS)
    for title in titles.values():
        assert "_" not in title, title
        assert title.startswith("France métropolitaine — "), title
    assert titles["time_gp_min"] == "France métropolitaine — Temps d'accès à un médecin généraliste"
    assert titles["score_general"] == "France métropolitaine — Score — Population générale"
    # a column the configuration does not describe gets no map, not its raw name
    assert "mystery_column" not in national.national_map_titles(["mystery_column"], france_context)


def test_national_maps_written_in_french_with_missing_data_in_grey(
    fake_layer, france_context, tmp_path
):
    files = national.national_static_maps(fake_layer, france_context, tmp_path)
    assert set(files) == {f"static/{c}.png" for c in national.NATIONAL_MAP_COLUMNS}
    for path in files.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    jobs = {
        job.name: job for job in national.national_map_jobs(fake_layer, france_context, tmp_path)
    }
    for column, job in jobs.items():
        fig = job.draw()
        ax = fig.axes[0]
        assert "_" not in ax.get_title(), ax.get_title()
        legend = ax.get_legend()
        texts = [t.get_text() for t in legend.get_texts()]
        notes = " ".join(t.get_text() for a in fig.axes for t in a.texts)
        assert "Réseau routier : routes classées de France (essai)." in notes
        assert "Sources : IGN ADMIN EXPRESS" in notes and "vers 2017" in notes
        assert "about" not in " ".join(notes.split()), notes  # one language
        missing = 2 if column == "time_gp_min" else 1  # the centre (no polygon), one NaN
        assert texts[-1] == f"Donnée manquante ({missing})", texts
    fig = jobs["time_gp_min"].draw()
    ax = fig.axes[0]
    assert ax.get_legend().get_title().get_text() == (
        "Quantiles (5 classes), en min\nPlus foncé = plus favorable (valeurs faibles)"
    )
    # the centre has no polygon: grey (« Donnée manquante »), not a white hole; the commune
    # with the shortest time is the darkest
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3] / 255.0
    height = pixels.shape[0]

    def colour_at(x: float, y: float) -> np.ndarray:
        px, py = ax.transData.transform((x, y))
        return pixels[int(round(height - py)), int(round(px))]

    centre = (700_000 + 1.5 * SIDE, 6_400_000 + 1.5 * SIDE)
    np.testing.assert_allclose(colour_at(*centre), to_rgb(classes.MISSING_COLOUR), atol=0.02)
    best = (700_000 + 2.5 * SIDE, 6_400_000 + 2.5 * SIDE)
    darkest = classes.palette_colours(5)[-1]
    np.testing.assert_allclose(colour_at(*best), to_rgb(darkest), atol=0.02)


def test_missing_areas_are_the_holes_of_the_communes(fake_layer):
    holes = national.missing_areas(fake_layer.geometry)
    assert len(holes) == 1
    hole = holes.iloc[0]
    centre = shapely.box(700_000 + SIDE, 6_400_000 + SIDE, 700_000 + 2 * SIDE, 6_400_000 + 2 * SIDE)
    # the missing square, grown by one cell of the mask (hidden under its neighbours)
    assert hole.contains(centre)
    assert hole.area <= (SIDE + 4 * national.HOLE_CELL_M) ** 2
    # the outside of the communes is not a hole
    whole = fake_layer.assign(geometry=fake_layer.geometry.fillna(centre))
    assert national.missing_areas(whole.geometry).empty
