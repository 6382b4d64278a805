"""Open a run's GeoPackages in QGIS, headless, and check what a user sees.

Not part of the test suite: it needs QGIS's Python bindings, run with the system Python of
Debian's QGIS (not the package's virtual environment)::

    apt-get install -y python3-qgis
    QT_QPA_PLATFORM=offscreen /usr/bin/python3 scripts/check_qgis.py OUT --png-dir DIR

``OUT`` is the output folder of ``geoattract run``. Every layer of ``communes.gpkg``,
``territory.gpkg`` and ``isochrones.gpkg`` is added as a user adds it (QGIS then applies the
default style of the ``layer_styles`` table); the script prints, per layer, its fields and how
many carry a French alias, the renderer, its classes and the labelling rules; then it renders
PNG maps with QGIS's map renderer and prints their times:

* ``communes.png``: the communes at full extent (score classes, main towns named);
* ``communes_zoom.png``: around the most populous commune (every commune named when zoomed
  in beyond 1:150 000);
* ``facilities.png``, ``isochrones.png``: over the territory layer;
* ``communes_layout.png``: a print layout with the legend (the class labels as QGIS shows them).

Exit status 1 when a field has no alias, or the communes layer has no graduated renderer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsLayoutExporter,
    QgsLayoutItemLegend,
    QgsLayoutItemMap,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsMapRendererParallelJob,
    QgsMapSettings,
    QgsPrintLayout,
    QgsProject,
    QgsRectangle,
    QgsUnitTypes,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

#: GeoPackages of a run and their layers.
FILES: dict[str, list[str]] = {
    "communes.gpkg": ["communes", "facilities", "town_halls", "columns", "metadata"],
    "territory.gpkg": ["territory", "town_halls", "metadata"],
    "isochrones.gpkg": ["isochrones", "metadata"],
}

#: Size of the rendered maps, pixels.
PNG_SIZE = QSize(1100, 1000)

#: Half-width of the zoomed map around the most populous commune, metres.
ZOOM_HALF_WIDTH_M = 9_000


def load(path: Path, name: str) -> QgsVectorLayer:
    """Add one layer of a GeoPackage as a user would (default style applied)."""
    layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
    if not layer.isValid():
        raise SystemExit(f"{path}: layer {name!r} cannot be opened by QGIS")
    QgsProject.instance().addMapLayer(layer, False)
    return layer


def describe(layer: QgsVectorLayer) -> int:
    """Print the layer's fields, aliases, renderer and labels; return the fields without alias."""
    fields = layer.fields()
    aliases = [fields[i].alias() for i in range(fields.count())]
    missing = [fields[i].name() for i in range(fields.count()) if not aliases[i]]
    print(f"  {layer.name()}: {fields.count()} fields, {fields.count() - len(missing)} aliased")
    for i in range(min(4, fields.count())):
        print(f"    {fields[i].name()} → {aliases[i]!r}")
    if missing:
        print(f"    WITHOUT ALIAS: {', '.join(missing)}")
    renderer = layer.renderer() if layer.isSpatial() else None
    if renderer is None:
        return len(missing)
    print(f"    renderer: {renderer.type()}")
    if renderer.type() == "graduatedSymbol":
        print(f"    attribute: {renderer.classAttribute()}")
        for r in renderer.ranges():
            print(f"      {r.label():>16}  {r.symbol().color().name()}")
    elif renderer.type() == "categorizedSymbol":
        print(f"    attribute: {renderer.classAttribute()}")
        for c in renderer.categories():
            print(f"      {c.label():>32}  {c.symbol().color().name()}")
    elif renderer.type() == "RuleRenderer":
        for rule in renderer.rootRule().children():
            state = "drawn" if rule.active() else "unticked"
            colour = rule.symbol().color().name() if rule.symbol() else ""
            print(f"      {rule.label():>36}  {colour}  {state}  {rule.filterExpression()}")
    if layer.labelsEnabled() and layer.labeling() is not None:
        for rule in layer.labeling().rootRule().children():
            scale = rule.minimumScale()
            when = f"zoomed in beyond 1:{scale:,.0f}" if scale else "at every scale"
            print(f"    labels {rule.description()!r}: {rule.filterExpression()} ({when})")
    return len(missing)


