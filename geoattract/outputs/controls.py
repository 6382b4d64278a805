"""Fixed HTML controls of the interactive maps: title, network caption, legend; their CSS."""

from __future__ import annotations

from branca.element import MacroElement
from folium.template import Template

from geoattract.outputs.classes import MISSING_COLOUR, MISSING_LABEL, PALETTE, ClassBreaks
from geoattract.outputs.html import esc

#: Background colour of the map pane without tiles (a pale sea-and-paper tone).
BACKGROUND_COLOUR: str = "#f7f7f4"


class HtmlControl(MacroElement):
    """A Leaflet control holding fixed HTML built by this module (escaped pieces only)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function (map) {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.html|tojson }};
            L.DomEvent.disableClickPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, html: str, position: str = "bottomright", css_class: str = "ga-control"):
        super().__init__()
        self._name = "HtmlControl"
        self.html = html
        self.position = position
        self.css_class = css_class


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (no miles on a French map)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        L.control.scale({imperial: false, position: "bottomleft"})
            .addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "MetricScale"


#: Class of the tooltips of a map whose communes open a popup on a click: a line under each
#: tooltip says so (one CSS rule, not the same words in every feature of the page).
POPUP_HINT_CLASS: str = "ga-tip-afom"

#: Stylesheet of the map controls, tooltips and layer list.
CONTROL_CSS = f"""
<style>
.leaflet-container{{background:{BACKGROUND_COLOUR}}}
.ga-control{{background:rgba(255,255,255,.93);padding:6px 9px;border-radius:5px;
  box-shadow:0 1px 5px rgba(0,0,0,.35);font:12px/1.35 system-ui,Arial,sans-serif;max-width:330px}}
.ga-title{{font-size:15px;font-weight:600}}
.ga-caption{{border:1px solid #999}}
.ga-caption.ga-schematic{{background:#fff3cd;border:1px solid #e0c36b}}
.ga-legend i{{display:inline-block;width:18px;height:12px;margin-right:6px;vertical-align:middle;
  border:1px solid #777}}
.ga-legend .ga-scheme{{color:#444;margin-bottom:3px}}
.leaflet-tooltip{{white-space:normal;width:max-content;max-width:260px;
  font:12px/1.35 system-ui,Arial,sans-serif;padding:4px 7px}}
.leaflet-tooltip table th{{text-align:left;padding-right:6px;color:#444;vertical-align:top;
  white-space:normal !important;max-width:120px}}
.leaflet-tooltip table td{{white-space:normal !important;padding:0}}
.leaflet-tooltip table{{table-layout:auto;border-spacing:0}}
.leaflet-container .leaflet-popup-content{{font:12px/1.4 system-ui,Arial,sans-serif;
  margin:10px 14px}}
.{POPUP_HINT_CLASS} td::after{{content:"Clic : atouts et faiblesses";display:block;
  color:#666;font-size:11px}}
.leaflet-control-layers-expanded{{max-height:60vh;max-width:300px;overflow-y:auto;
  font:11px/1.3 system-ui,Arial,sans-serif}}
.leaflet-control-layers .ga-group{{font-weight:600}}
.leaflet-control-layers .ga-cat{{display:block;margin:1px 0 1px 18px;color:#333}}
.leaflet-control-layers .ga-cat i{{display:inline-block;width:9px;height:9px;
  border-radius:50%;border:1px solid #333;margin-right:5px;vertical-align:middle}}
</style>
"""


def legend_html(title: str, breaks: ClassBreaks, n_missing: int, unit: str = "") -> str:
    """Build the legend of a choropleth: title, scheme and unit, classes, missing, reading.

    Parameters
    ----------
    title : str
        Legend title (escaped here).
    breaks : ClassBreaks
        Classes and colours.
    n_missing : int
        Communes without a value (a grey line when positive).
    unit : str
        Unit of the values (``min``, ``%``…; ``0–100`` for a score).

    Returns
    -------
    str
    """
    scheme = breaks.scheme_text(unit)
    rows = [f"<div><b>{esc(title)}</b></div>", f'<div class="ga-scheme">{esc(scheme)}</div>']
    for colour, label in zip(breaks.colours, breaks.labels(), strict=True):
        rows.append(f'<div><i style="background:{colour}"></i>{esc(label)}</div>')
    if n_missing:
        rows.append(
            f'<div><i style="background:{MISSING_COLOUR}"></i>{esc(MISSING_LABEL)} '
            f"({n_missing})</div>"
        )
    rows.append(f'<div class="ga-scheme">{esc(breaks.reading)}</div>')
    rows.append(f'<div class="ga-scheme">Palette {esc(PALETTE)} (ColorBrewer)</div>')
    return "".join(rows)
