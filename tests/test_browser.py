"""Real browser check of the generated pages: headless Chromium driven by Playwright.

Requirements (installed by ``.ci/run``):

* ``/usr/bin/chromium`` (Debian package ``chromium``); Playwright's own browsers are not used;
* the Python package ``playwright`` (dev dependency);
* the Leaflet assets that folium loads from CDNs, which are unreachable offline: the
  ``dist/`` folders of the npm packages ``leaflet@1.9.3`` and ``leaflet.markercluster@1.1.0``
  (the versions folium 0.20 pins), taken from ``$GEOATTRACT_WEB_ASSETS`` or from the cache
  folder, where they are fetched once with ``npm pack``.

Locally a missing requirement skips these tests; under CI (``CI`` set) it fails them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest
from test_plot import EVIL_IMG, make_inputs

from geoattract import settings
from geoattract.outputs import maps as plot
from geoattract.outputs import report as report

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
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
#: Seconds allowed for ``npm pack`` of the two asset packages.
NPM_TIMEOUT_S = 180
#: Milliseconds allowed for a page to build its map.
PAGE_TIMEOUT_MS = 30_000

EXPECTED_LAYERS = [
    "Score — Familles",
    "Isochrones 30 min",
    "Isochrones 20 min",
    "Isochrones 10 min",
    "Équipements — Médecins généralistes (14)",
    "Équipements — Pharmacies (13)",
    "Équipements — Écoles (13)",
    "Limite départementale",
]


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"browser test requirement missing under CI: {reason}")
    pytest.skip(reason)


def _npm_packages() -> list[str]:
    """npm package specs matching the CDN URLs of plot.WEB_ASSETS (leaflet@x, markercluster@y)."""
    urls = " ".join(plot.WEB_ASSETS)
    leaflet = re.search(r"/leaflet@([\d.]+)/", urls)[1]
    cluster = re.search(r"leaflet\.markercluster/([\d.]+)/", urls)[1]
    return [f"leaflet@{leaflet}", f"leaflet.markercluster@{cluster}"]


def _assets_complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in plot.WEB_ASSETS.values())


@pytest.fixture(scope="session")
def web_assets() -> Path:
    env = os.environ.get("GEOATTRACT_WEB_ASSETS")
    if env:
        if not _assets_complete(Path(env)):
            _unavailable(f"GEOATTRACT_WEB_ASSETS={env} lacks {sorted(plot.WEB_ASSETS.values())}")
        return Path(env)
    specs = _npm_packages()
    folder = Path(settings.cache_folder) / "web-assets" / "+".join(specs)
    if _assets_complete(folder):
        return folder
    npm = shutil.which("npm")
    if npm is None:
        _unavailable("npm is not installed and no Leaflet assets are cached")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run(
                [npm, "pack", *specs],
                cwd=tmp,
                check=True,
                capture_output=True,
                timeout=NPM_TIMEOUT_S,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            _unavailable(f"npm pack {' '.join(specs)} failed: {exc}")
        staging = Path(tmp) / "dist"
        for tgz in Path(tmp).glob("*.tgz"):
            with tarfile.open(tgz) as tar:
                for member in tar.getmembers():
                    if member.isfile() and member.name.startswith("package/dist/"):
                        member.name = member.name.removeprefix("package/dist/")
                        tar.extract(member, staging, filter="data")
        folder.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(staging, folder)
    assert _assets_complete(folder), sorted(p.name for p in folder.iterdir())
    return folder


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} not found (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory, web_assets):
    """An output folder: offline maps (inlined Leaflet), CDN maps, report and index."""
    communes, iso, fac, outline, meta = make_inputs()
    root = tmp_path_factory.mktemp("site")
    offline = plot.make_maps(
        communes, iso, fac, outline, meta, root / "maps", tiles=None, asset_dir=web_assets
    )
    cdn = {
        "score_familles": plot.make_maps(
            communes[
                [
                    "code",
                    "nom",
                    "population",
                    "geometry",
                    "score_familles",
                    "rank_familles",
                    "rank_familles_p05",
                    "rank_familles_p95",
                ]
            ],
            iso,
            fac,
            outline,
            meta,
            root / "cdn",
            tiles=None,
        )["score_familles"]
    }
    rep = report.write_report(root, communes, meta=meta)
    files = {
        "Rapport": rep,
        **{
            plot.column_label(k) if k != "isochrones" else "Isochrones": v
            for k, v in offline.items()
        },
    }
    index = report.write_index(root, files, meta)
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
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    log = PageLog(page, serve)
    page.goto(path.as_uri())
    return page, log


def _check_map(page, log, n_communes: int, expected_layers: list[str]) -> None:
    page.wait_for_selector(".leaflet-container")
    page.wait_for_load_state("load")
    assert page.locator(".leaflet-container").count() == 1
    labels = [
        t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    ]
    assert labels == expected_layers
    assert page.locator("path.leaflet-interactive").count() >= n_communes
    assert log.errors == [], log.errors


def test_offline_map_renders_without_errors(browser, site):
    page, log = _open(browser, site["offline"]["score_familles"])
    _check_map(page, log, len(site["communes"]), EXPECTED_LAYERS)
    assert log.outside == []  # fully self-contained: no request at all
    assert page.get_by_text(plot.SCHEMATIC_CAPTION).is_visible()
    assert "Quantiles (5 classes)" in page.locator(".ga-legend").inner_text()
    # switching the 10-minute isochrones on draws the 4 discs
    before = page.locator("path.leaflet-interactive").count()
    page.get_by_label("Isochrones 10 min").check()
    assert page.locator("path.leaflet-interactive").count() == before + 4
    # switching every facility layer on starts the clusters: 40 facilities, shown as cluster
    # icons (div.marker-cluster) or single circle markers
    for label in EXPECTED_LAYERS:
        if label.startswith("Équipements"):
            page.get_by_label(label).check()
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


def test_default_cdn_map_works_when_assets_are_served(browser, site, web_assets):
    serve = {url: web_assets / name for url, name in plot.WEB_ASSETS.items()}
    page, log = _open(browser, site["cdn"]["score_familles"], serve)
    _check_map(page, log, len(site["communes"]), EXPECTED_LAYERS)
    assert sorted(log.served) == sorted(plot.WEB_ASSETS)
    assert log.outside == []
    page.close()


def test_index_links_open_working_pages(browser, site):
    page, log = _open(browser, site["index"])
    links = page.locator("a")
    assert links.count() == len(site["files"])
    assert log.errors == []
    page.get_by_role("link", name="Score — Jeunes").click()
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
