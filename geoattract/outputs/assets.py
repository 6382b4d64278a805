"""Offline web assets: Leaflet and Leaflet.markercluster inlined into every map page.

folium pages load Leaflet from a CDN. The maps of this package are self-contained instead:
each ``<script src>`` / ``<link href>`` of a known asset is replaced by an inline copy taken
from the PyPI packages ``XStatic-Leaflet`` (Leaflet 1.9.3, the version folium 0.20 loads) and
``XStatic-Leaflet-MarkerCluster`` (Leaflet.markercluster 1.4.1), and the images of their CSS
are embedded as data URIs. A page written this way makes no request to any host.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from urllib.parse import urlparse

from geoattract.errors import DataError, DataNotFoundError, format_values
from geoattract.outputs import html as _html

#: File name of each asset the maps use → Python package (XStatic standard: the files are in
#: the folder ``BASE_DIR`` of the package) that ships it.
WEB_ASSET_PACKAGES: dict[str, str] = {
    "leaflet.js": "xstatic.pkg.leaflet",
    "leaflet.css": "xstatic.pkg.leaflet",
    "leaflet.markercluster.js": "xstatic.pkg.leaflet_markercluster",
    "MarkerCluster.css": "xstatic.pkg.leaflet_markercluster",
    "MarkerCluster.Default.css": "xstatic.pkg.leaflet_markercluster",
}

_SCRIPT_RE = re.compile(r'<script[^>]*\bsrc="(?P<url>[^"]+)"[^>]*>\s*</script>')
_LINK_RE = re.compile(r'<link[^>]*\bhref="(?P<url>[^"]+)"[^>]*/?>')
_CSS_URL_RE = re.compile(r"url\((['\"]?)([^'\")]+)\1\)")
#: Resources a page loads by itself (not links a reader may follow): script and stylesheet
#: sources, images, CSS ``url()`` and Leaflet tile-layer URL templates.
_RESOURCE_RES: tuple[re.Pattern[str], ...] = (
    _SCRIPT_RE,
    re.compile(r'<link[^>]*\brel="stylesheet"[^>]*\bhref="(?P<url>[^"]+)"'),
    re.compile(r'<img[^>]*\bsrc="(?P<url>[^"]+)"'),
    re.compile(r"url\(['\"]?(?P<url>https?://[^'\")]+)"),
    re.compile(r"L\.tileLayer\(\s*(?P<q>['\"])(?P<url>[^'\"]+)(?P=q)"),
)


def asset_folders() -> list[Path]:
    """Folders holding the packaged asset files (``BASE_DIR`` of each XStatic package).

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    DataNotFoundError
        An asset package is not installed.
    """
    folders: list[Path] = []
    for module in dict.fromkeys(WEB_ASSET_PACKAGES.values()):
        try:
            pkg = importlib.import_module(module)
        except ImportError as exc:
            raise DataNotFoundError(
                f"web assets: Python package {module} is not installed "
                "(pip install XStatic-Leaflet XStatic-Leaflet-MarkerCluster)"
            ) from exc
        folders.append(Path(pkg.BASE_DIR))
    return folders


def _find(filename: str, folders: Sequence[Path]) -> Path:
    for folder in folders:
        path = folder / filename
        if path.is_file():
            return path
    raise DataNotFoundError(
        f"web asset {filename} not found in {format_values([str(f) for f in folders])}"
    )


def _embed_css_images(css: str, folder: Path) -> str:
    def repl(match: re.Match) -> str:
        ref = match.group(2)
        path = folder / ref
        if ref.startswith(("data:", "#")) or not path.is_file() or path.suffix.lower() != ".png":
            return match.group(0)
        return f'url("{_html.png_data_uri(path.read_bytes())}")'

    return _CSS_URL_RE.sub(repl, css)


def _is_remote(url: str) -> bool:
    return urlparse(url).scheme in {"http", "https"} or url.startswith("//")


def _folders(asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None) -> list[Path]:
    if asset_dirs is None:
        return asset_folders()
    if isinstance(asset_dirs, (str, os.PathLike)):
        return [Path(asset_dirs)]
    return [Path(p) for p in asset_dirs]


def inline_asset(
    filename: str, asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None = None
) -> str:
    """A packaged asset as an inline ``<script>`` or ``<style>`` element.

    Parameters
    ----------
    filename : str
        A key of :data:`WEB_ASSET_PACKAGES` (``leaflet.js``, ``leaflet.css``…).
    asset_dirs : path-like or iterable of path-like, optional
        Folder(s) searched in order (default: :func:`asset_folders`).

    Returns
    -------
    str
        ``<style>…</style>`` for a stylesheet (its PNG images as data URIs), else
        ``<script>…</script>``.

    Raises
    ------
    DataError
        Not a packaged asset.
    DataNotFoundError
        The file is missing from the folders.
    """
    if filename not in WEB_ASSET_PACKAGES:
        raise DataError(f"{filename} is not a packaged asset ({format_values(WEB_ASSET_PACKAGES)})")
    path = _find(filename, _folders(asset_dirs))
    text = path.read_text(encoding="utf-8")
    if filename.endswith(".css"):
        return "<style>\n" + _embed_css_images(text, path.parent) + "\n</style>"
    return "<script>\n" + text.replace("</script", "<\\/script") + "\n</script>"


def inline_web_assets(
    html: str, asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None = None
) -> str:
    """Replace every remote ``<script src>`` / ``<link href>`` of a map page by an inline copy.

    A remote tag is matched by the file name at the end of its URL (``…/leaflet.js``), so the
    CDN and version folium chooses do not matter. Images referenced by an inlined stylesheet
    (``url(images/layers.png)``) are embedded as data URIs.

    Parameters
    ----------
    html : str
        A rendered map page.
    asset_dirs : path-like or iterable of path-like, optional
        Folder(s) searched in order for the files (default: :func:`asset_folders`).

    Returns
    -------
    str
        The page with no remote script or stylesheet.

    Raises
    ------
    DataNotFoundError
        A needed file is missing from the folders.
    DataError
        The page loads a remote script or stylesheet that is not a known asset.
    """
    folders = _folders(asset_dirs)

    def inline(match: re.Match) -> str:
        url = match["url"]
        if not _is_remote(url):
            return match.group(0)
        filename = url.rstrip("/").rsplit("/", 1)[-1]
        if filename not in WEB_ASSET_PACKAGES:
            raise DataError(
                f"map page loads {url}, which is not a packaged asset "
                f"({format_values(WEB_ASSET_PACKAGES)}); cannot make it work offline"
            )
        return inline_asset(filename, folders)

    # stylesheets first: an inlined script is never scanned again for tags
    html = _LINK_RE.sub(inline, html)
    return _SCRIPT_RE.sub(inline, html)


def external_resources(html: str) -> list[str]:
    """Remote URLs a page would load by itself: scripts, stylesheets, images, tiles.

    Links a reader may follow (``<a href>``) are not resources and are not listed.

    Parameters
    ----------
    html : str
        A page.

    Returns
    -------
    list of str
        The ``http(s)://`` or protocol-relative URLs, in order of appearance, without repeats.
    """
    found: list[str] = []
    for pattern in _RESOURCE_RES:
        found += [m["url"] for m in pattern.finditer(html) if _is_remote(m["url"])]
    return list(dict.fromkeys(found))
