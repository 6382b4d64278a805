"""Catchment method of a catalogue category: the plain E2SFCA or the DREES APL conventions.

A category's ``catchment`` table (``facilities.toml``) says how its floating-catchment
indicator (``e2sfca_<id>``) is computed::

    catchment = { method = "apl", age_weights = { under_25 = 0.8, "25_64" = 1.0, "65_plus" = 2.5 },
                  extra_supply = [{ category = "health_centre", per_unit = 1.76 }],
                  time_error = 0.15, smoothing = false,
                  sensitivity = ["same_commune", "age", "smoothing", "extra_supply", "buffer_supply"] }

``method = "apl"`` carries the conventions of the DREES *accessibilité potentielle localisée*
(Barlet et al. 2012; DREES APL method page): a commune's own facilities are at time 0
(``same_commune``), the DREES bands (the category's decay must be ``{type = "apl"}``), and the
demand standardised by age (``age_weights``: relative consumption per age band of the
catalogue's ``[age_structure]`` table). Every choice is a value of this table; the method
itself lives in :mod:`geoattract.accessibility.apl`. This module only validates the table
into a :class:`CatchmentSpec`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from geoattract.config.schema import Field, non_negative, positive, validate
from geoattract.errors import ConfigError

#: Catchment methods a category can use.
CATCHMENT_METHODS: tuple[str, ...] = ("e2sfca", "apl")

#: Models of the relative travel-time error the band weights can be averaged over.
TIME_ERROR_MODELS: tuple[str, ...] = ("lognormal", "uniform")

#: Choices a sensitivity variant can switch (each variant flips one of them).
SENSITIVITY_VARIANTS: tuple[str, ...] = (
    "same_commune",
    "age",
    "smoothing",
    "extra_supply",
    "buffer_supply",
)

#: Largest relative time error accepted (the uniform model's half-width is twice the error and
#: must stay below 1, or the lower bound of the true time would be negative).
MAX_TIME_ERROR: float = 0.5


def _positive_weights(v: Mapping) -> str | None:
    bad = {k: w for k, w in v.items() if isinstance(w, bool) or not isinstance(w, int | float)}
    if bad or any(float(w) <= 0 for w in v.values()):
        return "must map each age band to a number > 0"
    return None


def _time_error(v: float) -> str | None:
    if not 0 <= v < MAX_TIME_ERROR:
        return f"must be in [0, {MAX_TIME_ERROR})"
    return None


def _variants(v: list) -> str | None:
    unknown = [x for x in v if x not in SENSITIVITY_VARIANTS]
    return (
        f"has unknown variant(s) {unknown}; expected {list(SENSITIVITY_VARIANTS)}"
        if unknown
        else None
    )


#: Schema of one ``extra_supply`` entry.
EXTRA_SUPPLY_SCHEMA: dict[str, Field] = {
    "category": Field(str, doc="catalogue category whose facilities add to the supply"),
    "per_unit": Field(float, check=positive, doc="supply units per unit of its capacity"),
}

#: Schema of a category's ``catchment`` table.
CATCHMENT_SCHEMA: dict[str, Field] = {
    "method": Field(str, required=False, default="e2sfca", choices=CATCHMENT_METHODS),
    "same_commune": Field(
        bool,
        required=False,
        default=None,
        doc="a commune's own facilities at same_commune_min (default: true for apl)",
    ),
    "same_commune_min": Field(float, required=False, default=0.0, check=non_negative),
    "age_weights": Field(
        dict,
        required=False,
        default={},
        check=_positive_weights,
        doc="relative consumption per age band of [age_structure]; empty: no standardisation",
    ),
    "extra_supply": Field(list, items=dict, required=False, default=[]),
    "smoothing": Field(
        bool, required=False, default=False, doc="average the band weights over time_error"
    ),
    "time_error": Field(
        float,
        required=False,
        default=0.0,
        check=_time_error,
        doc="median absolute relative error of the travel times",
    ),
    "time_error_model": Field(str, required=False, default="lognormal", choices=TIME_ERROR_MODELS),
    "buffer_supply": Field(
        bool, required=False, default=True, doc="count the supply outside the study area"
    ),
    "sensitivity": Field(list, items=str, required=False, default=[], check=_variants),
}


@dataclass(frozen=True)
class ExtraSupply:
    """Facilities of another category counted as supply (health centres as GP capacity).

    Attributes
    ----------
    category : str
        Catalogue category of the facilities.
    per_unit : float
        Supply units (GPs…) per unit of their capacity (one centre = ``per_unit`` GPs).
    """

    category: str
    per_unit: float


@dataclass(frozen=True)
class CatchmentSpec:
    """How a category's floating-catchment indicator is computed.

    Attributes
    ----------
    method : str
        ``"e2sfca"`` (plain enhanced 2SFCA) or ``"apl"`` (DREES conventions).
    same_commune : bool
        A commune's own facilities are at ``same_commune_min`` instead of the routed time.
    same_commune_min : float
        Time of the same-commune pairs (0 in the APL).
    age_weights : dict
        Age band → relative consumption; empty means the plain population.
    extra_supply : tuple of ExtraSupply
        Other categories counted as supply.
    smoothing : bool
        Average the band weights over the relative time error.
    time_error : float
        Median absolute relative error of the travel times.
    time_error_model : str
        ``"lognormal"`` or ``"uniform"``.
    buffer_supply : bool
        Count the supply outside the study area (when the offer has it).
    sensitivity : tuple of str
        Variants of :data:`SENSITIVITY_VARIANTS` the accessibility stage computes.
    """

    method: str = "e2sfca"
    same_commune: bool = False
    same_commune_min: float = 0.0
    age_weights: Mapping[str, float] = field(default_factory=dict)
    extra_supply: tuple[ExtraSupply, ...] = ()
    smoothing: bool = False
    time_error: float = 0.0
    time_error_model: str = "lognormal"
    buffer_supply: bool = True
    sensitivity: tuple[str, ...] = ()

    @property
    def age_standardised(self) -> bool:
        """Whether the demand is standardised by age."""
        return bool(self.age_weights)

    @property
    def smoothed(self) -> bool:
        """Whether the band weights are averaged over a non-zero time error."""
        return self.smoothing and self.time_error > 0

    def switched(self, variant: str) -> CatchmentSpec:
        """The spec with one choice of :data:`SENSITIVITY_VARIANTS` flipped.

        ``same_commune``, ``smoothing`` and ``buffer_supply`` are toggled; ``age`` and
        ``extra_supply`` are turned off (they have no "on" without their values).
        """
        if variant == "same_commune":
            return replace(self, same_commune=not self.same_commune)
        if variant == "age":
            return replace(self, age_weights={})
        if variant == "smoothing":
            return replace(self, smoothing=not self.smoothing)
        if variant == "extra_supply":
            return replace(self, extra_supply=())
        if variant == "buffer_supply":
            return replace(self, buffer_supply=not self.buffer_supply)
        raise ConfigError(
            f"catchment variant {variant!r} unknown; expected one of {list(SENSITIVITY_VARIANTS)}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain values (for labels and reports)."""
        return {
            "method": self.method,
            "same_commune": self.same_commune,
            "same_commune_min": self.same_commune_min,
            "age_weights": dict(self.age_weights),
            "extra_supply": [
                {"category": e.category, "per_unit": e.per_unit} for e in self.extra_supply
            ],
            "smoothing": self.smoothing,
            "time_error": self.time_error,
            "time_error_model": self.time_error_model,
            "buffer_supply": self.buffer_supply,
            "sensitivity": list(self.sensitivity),
        }


