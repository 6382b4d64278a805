"""Static PNG maps for a printed report, from an output folder's ``communes.gpkg``.

Uses only the public API of geoattract (``geoattract.outputs.maps``)::

    python scripts/make_report_maps.py --gpkg out/communes.gpkg --out out/print-maps
    python scripts/make_report_maps.py --gpkg out/communes.gpkg --out maps --scheme fisherjenks -k 6

The study metadata (``schematic``, ``name``, ``sources`` as JSON) is read from the GeoPackage's
``metadata`` table when there is one, so the maps carry the same source line and schematic
caption as the interactive ones.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio

from geoattract import GeoattractError
from geoattract.outputs import maps as plot

#: Layer of the commune scores in the pipeline's GeoPackage.
DEFAULT_LAYER = "communes"


def read_meta(gpkg: Path) -> dict:
    """Study metadata from the ``metadata`` key/value table, if the GeoPackage has one."""
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    if "metadata" not in layers:
        return {}
    table = pyogrio.read_dataframe(gpkg, layer="metadata")
    meta: dict = {}
    for key, value in zip(table["key"], table["value"], strict=True):
        if key == "schematic":
            meta[key] = str(value).strip().lower() in {"true", "1", "yes", "oui"}
        elif key in {"sources", "category_labels"}:
            try:
                meta[key] = json.loads(value)
            except (TypeError, ValueError):
                meta[key] = value
        else:
            meta[key] = value
    if not isinstance(meta.get("sources", []), list):
        meta.pop("sources")
    return meta


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
    parser.add_argument("--scheme", default=plot.DEFAULT_SCHEME, choices=sorted(plot.SCHEME_LABELS))
    parser.add_argument("-k", type=int, default=plot.DEFAULT_K, help="number of classes")
    parser.add_argument("--dpi", type=int, default=plot.STATIC_DPI)
    args = parser.parse_args(argv)
    try:
        if not args.gpkg.is_file():
            raise FileNotFoundError(f"GeoPackage not found: {args.gpkg}")
        layers = [name for name, _ in pyogrio.list_layers(args.gpkg)]
        layer = args.layer or (DEFAULT_LAYER if DEFAULT_LAYER in layers else layers[0])
        communes = gpd.read_file(args.gpkg, layer=layer)
        if communes.crs is not None and not communes.crs.is_projected:
            communes = communes.to_crs(2154)
        meta = read_meta(args.gpkg)
        outline = communes[["geometry"]].dissolve()
        files = plot.make_static_maps(
            communes, meta, args.out, outline=outline, scheme=args.scheme, k=args.k, dpi=args.dpi
        )
    except (GeoattractError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name, path in files.items():
        print(f"{name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
