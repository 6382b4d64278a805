"""French labels and units of profiles, pillars, indicators, facility categories and columns.

One :class:`Labels` object, built from the study's TOML files (the ``label_fr`` keys of the
scoring configuration, the facility catalogue and the indicator registry), is passed to every
map, static map and report function: a label is written once, in the configuration.

Column names follow fixed patterns (``score_<profile>``, ``rank_<profile>``,
``pillar_<pillar>``, ``pillar_<pillar>_<profile>``, ``time_<category>_min``,
``count_<category>_<t>min``, ``e2sfca_<category>``…); :meth:`Labels.column` resolves them
against the configured names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from geoattract.errors import DataError, format_values
from geoattract.outputs.html import fr_number

#: Column-name endings that mark derived columns, never a profile or pillar of their own
#: (Monte Carlo summaries, before/after differences).
DERIVED_SUFFIXES: tuple[str, ...] = ("_p05", "_median", "_p95", "_change", "_before", "_after")

#: French wording of the Monte Carlo summaries of a score or rank column.
SUMMARY_LABELS: dict[str, str] = {
    "p05": "5e centile des tirages",
    "median": "médiane des tirages",
    "p95": "95e centile des tirages",
}

#: French plural of the capacity units of the catalogue (``capacity`` key); ``count`` counts
#: facilities. An unknown unit is shown as written in the catalogue.
CAPACITY_UNITS_FR: dict[str, str] = {
    "count": "équipements",
    "births": "accouchements",
    "seats": "fauteuils",
    "charging_points": "points de charge",
    "beds": "lits",
    "pupils": "élèves",
}

#: Appended to the label of a count whose source carries a vintage factor (not whole numbers).
ESTIMATED_COUNT_FR: str = (
    " (nombre estimé : équipements d'un millésime plus ancien comptés pour le facteur de "
    "correction de millésime, voir la méthode)"
)

_SCORE_RE = re.compile(r"^score_(?P<name>.+)$")
_PILLAR_RE = re.compile(r"^pillar_(?P<name>.+)$")


def _numeric(df: pd.DataFrame, column: str) -> bool:
    return pd.api.types.is_numeric_dtype(df[column]) and not pd.api.types.is_bool_dtype(df[column])


def _named_columns(
    communes: pd.DataFrame, pattern: re.Pattern[str], excluded: tuple[str, ...]
) -> list[str]:
    """The ``name`` group of every numeric column matching ``pattern``, in column order.

    Parameters
    ----------
    communes : DataFrame
        Scored communes.
    pattern : re.Pattern
        Column pattern with a ``name`` group.
    excluded : tuple of str
        Columns ending with one of these suffixes are left out.

    Returns
    -------
    list of str
        The names, in column order.
    """
    out: list[str] = []
    for col in communes.columns:
        m = pattern.match(str(col))
        if m and not str(col).endswith(excluded) and _numeric(communes, col):
            out.append(m["name"])
    return out


def detect_profiles(communes: pd.DataFrame) -> list[str]:
    """Profiles present in ``communes``: the ``<name>`` of every numeric ``score_<name>`` column.

    Derived columns (``score_<profile>_p05``, ``_median``, ``_p95``… see
    :data:`DERIVED_SUFFIXES`) are not profiles.

    Parameters
    ----------
    communes : DataFrame
        Scored communes.

    Returns
    -------
    list of str
        In column order.
    """
    return _named_columns(communes, _SCORE_RE, DERIVED_SUFFIXES)


def detect_pillars(communes: pd.DataFrame) -> list[str]:
    """Pillars present in ``communes``: the ``<name>`` of every numeric ``pillar_<name>`` column.

    Per-profile copies ``pillar_<pillar>_<profile>`` (for a detected profile) and derived
    columns (:data:`DERIVED_SUFFIXES`) are left out: the maps show the reference pillar scores.

    Parameters
    ----------
    communes : DataFrame
        Scored communes.

    Returns
    -------
    list of str
        In column order.
    """
    profiles = tuple(f"_{p}" for p in detect_profiles(communes))
    return _named_columns(communes, _PILLAR_RE, DERIVED_SUFFIXES + profiles)


def map_columns(communes: pd.DataFrame, columns: Sequence[str] | None = None) -> list[str]:
    """Columns to map: ``columns`` checked, default every ``score_<profile>`` then pillar.

    Parameters
    ----------
    communes : DataFrame
        Scored communes.
    columns : sequence of str, optional
        Requested columns.

    Returns
    -------
    list of str

    Raises
    ------
    DataError
        No score or pillar column, or a requested column is missing.
    """
    if columns is None:
        columns = [f"score_{p}" for p in detect_profiles(communes)]
        columns += [f"pillar_{p}" for p in detect_pillars(communes)]
    columns = list(columns)
    if not columns:
        raise DataError(
            f"communes: no score_<profile> or pillar_<pillar> column; available: "
            f"{format_values(communes.columns, limit=40)}"
        )
    missing = [c for c in columns if c not in communes.columns]
    if missing:
        raise DataError(
            f"communes: missing column(s) {format_values(missing)}; available: "
            f"{format_values(communes.columns, limit=40)}"
        )
    return columns


def humanise(name: str) -> str:
    """Fallback label of an unconfigured name: ``new_thing`` → ``New thing``."""
    return name.replace("_", " ").capitalize()


def capitalise(text: str) -> str:
    """First letter upper case, the rest untouched (``temps d'accès`` → ``Temps d'accès``)."""
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class IndicatorLabel:
    """Label and provenance of one indicator column.

    Attributes
    ----------
    label : str
        French label, capitalised.
    unit : str
        Unit as written in the configuration (may be empty).
    pillar : str
        Pillar the indicator belongs to (may be empty).
    source : str
        Source file or table (may be empty).
    vintage : str
        Vintage of the source (may be empty).
    higher_is_better : bool or None
        Direction of the indicator in the scoring configuration (None: not scored).
    """

    label: str
    unit: str = ""
    pillar: str = ""
    source: str = ""
    vintage: str = ""
    higher_is_better: bool | None = None


@dataclass(frozen=True)
class CategoryLabel:
    """Label, capacity unit and accessibility settings of one facility category.

    Attributes
    ----------
    label : str
        French label (``label_fr`` of the catalogue).
    capacity : str
        Capacity token of the catalogue (``count``, ``seats``, ``births``…).
    pillar : str
        Pillar of the category.
    thresholds_min : tuple of int
        Count thresholds, minutes.
    covers_buffer : bool
        Whether the sources cover the buffer zone (false: the offer outside the study
        département is unknown).
    decay : dict
        The decay table as written in the catalogue.
    source : str
        The file sources, described.
    catchment : dict
        The catchment spec (``CatchmentSpec.to_dict()``: ``method``, options); empty for
        the plain E2SFCA.
    estimated : bool
        Whether a source carries a vintage adjustment (``adjust``): its facilities count for
        a factor, so the counts are estimates, not whole numbers.
    """

    label: str
    capacity: str = "count"
    pillar: str = ""
    thresholds_min: tuple[int, ...] = ()
    covers_buffer: bool = True
    decay: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    catchment: Mapping[str, Any] = field(default_factory=dict)
    estimated: bool = False

    @property
    def method_name(self) -> str:
        """``APL`` for the DREES method, else ``E2SFCA``."""
        return "APL" if self.catchment.get("method") == "apl" else "E2SFCA"

    @property
    def unit(self) -> str:
        """French plural of the capacity unit (``équipements``, ``fauteuils``…)."""
        return CAPACITY_UNITS_FR.get(self.capacity, self.capacity)


@dataclass(frozen=True)
class Labels:
    """French labels of everything a study output names.

    Build it with :meth:`from_configs`; an empty ``Labels()`` labels every name from the name
    itself (``new_thing`` → ``New thing``).

    Attributes
    ----------
    profiles : dict
        Profile name → label (``[profiles.<name>] label_fr`` of the scoring configuration).
    pillars : dict
        Pillar name → label (``[pillars] <name>.label_fr``).
    indicators : dict
        Indicator column → :class:`IndicatorLabel` (indicator registry, then the scoring
        configuration's ``[indicators]``).
    categories : dict
        Facility category id → :class:`CategoryLabel` (facility catalogue).
    """

    profiles: Mapping[str, str] = field(default_factory=dict)
    pillars: Mapping[str, str] = field(default_factory=dict)
    indicators: Mapping[str, IndicatorLabel] = field(default_factory=dict)
    categories: Mapping[str, CategoryLabel] = field(default_factory=dict)

    @classmethod
    def from_configs(
        cls,
        scoring_config: Any = None,
        catalogue: Any = None,
        registry: Iterable[Any] | None = None,
    ) -> Labels:
        """Labels read from the study's configuration objects.

        Parameters
        ----------
        scoring_config : geoattract.scoring.core.ScoringConfig, optional
            Its ``profiles``, ``pillars`` and ``indicators`` tables (``label_fr``, ``unit``,
            ``pillar`` keys).
        catalogue : geoattract.facilities.catalogue.Catalogue, optional
            Iterable of categories with ``id``, ``label_fr``, ``capacity``, ``pillar``,
            ``thresholds_min``, ``covers_buffer``, ``decay_spec`` and ``sources``.
        registry : iterable of geoattract.transition.indicators.Indicator, optional
            Registry entries with ``output_column``, ``label_fr``, ``unit``, ``pillar``,
            ``source`` and ``vintage``.

        Returns
        -------
        Labels
        """
        profiles: dict[str, str] = {}
        pillars: dict[str, str] = {}
        indicators: dict[str, IndicatorLabel] = {}
        if scoring_config is not None:
            profiles = {k: str(v["label_fr"]) for k, v in scoring_config.profiles.items()}
            pillars = {k: str(v["label_fr"]) for k, v in scoring_config.pillars.items()}
            for col, spec in scoring_config.indicators.items():
                indicators[col] = IndicatorLabel(
                    capitalise(str(spec["label_fr"])),
                    unit=str(spec.get("unit") or ""),
                    pillar=str(spec.get("pillar") or ""),
                    higher_is_better=_higher_is_better(spec.get("direction")),
                )
        for ind in registry or ():
            scored = indicators.get(ind.output_column)
            indicators[ind.output_column] = IndicatorLabel(
                capitalise(str(ind.label_fr)),
                unit=str(ind.unit or ""),
                pillar=str(ind.pillar),
                source=str(ind.source),
                vintage=str(ind.vintage or ""),
                higher_is_better=scored.higher_is_better if scored is not None else None,
            )
        categories = {c.id: _category_label(c) for c in (catalogue or ())}
        return cls(profiles, pillars, indicators, categories)

    def profile(self, name: str) -> str:
        """Label of a profile."""
        return self.profiles.get(name) or humanise(name)

    def pillar(self, name: str) -> str:
        """Label of a pillar."""
        return self.pillars.get(name) or humanise(name)

    def category(self, cid: str) -> str:
        """Label of a facility category."""
        cat = self.categories.get(cid)
        return cat.label if cat is not None else humanise(cid)

    def category_unit(self, cid: str) -> str:
        """French plural of a category's capacity unit (``équipements`` when unknown)."""
        cat = self.categories.get(cid)
        return cat.unit if cat is not None else CAPACITY_UNITS_FR["count"]

    def indicator(self, column: str) -> str:
        """Label of an indicator column (configured, else built from the name)."""
        ind = self.indicators.get(column)
        return ind.label if ind is not None else humanise(column)

    def column(self, column: str) -> str:
        """French label of any column of the ``communes`` layer.

        ``score_familles`` → ``Score — Familles avec enfants``; ``pillar_health`` →
        ``Pilier — Santé``; ``time_gp_min`` → ``Temps d'accès — Médecin généraliste``…
        Unknown columns get a label built from their name.
        """
        for resolve in (self._scoring_column, self._category_column):
            label = resolve(column)
            if label:
                return label
        if column in self.indicators:
            return self.indicators[column].label
        if column.endswith("_missing") and column.removesuffix("_missing") in self.indicators:
            return f"{self.indicators[column.removesuffix('_missing')].label} : donnée manquante"
        return humanise(column)

    def _scoring_column(self, column: str) -> str:
        """Label of a score, rank or pillar column, or ``""``."""
        for prefix, word in (("score_", "Score"), ("rank_", "Rang")):
            if not column.startswith(prefix):
                continue
            name = column.removeprefix(prefix)
            for key, text in SUMMARY_LABELS.items():
                if name.endswith(f"_{key}") and name.removesuffix(f"_{key}") in self.profiles:
                    return f"{word} — {self.profile(name.removesuffix(f'_{key}'))} ({text})"
            if name in self.profiles or not self.profiles:
                return f"{word} — {self.profile(name)}"
        if column.startswith("pillar_"):
            name = column.removeprefix("pillar_")
            for p in self.profiles:
                if name.endswith(f"_{p}") and name.removesuffix(f"_{p}") in self.pillars:
                    pillar = self.pillar(name.removesuffix(f"_{p}"))
                    return f"Pilier — {pillar} (profil {self.profile(p)})"
            return f"Pilier — {self.pillar(name)}"
        return ""

    def _category_column(self, column: str) -> str:
        """Label of an accessibility column of a facility category, or ``""``."""
        for cid, cat in self.categories.items():
            if column == f"time_{cid}_min":
                return f"Temps d'accès — {cat.label}"
            if column == f"unreachable_{cid}":
                return f"{cat.label} : inaccessible par le réseau"
            if column == f"e2sfca_{cid}":
                return f"Accessibilité potentielle ({cat.method_name}) — {cat.label}"
            if column == f"outside_share_{cid}":
                return f"{cat.label} : part de l'offre hors département"
            if column == f"outside_unknown_{cid}":
                return f"{cat.label} : offre hors département inconnue"
            m = re.fullmatch(rf"count_{re.escape(cid)}_(\d+)min", column)
            if m:
                unit = "" if cat.capacity == "count" else " (sites)"
                return f"{cat.label} à moins de {m[1]} min{unit}" + (
                    ESTIMATED_COUNT_FR if cat.estimated and cat.capacity == "count" else ""
                )
        return ""

    def higher_is_better(self, column: str) -> bool | None:
        """Whether a column is better high: the one fact every map's palette follows.

        Scores and pillars are better high (normalised so that 100 is the most favourable),
        ranks better low (1 = the best); an indicator follows its ``direction`` in the
        scoring configuration. None for any other column (no direction known).
        """
        if column.startswith(("score_", "pillar_")):
            return True
        if column.startswith("rank_"):
            return False
        ind = self.indicators.get(column)
        return ind.higher_is_better if ind is not None else None

    def unit(self, column: str) -> str:
        """Return the unit of a column (``min``, ``0–100``, ``%``…), ``""`` when it has none."""
        if column.startswith(("score_", "pillar_")):
            return "0–100"
        if column.startswith("rank_"):
            return "rang"
        for cid, cat in self.categories.items():
            if column == f"time_{cid}_min":
                return "min"
            if re.fullmatch(rf"count_{re.escape(cid)}_\d+min", column):
                return cat.unit if cat.capacity == "count" else "sites"
            if column == f"e2sfca_{cid}":
                return f"{cat.unit} pour 100 000 hab."
            if column == f"outside_share_{cid}":
                return "part (0–1)"
        ind = self.indicators.get(column)
        return ind.unit if ind is not None else ""


def _higher_is_better(direction: Any) -> bool | None:
    """``higher_is_better`` → True, ``lower_is_better`` → False, anything else None."""
    return {"higher_is_better": True, "lower_is_better": False}.get(str(direction))


def _category_label(cat: Any) -> CategoryLabel:
    sources = [s for s in getattr(cat, "sources", ()) if getattr(s, "type", "") != "osm"]
    return CategoryLabel(
        label=str(cat.label_fr),
        capacity=str(getattr(cat, "capacity", "count")),
        pillar=str(getattr(cat, "pillar", "")),
        thresholds_min=tuple(int(t) for t in getattr(cat, "thresholds_min", ())),
        covers_buffer=bool(getattr(cat, "covers_buffer", True)),
        decay=dict(getattr(cat, "decay_spec", {}) or {}),
        source=" ; ".join(s.describe() for s in sources),
        catchment=_catchment_dict(cat),
        estimated=any(getattr(s, "adjust", None) is not None for s in sources),
    )


def _catchment_dict(cat: Any) -> dict[str, Any]:
    spec = getattr(cat, "catchment", None)
    return dict(spec.to_dict()) if spec is not None and hasattr(spec, "to_dict") else {}


def decay_text(spec: Mapping[str, Any]) -> str:
    """French description of a decay table of the catalogue (``{type="step", …}``).

    Parameters
    ----------
    spec : mapping
        ``type`` (``step``, ``apl``, ``flat``, ``linear``, ``gaussian``) and its parameters.

    Returns
    -------
    str
        For example ``paliers ≤ 10 min : 1 ; ≤ 20 min : 0,68 ; ≤ 30 min : 0,22``.
    """
    kind = str(spec.get("type", "apl"))
    if kind == "apl":
        return "APL de la DREES (1 jusqu'à 10 min, 2/3 jusqu'à 15 min, 1/3 jusqu'à 20 min)"
    if kind == "step":
        steps = zip(spec.get("breaks_min", []), spec.get("weights", []), strict=False)
        return "paliers " + " ; ".join(
            f"≤ {fr_number(b)} min : {fr_number(w, 2).rstrip('0').rstrip(',')}" for b, w in steps
        )
    catchment = fr_number(spec.get("catchment_min"))
    if kind == "flat":
        return f"constante jusqu'à {catchment} min"
    if kind == "linear":
        return f"linéaire jusqu'à 0 à {catchment} min"
    if kind == "gaussian":
        return f"gaussienne (σ = {fr_number(spec.get('sigma_min'))} min) jusqu'à {catchment} min"
    return kind
