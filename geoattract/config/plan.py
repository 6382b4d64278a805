"""The action plan of a study (``plan.toml``) and its catalogue of levers (``levers.toml``).

An **action** is one edit that ``geoattract scenario`` knows, with what the plan needs to
follow it up. ``plan.toml``::

    [plan]
    title_fr = "Plan d'action 2026-2030"
    description_fr = "…"

    [[actions]]
    id = "msp_casteljaloux"          # identifier: letters, digits, _
    label_fr = "Maison de santé de Casteljaloux : deux médecins"
    type = "add"                     # see ACTION_TYPES
    category = "gp"
    commune = "47052"
    capacity = 2
    cost_eur = 1_200_000
    owner = "Communauté de communes des Coteaux et Landes de Gascogne"
    target_date = "2027-09"          # YYYY, YYYY-MM or YYYY-MM-DD
    profiles = ["familles", "personnel_medical"]
    afom = { kind = "faiblesse", indicator = "time_gp_min" }

Action types and their parameters (as on the ``scenario`` command line):

============== ======================================================================
``add``        ``category``, ``commune``, ``capacity`` (default 1): ``--add CAT:CODE:N``
``remove``     ``category``, ``commune``, ``capacity`` (default all): ``--remove``
``rail_link``  ``station`` (UIC code), ``pole``, ``minutes``, ``trains``: ``--rail-link``
``rail_scenario`` ``scenario`` (a name of ``[scenarios]``): ``--rail-scenario``
``rail_stop``  ``commune``, ``links`` (``[{pole, minutes}]``; default: the links of the
               nearest station that has some): a new station, its drive times and trains
``fibre``      ``commune``, ``share_pct`` (default 100): the share of premises eligible
               to fibre (FttH) raised to it
============== ======================================================================

``access_min`` (optional) sets the time within which an inhabitant *gains access* for the
cost per inhabitant (default: the category's first threshold).

``levers.toml`` lists single actions tried at one commune by ``geoattract levers``, from the
smallest to the largest (the order is the study's judgement): the same keys without
``commune``, cost, owner, date, profiles or AFOM item.

:func:`parse_objective` reads the ``--objective`` of ``geoattract optimise``.

This module reads and validates the files (malformed TOML, an unknown key or action type, a
missing cost: one line naming the file and the key); :func:`check_actions` checks them
against the study (catalogue category, study commune, profile, indicator, station, pole,
scenario) before any routing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geoattract.config.metro import uic_code
from geoattract.config.schema import Field, load_toml, non_negative, positive, validate
from geoattract.errors import ConfigError, DataError, format_values

#: Action types, as ``geoattract scenario`` edits (see the module docstring).
ACTION_TYPES: tuple[str, ...] = (
    "add",
    "remove",
    "rail_link",
    "rail_scenario",
    "rail_stop",
    "fibre",
)

#: Kinds of AFOM items an action answers.
AFOM_KINDS: tuple[str, ...] = ("atout", "faiblesse", "opportunite", "menace")

#: Action types that take a commune.
COMMUNE_TYPES: tuple[str, ...] = ("add", "remove", "rail_stop", "fibre")

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_DATE_RE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_CODE_RE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")


#: Objective kinds.
OBJECTIVES: tuple[str, ...] = ("coverage", "apl", "time")

_OBJECTIVE_RE = re.compile(r"^(?P<kind>[a-z]+)(?::(?P<value>[0-9]+(?:\.[0-9]+)?))?$")


@dataclass(frozen=True)
class Objective:
    """What the new sites should maximise.

    Attributes
    ----------
    kind : {"coverage", "apl", "time"}
    minutes : float, optional
        ``coverage``: the time limit.
    target : float, optional
        ``apl``: the level up to which a commune's gain counts (None: the weighted mean today).
    """

    kind: str
    minutes: float | None = None
    target: float | None = None

    def __str__(self) -> str:
        """As on the command line (``coverage:10``, ``apl``, ``time``)."""
        if self.kind == "coverage":
            return f"coverage:{self.minutes:g}"
        if self.kind == "apl" and self.target is not None:
            return f"apl:{self.target:g}"
        return self.kind


def parse_objective(text: str) -> Objective:
    """Read ``coverage:MIN``, ``apl[:TARGET]`` or ``time``.

    Raises
    ------
    DataError
        A malformed objective (one line naming it and the accepted forms).
    """
    m = _OBJECTIVE_RE.match(str(text).strip())
    forms = "coverage:MIN (e.g. coverage:10), apl, apl:TARGET or time"
    if not m or m["kind"] not in OBJECTIVES:
        raise DataError(f"--objective {text!r}: expected {forms}")
    kind, value = m["kind"], m["value"]
    if kind == "coverage":
        if value is None or not float(value) > 0:
            raise DataError(f"--objective {text!r}: coverage needs a time limit > 0 in minutes")
        return Objective("coverage", minutes=float(value))
    if kind == "time" and value is not None:
        raise DataError(f"--objective {text!r}: time takes no value; expected {forms}")
    if kind == "apl":
        if value is not None and not float(value) > 0:
            raise DataError(f"--objective {text!r}: the APL target must be > 0")
        return Objective("apl", target=None if value is None else float(value))
    return Objective(kind)


def _identifier(v: str) -> str | None:
    return None if _ID_RE.match(v) else "must be an identifier (lower-case letters, digits, _)"


def _date(v: str) -> str | None:
    return None if _DATE_RE.match(v) else "must be a date YYYY, YYYY-MM or YYYY-MM-DD"


def _code(v: str) -> str | None:
    return None if _CODE_RE.match(v) else "must be a 5-character INSEE commune code"


def _links(v: list) -> str | None:
    for i, link in enumerate(v):
        if not isinstance(link, Mapping) or set(link) != {"pole", "minutes"}:
            return f"item {i} must be a table {{ pole = KEY, minutes = N }}"
        m = link["minutes"]
        if isinstance(m, bool) or not isinstance(m, int | float) or not m > 0:
            return f"item {i}: minutes must be a number > 0"
    return None


#: Keys of every type, for each action type (besides the common keys).
TYPE_SCHEMAS: dict[str, dict[str, Field]] = {
    "add": {
        "category": Field(str, doc="catalogue category"),
        "commune": Field(str, check=_code, doc="INSEE code of a study commune"),
        "capacity": Field(float, required=False, default=1.0, check=positive),
    },
    "remove": {
        "category": Field(str, doc="catalogue category"),
        "commune": Field(str, check=_code, doc="INSEE code of a study commune"),
        "capacity": Field(float, required=False, default=None, check=positive),
    },
    "rail_link": {
        "station": Field(str, doc="UIC code of a station of the station file"),
        "pole": Field(str, doc="key of a pole of [poles]"),
        "minutes": Field(float, check=positive, doc="fastest direct train"),
        "trains": Field(int, required=False, default=None, check=positive),
    },
    "rail_scenario": {
        "scenario": Field(str, doc="a named scenario of [scenarios] of the study file"),
    },
    "rail_stop": {
        "commune": Field(str, check=_code, doc="INSEE code of a study commune"),
        "links": Field(
            list,
            required=False,
            default=None,
            check=_links,
            doc="[{pole, minutes}]; default the links of the nearest station that has some",
        ),
    },
    "fibre": {
        "commune": Field(str, check=_code, doc="INSEE code of a study commune"),
        "share_pct": Field(
            float,
            required=False,
            default=100.0,
            check=lambda v: None if 0 < v <= 100 else "must be in (0, 100]",
        ),
    },
}

#: Keys common to every action of a plan.
ACTION_SCHEMA: dict[str, Field] = {
    "id": Field(str, check=_identifier),
    "label_fr": Field(str, doc="French name of the action"),
    "type": Field(str, choices=ACTION_TYPES),
    "cost_eur": Field(float, check=non_negative, doc="total cost in euros"),
    "owner": Field(str, doc="who carries the action (maître d'ouvrage)"),
    "target_date": Field(str, check=_date, doc="YYYY, YYYY-MM or YYYY-MM-DD"),
    "profiles": Field(list, items=str, check=lambda v: None if v else "must not be empty"),
    "afom": Field(
        dict,
        schema={
            "kind": Field(str, choices=AFOM_KINDS),
            "indicator": Field(str, doc="a scored indicator of scoring.toml"),
        },
        doc="the AFOM item the action answers: { kind, indicator }",
    ),
    "access_min": Field(float, required=False, default=None, check=positive),
}

#: Keys of a lever of ``levers.toml`` (besides the type's, without ``commune``).
LEVER_SCHEMA: dict[str, Field] = {
    "id": Field(str, check=_identifier),
    "label_fr": Field(str, doc="French name of the action"),
    "type": Field(str, choices=ACTION_TYPES),
    "access_min": Field(float, required=False, default=None, check=positive),
}

#: Keys of ``[plan]``.
PLAN_SCHEMA: dict[str, Field] = {
    "title_fr": Field(str),
    "description_fr": Field(str, required=False, default=""),
}


@dataclass(frozen=True)
class Action:
    """One action of a plan or of the lever catalogue.

    Attributes
    ----------
    id, label, type : str
    params : dict
        The type's keys (:data:`TYPE_SCHEMAS`), validated.
    cost_eur : float, optional
    owner, target_date : str
    profiles : tuple of str
        Profiles the action targets.
    afom : dict, optional
        ``{"kind", "indicator"}``: the AFOM item it answers.
    access_min : float, optional
        Time within which an inhabitant gains access (default: the category's first threshold).
    """

    id: str
    label: str
    type: str
    params: Mapping[str, Any] = field(default_factory=dict)
    cost_eur: float | None = None
    owner: str = ""
    target_date: str = ""
    profiles: tuple[str, ...] = ()
    afom: Mapping[str, str] | None = None
    access_min: float | None = None

    @property
    def commune(self) -> str | None:
        """The commune of the action (None for rail links and named rail scenarios)."""
        return self.params.get("commune")

    def at(self, commune: str) -> Action:
        """The same action (a lever) placed at ``commune``."""
        from dataclasses import replace

        return replace(self, params={**self.params, "commune": commune})

    def __str__(self) -> str:
        """Short form: ``id (type key=value…)``."""
        args = " ".join(f"{k}={v}" for k, v in self.params.items() if v is not None)
        return f"{self.id} ({self.type} {args})".strip()


@dataclass(frozen=True)
class Plan:
    """An action plan: title, description, actions and the file it came from."""

    title: str
    description: str
    actions: tuple[Action, ...]
    path: Path | None = None


def _action(doc: Mapping[str, Any], src: Path, prefix: str, schema: Mapping[str, Field]) -> Action:
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{src}: {prefix.rstrip('.')} must be a table")
    kind = doc.get("type")
    if kind not in ACTION_TYPES:
        raise ConfigError(
            f"{src}: key '{prefix}type' must be one of {list(ACTION_TYPES)}, got {kind!r}"
        )
    specific = dict(TYPE_SCHEMAS[kind])
    if schema is LEVER_SCHEMA:
        specific.pop("commune", None)
    v = validate(doc, {**schema, **specific}, src, prefix=prefix)
    params = {k: v[k] for k in specific}
    if kind == "rail_link":
        params["station"] = uic_code(params["station"])  # the one rule of UIC codes
    return Action(
        id=v["id"],
        label=v["label_fr"],
        type=kind,
        params=params,
        cost_eur=v.get("cost_eur"),
        owner=v.get("owner") or "",
        target_date=v.get("target_date") or "",
        profiles=tuple(v.get("profiles") or ()),
        afom=v.get("afom"),
        access_min=v.get("access_min"),
    )


def _unique_ids(actions: Sequence[Action], src: Path, what: str) -> None:
    seen: set[str] = set()
    dup = [a.id for a in actions if a.id in seen or seen.add(a.id)]  # type: ignore[func-returns-value]
    if dup:
        raise ConfigError(f"{src}: duplicate {what} id(s) {format_values(dup)}")


def load_plan(path: str | os.PathLike) -> Plan:
    """Read and validate ``plan.toml``.

    Raises
    ------
    ConfigError
        Malformed TOML, an unknown or missing key (a cost, an owner…), an unknown action type,
        a value of the wrong type, no action, a duplicate id: one line naming the file and key.
    DataNotFoundError
        The file does not exist.
    """
    src = Path(path)
    doc = load_toml(src)
    unknown = sorted(set(doc) - {"plan", "actions"})
    if unknown:
        raise ConfigError(
            f"{src}: unknown table(s) {format_values(unknown)}; expected [plan], [[actions]]"
        )
    head = validate(doc.get("plan") or {}, PLAN_SCHEMA, src, prefix="plan.")
    items = doc.get("actions")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{src}: no [[actions]]; a plan lists at least one action")
    actions = tuple(_action(a, src, f"actions[{i}].", ACTION_SCHEMA) for i, a in enumerate(items))
    _unique_ids(actions, src, "action")
    return Plan(head["title_fr"], head["description_fr"], actions, src)


def load_levers(path: str | os.PathLike) -> tuple[Action, ...]:
    """Read and validate the lever catalogue (``[[levers]]``), in file order.

    Raises
    ------
    ConfigError
        As :func:`load_plan`.
    """
    src = Path(path)
    doc = load_toml(src)
    unknown = sorted(set(doc) - {"levers"})
    if unknown:
        raise ConfigError(f"{src}: unknown table(s) {format_values(unknown)}; expected [[levers]]")
    items = doc.get("levers")
    if not isinstance(items, list) or not items:
        raise ConfigError(f"{src}: no [[levers]]; the catalogue lists at least one action")
    levers = tuple(_action(a, src, f"levers[{i}].", LEVER_SCHEMA) for i, a in enumerate(items))
    _unique_ids(levers, src, "lever")
    return levers


@dataclass(frozen=True)
class StudyFacts:
    """What :func:`check_actions` checks actions against (cheap to gather: no routing)."""

    categories: Sequence[str]
    communes: Iterable[str]
    profiles: Sequence[str] = ()
    indicators: Sequence[str] = ()
    stations: Iterable[str] = ()
    poles: Sequence[str] = ()
    scenarios: Sequence[str] = ()
    fibre_column: str | None = None


def check_actions(actions: Sequence[Action], facts: StudyFacts, source: str | os.PathLike) -> None:
    """Check actions against the study before any routing.

    Raises
    ------
    ConfigError
        One line naming the file, the action and the value: an unknown category, a commune
        outside the study, an unknown profile, indicator, station, pole or rail scenario, a
        rail action in a study without metropole, fibre without a broadband table, nothing to
        remove is checked later (it needs the facility table).
    """
    communes = set(facts.communes)
    stations = set(facts.stations)
    for a in actions:
        where = f"{source}: action {a.id!r}"
        p = a.params
        if a.type in ("add", "remove") and p["category"] not in facts.categories:
            raise ConfigError(
                f"{where}: unknown category {p['category']!r}; known: "
                f"{format_values(facts.categories, 40)}"
            )
        if a.type in COMMUNE_TYPES and p.get("commune") not in communes:
            raise ConfigError(
                f"{where}: commune {p.get('commune')!r} is not a commune of the study "
                f"({len(communes)} communes)"
            )
        bad = [x for x in a.profiles if x not in facts.profiles]
        if bad:
            raise ConfigError(
                f"{where}: unknown profile(s) {format_values(bad)}; profiles: "
                f"{format_values(facts.profiles)}"
            )
        if a.afom is not None and a.afom["indicator"] not in facts.indicators:
            raise ConfigError(
                f"{where}: afom.indicator {a.afom['indicator']!r} is not a scored indicator "
                f"of scoring.toml"
            )
        if a.type in ("rail_link", "rail_scenario", "rail_stop") and not facts.poles:
            raise ConfigError(
                f"{where}: a rail action, but the study declares no metropole ([poles])"
            )
        if a.type == "rail_link":
            if p["pole"] not in facts.poles:
                raise ConfigError(
                    f"{where}: unknown pole {p['pole']!r}; poles: {format_values(facts.poles)}"
                )
            if p["station"] not in stations:
                raise ConfigError(
                    f"{where}: unknown station {p['station']!r} (UIC code of the station file, "
                    f"{len(stations)} known)"
                )
        if a.type == "rail_scenario" and p["scenario"] not in facts.scenarios:
            raise ConfigError(
                f"{where}: unknown rail scenario {p['scenario']!r}; scenarios: "
                f"{format_values(facts.scenarios)}"
            )
        if a.type == "rail_stop":
            bad_poles = [lk["pole"] for lk in p.get("links") or [] if lk["pole"] not in facts.poles]
            if bad_poles:
                raise ConfigError(
                    f"{where}: unknown pole(s) {format_values(bad_poles)}; poles: "
                    f"{format_values(facts.poles)}"
                )
        if a.type == "fibre" and facts.fibre_column is None:
            raise ConfigError(
                f"{where}: fibre, but the study has no broadband table ([connectivity])"
            )
