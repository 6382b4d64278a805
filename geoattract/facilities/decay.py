"""Distance-decay functions for floating-catchment accessibility (PySAL access style).

Each function maps travel times (minutes, a numpy array) to weights in [0, 1]. Times beyond the
catchment get weight 0; NaN or infinite times (unreachable) get weight 0 too.

The step decay is the one used by the DREES *accessibilité potentielle localisée* (APL) for
general practitioners: weight 1 up to 10 minutes, 2/3 from 10 to 15, 1/3 from 15 to 20 and 0
beyond (Barlet M., Coldefy M., Collin C., Lucas-Gabrielli V., « L'accessibilité potentielle
localisée (APL) : une nouvelle mesure de l'accessibilité aux soins appliquée aux médecins
généralistes libéraux en France », DREES, Document de travail, série Études et recherche
n° 124, décembre 2012; the 2017 update keeps the same decay).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from geoattract.errors import ConfigError

#: Upper bounds (minutes) of the APL decay steps.
APL_BREAKS_MIN: tuple[float, ...] = (10.0, 15.0, 20.0)
#: Weights of the APL decay steps.
APL_WEIGHTS: tuple[float, ...] = (1.0, 2.0 / 3.0, 1.0 / 3.0)


@dataclass(frozen=True)
class Decay:
    """A decay function with its catchment (minutes beyond which the weight is 0).

    Attributes
    ----------
    name : str
        Human-readable description, for reports.
    catchment_min : float
        Largest travel time with a non-zero weight.
    func : callable
        ``func(minutes: ndarray) -> ndarray`` of weights in [0, 1].
    """

    name: str
    catchment_min: float
    func: Callable[[np.ndarray], np.ndarray]

    def __call__(self, minutes: np.ndarray) -> np.ndarray:
        """Weights in [0, 1] of travel times in minutes (0 for NaN or infinite times)."""
        t = np.asarray(minutes, dtype=float)
        w = self.func(np.where(np.isfinite(t), t, np.inf))
        return np.where(np.isfinite(t) & (t <= self.catchment_min), w, 0.0)


def step_decay(
    breaks_min: Sequence[float] = APL_BREAKS_MIN, weights: Sequence[float] = APL_WEIGHTS
) -> Decay:
    """Step decay: weight ``weights[k]`` for ``breaks[k-1] < t <= breaks[k]`` (first step from 0).

    Parameters
    ----------
    breaks_min : sequence of float
        Strictly increasing upper bounds of the steps, in minutes.
    weights : sequence of float
        Weight of each step, in [0, 1], non-increasing.
    """
    b = np.asarray(breaks_min, dtype=float)
    w = np.asarray(weights, dtype=float)
    if b.size == 0 or b.size != w.size:
        raise ConfigError(
            f"step decay: breaks_min {list(b)} and weights {list(w)} must have the same non-zero length"
        )
    if np.any(np.diff(b) <= 0) or b[0] <= 0:
        raise ConfigError(
            f"step decay: breaks_min must be strictly increasing and positive, got {list(b)}"
        )
    if np.any((w < 0) | (w > 1)) or np.any(np.diff(w) > 0):
        raise ConfigError(
            f"step decay: weights must be in [0, 1] and non-increasing, got {list(w)}"
        )

    def f(t: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(b, t, side="left")  # t == break belongs to the lower step
        out = np.zeros_like(t, dtype=float)
        inside = idx < b.size
        out[inside] = w[idx[inside]]
        return out

    desc = ", ".join(f"≤{x:g} min: {y:.3g}" for x, y in zip(b, w, strict=True))
    return Decay(f"step ({desc})", float(b[-1]), f)


def _check_catchment(kind: str, catchment_min: float) -> None:
    """Refuse a catchment that is not positive.

    Parameters
    ----------
    kind : str
        Decay name for the message ("flat", "linear", "gaussian").
    catchment_min : float
        The catchment, minutes.

    Raises
    ------
    ConfigError
        If ``catchment_min`` is not > 0.
    """
    if catchment_min <= 0:
        raise ConfigError(f"{kind} decay: catchment_min must be > 0, got {catchment_min}")


def flat_decay(catchment_min: float) -> Decay:
    """Weight 1 within the catchment, 0 beyond (the original 2SFCA)."""
    _check_catchment("flat", catchment_min)
    return Decay(
        f"flat (≤{catchment_min:g} min)",
        float(catchment_min),
        lambda t: np.ones_like(t, dtype=float),
    )


def linear_decay(catchment_min: float) -> Decay:
    """Weight ``1 - t / catchment`` within the catchment."""
    _check_catchment("linear", catchment_min)
    return Decay(
        f"linear (0 at {catchment_min:g} min)",
        float(catchment_min),
        lambda t: np.clip(1.0 - t / catchment_min, 0.0, 1.0),
    )


def gaussian_decay(catchment_min: float, sigma_min: float | None = None) -> Decay:
    """Gaussian weight ``exp(-t² / (2 σ²))`` within the catchment (σ defaults to catchment / 2)."""
    _check_catchment("gaussian", catchment_min)
    s = catchment_min / 2.0 if sigma_min is None else float(sigma_min)
    return Decay(
        f"gaussian (σ={s:g} min, cut at {catchment_min:g} min)",
        float(catchment_min),
        lambda t: np.exp(-(t**2) / (2 * s * s)),
    )


def decay_from_config(spec: Mapping) -> Decay:
    """Build a decay from a configuration table.

    Examples of ``spec``: ``{type = "step", breaks_min = [10, 15, 20], weights = [1, 0.67, 0.33]}``,
    ``{type = "flat", catchment_min = 30}``, ``{type = "linear", catchment_min = 30}``,
    ``{type = "gaussian", catchment_min = 30, sigma_min = 10}``, ``{type = "apl"}``.
    """
    kind = spec.get("type")
    try:
        if kind == "apl":
            return step_decay()
        if kind == "step":
            return step_decay(spec["breaks_min"], spec["weights"])
        if kind == "flat":
            return flat_decay(spec["catchment_min"])
        if kind == "linear":
            return linear_decay(spec["catchment_min"])
        if kind == "gaussian":
            return gaussian_decay(spec["catchment_min"], spec.get("sigma_min"))
    except KeyError as exc:
        raise ConfigError(f"decay of type {kind!r}: missing key {exc.args[0]!r}") from exc
    raise ConfigError(
        f"decay: unknown type {kind!r}; expected one of apl, step, flat, linear, gaussian"
    )
