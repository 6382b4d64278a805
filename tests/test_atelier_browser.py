"""The atelier page of the Lot-et-Garonne study in a real browser, every host unreachable.

Headless Chromium (Debian's, through Playwright) opens ``atelier.html`` from ``file://`` with
no host resolvable and a dead proxy (``conftest_d.browser``). The tests set weights through
the page's own controls — number fields, a slider, the aggregation menu — and compare what
the page computes with the package's scoring under the same weights
(:func:`~geoattract.scoring.composite_scores` with
:func:`~geoattract.scoring.apply_weight_set`): scores to 1e-9 and identical ranks. They then
save the weights as a JSON file through the page's button and load it back.

Screenshots (1400 × 1000, a projector) go to ``$GEOATTRACT_SCREENSHOTS`` when set.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from conftest_d.browser import open_offline

from geoattract.outputs import atelier as atelier_out
from geoattract.outputs import classes
from geoattract.scoring import (
    WeightSet,
    apply_weight_set,
    atelier_model,
    composite_scores,
    format_value_fr,
    read_weight_set,
    score_contributions,
)

pytestmark = pytest.mark.browser

PROFILE = "familles"
#: Pillar weights set through the number fields (health through its slider, culture off).
PILLARS = {
    "services": 2.5,
    "health": 1.25,
    "culture": 0.0,
    "housing": 1.7,
    "transition": 0.9,
    "environment": 1.3,
}
#: Indicator weights set through the number fields (fibre was off, the PVD flag goes off).
INDICATORS = {"time_gp_min": 0.37, "fibre_share_pct": 1.5, "tr_pvd": 0.0}
TOLERANCE = 1e-9
#: Pixels of each rank class the map must fill at 1400 × 1000 (the 319 communes cover about
#: 250,000 pixels: some 50,000 per quintile).
MIN_CLASS_PIXELS = 10_000


def _sparse_weight(page47) -> tuple[str, float, str]:
    """The indicator missing for most communes, with a weight above the rest of its pillar:
    where it is missing its pillar falls under the 50 % minimum share (not computed)."""
    model = atelier_model(page47.indicators, page47.config)
    j = int(np.isnan(model.values).sum(axis=0).argmax())
    name = model.indicators[j]
    pillar = model.pillar_of[j]
    weights = {**model.profiles[PROFILE][1], **INDICATORS}
    rest = sum(
        w
        for c, w in weights.items()
        if c != name and page47.config.indicators[c]["pillar"] == pillar
    )
    return name, round(2 * rest + 1, 2), pillar


def _expected(page47, indicators: dict[str, float], aggregation: str):
    """Python's scores, ranks and pillars under the weights (the package's own scoring)."""
    ws = WeightSet(page47.study, "test", "2026-12-08", PROFILE, PILLARS, indicators, aggregation)
    return composite_scores(page47.indicators, apply_weight_set(page47.config, ws), PROFILE)


def _set_number(page, field: str, value: float) -> None:
    box = page.locator(f"#{field}")
    box.fill(repr(value))
    box.blur()  # a user types then leaves the field: the change event


def _set_weights(page, extra: dict[str, float]) -> None:
    page.select_option("#profile", PROFILE)
    for pillar, w in PILLARS.items():
        if pillar == "health":
            page.locator("#r-pillar-health").fill(str(w))  # the slider
        else:
            _set_number(page, f"w-pillar-{pillar}", w)
    page.locator("#ind-fold > summary").click()  # the indicators are behind a fold
    for name, w in {**INDICATORS, **extra}.items():
        _set_number(page, f"w-indicator-{name}", w)


def _unfold(page, pillar: str) -> None:
    """Open a pillar's list of indicators on the card (the largest one is open already)."""
    details = page.locator(f"#card details[data-pillar='{pillar}']")
    if not details.evaluate("d => d.open"):
        details.locator("summary").click()


def _current(page) -> dict:
    return page.evaluate("() => window.atelier.current()")


def _compare(page47, current: dict, expected, aggregation: str) -> None:
    assert current["codes"] == page47.indicators["code"].astype(str).tolist()
    score = np.array([np.nan if v is None else v for v in current["score"]])
    rank = np.array([np.nan if v is None else v for v in current["rank"]])
    ref_score = expected[f"score_{PROFILE}"].to_numpy(float)
    ref_rank = expected[f"rank_{PROFILE}"].to_numpy(dtype=float, na_value=np.nan)
    assert np.array_equal(np.isnan(score), np.isnan(ref_score))
    err = np.nanmax(np.abs(score - ref_score))
    assert err <= TOLERANCE, (aggregation, err)
    np.testing.assert_array_equal(rank, ref_rank)
    for k, pillar in enumerate(current["pillars"]):
        got = np.array([np.nan if row[k] is None else row[k] for row in current["pillar"]])
        want = expected[f"pillar_{pillar}_{PROFILE}"].to_numpy(float)
        np.testing.assert_allclose(got, want, rtol=0, atol=TOLERANCE)


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=int)


