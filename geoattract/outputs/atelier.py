"""The atelier page: one self-contained HTML file where workshop groups set the weights.

``atelier.html`` holds the map of the study communes (geometry once, simplified, coordinates
quantised and delta-encoded), a profile selector, one slider per pillar and, behind a fold,
one per indicator; scores and ranks are recomputed in the browser from the normalised
indicators (:func:`~geoattract.scoring.atelier.atelier_model`) by a port of the package's
aggregation (``web/atelier.js``); a ranking list; a « pourquoi » card per commune (each
pillar's and indicator's contribution to its gap from the median commune, raw values with
their unit, AFOM sentences, rank interval); and buttons to save the weights as a JSON file
(:mod:`~geoattract.scoring.weights`) and load one back.

The page is self-contained: Leaflet is inlined (:func:`~geoattract.outputs.assets.inline_asset`),
the basemap is drawn from the data (:mod:`~geoattract.outputs.basemap`), and no request goes
to any host. Every text from data reaches the page inside a JSON block (``<`` escaped, so no markup can
end it) and is inserted with ``textContent``.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.accessibility import unknown_offer, unknown_offer_text
from geoattract.errors import DataError, format_values
from geoattract.outputs.assets import external_resources, inline_asset
from geoattract.outputs.basemap import (
    MAIN_ROAD_CLASSES,
    NEIGHBOUR_DECIMALS,
    NEIGHBOUR_TOLERANCE_M,
    ROAD_STYLES,
    ROAD_TOLERANCE_M,
    Basemap,
)
from geoattract.outputs.classes import MISSING_COLOUR, palette_colours
from geoattract.outputs.context import ReportContext
from geoattract.outputs.geometry import COORD_DECIMALS, SIMPLIFY_TOLERANCE_M, to_web
from geoattract.outputs.html import esc
from geoattract.outputs.labels import Labels
from geoattract.scoring import ScoringConfig, afom_sentences, format_value_fr
from geoattract.scoring.atelier import AtelierModel, atelier_model
from geoattract.scoring.model import EPS, GEOMETRIC_FLOOR, RANK_DECIMALS
from geoattract.scoring.normalise import SCORE_MAX
from geoattract.scoring.weights import WEIGHTS_FORMAT, WEIGHTS_VERSION

logger = logging.getLogger(__name__)

#: File name of the atelier page in a run's output folder.
ATELIER_FILE: str = "atelier.html"

#: Size budget of the page, bytes (a USB stick, a projector's laptop: checked by the tests).
ATELIER_SIZE_BUDGET_BYTES: int = 3_000_000

#: AFOM sentences shown per kind (atouts, faiblesses, opportunités, menaces) on a card.
AFOM_ITEMS_PER_KIND: int = 3

#: Number of rank classes of the map (quintiles of the rank).
RANK_CLASSES: int = 5

#: French names of the normalisation methods, for the method note.
NORMALISATION_FR: dict[str, str] = {
    "minmax": "min-max",
    "zscore": "score z",
    "rank": "rang centile",
    "distance_to_reference": "distance à une référence",
}


def _web_asset(name: str) -> str:
    return resources.files("geoattract.outputs").joinpath("web", name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ geometry


def packed_coordinates(coords: Any, decimals: int = COORD_DECIMALS) -> list[int]:
    """Quantise longitude/latitude pairs and delta-encode them: ``[x0, y0, dx1, dy1, …]``.

    Parameters
    ----------
    coords : array-like
        (m, 2) longitude, latitude.
    decimals : int
        Decimals kept (``x = round(lon · 10^decimals)``).

    Returns
    -------
    list of int
        The first point, then the differences between consecutive points.
    """
    q = np.round(np.asarray(coords, dtype=float)[:, :2] * 10**decimals).astype(np.int64)
    if not len(q):
        return []
    d = np.vstack([q[:1], np.diff(q, axis=0)])
    return [int(v) for v in d.ravel()]


def packed_polygons(geom: Any, decimals: int = COORD_DECIMALS) -> list[list[list[int]]]:
    """A (multi)polygon as a list of polygons, each a list of packed rings (exterior first)."""
    if geom is None or geom.is_empty:
        return []
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    out = []
    for poly in parts:
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        rings = [poly.exterior, *poly.interiors]
        out.append([packed_coordinates(r.coords, decimals) for r in rings])
    return out


def packed_lines(geom: Any, decimals: int = COORD_DECIMALS) -> list[list[int]]:
    """A (multi)line as a list of packed lines."""
    if geom is None or geom.is_empty:
        return []
    parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    return [packed_coordinates(p.coords, decimals) for p in parts if p.geom_type == "LineString"]


def _geometry(communes: gpd.GeoDataFrame, basemap: Basemap | None) -> dict[str, Any]:
    web = to_web(communes[[communes.geometry.name]], SIMPLIFY_TOLERANCE_M, coverage=True)
    scale = 10**COORD_DECIMALS
    out: dict[str, Any] = {
        "scale": scale,
        "bounds": [round(float(v), COORD_DECIMALS) for v in web.total_bounds],
        "communes": [packed_polygons(g) for g in web.geometry],
        "neighbours": [],
        "outline": [],
        "roads": [],
        "towns": [],
    }
    if basemap is None:
        return out
    if basemap.neighbours is not None:
        nb = to_web(
            basemap.neighbours, NEIGHBOUR_TOLERANCE_M, coverage=True, decimals=NEIGHBOUR_DECIMALS
        )
        out["neighbours"] = [packed_polygons(g) for g in nb.geometry]
    if basemap.outline is not None:
        ol = to_web(basemap.outline[[basemap.outline.geometry.name]], SIMPLIFY_TOLERANCE_M)
        out["outline"] = [packed_polygons(g) for g in ol.geometry]
    if basemap.roads is not None:
        roads = to_web(basemap.roads, ROAD_TOLERANCE_M)
        for cls in MAIN_ROAD_CLASSES:
            part = roads[roads["highway"].astype(str) == cls]
            if part.empty:
                continue
            colour, width = ROAD_STYLES[cls]
            lines = [line for g in part.geometry for line in packed_lines(g)]
            out["roads"].append({"class": cls, "colour": colour, "width": width, "lines": lines})
    if basemap.towns is not None:
        towns = basemap.towns.to_crs(4326)
        out["towns"] = [
            [str(name), round(p.y, COORD_DECIMALS), round(p.x, COORD_DECIMALS)]
            for name, p in zip(towns["nom"], towns.geometry, strict=True)
        ]
    return out


# ------------------------------------------------------------------------------- payload


def _finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


def _intervals(communes: pd.DataFrame, profiles: Iterable[str]) -> dict[str, list]:
    """Monte Carlo rank interval (5th, 95th percentile) per profile and commune."""
    out: dict[str, list] = {}
    for p in profiles:
        lo, hi = f"rank_{p}_p05", f"rank_{p}_p95"
        if lo not in communes.columns or hi not in communes.columns:
            continue
        out[p] = [
            [_rank_or_none(a), _rank_or_none(b)]
            for a, b in zip(communes[lo], communes[hi], strict=True)
        ]
    return out


def _rank_or_none(v: Any) -> int | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return int(round(f)) if math.isfinite(f) else None


def atelier_payload(
    model: AtelierModel,
    communes: gpd.GeoDataFrame,
    config: ScoringConfig,
    *,
    study: str,
    labels: Labels | None = None,
    afom: Mapping[str, list[str]] | None = None,
    basemap: Basemap | None = None,
    caption: str = "",
    sources: str = "",
    unknown: Any = None,
) -> dict[str, Any]:
    """Everything the page needs, as JSON values.

    Parameters
    ----------
    model : AtelierModel
        Normalised indicators and profiles' weights.
    communes : GeoDataFrame
        Study communes in the model's order (``code``, ``nom``, ``population``, polygons in a
        projected CRS; ``rank_<profile>_p05`` / ``_p95`` when present).
    config : ScoringConfig
        Scoring configuration (labels, units, directions, rationales).
    study : str
        Study name (written into the weight files; a file of another study is refused).
    labels : Labels, optional
        French labels (default from ``config``).
    afom : mapping, optional
        Code → AFOM sentences.
    basemap : Basemap, optional
        Neighbouring communes, main roads, outline and town names.
    caption, sources : str
        Network caption and source line shown on the page.
    unknown : array-like of bool, optional
        (n, J) like ``model.raw``: the raw value rests on an offer across the border the
        sources do not hold (:func:`geoattract.accessibility.unknown_offer`); its text says so.

    Returns
    -------
    dict
    """
    labels = labels if labels is not None else Labels.from_configs(config)
    codes = [str(c) for c in communes["code"]]
    if codes != model.codes:
        raise DataError("atelier: the communes are not in the order of the indicator table")
    afom = afom or {}
    raw_median = model.raw_medians
    indicators = []
    for j, c in enumerate(model.indicators):
        spec = config.indicators[c]
        indicators.append(
            {
                "id": c,
                "label": labels.indicator(c),
                "pillar": spec["pillar"],
                "unit": spec["unit"],
                "direction": spec["direction"],
                "median": format_value_fr(raw_median[j], spec["unit"]),
            }
        )
    flags = (
        np.zeros(model.raw.shape, dtype=bool)
        if unknown is None
        else np.asarray(unknown, dtype=bool).reshape(model.raw.shape)
    )
    raw = [
        [
            None
            if not math.isfinite(v)
            else unknown_offer_text(format_value_fr(v, config.indicators[c]["unit"]), bool(u))
            for v, c, u in zip(row, model.indicators, flag_row, strict=True)
        ]
        for row, flag_row in zip(model.raw, flags, strict=True)
    ]
    population = pd.to_numeric(
        communes.get("population", pd.Series(np.nan, index=communes.index)), errors="coerce"
    )
    return {
        "study": study,
        "weights_format": WEIGHTS_FORMAT,
        "weights_version": WEIGHTS_VERSION,
        "caption": caption,
        "sources": sources,
        "method": {
            "aggregation": model.aggregation,
            "normalisation": config.method["normalisation"],
            "min_weight_share": model.min_weight_share,
            "score_max": SCORE_MAX,
            "geometric_floor": GEOMETRIC_FLOOR,
            "eps": EPS,
            "rank_decimals": RANK_DECIMALS,
        },
        "pillars": [{"id": p, "label": labels.pillar(p)} for p in model.pillars],
        "indicators": indicators,
        "left_out": [{"id": c, "label": labels.indicator(c)} for c in model.left_out],
        "profiles": [
            {
                "id": name,
                "label": labels.profile(name),
                "rationale": " ".join(str(config.profiles[name]["rationale"]).split()),
                "pillars": [[p, w] for p, w in pil.items()],
                "indicators": ind,
            }
            for name, (pil, ind) in model.profiles.items()
        ],
        "communes": {
            "codes": codes,
            "names": [str(v) for v in communes["nom"]],
            "population": [_finite(v) for v in population],
        },
        "values": [[_finite(v) for v in row] for row in model.values],
        "raw": raw,
        "intervals": _intervals(communes, model.profiles),
        "afom": [list(afom.get(c, [])) for c in codes],
        "colours": palette_colours(RANK_CLASSES),
        "missing_colour": MISSING_COLOUR,
        "geometry": _geometry(communes, basemap),
    }


# ---------------------------------------------------------------------------------- page

_BODY = """<header><h1>{title}</h1><span class="caption">{caption}</span></header>
<aside id="controls" aria-label="Poids">
  <label class="top" for="profile">Profil de départ</label>
  <select id="profile"></select>
  <div class="status"><span id="modified"></span></div>
  <details class="rationale"><summary>Pourquoi ces poids ?</summary><p id="rationale"></p></details>
  <label class="top" for="group">Groupe</label>
  <input type="text" id="group" placeholder="ex. Vivre et habiter" autocomplete="off">
  <h3>Poids des piliers</h3>
  <div id="pillar-weights"></div>
  <details id="ind-fold"><summary>Poids des indicateurs (<span id="ind-count"></span>)</summary>
    <div id="indicator-weights"></div></details>
  <details id="method-fold"><summary>Méthode</summary>
    <label class="top" for="aggregation">Agrégation</label>
    <select id="aggregation"><option value="arithmetic">arithmétique (compensatoire)</option>
      <option value="geometric">géométrique (pénalise un point faible)</option></select>
    <p class="status">{method_note}</p></details>
  <div class="buttons">
    <button type="button" id="save" class="primary">Enregistrer les poids</button>
    <button type="button" id="load">Charger des poids…</button>
    <button type="button" id="reset">Poids du profil</button>
    <input type="file" id="load-file" accept=".json,application/json" hidden>
  </div>
  <div id="message" class="msg" role="status" aria-live="polite"></div>
  <p class="sources">{sources}</p>
