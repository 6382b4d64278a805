"""Weight sets of the co-construction workshops: one group's weights, as a JSON file.

The atelier page (``atelier.html``) saves the weights a group settled on, and
``geoattract atelier merge`` reads several of them back. A weight file holds::

    {
      "format": "geoattract-atelier-poids",
      "version": 1,
      "study": "Lot-et-Garonne",            # the study the weights were set for
      "group": "Vivre et habiter",           # the workshop group
      "date": "2026-12-08",                  # ISO date
      "profile": "familles",                 # the target population they started from
      "aggregation": "arithmetic",           # optional, default the study's method
      "pillars": {"services": 1.5, ...},     # every pillar, relative weights >= 0
      "indicators": {"time_gp_min": 2, ...}  # optional, overrides the profile's weights
    }

A file is checked at the door (:func:`read_weight_set`) with the rules of the study's
``scoring.toml`` (:func:`~geoattract.scoring.config.check_weights`): every pillar listed,
weights finite and >= 0, at least one positive pillar, no unknown key, pillar, indicator or
profile, and no weighted pillar without a weighted indicator. Weights are the profile's
weights with the group's values in place (:func:`apply_weight_set`): the scores under a weight
set are the package's own scores (:func:`~geoattract.scoring.aggregate.composite_scores`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geoattract.errors import ConfigError, DataNotFoundError, format_values
from geoattract.scoring.config import AGGREGATIONS, ScoringConfig, check_weights

#: Value of the ``format`` key of a weight file.
WEIGHTS_FORMAT: str = "geoattract-atelier-poids"

#: Version of the weight-file layout.
WEIGHTS_VERSION: int = 1

#: Keys of a weight file, required or not.
REQUIRED_KEYS: tuple[str, ...] = (
    "format",
    "version",
    "study",
    "group",
    "date",
    "profile",
    "pillars",
)
OPTIONAL_KEYS: tuple[str, ...] = ("aggregation", "indicators")

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class WeightSet:
    """The weights one workshop group chose.

    Attributes
    ----------
    study : str
        Study name (``[study] name``).
    group : str
        Name of the group.
    date : str
        ISO date (``YYYY-MM-DD``).
    profile : str
        Profile the weights start from (its indicator weights fill the ones not given).
    pillars : dict
        Pillar → weight, every pillar of the scoring configuration.
    indicators : dict
        Indicator → weight, overriding the profile's.
    aggregation : str
        ``arithmetic`` or ``geometric``.
    source : str
        File it was read from (for messages).
    """

    study: str
    group: str
    date: str
    profile: str
    pillars: dict[str, float]
    indicators: dict[str, float] = field(default_factory=dict)
    aggregation: str = "arithmetic"
    source: str = "<weights>"

    def to_json(self) -> dict[str, Any]:
        """The weight file's content (the layout the atelier page writes)."""
        return {
            "format": WEIGHTS_FORMAT,
            "version": WEIGHTS_VERSION,
            "study": self.study,
            "group": self.group,
            "date": self.date,
            "profile": self.profile,
            "aggregation": self.aggregation,
            "pillars": dict(self.pillars),
            "indicators": dict(self.indicators),
        }


def profile_weight_set(
    config: ScoringConfig, profile: str, study: str, group: str = "", date: str = ""
) -> WeightSet:
    """A profile's own weights as a weight set (every indicator listed).

    Parameters
    ----------
    config : ScoringConfig
        Scoring configuration.
    profile : str
        Profile name.
    study, group, date : str
        Identity of the set.

    Returns
    -------
    WeightSet
    """
    ind, pil = config.profile_weights(profile)
    return WeightSet(
        study=study,
        group=group or config.profile_label(profile),
        date=date,
        profile=profile,
        pillars=pil,
        indicators=ind,
        aggregation=config.method["aggregation"],
        source=f"<profile {profile}>",
    )


def _text(doc: Mapping[str, Any], key: str, src: str) -> str:
    value = doc[key]
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{src}: key '{key}' must be a non-empty text, got {value!r}")
    return value.strip()