def render(layers: list[QgsVectorLayer], extent: QgsRectangle, png: Path) -> float:
    """Render ``layers`` (top first) over ``extent`` to ``png``; return the time in seconds."""
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(extent)
    settings.setOutputSize(PNG_SIZE)
    settings.setBackgroundColor(QColor("white"))
    settings.setFlag(QgsMapSettings.DrawLabeling, True)
    settings.setFlag(QgsMapSettings.Antialiasing, True)
    start = time.perf_counter()
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    seconds = time.perf_counter() - start
    job.renderedImage().save(str(png), "png")
    print(f"  {png.name}: {seconds:.2f} s, scale 1:{settings.scale():,.0f}")
    return seconds


def layout(communes: QgsVectorLayer, png: Path) -> None:
    """A print layout: the map and its legend, exported as an image."""
    project = QgsProject.instance()
    lay = QgsPrintLayout(project)
    lay.initializeDefaults()
    item = QgsLayoutItemMap(lay)
    item.attemptMove(QgsLayoutPoint(5, 5, QgsUnitTypes.LayoutMillimeters))
    item.attemptResize(QgsLayoutSize(200, 200, QgsUnitTypes.LayoutMillimeters))
    item.setLayers([communes])
    item.setExtent(communes.extent())
    lay.addLayoutItem(item)
    legend = QgsLayoutItemLegend(lay)
    legend.setLinkedMap(item)
    legend.setAutoUpdateModel(False)
    legend.model().rootGroup().clear()
    legend.model().rootGroup().addLayer(communes)
    legend.attemptMove(QgsLayoutPoint(210, 10, QgsUnitTypes.LayoutMillimeters))
    lay.addLayoutItem(legend)
    # rendered to an image, then saved: exportToImage would also try to georeference the PNG
    QgsLayoutExporter(lay).renderPageToImage(0, QSize(), 100).save(str(png), "png")
    print(f"  {png.name}: print layout with the legend")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output folder of geoattract run")
    parser.add_argument("--png-dir", type=Path, default=Path("qgis-check"))
    args = parser.parse_args(argv)
    app = QgsApplication([], False)
    app.initQgis()
    print(f"QGIS {Qgis.QGIS_VERSION}")
    args.png_dir.mkdir(parents=True, exist_ok=True)
    layers: dict[str, QgsVectorLayer] = {}
    unaliased = 0
    for file, names in FILES.items():
        path = args.out / file
        if not path.is_file():
            print(f"{file}: not written by this run")
            continue
        print(f"{file} ({path.stat().st_size / 1e6:.2f} MB)")
        for name in names:
            layer = load(path, name)
            layers[f"{file}:{name}"] = layer
            unaliased += describe(layer)
    communes = layers["communes.gpkg:communes"]
    if communes.renderer() is None or communes.renderer().type() != "graduatedSymbol":
        print("communes: no graduated renderer")
        return 1
    print("render")
    extent = communes.extent()
    extent.scale(1.05)
    times = [render([communes], extent, args.png_dir / "communes.png")]
    biggest = max(communes.getFeatures(), key=lambda f: f["population"] or 0)
    centre = biggest.geometry().centroid().asPoint()
    zoom = QgsRectangle(
        centre.x() - ZOOM_HALF_WIDTH_M,
        centre.y() - ZOOM_HALF_WIDTH_M,
        centre.x() + ZOOM_HALF_WIDTH_M,
        centre.y() + ZOOM_HALF_WIDTH_M,
    )
    times.append(render([communes], zoom, args.png_dir / "communes_zoom.png"))
    territory = layers.get("territory.gpkg:territory")
    under = [territory] if territory is not None else []
    facilities = layers["communes.gpkg:facilities"]
    times.append(render([facilities, *under], extent, args.png_dir / "facilities.png"))
    if "isochrones.gpkg:isochrones" in layers:
        iso = layers["isochrones.gpkg:isochrones"]
        times.append(render([iso, *under], extent, args.png_dir / "isochrones.png"))
    layout(communes, args.png_dir / "communes_layout.png")
    print(f"{unaliased} field(s) without alias; maps rendered in {sum(times):.2f} s")
    app.exitQgis()
    return 1 if unaliased else 0


if __name__ == "__main__":
    sys.exit(main())
