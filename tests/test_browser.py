"""Real browser check of the generated pages: headless Chromium driven by Playwright.

Requirements (installed by ``.ci/run``):

* ``/usr/bin/chromium`` (Debian package ``chromium``); Playwright's own browsers are not used;
* the Python package ``playwright`` (dev dependency).

Every page is opened with the network blocked: each request that is not a ``file:`` or
``data:`` URL is aborted and recorded. The maps inline Leaflet (from the XStatic packages)
and draw their own offline basemap, so they must work that way. The real study's map is also
checked by a screenshot: the pixels of each class colour are counted, so a page that builds
its DOM but draws nothing fails.

Screenshots are written to ``$GEOATTRACT_SCREENSHOTS`` when set (to look at them), else to a
temporary folder. Locally a missing requirement skips these tests; under CI (``CI`` set) it
fails them (``conftest_d.browser``, which holds the process's one Playwright).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from conftest_d.browser import CHROMIUM
from conftest_d.maps import EVIL_IMG, PROFILE_LABELS_FR, SCHEMATIC_TEXT

from geoattract.outputs import assets, classes, controls, maps, report

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Milliseconds allowed for a page to build its map.
PAGE_TIMEOUT_MS = 30_000
#: Viewport of every page.
VIEWPORT = {"width": 1280, "height": 800}

#: Layer control of the synthetic map, in drawing order: the facilities in one layer per
#: pillar, each listing its categories (facility counts hand-summed in conftest_d/maps.py:
#: capacities 1 + i % 4).
EXPECTED_LAYERS = [
    "Communes voisines (zone tampon)",
    "Score — Familles avec enfants",
    "Isochrones 30 min",
    "Isochrones 20 min",
    "Isochrones 10 min",
    "Équipements — Santé\nMédecin généraliste (35 équipements)\nPharmacie (33 équipements)",
    "Équipements — Services et commerces du quotidien, éducation\n"
    "École maternelle ou élémentaire (32 équipements)",
    "Limite départementale",
    "Villes principales",
]

#: The facility layers of :data:`EXPECTED_LAYERS`.
FACILITY_LAYERS = EXPECTED_LAYERS[5:7]

#: Largest per-channel difference between a screenshot pixel and an expected colour.
COLOUR_TOLERANCE = 6
#: Pixels of each class colour the real score map must show (the 319 communes fill about
#: 300,000 pixels of the 1280 × 800 window: about 60,000 per quintile).
MIN_CLASS_PIXELS = 10_000
#: Pixels of each pure class colour in the legend (18 × 12 swatches less their border).
MIN_LEGEND_PIXELS = 100


@pytest.fixture(scope="session")
def browser(playwright_session):
    # one Playwright per process (conftest_d.browser): a second sync instance cannot start
    b = playwright_session.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="module")
def site(map_inputs, tmp_path_factory):
    """An output folder: offline maps (the default), CDN maps, report and index."""
    communes, iso, fac, base, context = map_inputs
    root = tmp_path_factory.mktemp("site")
    offline = maps.make_maps(
        communes, context, root / "maps", isochrones=iso, facilities=fac, basemap=base
    )
    cdn = maps.make_maps(
        communes,
        context,
        root / "cdn",
        isochrones=iso,
        facilities=fac,
        basemap=base,
        columns=["score_familles"],
        offline=False,
    )
    rep = report.write_report(root, communes, context)
    files = {
        "Rapport": rep,
        **{
            context.labels.column(k) if k != "isochrones" else "Isochrones": v
            for k, v in offline.items()
        },
    }
    index = report.write_index(root, files, context)
    return {
        "root": root,
        "offline": offline,
        "cdn": cdn,
        "index": index,
        "files": files,
        "communes": communes,
    }


class PageLog:
    """Console errors, uncaught exceptions, dialogs and outside requests of one page."""

    def __init__(self, page, serve: dict[str, Path] | None = None):
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.served: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))
        page.on("dialog", self._dialog)
        serve = serve or {}

        def route(r):
            url = r.request.url
            if url.startswith(("file:", "data:")):
                r.continue_()
            elif url in serve:
                self.served.append(url)
                r.fulfill(path=str(serve[url]))
            else:  # nothing leaves the machine
                self.outside.append(url)
                r.abort()

        page.route("**/*", route)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()


def _open(browser, path: Path, serve=None):
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    log = PageLog(page, serve)
    page.goto(path.as_uri())
    return page, log


def _unfold_layers(page) -> None:
    """Unfold the layer list as a user does, the pointer over its icon (it stays there)."""
    box = page.locator(".leaflet-control-layers").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(100)  # Leaflet ignores clicks in the list until the next tick
    assert page.locator(".leaflet-control-layers-expanded").count() == 1


def _layer_labels(page) -> list[str]:
    """The layer list as shown once unfolded (folded when the map opens: folded again after)."""
    _unfold_layers(page)
    texts = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    page.mouse.move(VIEWPORT["width"] / 2, VIEWPORT["height"] / 2)
    return [t.strip() for t in texts]


def _check_map(page, log, n_communes: int, expected_layers: list[str] | None) -> None:
    page.wait_for_selector(".leaflet-container")
    page.wait_for_load_state("load")
    assert page.locator(".leaflet-container").count() == 1
    # the layer list is folded: the map first
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    if expected_layers is not None:
        assert _layer_labels(page) == expected_layers
    assert page.locator("path.leaflet-interactive").count() >= n_communes
    assert log.errors == [], log.errors


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as im:
        return np.asarray(im.convert("RGB"), dtype=int)


def _count(pixels: np.ndarray, colour: str | tuple[float, float, float]) -> int:
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(colour) if isinstance(colour, str) else colour) * 255
    return int((np.abs(pixels - rgb).max(axis=2) <= COLOUR_TOLERANCE).sum())


def _blend(colour: str, under: str, opacity: float) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    top, bottom = np.array(to_rgb(colour)), np.array(to_rgb(under))
    return tuple(opacity * top + (1 - opacity) * bottom)


def test_offline_map_renders_without_errors(browser, site, screenshots):
    page, log = _open(browser, site["offline"]["score_familles"])
    _check_map(page, log, len(site["communes"]), EXPECTED_LAYERS)
    assert log.outside == []  # fully self-contained: no request at all
    assert page.get_by_text(SCHEMATIC_TEXT).is_visible()
    assert "Quantiles (5 classes)" in page.locator(".ga-legend").inner_text()
    assert page.locator(".ga-town", has_text="Agen").is_visible()
    page.screenshot(path=str(screenshots / "synthetic_score_familles.png"))
    # switching the 10-minute isochrones on draws the 4 discs
    before = page.locator("path.leaflet-interactive").count()
    _unfold_layers(page)
    page.get_by_label("Isochrones 10 min").check()
    assert page.locator("path.leaflet-interactive").count() == before + 4
    # switching every facility layer on starts the clusters: 40 facilities, shown as cluster
    # icons (div.marker-cluster) or single circle markers
    for label in FACILITY_LAYERS:
        pillar = label.split("\n")[0]
        page.locator(".leaflet-control-layers-overlays label", has_text=pillar).locator(
            "input"
        ).check()
    page.wait_for_timeout(500)
    clusters = page.evaluate("""() => Array.from(document.querySelectorAll('.marker-cluster span'))
        .reduce((n, el) => n + parseInt(el.textContent, 10), 0)""")
    singles = page.locator("path.leaflet-interactive").count() - before - 4
    assert clusters + singles == 40
    assert clusters > 0
    assert log.errors == [], log.errors
    page.close()


def test_hostile_name_in_tooltip_is_inert(browser, site):
    communes = site["communes"]
    code = communes.loc[communes["nom"] == EVIL_IMG, "code"].iloc[0]
    page, log = _open(browser, site["offline"]["score_general"])
    page.wait_for_selector(".leaflet-container")
    tip = page.evaluate(
        """(code) => {
        const map = Object.keys(window).filter(k => k.startsWith('map_'))
            .map(k => window[k]).find(v => v instanceof L.Map);
        let target = null;
        map.eachLayer(l => { if (l.feature && l.feature.properties.code === code) target = l; });
        target.fire('mouseover', {latlng: target.getBounds().getCenter()}, true);
        const el = document.querySelector('.leaflet-tooltip');
        return {text: el.textContent, imgs: el.querySelectorAll('img').length};
    }""",
        code,
    )
    page.wait_for_timeout(300)  # an injected <img onerror> would fire by now
    assert EVIL_IMG in tip["text"]  # shown as text…
    assert tip["imgs"] == 0  # …not parsed as an element
    assert log.dialogs == [] and log.errors == []
    page.close()


def test_cdn_map_works_when_assets_are_served(browser, site):
    """``offline=False`` keeps folium's CDN tags; served from the packaged files, it works."""
    html = site["cdn"]["score_familles"].read_text(encoding="utf-8")
    urls = assets.external_resources(html)
    folders = assets.asset_folders()
    files = {f.name: f for folder in folders for f in folder.iterdir()}
    serve = {url: files[url.rsplit("/", 1)[-1]] for url in urls}
    # the images Leaflet's stylesheet names (the icon of the folded layer list), beside it
    images = {f.name: f for folder in folders for f in folder.glob("images/*.png")}
    base = next(u for u in urls if u.endswith("/leaflet.css")).rsplit("/", 1)[0]
    serve |= {f"{base}/images/{name}": path for name, path in images.items()}
    page, log = _open(browser, site["cdn"]["score_familles"], serve)
    _check_map(page, log, len(site["communes"]), EXPECTED_LAYERS)
    assert set(urls) <= set(log.served) and len(urls) == 5
    assert f"{base}/images/layers.png" in log.served
    assert log.outside == []
    page.close()


