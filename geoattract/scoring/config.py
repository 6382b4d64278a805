"""The scoring configuration of a study (``scoring.toml``): schema, validation, labels.

Everything that is a choice of the composite indicator lives in the TOML: normalisation and
aggregation methods, pillars, indicators with their direction and French label, the weights
of each target-population profile, the uncertainty analysis and the AFOM rules.
:func:`load_scoring_config` validates it into a :class:`ScoringConfig` and names the dotted
key of any error. See ``docs/scoring.md`` for the formulas.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoattract._util.ranks import DIRECTIONS
from geoattract.config.schema import Field, Setting, load_toml, non_negative, positive, validate
from geoattract.errors import ConfigError, format_values

#: Normalisation methods (Handbook §5): all map to 0–100, 100 = most favourable.
NORMALISATIONS: tuple[str, ...] = ("minmax", "zscore", "rank", "distance_to_reference")

#: Aggregation methods (Handbook §6): weighted arithmetic or weighted geometric mean.
AGGREGATIONS: tuple[str, ...] = ("arithmetic", "geometric")


def _unit_interval_open_closed(v: float) -> str | None:
    return None if 0 < v <= 1 else "must be in (0, 1]"


def _unit_interval(v: float) -> str | None:
    return None if 0 <= v <= 1 else "must be in [0, 1]"


def _winsor_check(v: list) -> str | None:
    if not v:
        return None
    if len(v) != 2 or not (0 <= v[0] < v[1] <= 1):
        return "must be [] (off) or [lower, upper] quantiles with 0 <= lower < upper <= 1"
    return None


def _subset(allowed: Sequence[str]) -> Callable[[list], str | None]:
    def check(v: list) -> str | None:
        if not v:
            return "must not be empty"
        bad = [x for x in v if x not in allowed]
        return (
            f"has unknown value(s) {format_values(bad)}; allowed: {list(allowed)}" if bad else None
        )

    return check


def _quantile_check(v: float) -> str | None:
    return None if 0 < v <= 0.5 else "must be in (0, 0.5]"


METHOD_SCHEMA: dict[str, Field] = {
    "normalisation": Field(
        str,
        required=False,
        default="minmax",
        choices=NORMALISATIONS,
        doc="normalisation of every indicator to 0-100",
    ),
    "winsorise": Field(
        list,
        items=float,
        required=False,
        default=[],
        check=_winsor_check,
        doc="[lower, upper] quantiles to clip each indicator at before normalising; [] = off",
    ),
    "aggregation": Field(
        str,
        required=False,
        default="arithmetic",
        choices=AGGREGATIONS,
        doc="aggregation within pillars and across pillars",
    ),
    "min_weight_share": Field(
        float,
        required=False,
        default=0.5,
        check=_unit_interval_open_closed,
        doc="a pillar (composite) is computed only if at least this share of its "
        "indicator (pillar) weight is available; else NaN and flagged",
    ),
    "min_coverage": Field(
        float,
        required=False,
        default=0.5,
        check=_unit_interval,
        doc="indicators available for less than this share of communes are left out",
    ),
}

PILLAR_SCHEMA: dict[str, Field] = {
    "label_fr": Field(str, doc="French label of the pillar"),
}

INDICATOR_SCHEMA: dict[str, Field] = {
    "direction": Field(str, choices=DIRECTIONS),
    "pillar": Field(str, doc="one of the [pillars] tables"),
    "label_fr": Field(str, doc="French label, used in maps and AFOM sentences"),
    "unit": Field(str, required=False, default="", doc="unit shown after values (min, %, €/m²…)"),
    "reference": Field(
        float,
        required=False,
        default=None,
        doc="reference (target) value for distance_to_reference; default the mean",
    ),
    "weight": Field(
        float,
        required=False,
        default=1.0,
        check=non_negative,
        doc="default weight of the indicator within its pillar",
    ),
    "better_fr": Field(
        str,
        required=False,
        default="les plus favorables",
        doc="French wording of the favourable end (AFOM sentences)",
    ),
    "worse_fr": Field(
        str,
        required=False,
        default="les moins favorables",
        doc="French wording of the unfavourable end (AFOM sentences)",
    ),
}

PROFILE_SCHEMA: dict[str, Field] = {
    "label_fr": Field(str),
    "rationale": Field(str, doc="French explanation of the weights"),
    "pillars": Field(dict, doc="pillar name -> weight (every pillar listed)"),
    "indicator_weights": Field(
        dict,
        required=False,
        default={},
        doc="indicator -> weight, overriding [indicators.<col>].weight",
    ),
    "target_age_band": Field(
        str,
        required=False,
        default=None,
        doc="age band of the catalogue's [age_structure] whose population the profile targets "
        "(geoattract optimise --profile counts it); the whole population when absent",
    ),
}

MONTECARLO_SCHEMA: dict[str, Field] = {
    "n": Field(int, required=False, default=500, check=positive, doc="number of draws"),
    "seed": Field(int, required=False, default=Setting("random_seed")),
    "concentration": Field(
        float,
        required=False,
        default=20.0,
        check=positive,
        doc="Dirichlet concentration (sum of alphas) of the pillar-weight draws",
    ),
    "normalisations": Field(
        list,
        items=str,
        required=False,
        default=["minmax", "zscore", "rank"],
        check=_subset(NORMALISATIONS),
    ),
    "aggregations": Field(
        list, items=str, required=False, default=["arithmetic"], check=_subset(AGGREGATIONS)
    ),
    "threshold_alternatives": Field(
        dict,
        required=False,
        default={},
        doc="indicator -> list of alternative columns drawn uniformly",
    ),
}

AFOM_RULES: tuple[str, ...] = ("best_quantile", "worst_quantile", "positive", "at_least", "at_most")

AFOM_RULE_SCHEMA: dict[str, Field] = {
    "indicator": Field(str),
    "rule": Field(str, choices=AFOM_RULES),
    "value": Field(float, required=False, default=None, doc="threshold of at_least / at_most"),
    "text_fr": Field(str, required=False, default=None, doc="French sentence body (optional)"),
}

AFOM_SCHEMA: dict[str, Field] = {
    "quantile": Field(
        float,
        required=False,
        default=0.25,
        check=_quantile_check,
        doc="top / bottom share of the département defining atouts / faiblesses",
    ),
    "internal_pillars": Field(
        list,
        items=str,
        required=False,
        default=None,
        doc="pillars whose indicators give atouts/faiblesses (default all)",
    ),
    "opportunites": Field(list, items=dict, required=False, default=[]),
    "menaces": Field(list, items=dict, required=False, default=[]),
}

SCORING_SCHEMA: dict[str, Field] = {
    "method": Field(dict, required=False, default={}),
    "pillars": Field(dict),
    "indicators": Field(dict),
    "profiles": Field(dict),
    "montecarlo": Field(dict, required=False, default={}),
    "afom": Field(dict, required=False, default={}),
}


@dataclass(frozen=True)
class ScoringConfig:
    """A validated scoring configuration (a study's ``scoring.toml``).

    Attributes
    ----------
    source : str
        File (or ``"<dict>"``) it was read from, for error messages.
    method : dict
        ``[method]`` with defaults filled in.
    pillars : dict
        Pillar name → ``{"label_fr": ...}``, in file order.
    indicators : dict
        Indicator column → validated ``[indicators.<col>]`` table, in file order.
    profiles : dict
        Profile name → validated ``[profiles.<name>]`` table.
    montecarlo : dict
        ``[montecarlo]`` with defaults.
    afom : dict
        ``[afom]`` with defaults; rules validated.

    Labels come from the ``label_fr`` of each table: :meth:`profile_label`,
    :meth:`pillar_label`, :meth:`indicator_label`.
    """

    source: str
    method: dict[str, Any]
    pillars: dict[str, dict[str, Any]]
    indicators: dict[str, dict[str, Any]]
    profiles: dict[str, dict[str, Any]]
    montecarlo: dict[str, Any]
    afom: dict[str, Any]

    def profile_weights(self, profile: str) -> tuple[dict[str, float], dict[str, float]]:
        """Return the indicator and pillar weights of a profile (raw, not normalised).

        Parameters
        ----------
        profile : str
            Profile name.

        Returns
        -------
        (dict, dict)
            Indicator → weight (default weights overridden by the profile), pillar → weight.

        Raises
        ------
        ConfigError
            If the profile is unknown.
        """
        if profile not in self.profiles:
            raise ConfigError(
                f"{self.source}: unknown profile {profile!r}; available: "
                f"{format_values(self.profiles)}"
            )
        prof = self.profiles[profile]
        ind = {k: float(v["weight"]) for k, v in self.indicators.items()}
        ind.update({k: float(v) for k, v in prof["indicator_weights"].items()})
        return ind, {k: float(v) for k, v in prof["pillars"].items()}

    def _label(
        self, tables: Mapping[str, Mapping[str, Any]], name: str, what: str, default: str | None
    ) -> str:
        if name in tables:
            return str(tables[name]["label_fr"])
        if default is not None:
            return default
        raise ConfigError(
            f"{self.source}: unknown {what} {name!r}; known: {format_values(tables, limit=60)}"
        )

    def profile_label(self, name: str, default: str | None = None) -> str:
        """French label of a profile (``profiles.<name>.label_fr``).

        Parameters
        ----------
        name : str
            Profile name (``general``…).
        default : str, optional
            Returned for an unknown profile instead of raising.

        Raises
        ------
        ConfigError
            Unknown profile and no ``default``.
        """
        return self._label(self.profiles, name, "profile", default)

    def pillar_label(self, name: str, default: str | None = None) -> str:
        """French label of a pillar (``pillars.<name>.label_fr``); see :meth:`profile_label`."""
        return self._label(self.pillars, name, "pillar", default)

    def indicator_label(self, column: str, default: str | None = None) -> str:
        """French label of an indicator column (``indicators.<column>.label_fr``).

        See :meth:`profile_label` for ``default`` and errors.
        """
        return self._label(self.indicators, column, "indicator", default)


def check_weights(
    table: Mapping[str, Any],
    known: Sequence[str],
    source: str,
    prefix: str,
    what: str,
    require_all: bool,
) -> None:
    """Check a table of weights: known keys, finite numbers >= 0, at least one positive.

    Parameters
    ----------
    table : mapping
        Name → weight.
    known : sequence of str
        Allowed names.
    source : str
        File name for messages.
    prefix : str
        Dotted key of the table (``profiles.general.pillars.``).
    what : str
        What the names are (``pillar``, ``indicator``, ``column``).
    require_all : bool
        Every known name must be listed, and one weight must be positive.

    Raises
    ------
    ConfigError
        Naming the dotted key at fault.
    """
    unknown = [k for k in table if k not in known]
    if unknown:
        raise ConfigError(
            f"{source}: unknown {what} '{prefix}{unknown[0]}'"
            f"{' (and ' + format_values(unknown[1:]) + ')' if len(unknown) > 1 else ''}; "
            f"known {what}s: {format_values(known, limit=60)}"
        )
    if require_all:
        missing = [k for k in known if k not in table]
        if missing:
            raise ConfigError(
                f"{source}: missing weight '{prefix}{missing[0]}'; every {what} must be "
                f"listed in [{prefix.rstrip('.')}] (use 0 to leave it out); missing: "
                f"{format_values(missing)}"
            )
    for k, v in table.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ConfigError(f"{source}: weight '{prefix}{k}' must be a finite number, got {v!r}")
        if v < 0:
            raise ConfigError(f"{source}: weight '{prefix}{k}' must be >= 0, got {v!r}")
    if require_all and table and not any(v > 0 for v in table.values()):
        raise ConfigError(
            f"{source}: all weights in [{prefix.rstrip('.')}] are zero; at least one "
            f"{what} needs a positive weight"
        )


def scoring_config_from_dict(
    doc: Mapping[str, Any], source: str | os.PathLike = "<dict>"
) -> ScoringConfig:
    """Validate a parsed scoring document and return a :class:`ScoringConfig`.

    Parameters
    ----------
    doc : mapping
        Parsed TOML (same layout as a study's ``scoring.toml``).
    source : path-like
        Name used in error messages.

    Returns
    -------
    ScoringConfig

    Raises
    ------
    ConfigError
        Naming the dotted key: unknown key, wrong type, unknown pillar or indicator,
        negative weight, all-zero weights, a pillar with weight but no weighted indicator.
    """
    src = str(source)
    top = validate(doc, SCORING_SCHEMA, src)
    method = validate(top["method"], METHOD_SCHEMA, src, prefix="method.")
    if not top["pillars"]:
        raise ConfigError(f"{src}: [pillars] must declare at least one pillar")
    pillars = {
        name: validate(t, PILLAR_SCHEMA, src, prefix=f"pillars.{name}.")
        for name, t in _tables(top["pillars"], src, "pillars").items()
    }
    indicators = _indicators(top["indicators"], pillars, src)
    return ScoringConfig(
        source=src,
        method=method,
        pillars=pillars,
        indicators=indicators,
        profiles=_profiles(top["profiles"], pillars, indicators, src),
        montecarlo=_montecarlo(top["montecarlo"], indicators, src),
        afom=_afom(top["afom"], pillars, indicators, src),
    )


def _indicators(
    section: Mapping[str, Any], pillars: Mapping[str, Any], src: str
) -> dict[str, dict[str, Any]]:
    if not section:
        raise ConfigError(f"{src}: [indicators] must declare at least one indicator")
    indicators: dict[str, dict[str, Any]] = {}
    for col, t in _tables(section, src, "indicators").items():
        ind = validate(t, INDICATOR_SCHEMA, src, prefix=f"indicators.{col}.")
        if ind["pillar"] not in pillars:
            raise ConfigError(
                f"{src}: key 'indicators.{col}.pillar' names unknown pillar "
                f"{ind['pillar']!r}; pillars: {format_values(pillars)}"
            )
        if ind["reference"] is not None and ind["reference"] <= 0:
            raise ConfigError(
                f"{src}: key 'indicators.{col}.reference' must be > 0, got {ind['reference']!r}"
            )
        indicators[col] = ind
    return indicators


def _profiles(
    section: Mapping[str, Any],
    pillars: Mapping[str, Any],
    indicators: Mapping[str, Mapping[str, Any]],
    src: str,
) -> dict[str, dict[str, Any]]:
    if not section:
        raise ConfigError(f"{src}: [profiles] must declare at least one profile")
    profiles: dict[str, dict[str, Any]] = {}
    for name, t in _tables(section, src, "profiles").items():
        prof = validate(t, PROFILE_SCHEMA, src, prefix=f"profiles.{name}.")
        check_weights(
            prof["pillars"],
            list(pillars),
            src,
            f"profiles.{name}.pillars.",
            "pillar",
            require_all=True,
        )
        check_weights(
            prof["indicator_weights"],
            list(indicators),
            src,
            f"profiles.{name}.indicator_weights.",
            "indicator",
            require_all=False,
        )
        ind_w = {k: v["weight"] for k, v in indicators.items()} | dict(prof["indicator_weights"])
        for pil, pw in prof["pillars"].items():
            if pw > 0 and not any(
                ind_w[c] > 0 for c, v in indicators.items() if v["pillar"] == pil
            ):
                raise ConfigError(
                    f"{src}: key 'profiles.{name}.pillars.{pil}' has weight {pw} but no "
                    f"indicator of pillar {pil!r} has a positive weight"
                )
        profiles[name] = prof
    return profiles


def _montecarlo(
    section: Mapping[str, Any], indicators: Mapping[str, Any], src: str
) -> dict[str, Any]:
    mc = validate(section, MONTECARLO_SCHEMA, src, prefix="montecarlo.")
    for key, alts in mc["threshold_alternatives"].items():
        if key not in indicators:
            raise ConfigError(
                f"{src}: unknown indicator 'montecarlo.threshold_alternatives.{key}'; "
                f"known indicators: {format_values(indicators, limit=60)}"
            )
        if not isinstance(alts, list) or not alts or not all(isinstance(a, str) for a in alts):
            raise ConfigError(
                f"{src}: key 'montecarlo.threshold_alternatives.{key}' must be a "
                f"non-empty list of column names, got {alts!r}"
            )
    return mc


def _afom(
    section: Mapping[str, Any],
    pillars: Mapping[str, Any],
    indicators: Mapping[str, Any],
    src: str,
) -> dict[str, Any]:
    afom = validate(section, AFOM_SCHEMA, src, prefix="afom.")
    if afom["internal_pillars"] is None:
        afom["internal_pillars"] = list(pillars)
    bad = [p for p in afom["internal_pillars"] if p not in pillars]
    if bad:
        raise ConfigError(
            f"{src}: key 'afom.internal_pillars' names unknown pillar(s) "
            f"{format_values(bad)}; pillars: {format_values(pillars)}"
        )
    for kind in ("opportunites", "menaces"):
        rules = []
        for i, rule in enumerate(afom[kind]):
            r = validate(rule, AFOM_RULE_SCHEMA, src, prefix=f"afom.{kind}[{i}].")
            if r["indicator"] not in indicators:
                raise ConfigError(
                    f"{src}: key 'afom.{kind}[{i}].indicator' names unknown indicator "
                    f"{r['indicator']!r}; known indicators: {format_values(indicators, limit=60)}"
                )
            if r["rule"] in ("at_least", "at_most") and r["value"] is None:
                raise ConfigError(
                    f"{src}: key 'afom.{kind}[{i}].value' is required by rule {r['rule']!r}"
                )
            rules.append(r)
        afom[kind] = rules
    return afom


def _tables(section: Mapping[str, Any], src: str, name: str) -> dict[str, Mapping[str, Any]]:
    for k, v in section.items():
        if not isinstance(v, Mapping):
            raise ConfigError(
                f"{src}: key '{name}.{k}' must be a table, got {type(v).__name__} {v!r}"
            )
    return dict(section)


def load_scoring_config(path: str | os.PathLike) -> ScoringConfig:
    """Read and validate a scoring configuration.

    Parameters
    ----------
    path : path-like
        TOML file (a study's ``scoring.toml``: ``StudyConfig.config_file("scoring")``).

    Returns
    -------
    ScoringConfig

    Raises
    ------
    DataNotFoundError
        If the file does not exist.
    ConfigError
        If it is malformed or inconsistent (the message names the key).
    """
    p = Path(path)
    return scoring_config_from_dict(load_toml(p), source=p)