def check_weight_set(
    doc: Any, config: ScoringConfig, study: str, source: str | os.PathLike = "<weights>"
) -> WeightSet:
    """Validate the content of a weight file against a study's scoring configuration.

    Parameters
    ----------
    doc : object
        Parsed JSON.
    config : ScoringConfig
        The study's scoring configuration.
    study : str
        The study's name: a weight file of another study is refused.
    source : path-like
        File name used in the messages.

    Returns
    -------
    WeightSet

    Raises
    ------
    ConfigError
        One line naming the file and the key: not an object, wrong format or version, unknown
        or missing key, another study, unknown profile, pillar or indicator, missing pillar,
        negative or non-numeric weight, all pillars at zero, a weighted pillar without a
        weighted indicator, unknown aggregation, a date that is not ``YYYY-MM-DD``.
    """
    src = str(source)
    if not isinstance(doc, Mapping):
        raise ConfigError(f"{src}: a weight file holds a JSON object, got {type(doc).__name__}")
    unknown = [k for k in doc if k not in REQUIRED_KEYS + OPTIONAL_KEYS]
    if unknown:
        raise ConfigError(
            f"{src}: unknown key(s) {format_values(unknown)}; allowed: "
            f"{format_values(REQUIRED_KEYS + OPTIONAL_KEYS)}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        raise ConfigError(f"{src}: missing key(s) {format_values(missing)} of a weight file")
    if doc["format"] != WEIGHTS_FORMAT or doc["version"] != WEIGHTS_VERSION:
        raise ConfigError(
            f"{src}: not a weight file of this version (format {doc['format']!r} version "
            f"{doc['version']!r}; expected {WEIGHTS_FORMAT!r} version {WEIGHTS_VERSION})"
        )
    their_study = _text(doc, "study", src)
    if their_study != study:
        raise ConfigError(
            f"{src}: weights set for the study {their_study!r}, not for {study!r}; "
            "load them into the study they were made for"
        )
    group = _text(doc, "group", src)
    date = _text(doc, "date", src)
    if not _DATE_RE.match(date):
        raise ConfigError(f"{src}: key 'date' must be a date YYYY-MM-DD, got {date!r}")
    profile = _text(doc, "profile", src)
    if profile not in config.profiles:
        raise ConfigError(
            f"{src}: unknown profile {profile!r}; profiles: {format_values(config.profiles)}"
        )
    aggregation = doc.get("aggregation", config.method["aggregation"])
    if aggregation not in AGGREGATIONS:
        raise ConfigError(
            f"{src}: key 'aggregation' must be one of {list(AGGREGATIONS)}, got {aggregation!r}"
        )
    pillars, indicators = doc["pillars"], doc.get("indicators", {})
    for key, table in (("pillars", pillars), ("indicators", indicators)):
        if not isinstance(table, Mapping):
            raise ConfigError(f"{src}: key '{key}' must be an object of weights, got {table!r}")
    check_weights(pillars, list(config.pillars), src, "pillars.", "pillar", require_all=True)
    check_weights(
        indicators, list(config.indicators), src, "indicators.", "indicator", require_all=False
    )
    ind_w = config.profile_weights(profile)[0] | {k: float(v) for k, v in indicators.items()}
    for pil, w in pillars.items():
        if w > 0 and not any(
            ind_w[c] > 0 for c, spec in config.indicators.items() if spec["pillar"] == pil
        ):
            raise ConfigError(
                f"{src}: key 'pillars.{pil}' has weight {w} but no indicator of pillar "
                f"{pil!r} has a positive weight"
            )
    return WeightSet(
        study=their_study,
        group=group,
        date=date,
        profile=profile,
        pillars={k: float(v) for k, v in pillars.items()},
        indicators={k: float(v) for k, v in indicators.items()},
        aggregation=str(aggregation),
        source=src,
    )


def read_weight_set(path: str | os.PathLike, config: ScoringConfig, study: str) -> WeightSet:
    """Read and check a weight file (see :func:`check_weight_set`).

    Raises
    ------
    DataNotFoundError
        The file does not exist.
    ConfigError
        Not JSON (line and column named) or not a valid weight set.
    """
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{p}: weight file not found")
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not a UTF-8 text file ({exc.reason})") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from exc
    return check_weight_set(doc, config, study, p)


def apply_weight_set(config: ScoringConfig, weights: WeightSet) -> ScoringConfig:
    """The scoring configuration with a weight set in place of its profile's weights.

    The profile named by the set gets the set's pillar weights (in the profile's own order)
    and its indicator weights on top of the profile's; the aggregation becomes the set's.

    Parameters
    ----------
    config : ScoringConfig
        Scoring configuration.
    weights : WeightSet
        A checked weight set.

    Returns
    -------
    ScoringConfig
        A new configuration; ``composite_scores(df, it, weights.profile)`` are the scores under
        the set.
    """
    prof = dict(config.profiles[weights.profile])
    prof["pillars"] = {p: float(weights.pillars[p]) for p in prof["pillars"]}
    prof["indicator_weights"] = {**prof["indicator_weights"], **weights.indicators}
    return replace(
        config,
        method={**config.method, "aggregation": weights.aggregation},
        profiles={**config.profiles, weights.profile: prof},
    )