def catchment_spec(
    raw: Mapping[str, Any] | None,
    source: str | os.PathLike,
    key: str,
    decay_type: str | None,
) -> CatchmentSpec:
    """Validate a category's ``catchment`` table.

    Parameters
    ----------
    raw : mapping or None
        The table as written (None: the plain E2SFCA).
    source : path-like
        Catalogue file, for messages.
    key : str
        Dotted key of the category (``categories.gp``).
    decay_type : str or None
        ``type`` of the category's decay: the APL method needs ``"apl"`` (the DREES bands).

    Returns
    -------
    CatchmentSpec

    Raises
    ------
    ConfigError
        Unknown key or method, a weight <= 0, an unknown variant, a time error outside
        [0, 0.5), smoothing without a time error, the APL method on another decay.
    """
    if raw is None:
        return CatchmentSpec()
    c = validate(raw, CATCHMENT_SCHEMA, source, prefix=f"{key}.catchment.")
    extra = tuple(
        ExtraSupply(
            **validate(e, EXTRA_SUPPLY_SCHEMA, source, f"{key}.catchment.extra_supply[{i}].")
        )
        for i, e in enumerate(c["extra_supply"])
    )
    apl = c["method"] == "apl"
    if apl and decay_type != "apl":
        raise ConfigError(
            f"{source}: key '{key}.catchment.method' is 'apl' (the DREES bands) but "
            f"'{key}.decay.type' is {decay_type!r}; use decay = {{ type = \"apl\" }}"
        )
    if c["smoothing"] and c["time_error"] <= 0:
        raise ConfigError(
            f"{source}: key '{key}.catchment.smoothing' is true but time_error is "
            f"{c['time_error']!r}; give the relative time error (e.g. 0.15)"
        )
    same = c["same_commune"]
    return CatchmentSpec(
        method=c["method"],
        same_commune=apl if same is None else bool(same),
        same_commune_min=c["same_commune_min"],
        age_weights={str(k): float(v) for k, v in c["age_weights"].items()},
        extra_supply=extra,
        smoothing=c["smoothing"],
        time_error=c["time_error"],
        time_error_model=c["time_error_model"],
        buffer_supply=c["buffer_supply"],
        sensitivity=tuple(dict.fromkeys(c["sensitivity"])),
    )


def check_catchments(
    specs: Mapping[str, CatchmentSpec],
    age_bands: list[str] | None,
    source: str | os.PathLike,
) -> None:
    """Check the catchment tables against the catalogue: extra-supply categories, age bands.

    Parameters
    ----------
    specs : mapping
        Category id → its :class:`CatchmentSpec`.
    age_bands : list of str or None
        Bands of the catalogue's ``[age_structure]`` table (None when it has none).
    source : path-like
        Catalogue file, for messages.

    Raises
    ------
    ConfigError
        An extra-supply category unknown or the category itself; age weights without an
        ``[age_structure]`` table or with bands other than its bands.
    """
    for cid, spec in specs.items():
        for extra in spec.extra_supply:
            if extra.category not in specs or extra.category == cid:
                raise ConfigError(
                    f"{source}: key 'categories.{cid}.catchment.extra_supply' names category "
                    f"{extra.category!r}, which is not another category of the catalogue"
                )
        if not spec.age_weights:
            continue
        if age_bands is None:
            raise ConfigError(
                f"{source}: key 'categories.{cid}.catchment.age_weights' needs an "
                "[age_structure] table naming the age shares per commune"
            )
        if sorted(spec.age_weights) != sorted(age_bands):
            raise ConfigError(
                f"{source}: key 'categories.{cid}.catchment.age_weights' has bands "
                f"{sorted(spec.age_weights)}; [age_structure.bands] has {sorted(age_bands)}"
            )
