"""Stage 5, accessibility: nearest times, counts within thresholds, floating catchments, housing."""

from __future__ import annotations

from geoattract.accessibility.decay import (
    APL_BREAKS_MIN,
    APL_WEIGHTS,
    Decay,
    decay_from_config,
    flat_decay,
    gaussian_decay,
    linear_decay,
    step_decay,
)
from geoattract.accessibility.metrics import (
    PER_INHABITANTS,
    AccessibilityInputs,
    category_accessibility,
    e2sfca,
    housing_accessibility,
    prepare_inputs,
)

__all__ = [
    "APL_BREAKS_MIN",
    "APL_WEIGHTS",
    "AccessibilityInputs",
    "Decay",
    "PER_INHABITANTS",
    "category_accessibility",
    "decay_from_config",
    "e2sfca",
    "flat_decay",
    "gaussian_decay",
    "housing_accessibility",
    "linear_decay",
    "prepare_inputs",
    "step_decay",
]