def test_index_links_open_working_pages(browser, site):
    page, log = _open(browser, site["index"])
    links = page.locator("a")
    assert links.count() == len(site["files"])
    assert log.errors == []
    page.get_by_role("link", name="Score — Jeunes (15-29 ans)").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/maps/score_jeunes.html")
    page.wait_for_selector(".leaflet-container")
    assert page.locator("path.leaflet-interactive").count() >= len(site["communes"])
    page.go_back()
    page.get_by_role("link", name="Rapport").click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text().startswith("Attractivité des communes")
    assert log.errors == [] and log.outside == []
    page.close()


# ------------------------------------------------------------------- the real study outputs


@pytest.mark.slow
def test_real_outputs_make_no_request_to_any_host(study_run):
    """No script, stylesheet, image or tile URL of any host in any HTML output of the run."""
    pages = sorted(study_run.glob("*.html"))
    assert len(pages) >= 15
    for path in pages:
        assert assets.external_resources(path.read_text(encoding="utf-8")) == [], path.name


@pytest.mark.slow
def test_real_score_map_draws_offline(browser, study_run, screenshots):
    """score_general.html of the real run, network blocked: 319 communes and the legend drawn.

    Checked on a screenshot: every class colour of the legend covers thousands of pixels
    (the choropleth, drawn at 80 % over the pale background) and its pure colour shows in the
    legend swatches.
    """
    page, log = _open(browser, study_run / "index.html")
    assert log.errors == []
    page.get_by_role("link", name="Carte — Score — Population générale").click()
    page.wait_for_selector(".leaflet-container")
    page.wait_for_load_state("load")
    assert page.url.endswith("/score_general.html")
    page.wait_for_timeout(500)
    labels = _layer_labels(page)
    assert labels[:2] == ["Communes voisines (zone tampon)", "Score — Population générale"]
    assert "Limite départementale" in labels
    # the layer counts the GPs on the map: 206 in 47 (BPE 2024) and 452.6 in the buffer
    # (BPE 2017 × 206/259), 659 once rounded
    health = next(lab for lab in labels if lab.startswith("Équipements — Santé\n"))
    assert "\nMédecin généraliste (659 équipements)" in health
    assert page.locator("path.leaflet-interactive").count() >= 319
    assert page.get_by_text("Réseau routier", exact=False).first.is_visible()
    legend = page.locator(".ga-legend").inner_text()
    assert "Quantiles (5 classes)" in legend and "Score — Population générale" in legend
    png = page.screenshot(path=str(screenshots / "real_score_general.png"))
    pixels = _pixels(png)
    swatches = page.evaluate(
        "() => Array.from(document.querySelectorAll('.ga-legend i')).map(i => i.style.background)"
    )
    colours = classes.palette_colours(5)
    assert len(swatches) == 5
    for colour in colours:
        filled = _count(pixels, _blend(colour, controls.BACKGROUND_COLOUR, maps.CHOROPLETH_OPACITY))
        assert filled >= MIN_CLASS_PIXELS, (colour, filled)
        assert _count(pixels, colour) >= MIN_LEGEND_PIXELS, colour
    assert log.errors == [], log.errors
    assert log.outside == []
    page.close()


@pytest.mark.slow
def test_real_report_epci_section_fits_the_page(browser, study_run, screenshots):
    page, log = _open(browser, study_run / "report.html")
    section = page.locator("#epci")
    section.scroll_into_view_if_needed()
    table = page.locator("h2#epci + p + table")
    box = table.bounding_box()
    assert box is not None and box["width"] <= 1000, box
    headers = [h.strip() for h in table.locator("th").all_inner_texts()]
    assert headers[:3] == ["EPCI", "Communes", "Population"]
    assert headers[3:] == PROFILE_LABELS_FR
    assert table.locator("tbody tr").count() == 12  # the EPCI of Lot-et-Garonne
    assert page.get_by_text("Tableau complet par EPCI", exact=False).is_visible()
    top = box["y"] + page.evaluate("() => window.scrollY") - 120
    page.screenshot(
        path=str(screenshots / "real_report_epci.png"),
        full_page=True,
        clip={"x": 0, "y": top, "width": VIEWPORT["width"], "height": box["height"] + 220},
    )
    assert log.errors == [] and log.outside == []
    page.close()
