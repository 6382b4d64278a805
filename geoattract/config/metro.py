"""What a study says about its metropolitan reach: poles, rail links and rail scenarios.

The study file declares (schemas in :mod:`geoattract.config.study`):

* ``[poles.<key>]``: the metropoles a study measures its reach against and the regional and
  local towns that matter to it (``code``, ``role``, ``label_fr``); the key names the columns
  (``time_<key>_min``);
* ``[[rail_links]]``: station (UIC code), pole (a metropole or a regional town such as Agen),
  fastest scheduled minutes of a direct train, trains per weekday, source and vintage: the
  train leg of a car + train trip;
* ``[scenarios.<name>]``: rail links that replace the baseline link of the same station and
  metropole, or are added, and the new stations they use (a high-speed line);
* ``[metropolitan]``: thresholds, the transfer time of a car + train trip, the national
  commune file where poles outside the territory are found.

:class:`MetroSpec` holds them, read once from the configuration; :func:`parse_rail_link` reads
a ``--rail-link STATION:POLE:MINUTES[:TRAINS]`` edit and :func:`check_rail_edits` checks edits
at the door (unknown station or pole: one line naming the edit). :func:`uic_code` is the one
rule that turns a UIC code into a station id (the station file, the command line, the checks).
The module reads nothing but the configuration: the checks of ``geoattract scenario`` run
before any heavy import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoattract.config.study import StudyConfig
from geoattract.errors import ConfigError, DataError, format_values

#: Role of the poles a study measures its reach against.
METROPOLE = "metropole"

#: Role of the regional towns (nearest one per commune).
REGIONAL = "regional"

#: Source of a rail link given on the command line.
COMMAND_LINE_SOURCE = "ligne de commande (scénario)"

#: Digits of a UIC station code once normalised (``0087586008`` → ``87586008``).
UIC_DIGITS = 8

_UIC_RAW_RE = re.compile(r"\d{1,10}")

_LINK_RE = re.compile(
    r"^(?P<station>[A-Za-z0-9_]+):(?P<pole>[a-z][a-z0-9_]*):(?P<minutes>\d+(?:\.\d+)?)"
    r"(?::(?P<trains>\d+))?$"
)


def uic_code(value: object) -> str:
    """The station id of a UIC code: 8 digits (``0087586008`` → ``87586008``).

    The one normalisation of UIC codes: the station file (``Code UIC`` holds 10 digits), the
    command line and the checks all go through it. A value that is not 1 to 10 digits (a
    scenario station id) is returned stripped, unchanged.
    """
    text = str(value).strip()
    if _UIC_RAW_RE.fullmatch(text):
        return text.zfill(10)[-UIC_DIGITS:]
    return text


@dataclass(frozen=True)
class Pole:
    """A pole of ``[poles]``: ``key`` (column names), INSEE ``code``, ``role``, French ``label``."""

    key: str
    code: str
    role: str
    label: str


@dataclass(frozen=True)
class RailLink:
    """A train leg from a station to a pole's main station.

    Attributes
    ----------
    station : str
        UIC code (8 digits) of a station of the station file, or the id of a scenario station.
    pole : str
        Key of a pole of ``[poles]``: a metropole, or a regional or local town (Agen).
    minutes : float
        Fastest scheduled direct train, station to the pole's main station.
    trains_per_weekday : int, optional
        As published; None when unknown.
    source, url, vintage, note : str
        Where the figures come from.
    """

    station: str
    pole: str
    minutes: float
    trains_per_weekday: int | None = None
    source: str = ""
    url: str = ""
    vintage: str = ""
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        """``(station, pole)``: a scenario link with the same key replaces the baseline one."""
        return (self.station, self.pole)

    def __str__(self) -> str:
        """The link as on the command line: ``STATION:POLE:MINUTES[:TRAINS]``."""
        trains = "" if self.trains_per_weekday is None else f":{self.trains_per_weekday}"
        return f"{self.station}:{self.pole}:{self.minutes:g}{trains}"


@dataclass(frozen=True)
class NewStation:
    """A station a scenario creates: placed at the town hall of ``commune`` unless ``x``/``y``."""

    id: str
    name: str
    commune: str
    x: float | None = None
    y: float | None = None
    source: str = ""


@dataclass(frozen=True)
class RailScenario:
    """A named scenario of ``[scenarios.<name>]``: new stations and rail link edits."""

    name: str
    label: str
    description: str = ""
    stations: tuple[NewStation, ...] = ()
    links: tuple[RailLink, ...] = ()


@dataclass(frozen=True)
class MetroSpec:
    """The metropolitan reach of a study, as configured.

    Attributes
    ----------
    poles : tuple of Pole
        In file order.
    links : tuple of RailLink
        Baseline rail links (``[[rail_links]]``).
    scenarios : dict
        Name → :class:`RailScenario`.
    thresholds_min : tuple of int
        Population within these minutes of each metropole.
    reference_min : int
        Threshold of the headline figures and of "newly within reach".
    transfer_min : float
        Minutes added to every car + train trip.
    communes_file : Path, optional
        National commune file (poles and map communes outside the territory).
    station_category : str
        Catalogue category of the stations (facility id = UIC code).
    title : str
        Title of the report section.
    scenario : str, optional
        Named scenario shown beside today in the report.
    map_margin_m : float
        Margin of the corridor map around the territory and the metropoles.
    """

    poles: tuple[Pole, ...]
    links: tuple[RailLink, ...] = ()
    scenarios: Mapping[str, RailScenario] = field(default_factory=dict)
    thresholds_min: tuple[int, ...] = (30, 45, 60, 90)
    reference_min: int = 60
    transfer_min: float = 10.0
    communes_file: Path | None = None
    station_category: str = "train_station"
    title: str = "Entre les métropoles"
    scenario: str | None = None
    map_margin_m: float = 15_000.0

    @property
    def metropoles(self) -> tuple[Pole, ...]:
        """The poles of role ``metropole``."""
        return tuple(p for p in self.poles if p.role == METROPOLE)

    @property
    def regional(self) -> tuple[Pole, ...]:
        """The poles of role ``regional``."""
        return tuple(p for p in self.poles if p.role == REGIONAL)

    def rail_poles(self, links: Iterable[RailLink] = ()) -> tuple[Pole, ...]:
        """Poles with car + train columns, in file order.

        Every metropole, and every other pole that a rail link reaches: a baseline link, a
        link of a named scenario or one of ``links`` (command-line edits). The baseline and the
        named scenarios thus write the same columns.
        """
        keys = {p.key for p in self.metropoles}
        keys |= {link.pole for link in self.links}
        for sc in self.scenarios.values():
            keys |= {link.pole for link in sc.links}
        keys |= {link.pole for link in links}
        return tuple(p for p in self.poles if p.key in keys)

    def pole(self, key: str) -> Pole:
        """The pole of a key.

        Raises
        ------
        DataError
            Unknown key.
        """
        for p in self.poles:
            if p.key == key:
                return p
        raise DataError(
            f"unknown pole {key!r}; poles: {format_values([p.key for p in self.poles])}"
        )

    @classmethod
    def from_config(cls, config: StudyConfig) -> MetroSpec | None:
        """The spec of a study, or None when its file declares no metropole.

        Raises
        ------
        ConfigError
            ``[metropolitan] scenario`` names no scenario of ``[scenarios]``.
        """
        poles = tuple(
            Pole(key, str(v["code"]), str(v["role"]), str(v["label_fr"]))
            for key, v in (config.raw.get("poles") or {}).items()
        )
        if not any(p.role == METROPOLE for p in poles):
            return None
        section = config.section("metropolitan")
        scenarios = {
            name: RailScenario(
                name=name,
                label=str(sc["label_fr"]),
                description=str(sc.get("description") or ""),
                stations=tuple(NewStation(**s) for s in sc["stations"]),
                links=tuple(RailLink(**link) for link in sc["rail_links"]),
            )
            for name, sc in (config.raw.get("scenarios") or {}).items()
        }
        shown = section.get("scenario")
        if shown is not None and shown not in scenarios:
            raise ConfigError(
                f"{config.path}: key 'metropolitan.scenario' names {shown!r}, not a scenario of "
                f"[scenarios] ({format_values(sorted(scenarios))})"
            )
        communes = section.get("communes")
        names = " et ".join(p.label for p in poles if p.role == METROPOLE)
        return cls(
            poles=poles,
            links=tuple(RailLink(**link) for link in config.raw.get("rail_links") or []),
            scenarios=scenarios,
            thresholds_min=tuple(int(t) for t in section["thresholds_min"]),
            reference_min=int(section["reference_min"]),
            transfer_min=float(section["transfer_min"]),
            communes_file=None if communes is None else config.data_dir / communes,
            station_category=str(section["station_category"]),
            title=str(section.get("title_fr") or f"{config.name} : accès à {names}"),
            scenario=shown,
            map_margin_m=float(section["map_margin_km"]) * 1000.0,
        )


def parse_rail_link(text: str) -> RailLink:
    """Read a ``STATION:POLE:MINUTES[:TRAINS]`` edit (``87586008:bordeaux:35``).

    Raises
    ------
    DataError
        A malformed edit (one line naming it).
    """
    m = _LINK_RE.match(text.strip())
    if not m:
        raise DataError(
            f"rail link {text!r}: expected STATION:POLE:MINUTES[:TRAINS], e.g. "
            "87586008:bordeaux:35 (UIC code of the station, pole key, minutes)"
        )
    minutes = float(m["minutes"])
    if not minutes > 0:
        raise DataError(f"rail link {text!r}: the minutes must be > 0")
    trains = int(m["trains"]) if m["trains"] else None
    return RailLink(uic_code(m["station"]), m["pole"], minutes, trains, source=COMMAND_LINE_SOURCE)


def check_rail_edits(
    edits: Iterable[RailLink], spec: MetroSpec, stations: Iterable[str]
) -> list[RailLink]:
    """Check rail link edits before any heavy work.

    Parameters
    ----------
    edits : iterable of RailLink
        The edits (command line or scenario).
    spec : MetroSpec
        The study's poles.
    stations : iterable of str
        Known station ids (UIC codes of the station file, ids of the scenario's new stations).

    Returns
    -------
    list of RailLink
        The edits.

    Raises
    ------
    DataError
        One line naming the edit: unknown station, unknown pole.
    """
    known = set(stations)
    out = list(edits)
    poles = [p.key for p in spec.poles]
    for e in out:
        if e.pole not in poles:
            raise DataError(
                f"rail link {e}: unknown pole {e.pole!r}; poles: {format_values(poles)}"
            )
        if e.station not in known:
            raise DataError(
                f"rail link {e}: unknown station {e.station!r} (UIC code of the station file or "
                f"a station of the scenario; {len(known)} known)"
            )
    return out


def apply_rail_edits(links: Sequence[RailLink], edits: Sequence[RailLink]) -> tuple[RailLink, ...]:
    """Links after edits: an edit replaces the link of the same station and pole, else is added."""
    out = {link.key: link for link in links}
    for e in edits:
        out[e.key] = e
    return tuple(out.values())


def scenario_edits(
    spec: MetroSpec, names: Sequence[str], extra: Sequence[RailLink] = ()
) -> tuple[tuple[NewStation, ...], tuple[RailLink, ...], str]:
    """New stations, link edits and French label of named scenarios plus command-line edits.

    Raises
    ------
    DataError
        An unknown scenario name.
    """
    stations: list[NewStation] = []
    links: list[RailLink] = []
    labels = []
    for name in names:
        if name not in spec.scenarios:
            raise DataError(
                f"unknown rail scenario {name!r}; scenarios: {format_values(sorted(spec.scenarios))}"
            )
        sc = spec.scenarios[name]
        stations += sc.stations
        links += sc.links
        labels.append(sc.label)
    if extra:
        labels.append(", ".join(map(str, extra)))
    return tuple(stations), (*links, *extra), " + ".join(labels)


def link_record(
    link: RailLink,
    names: Mapping[str, Any],
    poles: Mapping[str, str],
    transfer_min: float | None = None,
) -> dict:
    """A rail link as a row of ``rail_links.csv`` and of the report's table.

    Station name and UIC code, pole key and label, the train's minutes, trains per weekday,
    the transfer margin added to every car + train trip (``transfer_min``, None when not
    given), source, url, vintage and note.
    """
    return {
        "station": str(names.get(link.station, link.station)),
        "uic": link.station,
        "pole_key": link.pole,
        "pole": poles.get(link.pole, link.pole),
        "minutes": link.minutes,
        "trains_per_weekday": link.trains_per_weekday,
        "transfer_min": transfer_min,
        "source": link.source,
        "url": link.url,
        "vintage": link.vintage,
        "note": link.note,
    }
