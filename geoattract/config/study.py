"""The study configuration: its schema, :class:`StudyConfig`, and the studies shipped with the package.

The study file (``geoattract/config/studies/<name>/study.toml``) is described by
:data:`STUDY_SCHEMA` and the section schemas of :data:`SECTION_SCHEMAS`; the metropolitan
reach by :mod:`geoattract.config.metro_schema`; the schema machinery is in
:mod:`geoattract.config.schema`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoattract import settings
from geoattract._util.io import resolve_data_dir
from geoattract.config.demography_schema import DEMOGRAPHY_SCHEMA
from geoattract.config.metro_schema import METRO_KEYS, METROPOLITAN_SCHEMA, validate_metropolitan
from geoattract.config.schema import (
    Field,
    Setting,
    at_least_one,
    check_sources,
    dep_code,
    load_toml,
    non_negative,
    positive,
    positive_int,
    thresholds_field,
    validate,
)
from geoattract.config.territory import TERRITORY_SOURCES, TerritorySpec, territory_spec
from geoattract.errors import ConfigError

STUDY_SCHEMA: dict[str, Field] = {
    "sources": Field(
        list,
        items=dict,
        required=False,
        default=[],
        check=check_sources,
        doc="data sources and vintages shown in the report",
    ),
    "study": Field(
        dict,
        schema={
            "name": Field(str, doc="study name shown in reports"),
            "departement": Field(
                str,
                required=False,
                default=None,
                check=dep_code,
                doc="INSEE code of the study département (shorthand of [territory] departements)",
            ),
            "data_subdir": Field(str, doc="sub-folder of the shared data folder"),
            "buffer_km": Field(
                float,
                required=False,
                default=Setting("buffer_m", 1 / 1000),
                check=non_negative,
                doc="neighbouring communes within this distance form the buffer zone",
            ),
            "crs": Field(str, required=False, default=Setting("default_crs")),
            "output_dir": Field(
                str,
                required=False,
                default="maps",
                doc="output folder, relative to the current folder",
            ),
            "thresholds_min": thresholds_field(settings.thresholds_min),
            "town_hall_tolerance_m": Field(
                float,
                required=False,
                default=Setting("town_hall_tolerance_m"),
                check=non_negative,
            ),
        },
    ),
    "inputs": Field(
        dict,
        required=False,
        default=None,
        schema={
            "departements": Field(
                list,
                items=str,
                required=False,
                default=None,
                doc="départements whose communes the files hold completely (the territory is "
                "read from them only when they cover the study and its buffer)",
            ),
            "communes": Field(str, doc="commune polygons (code, nom)"),
            "town_halls": Field(str, doc="town-hall points (code)"),
            "population": Field(str, doc="legal population (code, population)"),
            "epci": Field(str, doc="commune → EPCI table (code_commune, epci_code, epci_nom)"),
            "departement_outline": Field(str, required=False, default=None),
        },
    ),
}


@dataclass
class StudyConfig:
    """A validated study configuration.

    Attributes
    ----------
    path : Path
        The TOML file it was read from.
    data_dir : Path
        Resolved data folder.
    raw : dict
        The whole validated document, including sections later stages read.
    """

    path: Path
    data_dir: Path
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def study(self) -> dict[str, Any]:
        """The ``[study]`` section."""
        return self.raw["study"]

    @property
    def name(self) -> str:
        """Study name."""
        return self.study["name"]

    @property
    def territory(self) -> TerritorySpec:
        """The study territory (``[territory]``, or the ``[study] departement`` shorthand)."""
        return territory_spec(self.section("territory"), self.study.get("departement"), self.path)

    @property
    def departement(self) -> str | None:
        """INSEE code of the study département; None when the territory is not one département."""
        spec = self.territory
        if spec.kind == "departements" and len(spec.codes) == 1:
            return spec.codes[0]
        return None

    @property
    def has_inputs(self) -> bool:
        """Whether the study has its own ``[inputs]`` territory files."""
        return bool(self.raw.get("inputs"))

    @property
    def crs(self) -> str:
        """Working CRS."""
        return self.study["crs"]

    @property
    def buffer_m(self) -> float:
        """Buffer distance in metres."""
        return self.study["buffer_km"] * 1000.0

    @property
    def thresholds_min(self) -> list[int]:
        """Travel-time thresholds in minutes."""
        return list(self.study["thresholds_min"])

    def input_path(self, key: str) -> Path:
        """Absolute path of the input file named ``inputs.<key>``."""
        rel = (self.raw.get("inputs") or {}).get(key)
        if rel is None:
            raise ConfigError(f"{self.path}: no input file configured for 'inputs.{key}'")
        return self.data_dir / rel

    def section(self, name: str) -> dict[str, Any]:
        """A top-level section other stages declare (empty dict when absent)."""
        return dict(self.raw.get(name, {}))

    def with_section(self, name: str, **values: Any) -> StudyConfig:
        """A copy with keys of one section replaced (e.g. ``with_section("network", source=…)``).

        Raises
        ------
        ConfigError
            An unknown section or key.
        """
        schema = SECTION_SCHEMAS.get(name)
        if schema is None:
            raise ConfigError(f"{self.path}: no section [{name}] can be overridden")
        unknown = sorted(set(values) - set(schema))
        if unknown:
            raise ConfigError(
                f"{self.path}: unknown key(s) {', '.join(f'{name}.{k}' for k in unknown)}"
            )
        merged = {k: v for k, v in {**self.section(name), **values}.items() if v is not None}
        section = validate(merged, schema, self.path, prefix=name + ".")
        raw = {**self.raw, name: section}
        return StudyConfig(path=self.path, data_dir=self.data_dir, raw=raw)

    def has_config(self, key: str) -> bool:
        """Whether ``[configs]`` names a companion file for ``key``."""
        return self.raw.get("configs", {}).get(key) is not None

    def config_file(self, key: str) -> Path:
        """Path of a companion configuration file named in ``[configs]`` (relative to this file)."""
        rel = self.raw.get("configs", {}).get(key)
        if rel is None:
            raise ConfigError(f"{self.path}: no companion file configured for 'configs.{key}'")
        return (self.path.parent / rel).resolve()


def min_draws(v: int) -> str | None:
    """Check a number of Monte Carlo draws is enough for 5–95 % quantiles."""
    return None if v >= MIN_MONTECARLO_DRAWS else f"must be >= {MIN_MONTECARLO_DRAWS}"


#: Fewest Monte Carlo draws accepted (quantiles 5 % / 95 % need a few dozen).
MIN_MONTECARLO_DRAWS = 20

#: Defaults of the stage sections of the study file (also used by the pipeline).
HOUSING_THRESHOLD_MIN = 20
EV_THRESHOLD_MIN = 15
RAIL_CATCHMENT_MIN = 45

#: Sections of the study file read by the later stages, with their keys.
SECTION_SCHEMAS: dict[str, dict[str, Field]] = {
    "configs": {
        "catalogue": Field(str, required=False, default="facilities.toml"),
        "indicators": Field(
            str,
            required=False,
            default=None,
            doc="transition and environment indicators (none: the study has no such indicator)",
        ),
        "scoring": Field(str, required=False, default="scoring.toml"),
        "places": Field(
            str,
            required=False,
            default=None,
            doc="places the national indicators time (préfectures, regional capitals, Paris)",
        ),
        "plan": Field(
            str,
            required=False,
            default=None,
            doc="action plan evaluated by every run (chapter « Plan d'action » of the report)",
        ),
        "levers": Field(
            str,
            required=False,
            default=None,
            doc="catalogue of single actions tried by `geoattract levers`",
        ),
    },
    "territory": {
        "departements": Field(list, items=str, required=False, default=None),
        "epci": Field(list, items=str, required=False, default=None),
        "communes": Field(list, items=str, required=False, default=None),
        "france": Field(bool, required=False, default=None),
        "source": Field(str, required=False, default="auto", choices=TERRITORY_SOURCES),
        "communes_file": Field(
            str,
            required=False,
            default=None,
            doc="national commune file (layers communes, mairies), relative to the data folder",
        ),
    },
    "partitions": {
        "enabled": Field(
            bool,
            required=False,
            default=False,
            doc="compute the accessibility by partitions of the road graph, each exact, on dask "
            "(a national study)",
        ),
        "by": Field(
            str,
            required=False,
            default="departement",
            choices=("departement", "epci"),
            doc="the partitions: one per département (or per EPCI), grouped when they overlap",
        ),
        "radius_min": Field(
            float,
            required=False,
            default=None,
            check=positive,
            doc="initial radius of a partition's buffer in travel time (default: twice the "
            "largest E2SFCA catchment, at least the largest count threshold)",
        ),
        "max_widenings": Field(int, required=False, default=6, check=non_negative),
        "group": Field(
            bool,
            required=False,
            default=True,
            doc="compute départements whose buffers overlap in one partition, none larger "
            "than the largest département's",
        ),
    },
    "dask": {
        "workers": Field(int, required=False, default=2, check=positive_int),
        "threads_per_worker": Field(int, required=False, default=1, check=positive_int),
        "memory_limit": Field(str, required=False, default="auto"),
        "retries": Field(int, required=False, default=1, check=non_negative),
    },
    "network": {
        "source": Field(
            str,
            required=False,
            default="schematic",
            doc="'schematic', 'online' or an OSM file (.osm.pbf, .osm, .graphml, .gpkg)",
        ),
        "snap_max_distance_m": Field(float, required=False, default=None, check=positive),
        "snap_speed_kph": Field(float, required=False, default=None, check=positive),
        "schematic_snap_max_distance_m": Field(float, required=False, default=None, check=positive),
        "schematic_snap_speed_kph": Field(float, required=False, default=None, check=positive),
        "snap_detour": Field(float, required=False, default=None, check=at_least_one),
        "preset": Field(
            str,
            required=False,
            default=None,
            doc="line-layer preset (travelmapping, bdtopo, route500); detected when absent",
        ),
        "calibration": Field(
            str,
            required=False,
            default=None,
            doc="line-layer calibration: 'none', or a calibration TOML (relative to the data "
            "folder); the preset's shipped calibration when absent",
        ),
        "schematic_snap_detour": Field(float, required=False, default=None, check=at_least_one),
        "layer": Field(
            str,
            required=False,
            default=None,
            doc="layer of a multi-layer line file (default: the preset's, or the only line layer)",
        ),
        "strict": Field(
            bool,
            required=False,
            default=False,
            doc="class values of a line layer outside its preset are an error (a warning otherwise)",
        ),
        "schematic_poles": Field(
            list,
            items=str,
            required=False,
            default=None,
            doc="commune codes of the prefecture and sub-prefectures: links of the schematic "
            "network touching them are at least 'secondary' (default: the most populous "
            "study communes)",
        ),
    },
    "accessibility": {
        "housing_threshold_min": Field(
            int, required=False, default=HOUSING_THRESHOLD_MIN, check=positive_int
        ),
    },
    "transition": {
        "ev_threshold_min": Field(
            int, required=False, default=EV_THRESHOLD_MIN, check=positive_int
        ),
        "rail_catchment_min": Field(
            float, required=False, default=RAIL_CATCHMENT_MIN, check=positive
        ),
    },
    "scoring": {
        "montecarlo_draws": Field(int, required=False, default=None, check=min_draws),
        "sensitivity_draws": Field(int, required=False, default=None, check=min_draws),
        "seed": Field(int, required=False, default=None),
    },
    "metropolitan": METROPOLITAN_SCHEMA,
    "demography": DEMOGRAPHY_SCHEMA,
    "maps": {
        "isochrone_communes": Field(list, items=str, required=False, default=None),
        "isochrone_shape": Field(
            str,
            required=False,
            default="area",
            choices=("area", "band"),
            doc="isochrones drawn as the area within reach (the band plus the land enclosed by "
            "reached roads) or as the band along the reached roads",
        ),
        "isochrone_method": Field(
            str,
            required=False,
            default="grid",
            choices=("grid", "exact"),
            doc="how the isochrone polygons are drawn: a field on a grid, contoured (fast), or "
            "GEOS geometry merged (the reference, much slower)",
        ),
        "isochrone_resolution_m": Field(
            float,
            required=False,
            default=None,
            check=positive,
            doc="grid step of the isochrone polygons (default 250 m for the area, 125 m for the band)",
        ),
        "tiles": Field(
            str,
            required=False,
            default=None,
            doc="background tiles of the interactive maps (e.g. 'OpenStreetMap'); none by "
            "default: the offline basemap drawn from the data",
        ),
        "separate_maps": Field(
            bool,
            required=False,
            default=False,
            doc="also write one interactive map per profile and pillar (score_*.html, "
            "pillar_*.html); by default atelier.html holds them all, with one copy of the "
            "geometry",
        ),
    },
}


def shipped_studies() -> list[str]:
    """Names of the study configurations shipped inside the package."""
    folder = settings.studies_folder
    return sorted(d.name for d in folder.iterdir() if (d / STUDY_FILE).is_file())


#: File name of a shipped study's main configuration inside its folder.
STUDY_FILE = "study.toml"


def resolve_study_path(path: str | os.PathLike | None) -> Path:
    """The TOML file of a study given as a path or as the name of a shipped study.

    Raises
    ------
    ConfigError
        A bare name that is neither a file nor a shipped study.
    """
    if path is None:
        return settings.studies_folder / settings.default_study / STUDY_FILE
    p = Path(path)
    if p.is_file() or p.suffix.lower() == ".toml" or len(p.parts) > 1:
        return p
    shipped = settings.studies_folder / str(path) / STUDY_FILE
    if shipped.is_file():
        return shipped
    raise ConfigError(
        f"unknown study {str(path)!r}: not a file and not a shipped study; shipped studies: "
        f"{', '.join(shipped_studies())}"
    )


def load_study_config(
    path: StudyConfig | str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> StudyConfig:
    """Load and validate a study configuration.

    Parameters
    ----------
    path : StudyConfig, path-like or str, optional
        A TOML file, or the name of a study shipped with the package (``lot-et-garonne``,
        ``france``: see :func:`shipped_studies`); defaults to
        :data:`geoattract.settings.default_study`. A configuration already loaded is returned
        as it is (every command and function takes either).
    data_dir : path-like, optional
        Data folder override; else ``GEOATTRACT_DATA_DIR``; else ``../shared/data/<data_subdir>``.

    Returns
    -------
    StudyConfig

    Raises
    ------
    ConfigError
        Unknown study name, invalid TOML, unknown or missing key, wrong type.
    DataNotFoundError
        Missing file or data folder.
    """
    if isinstance(path, StudyConfig):
        return path
    p = resolve_study_path(path)
    doc = load_toml(p)
    schema = dict(STUDY_SCHEMA)
    for name, section in SECTION_SCHEMAS.items():
        schema[name] = Field(dict, required=False, default={}, schema=section)
    for name in METRO_KEYS:  # validated by validate_metropolitan
        schema[name] = Field((dict, list), required=False, default=None)
    raw = validate(doc, schema, p)
    raw.update(validate_metropolitan(doc, p))
    for name, section in SECTION_SCHEMAS.items():  # absent sections get their defaults too
        if not doc.get(name):
            raw[name] = validate({}, section, p, prefix=name + ".")
    spec = territory_spec(raw["territory"], raw["study"].get("departement"), p)
    if spec.source == "inputs" and not raw.get("inputs"):
        raise ConfigError(f"{p}: 'territory.source' is 'inputs' but the study has no [inputs]")
    ddir = resolve_data_dir(data_dir, raw["study"]["data_subdir"])
    return StudyConfig(path=p.resolve(), data_dir=ddir, raw=raw)
