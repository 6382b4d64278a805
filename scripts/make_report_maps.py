"""Static PNG maps for a printed report, from an output folder's ``communes.gpkg``.

Uses only the public API of geoattract (``geoattract.outputs``)::

    python scripts/make_report_maps.py --gpkg out/communes.gpkg --out out/print-maps
    python scripts/make_report_maps.py --gpkg out/communes.gpkg --out maps --scheme fisherjenks -k 6

The study metadata (``name``, ``sources`` as JSON, the network caption) is read from the
GeoPackage's ``metadata`` table when there is one, and the labels from the study's
configuration (``--config``, default: the embedded study), so the maps carry the same
labels, source line and network caption as the interactive ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pyogrio

from geoattract import GeoattractError, load_study_config
from geoattract.outputs import (
    Basemap,
    Labels,
    ReportContext,
    make_static_maps,
)
from geoattract.outputs.classes import DEFAULT_K, DEFAULT_SCHEME, SCHEME_LABELS
from geoattract.outputs.static import STATIC_DPI

#: Layer of the commune scores in the pipeline's GeoPackage.
DEFAULT_LAYER = "communes"

#: Metadata keys holding the network sentence, most specific first (the English half of a
#: bilingual note, after " / ", is left out: the maps are in French).
CAPTION_KEYS = ("network_caption", "schematic_note")


def read_meta(gpkg: Path) -> dict:
    """Read the study metadata from the ``metadata`` key/value table, if there is one."""
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    if "metadata" not in layers:
        return {}
    table = pyogrio.read_dataframe(gpkg, layer="metadata")
    meta: dict = {}
    for key, value in zip(table["key"], table["value"], strict=True):
        if key == "schematic":
            meta[key] = str(value).strip().lower() in {"true", "1", "yes", "oui"}
        elif key == "sources":
            try:
                meta[key] = json.loads(value)
            except (TypeError, ValueError):
                meta[key] = value
        else:
            meta[key] = value
    if not isinstance(meta.get("sources", []), list):
        meta.pop("sources")
    return meta


def study_labels(config: Path | None) -> Labels:
    """Read the labels of a study configuration (scoring, catalogue, indicator registry)."""
    from geoattract.facilities.catalogue import load_catalogue
    from geoattract.scoring import load_scoring_config
    from geoattract.transition import load_indicator_registry

    cfg = load_study_config(config)
    return Labels.from_configs(
        load_scoring_config(cfg.config_file("scoring")),
        load_catalogue(cfg.config_file("catalogue"), check_files=False),
        load_indicator_registry(cfg.config_file("indicators")),
    )


def read_context(gpkg: Path, labels: Labels) -> ReportContext:
    """Build the maps' context: name, sources, network caption from the GeoPackage metadata."""
    meta = read_meta(gpkg)
    text = next((str(meta[k]) for k in CAPTION_KEYS if meta.get(k)), "")
    caption = (
        SimpleNamespace(text_fr=text.split(" / ")[0], schematic=bool(meta.get("schematic")))
        if text
        else None
    )
    return ReportContext.build(
        str(meta.get("name", "")),
        labels=labels,
        caption=caption,
        sources=meta.get("sources", []),
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--gpkg", required=True, type=Path, help="communes.gpkg of an output folder"
    )
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNG maps")
    parser.add_argument(
        "--layer",
        default=None,
        help=f"layer with the communes (default: {DEFAULT_LAYER!r} or the first)",
    )
    parser.add_argument("--config", type=Path, default=None, help="study TOML (labels)")
    parser.add_argument("--scheme", default=DEFAULT_SCHEME, choices=sorted(SCHEME_LABELS))
    parser.add_argument("-k", type=int, default=DEFAULT_K, help="number of classes")
    parser.add_argument("--dpi", type=int, default=STATIC_DPI)
    args = parser.parse_args(argv)
    try:
        if not args.gpkg.is_file():
            raise FileNotFoundError(f"GeoPackage not found: {args.gpkg}")
        layers = [name for name, _ in pyogrio.list_layers(args.gpkg)]
        layer = args.layer or (DEFAULT_LAYER if DEFAULT_LAYER in layers else layers[0])
        communes = gpd.read_file(args.gpkg, layer=layer)
        if communes.crs is not None and not communes.crs.is_projected:
            communes = communes.to_crs(2154)
        context = read_context(args.gpkg, study_labels(args.config))
        basemap = Basemap(outline=communes[["geometry"]].dissolve())
        files = make_static_maps(
            communes,
            context,
            args.out,
            basemap=basemap,
            scheme=args.scheme,
            k=args.k,
            dpi=args.dpi,
        )
    except (GeoattractError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
