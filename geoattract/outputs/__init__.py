"""Stage 8, outputs: labels, interactive and static maps, the HTML report."""

from __future__ import annotations

from geoattract.outputs.maps import (
    ClassBreaks,
    choropleth_map,
    classify,
    detect_pillars,
    detect_profiles,
    inline_web_assets,
    isochrone_map,
    make_maps,
    make_static_maps,
    render_map_html,
    static_map,
)
from geoattract.outputs.report import (
    compare_html,
    radar_svg,
    write_index,
    write_report,
)

__all__ = [
    "ClassBreaks",
    "choropleth_map",
    "classify",
    "compare_html",
    "detect_pillars",
    "detect_profiles",
    "inline_web_assets",
    "isochrone_map",
    "make_maps",
    "make_static_maps",
    "radar_svg",
    "render_map_html",
    "static_map",
    "write_index",
    "write_report",
]