def _count(pixels: np.ndarray, rgb: np.ndarray, tol: int = 6) -> int:
    return int((np.abs(pixels - rgb).max(axis=2) <= tol).sum())


def test_atelier_opens_offline_on_a_projector(chromium, atelier_47, screenshots):
    """Under 3 MB; with every host unreachable it draws the 319 communes in five rank classes,
    the legend and both panels, makes no request and logs no error."""
    from matplotlib.colors import to_rgb

    size = atelier_47.path.stat().st_size
    assert size < atelier_out.ATELIER_SIZE_BUDGET_BYTES, size
    page, log = open_offline(chromium, atelier_47.path)
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("path.leaflet-interactive").count() == 319
    assert page.locator("#ranking-list li").count() == 319
    legend = page.locator(".ga-legend").inner_text()
    assert "Rang (quintiles) et score" in legend and "1er–64e" in legend
    # a projector of 1400 × 1000: the map takes the middle, nothing overflows sideways
    box = page.locator("#map").bounding_box()
    assert box["width"] >= 650 and box["height"] >= 900, box
    lbox = page.locator(".ga-legend").bounding_box()
    assert box["x"] <= lbox["x"] and lbox["x"] + lbox["width"] <= box["x"] + box["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1400
    for sel in ("#profile", "#w-pillar-health", "#save", "#load", "#ranking-title"):
        assert page.locator(sel).is_visible(), sel
    png = page.screenshot(path=str(screenshots / "atelier_47.png"))
    pixels = _pixels(png)
    background = np.array(to_rgb("#fbfbf8"))
    for colour in classes.palette_colours(atelier_out.RANK_CLASSES):
        blended = (0.85 * np.array(to_rgb(colour)) + 0.15 * background) * 255
        assert _count(pixels, blended) >= MIN_CLASS_PIXELS, colour
    assert log.errors == [] and log.dialogs == []
    assert log.outside == []
    page.close()


def test_sliders_give_the_package_scores(chromium, atelier_47, screenshots):
    """Weights set through the controls give Python's scores (1e-9) and the same ranks, with
    the arithmetic and the geometric mean, missing values and the minimum weight share."""
    name, weight, pillar = _sparse_weight(atelier_47)
    indicators = {**atelier_47.config.profile_weights(PROFILE)[0], **INDICATORS, name: weight}
    arithmetic = _expected(atelier_47, indicators, "arithmetic")
    # the weights exercise the minimum share: some communes lose a pillar, none its score
    assert arithmetic[f"pillar_{pillar}_{PROFILE}"].isna().sum() > 0
    page, log = open_offline(chromium, atelier_47.path)
    page.wait_for_selector("body[data-ready='1']")
    _set_weights(page, {name: weight})
    state = page.evaluate("() => window.atelier.weight_file()")
    assert state["pillars"] == PILLARS and state["profile"] == PROFILE
    assert all(state["indicators"][c] == w for c, w in {**INDICATORS, name: weight}.items())
    _compare(atelier_47, _current(page), arithmetic, "arithmetic")
    # the ranking list shows the same order
    listed = page.locator("#ranking-list li").evaluate_all(
        "els => els.map(e => [e.dataset.code, e.dataset.rank])"
    )
    ranks = arithmetic[f"rank_{PROFILE}"]
    by_rank = atelier_47.indicators["code"].astype(str)[ranks.sort_values().index].tolist()
    assert [c for c, _ in listed] == by_rank
    assert [int(r) for _, r in listed] == list(range(1, len(listed) + 1))
    # « pourquoi »: contributions equal Python's, for the first, the last and a sparse commune
    model = atelier_model(atelier_47.indicators, atelier_47.config)
    pw = {p: PILLARS[p] for p in model.profiles[PROFILE][0]}
    iw = {c: indicators[c] for c in model.indicators}
    contrib = score_contributions(model, pw, iw, "arithmetic")
    sparse = int(np.flatnonzero(np.isnan(model.values[:, model.indicators.index(name)]))[0])
    for pos in (int(ranks.to_numpy().argmin()), int(ranks.to_numpy().argmax()), sparse):
        got = page.evaluate("c => window.atelier.contributions(c)", model.codes[pos])
        assert abs(got["reference"] - contrib.reference) <= TOLERANCE
        np.testing.assert_allclose(got["indicator"], contrib.indicator[pos], atol=TOLERANCE)
    # the card of the sparse commune, reached as a user does: search, click
    nom = atelier_47.indicators["nom"].iloc[sparse]
    page.fill("#search", nom)
    page.locator(f"#ranking-list li[data-code='{model.codes[sparse]}'] button").click()
    card = page.locator("#card")
    assert card.get_attribute("data-code") == model.codes[sparse]
    _unfold(page, pillar)
    text = card.inner_text()
    labels = {x["id"]: x["label"] for x in page.evaluate("() => window.atelier.data.indicators")}
    assert f"{labels[name]} : donnée manquante" in text
    assert "Pilier non calculé pour cette commune : moins de 50 %" in text.replace("\u202f", " ")
    gp = atelier_47.indicators["time_gp_min"]
    raw, median = gp.iloc[sparse], float(np.nanmedian(gp))
    _unfold(page, "health")
    assert f"{format_value_fr(raw, 'min')} (médiane {format_value_fr(median, 'min')})" in (
        card.inner_text()
    )
    assert "Intervalle de rang 5–95 %" in text and "Écart à la commune médiane" in text
    page.screenshot(path=str(screenshots / "atelier_47_card.png"))
    # the geometric mean, from the method fold
    page.locator("#method-fold > summary").click()
    page.select_option("#aggregation", "geometric")
    _compare(
        atelier_47, _current(page), _expected(atelier_47, indicators, "geometric"), "geometric"
    )
    assert log.errors == [] and log.outside == []
    page.close()


def test_saved_weights_load_back(chromium, atelier_47, tmp_path):
    """The saved file is a valid weight set for Python (same scores), and loading it back
    restores the state the page had when it was saved."""
    page, log = open_offline(chromium, atelier_47.path)
    page.wait_for_selector("body[data-ready='1']")
    _set_weights(page, {})
    page.fill("#group", "Vivre et habiter")
    before = _current(page)
    state_before = page.evaluate("() => window.atelier.weight_file()")
    with page.expect_download() as download:
        page.click("#save")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("poids-vivre-et-habiter-") and saved.suffix == ".json"
    doc = json.loads(saved.read_text(encoding="utf-8"))
    assert doc == state_before and doc["group"] == "Vivre et habiter"
    assert doc["study"] == "Lot-et-Garonne" and doc["profile"] == PROFILE
    # Python reads it and scores it the same way
    ws = read_weight_set(saved, atelier_47.config, atelier_47.study)
    expected = composite_scores(
        atelier_47.indicators, apply_weight_set(atelier_47.config, ws), PROFILE
    )
    _compare(atelier_47, before, expected, "arithmetic")
    # back to the profile's weights, then load the file
    page.click("#reset")
    page.fill("#group", "")
    assert _current(page)["score"] != before["score"]
    page.set_input_files("#load-file", str(saved))
    page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('chargés')"
    )
    assert _current(page) == before
    assert page.evaluate("() => window.atelier.weight_file()") == state_before
    assert page.input_value("#w-pillar-services") == "2.5"
    assert page.input_value("#group") == "Vivre et habiter"
    # a file of another study is refused and changes nothing
    other = tmp_path / "gironde.json"
    other.write_text(json.dumps({**doc, "study": "Gironde"}), encoding="utf-8")
    page.click("#reset")
    reset = _current(page)
    page.set_input_files("#load-file", str(other))
    page.wait_for_function("() => document.getElementById('message').classList.contains('error')")
    assert "poids d'une autre étude (« Gironde »)" in page.inner_text("#message")
    assert _current(page) == reset
    assert log.errors == [] and log.outside == []
    page.close()


def test_real_run_links_the_atelier(chromium, study_run):
    """`geoattract run` writes atelier.html, first on the index, and it opens offline."""
    index = (study_run / "index.html").read_text(encoding="utf-8")
    assert index.index('href="atelier.html"') < index.index('href="report.html"')
    path = study_run / "atelier.html"
    assert path.stat().st_size < atelier_out.ATELIER_SIZE_BUDGET_BYTES
    page, log = open_offline(chromium, Path(path))
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("path.leaflet-interactive").count() == 319
    assert log.errors == [] and log.outside == []
    page.close()