</aside>
<main id="map" aria-label="Carte des communes"></main>
<aside id="side">
  <section id="ranking"><h2 id="ranking-title">Classement</h2>
    <input type="search" id="search" placeholder="Rechercher une commune" aria-label="Rechercher une commune">
    <ol id="ranking-list"></ol></section>
  <section id="why" hidden><button type="button" id="back">← Classement</button>
    <div id="card"></div></section>
</aside>
"""


def atelier_html(
    payload: Mapping[str, Any],
    asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
) -> str:
    """The complete page for a payload (:func:`atelier_payload`), Leaflet inlined.

    Parameters
    ----------
    payload : mapping
        The page's data.
    asset_dirs : path-like or iterable, optional
        Folders holding Leaflet (default: the installed XStatic package).

    Returns
    -------
    str
    """
    method = payload["method"]
    share = f"{100 * float(method['min_weight_share']):.0f}".replace(".", ",")
    note = (
        "Indicateurs normalisés par la méthode de l'étude ("
        f"{NORMALISATION_FR.get(method['normalisation'], method['normalisation'])}, 0 à 100, "
        "100 = le plus favorable) ; moyenne pondérée des indicateurs dans chaque pilier, puis "
        "des piliers ; une valeur manquante est écartée et les poids restants renormalisés, "
        f"si au moins {share} % du poids reste disponible. Rangs : ex aequo départagés par "
        "code INSEE."
    )
    left_out = payload.get("left_out") or []
    if left_out:
        note += (
            " Indicateurs écartés faute de données : "
            + ", ".join(str(x["label"]) for x in left_out)
            + "."
        )
    title = f"Atelier de pondération — {payload['study']}"
    body = _BODY.format(
        title=esc(title),
        caption=esc(payload.get("caption", "")),
        method_note=esc(note),
        sources=esc(payload.get("sources", "")),
    )
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c")  # no tag, comment or end of script in the data
    return (
        '<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n"
        f"{inline_asset('leaflet.css', asset_dirs)}\n"
        f"<style>\n{_web_asset('atelier.css')}</style>\n</head>\n<body>\n{body}"
        f'<script type="application/json" id="atelier-data">{data}</script>\n'
        f"{inline_asset('leaflet.js', asset_dirs)}\n"
        f"<script>\n{_web_asset('atelier.js')}</script>\n</body>\n</html>\n"
    )


def write_atelier(
    out_dir: str | os.PathLike,
    communes: gpd.GeoDataFrame,
    indicators: pd.DataFrame,
    config: ScoringConfig,
    *,
    study: str,
    context: ReportContext | None = None,
    afom: pd.DataFrame | None = None,
    basemap: Basemap | None = None,
    filename: str = ATELIER_FILE,
    asset_dirs: str | os.PathLike | Iterable[str | os.PathLike] | None = None,
) -> Path:
    """Write ``atelier.html`` for a scored study.

    Parameters
    ----------
    out_dir : path-like
        Output folder.
    communes : GeoDataFrame
        Study communes (``code``, ``nom``, ``population``, polygons in a projected CRS, and
        the Monte Carlo rank intervals ``rank_<profile>_p05`` / ``_p95`` when computed).
    indicators : DataFrame
        The indicator table the scores were computed on (``code`` and the indicators).
    config : ScoringConfig
        Scoring configuration.
    study : str
        Study name.
    context : ReportContext, optional
        Labels, network caption and source line.
    afom : DataFrame, optional
        AFOM table (:func:`~geoattract.scoring.afom_table`); the card shows the
        :data:`AFOM_ITEMS_PER_KIND` most striking sentences of each kind.
    basemap : Basemap, optional
        Offline basemap.
    filename : str
        Name of the page.
    asset_dirs : optional
        Folders holding Leaflet.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        The communes and the indicator table do not hold the same codes.
    """
    ind_codes = indicators["code"].astype(str)
    com = communes.set_index(communes["code"].astype(str), drop=False)
    missing = sorted(set(ind_codes) - set(com.index))
    if missing:
        raise DataError(
            f"atelier: commune(s) of the indicator table without geometry: {format_values(missing)}"
        )
    com = gpd.GeoDataFrame(com.loc[list(ind_codes)], crs=communes.crs)
    model = atelier_model(indicators, config)
    unknown = np.column_stack(
        [np.zeros(len(indicators), dtype=bool)]
        + [unknown_offer(indicators, c).to_numpy(dtype=bool) for c in model.indicators]
    )[:, 1:]
    sentences = (
        afom_sentences(afom, codes=ind_codes, max_per_kind=AFOM_ITEMS_PER_KIND)
        if afom is not None
        else {}
    )
    payload = atelier_payload(
        model,
        com,
        config,
        study=study,
        labels=context.labels if context is not None else None,
        afom=sentences,
        basemap=basemap,
        caption=context.caption_text if context is not None else "",
        sources=context.source_line if context is not None else "",
        unknown=unknown,
    )
    text = atelier_html(payload, asset_dirs)
    size = len(text.encode("utf-8"))
    if size > ATELIER_SIZE_BUDGET_BYTES:
        logger.warning(
            "%s is %.2f MB, above the %.1f MB budget",
            filename,
            size / 1e6,
            ATELIER_SIZE_BUDGET_BYTES / 1e6,
        )
    else:
        logger.debug("%s: %.2f MB", filename, size / 1e6)
    if remote := external_resources(text):
        logger.warning("%s loads remote resources: %s", filename, format_values(remote))
    return write_text_atomic(Path(out_dir) / filename, text)
