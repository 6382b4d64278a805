"""Presets of line layers: which columns hold the road class, the direction and the speed.

A line layer (one LineString per road piece between two junctions) becomes a graph through
:func:`geoattract.network.lines.graph_from_lines`. A :class:`LinePreset` tells that function
how to read a given product:

* the **class** of each piece, an OSM ``highway`` value (``motorway``, ``trunk``,
  ``primary``…), either read as it is from a column or derived by ordered rules on one or
  more columns (first matching rule wins);
* the **direction** of traffic (a column whose values mean both directions, the drawing
  direction only, or against it);
* an optional **speed** column (km/h) used before the class speed;
* a **name** column (road number) copied to the edge attribute ``ref``;
* values that **exclude** a piece (paths, stairs, roads closed to cars);
* the **speed table** of its classes, the classes a point may **not** join (motorways and
  their ramps have no access between their ends) and, optionally, a calibration file shipped
  with the package (``geoattract/network/data/*.toml``) applied by default.

Three presets are defined: :data:`TRAVELMAPPING` (the classified roads of France from the
Travel Mapping project), :data:`BDTOPO` (IGN BD TOPO v3 ``troncon_de_route``) and
:data:`ROUTE500` (IGN ROUTE 500 ``troncon_route``). Column names and values come from IGN's
documentation; see ``docs/network.md`` for the sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from geoattract.errors import DataError, format_values

#: Direction codes of a line piece: both ways, drawing direction only, against it only.
BOTH: str = "both"
FORWARD: str = "forward"
REVERSE: str = "reverse"
DIRECTIONS: frozenset[str] = frozenset({BOTH, FORWARD, REVERSE})

#: Average speeds (km/h) of the classes of line layers when no calibration or speed column
#: applies. A piece of a classified-road layer is a whole road between two junctions, village
#: crossings included, so these are averages over such pieces, close to
#: :data:`~geoattract.network.speeds.FRENCH_DEFAULT_SPEEDS` for the same OSM class: motorway
#: 115 (limit 130), ramps 60, trunk 90 (mix of 2×2 expressways at 110 and two-lane national
#: roads at 80), primary 75 and secondary 70 (departmental roads at 80 outside villages, 50
#: inside), tertiary 55, unclassified 45, residential 30, track 20 (gravel roads).
LINE_SPEEDS: Mapping[str, float] = MappingProxyType(
    {
        "motorway": 115.0,
        "motorway_link": 60.0,
        "trunk": 90.0,
        "primary": 75.0,
        "secondary": 70.0,
        "tertiary": 55.0,
        "unclassified": 45.0,
        "residential": 30.0,
        "track": 20.0,
    }
)

#: Classes a point may not join: a motorway or a ramp has no access between its ends.
UNSNAPPABLE_CLASSES: frozenset[str] = frozenset({"motorway", "motorway_link"})


@dataclass(frozen=True)
class ClassRule:
    """One rule of a class mapping: the class of the pieces whose columns hold given values.

    Attributes
    ----------
    highway : str
        The class (an OSM ``highway`` value) given to matching pieces.
    when : mapping of str to tuple of str
        Column → accepted values; every listed column must hold one of its values (compared
        as stripped strings). An empty mapping matches every piece (a default rule).
    """

    highway: str
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class LinePreset:
    """How to read one line-layer product (see the module docstring).

    Attributes
    ----------
    name : str
        Preset name (``travelmapping``, ``bdtopo``, ``route500``).
    label : str
        Source label stored in the graph attribute ``source``.
    class_column : str or None
        Column whose value is the class as it is (when ``class_rules`` is empty).
    class_rules : tuple of ClassRule
        Ordered rules giving the class; pieces matching none are dropped (counted in logs).
    oneway_column : tuple of str
        Candidate names of the direction column (the first present is used); empty when the
        layer has none (every piece is two-way).
    oneway_values : mapping of str to str
        Direction column value → :data:`BOTH`, :data:`FORWARD` or :data:`REVERSE`; other
        values are two-way (logged).
    speed_column : str or None
        Column of average speeds (km/h); values ≤ 0 or missing fall back to the class speed.
    name_column : str or None
        Column copied to the edge attribute ``ref`` (road number).
    exclude : mapping of str to tuple of str
        Column → values that drop a piece (not drivable by car).
    speeds : mapping of str to float
        Class → km/h.
    unsnappable : frozenset of str
        Classes a point may not join.
    calibration : str or None
        File name in ``geoattract/network/data`` of the calibration applied by default.
    detect : frozenset of str
        Columns (lower case) whose presence identifies the product.
    documentation : str
        Where the column names and values come from.
    vintage : str
        Date of the data (ISO) when the product states it; the file date otherwise.
    notes_fr : str
        French clause on what the network holds and lacks, shown in every caption.
    """

    name: str
    label: str
    class_column: str | None = None
    class_rules: tuple[ClassRule, ...] = ()
    oneway_column: tuple[str, ...] = ()
    oneway_values: Mapping[str, str] = field(default_factory=dict)
    speed_column: str | None = None
    name_column: str | None = None
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    speeds: Mapping[str, float] = field(default_factory=lambda: LINE_SPEEDS)
    unsnappable: frozenset[str] = UNSNAPPABLE_CLASSES
    calibration: str | None = None
    detect: frozenset[str] = frozenset()
    documentation: str = ""
    vintage: str = ""
    notes_fr: str = ""

    def __post_init__(self) -> None:
        """Check the preset is consistent."""
        if (self.class_column is None) == (not self.class_rules):
            raise DataError(
                f"line preset {self.name!r}: give either class_column or class_rules, not both"
            )
        bad = {v for v in self.oneway_values.values() if v not in DIRECTIONS}
        if bad:
            raise DataError(
                f"line preset {self.name!r}: direction values must be in "
                f"{sorted(DIRECTIONS)}; got {format_values(sorted(bad))}"
            )

    def columns(self) -> set[str]:
        """Every column name the preset may read (lower case)."""
        names = {self.class_column, self.speed_column, self.name_column, *self.oneway_column}
        names |= set(self.exclude)
        for rule in self.class_rules:
            names |= set(rule.when)
        return {n.lower() for n in names if n}


#: The classified roads of France traced by the Travel Mapping project
#: (``roads/france_roads_travelmapping.gpkg``): columns ``route``, ``system``, ``highway``
#: (``motorway``, ``trunk``, ``secondary`` for départementales, ``tertiary`` for
#: métropolitaines, ``motorway_link`` for the inferred interchange links),
#: ``inferred_link``, ``length_m``. No direction or speed column.
TRAVELMAPPING: LinePreset = LinePreset(
    name="travelmapping",
    label="Travel Mapping, routes classées de France",
    class_column="highway",
    name_column="route",
    calibration="travelmapping_calibration.toml",
    detect=frozenset({"route", "system", "highway", "inferred_link"}),
    documentation="shared data README, section roads/ (Travel Mapping project, HighwayData)",
    vintage="2026-08-22",
    notes_fr="autoroutes, nationales et départementales, sans voirie locale",
)

#: ``nature`` values of BD TOPO v3 ``troncon_de_route`` that are not roads for cars.
BDTOPO_NOT_ROADS: tuple[str, ...] = (
    "Chemin",
    "Sentier",
    "Escalier",
    "Piste cyclable",
    "Bac ou liaison maritime",
    "Bac auto",
    "Bac piéton",
)

#: IGN BD TOPO v3, layer ``troncon_de_route``. Class from ``nature`` (« Type autoroutier »,
#: « Bretelle », « Route à 2 chaussées », « Route à 1 chaussée », « Rond-point », « Route
#: empierrée »…) and ``importance`` (« 1 » national to « 6 » local); direction from
#: ``sens_de_circulation`` (``sens`` in older deliveries): « Double sens », « Sens direct »
#: (drawing direction), « Sens inverse », « Sans objet »; speed from ``vitesse_moyenne_vl``;
#: pieces with ``acces_vehicule_leger`` « Physiquement impossible » or « Restreint aux ayants
#: droit » are dropped, like paths, stairs, cycle tracks and ferries.
BDTOPO: LinePreset = LinePreset(
    name="bdtopo",
    label="IGN BD TOPO troncon_de_route",
    notes_fr="tous les tronçons de route, voirie locale comprise",
    class_rules=(
        ClassRule("motorway", {"nature": ("Type autoroutier",)}),
        ClassRule("motorway_link", {"nature": ("Bretelle",)}),
        ClassRule("track", {"nature": ("Route empierrée",)}),
        ClassRule("trunk", {"nature": ("Route à 2 chaussées",), "importance": ("1", "2")}),
        ClassRule("primary", {"importance": ("1", "2")}),
        ClassRule("secondary", {"importance": ("3",)}),
        ClassRule("tertiary", {"importance": ("4",)}),
        ClassRule("unclassified", {"importance": ("5",)}),
        ClassRule("residential", {}),
    ),
    oneway_column=("sens_de_circulation", "sens"),
    oneway_values={
        "Double sens": BOTH,
        "Sans objet": BOTH,
        "Sens direct": FORWARD,
        "Sens inverse": REVERSE,
    },
    speed_column="vitesse_moyenne_vl",
    name_column="cpx_numero",
    exclude={
        "nature": BDTOPO_NOT_ROADS,
        "acces_vehicule_leger": ("Physiquement impossible", "Restreint aux ayants droit"),
    },
    detect=frozenset({"nature", "importance"}),
    documentation=(
        "IGN, BD TOPO Version 3 — Descriptif de contenu, thème Transport (2023), "
        "https://geoservices.ign.fr/sites/default/files/2023-10/DC_BDTOPO_Transport.pdf"
    ),
)

#: IGN ROUTE 500, layer ``TRONCON_ROUTE`` (upper-case shapefile columns are matched without
#: regard to case). Class from ``VOCATION``: « Type autoroutier », « Liaison principale »,
#: « Liaison régionale », « Liaison locale », « Bretelle »; direction from ``SENS``: « Double
#: sens », « Sens unique » (drawing direction), « Sens inverse »; road number ``NUM_ROUTE``.
#: ``NB_VOIES``, ``NB_CHAUSSE`` and ``CLASS_ADM`` (« Autoroute », « Nationale »,
#: « Départementale », « Sans objet ») are kept by the reader but not used for the class.
ROUTE500: LinePreset = LinePreset(
    name="route500",
    label="IGN ROUTE 500 troncon_route",
    notes_fr="réseau classé (500 000 routes principales), sans voirie locale",
    class_rules=(
        ClassRule("motorway", {"vocation": ("Type autoroutier",)}),
        ClassRule("motorway_link", {"vocation": ("Bretelle",)}),
        ClassRule("trunk", {"vocation": ("Liaison principale",)}),
        ClassRule("primary", {"vocation": ("Liaison régionale",)}),
        ClassRule("secondary", {"vocation": ("Liaison locale",)}),
    ),
    oneway_column=("sens",),
    oneway_values={"Double sens": BOTH, "Sens unique": FORWARD, "Sens inverse": REVERSE},
    name_column="num_route",
    detect=frozenset({"vocation", "sens", "class_adm"}),
    documentation=(
        "IGN, ROUTE 500 — Descriptif de contenu (édition 3), table TRONCON_ROUTE, "
        "https://geoservices.ign.fr/route500"
    ),
)

#: Every preset by name.
PRESETS: Mapping[str, LinePreset] = MappingProxyType(
    {p.name: p for p in (TRAVELMAPPING, BDTOPO, ROUTE500)}
)


def get_preset(preset: str | LinePreset) -> LinePreset:
    """Return a preset by name (a :class:`LinePreset` is returned as it is).

    Raises
    ------
    DataError
        For an unknown name, listing the known ones.
    """
    if isinstance(preset, LinePreset):
        return preset
    key = str(preset).strip().lower()
    if key not in PRESETS:
        raise DataError(
            f"unknown line preset {preset!r}; known presets: {format_values(sorted(PRESETS))}"
        )
    return PRESETS[key]


def detect_preset(columns: Iterable[str]) -> LinePreset | None:
    """Return the preset whose identifying columns are all present (any case), if any."""
    present = {str(c).lower() for c in columns}
    for preset in PRESETS.values():
        if preset.detect and preset.detect <= present:
            return preset
    return None
