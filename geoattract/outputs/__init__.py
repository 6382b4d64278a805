"""Stage 8, outputs: labels, interactive and static maps, the HTML report, the column table.

Every output of a study shows the same facts, each from one place: labels from the study's
TOML files (:class:`Labels`), the network caption (``network.NetworkCaption``, carried by
:class:`ReportContext`), sources and method text (:class:`ReportContext`,
:func:`method_paragraphs`).
"""

from __future__ import annotations

from geoattract.outputs.apl_section import catchment_paragraphs, catchment_sensitivity_html
from geoattract.outputs.assets import (
    asset_folders,
    external_resources,
    inline_asset,
    inline_web_assets,
)
from geoattract.outputs.atelier import atelier_html, atelier_payload, write_atelier
from geoattract.outputs.atelier_merge import merge_section_html, write_merge_outputs
from geoattract.outputs.basemap import Basemap, main_roads, make_basemap, roads_from_graph
from geoattract.outputs.classes import ClassBreaks, classify, palette_colours
from geoattract.outputs.columns import columns_table
from geoattract.outputs.compare import compare_html, radar_svg
from geoattract.outputs.context import DataSource, ReportContext, method_paragraphs
from geoattract.outputs.corridor import (
    connectivity_section,
    corridor_figure,
    make_corridor_maps,
    metropolitan_section,
)
from geoattract.outputs.dynamics_figures import make_dynamics_figures
from geoattract.outputs.dynamics_section import (
    DYNAMICS_TITLE,
    demography_method_paragraphs,
    dynamics_section,
    quadrant_columns_info,
)
from geoattract.outputs.labels import (
    CategoryLabel,
    IndicatorLabel,
    Labels,
    detect_pillars,
    detect_profiles,
    map_columns,
)
from geoattract.outputs.maps import choropleth_map, isochrone_map, make_maps, render_map_html
from geoattract.outputs.national import (
    check_departements,
    departement_maps,
    departement_summary,
    missing_areas,
    national_map_jobs,
    national_map_titles,
    national_static_maps,
    write_departement_table,
)
from geoattract.outputs.qgis import layer_style, make_qgis_ready
from geoattract.outputs.report import (
    epci_summary,
    sensitivity_summary,
    write_index,
    write_report,
)
from geoattract.outputs.static import (
    FigureJob,
    FigureRendering,
    figure_png,
    make_static_maps,
    render_figures,
    static_map,
)
from geoattract.outputs.synthesis import synthesis_html

__all__ = [
    "DYNAMICS_TITLE",
    "Basemap",
    "CategoryLabel",
    "ClassBreaks",
    "DataSource",
    "FigureJob",
    "FigureRendering",
    "IndicatorLabel",
    "Labels",
    "ReportContext",
    "asset_folders",
    "atelier_html",
    "atelier_payload",
    "catchment_paragraphs",
    "catchment_sensitivity_html",
    "check_departements",
    "departement_maps",
    "departement_summary",
    "missing_areas",
    "national_map_jobs",
    "national_map_titles",
    "national_static_maps",
    "write_departement_table",
    "choropleth_map",
    "classify",
    "columns_table",
    "compare_html",
    "connectivity_section",
    "corridor_figure",
    "demography_method_paragraphs",
    "detect_pillars",
    "dynamics_section",
    "detect_profiles",
    "epci_summary",
    "external_resources",
    "figure_png",
    "inline_asset",
    "inline_web_assets",
    "isochrone_map",
    "main_roads",
    "make_basemap",
    "make_corridor_maps",
    "make_dynamics_figures",
    "make_maps",
    "make_qgis_ready",
    "layer_style",
    "make_static_maps",
    "map_columns",
    "merge_section_html",
    "method_paragraphs",
    "metropolitan_section",
    "palette_colours",
    "quadrant_columns_info",
    "radar_svg",
    "render_figures",
    "render_map_html",
    "roads_from_graph",
    "sensitivity_summary",
    "static_map",
    "write_atelier",
    "synthesis_html",
    "write_index",
    "write_merge_outputs",
    "write_report",
]
