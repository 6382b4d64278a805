"""Class breaks and colours of the choropleths (interactive and printed maps share them).

Classes are quantiles by default (computed here exactly as :mod:`mapclassify` does; other
schemes come from :mod:`mapclassify`), named in the legend (``"Quantiles (5 classes)"``). The
palette is the sequential ColorBrewer **YlGnBu**, readable with the common colour-vision
deficiencies and in grey-scale print.

One rule on every map (printed, interactive, national): **darker is better**. The direction
of a column comes from one fact, the scoring configuration (``direction`` of each indicator;
scores and pillars are better high, ranks better low: :meth:`Labels.higher_is_better
<geoattract.outputs.labels.Labels.higher_is_better>`); for a column better low (a travel
time) the palette is reversed, so the shortest times are the darkest. The legend says it
(:attr:`ClassBreaks.reading`). A column of unknown direction keeps darker = higher and its
legend says so, claiming nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoattract.errors import ConfigError, DataError, format_values
from geoattract.outputs.html import fr_number

#: Default classification scheme and number of classes.
DEFAULT_SCHEME: str = "quantiles"
DEFAULT_K: int = 5

#: French names of the mapclassify schemes accepted by :func:`classify`.
SCHEME_LABELS: dict[str, str] = {
    "quantiles": "Quantiles",
    "fisherjenks": "Fisher-Jenks",
    "naturalbreaks": "Seuils naturels",
    "equalinterval": "Intervalles égaux",
    "jenkscaspall": "Jenks-Caspall",
    "maximumbreaks": "Écarts maximaux",
}

#: Sequential ColorBrewer palette of the choropleths (matplotlib colormap name).
PALETTE: str = "YlGnBu"

#: Part of the palette used: the palest 15 % is skipped so the lowest class stays visible on
#: a white background; the darkest end is kept for the most favourable class.
PALETTE_RANGE: tuple[float, float] = (0.15, 0.95)

#: Colour of communes with no value (or no location), named « Donnée manquante » in legends.
MISSING_COLOUR: str = "#bdbdbd"

#: Legend label of :data:`MISSING_COLOUR`.
MISSING_LABEL: str = "Donnée manquante"

#: How a legend reads the palette, by direction of the column (``higher_is_better``).
READING: dict[bool | None, str] = {
    True: "Plus foncé = plus favorable (valeurs élevées)",
    False: "Plus foncé = plus favorable (valeurs faibles)",
    None: "Plus foncé = valeur plus élevée",
}

#: Okabe-Ito qualitative palette (colour-blind safe) for facility categories, then four
#: colours of Paul Tol's "muted" scheme (a pillar may have more than eight categories), cycled.
CATEGORY_COLOURS: tuple[str, ...] = (
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
    "#882255",
    "#44AA99",
    "#999933",
    "#AA4499",
)


@dataclass(frozen=True)
class ClassBreaks:
    """Result of :func:`classify`.

    Attributes
    ----------
    scheme : str
        mapclassify scheme name.
    bins : numpy.ndarray
        Upper bound of each class.
    lower : float
        Minimum of the classified values (lower bound of the first class).
    classes : numpy.ndarray
        Class index (0 = lowest) per input value, ``-1`` for missing values.
    colours : list of str
        Hex colour per class (lowest class first): the darkest is the most favourable class.
    higher_is_better : bool or None
        Direction of the column (None: unknown, darker = higher).
    """

    scheme: str
    bins: np.ndarray
    lower: float
    classes: np.ndarray
    colours: list[str]
    higher_is_better: bool | None = True

    @property
    def k(self) -> int:
        """Number of classes actually produced (ties may merge quantile classes)."""
        return len(self.bins)

    @property
    def title(self) -> str:
        """Scheme named for the legend, for example ``Quantiles (5 classes)``."""
        return f"{SCHEME_LABELS[self.scheme]} ({self.k} classes)"

    @property
    def reading(self) -> str:
        """How the legend reads the palette (:data:`READING`)."""
        return READING[self.higher_is_better]

    def scheme_text(self, unit: str = "") -> str:
        """The classification and the unit, for a legend: ``Quantiles (5 classes), en min``."""
        if not unit:
            return self.title
        return self.title + (", score de 0 à 100" if unit == "0–100" else f", en {unit}")

    def labels(self, decimals: int = 1) -> list[str]:
        """Class ranges in French, for example ``45,2 – 58,1``."""
        lows = [self.lower, *self.bins[:-1]]
        return [
            f"{fr_number(lo, decimals)} – {fr_number(hi, decimals)}"
            for lo, hi in zip(lows, self.bins, strict=True)
        ]

    def colour_of(self) -> list[str]:
        """Colour per input value (missing values get :data:`MISSING_COLOUR`)."""
        return [self.colours[c] if c >= 0 else MISSING_COLOUR for c in self.classes]


def palette_colours(n: int, cmap: str = PALETTE) -> list[str]:
    """``n`` hex colours sampled evenly from ``cmap`` within :data:`PALETTE_RANGE`."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    lo, hi = PALETTE_RANGE
    stops = np.linspace(lo, hi, n) if n > 1 else np.array([hi])
    return [to_hex(colormaps[cmap](float(s))) for s in stops]


def quantile_bins(values: np.ndarray, k: int) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes, as ``mapclassify.Quantiles`` computes them.

    The percentiles ``100/k, 200/k, …, 100`` of the values, each interpolated between the two
    order statistics around it (``scipy.stats.scoreatpercentile``'s rule, the one mapclassify
    uses, operation for operation), repeated bounds merged (fewer classes when values tie).

    Examples
    --------
    >>> quantile_bins(np.arange(1000.0), 4)
    array([249.75, 499.5 , 749.25, 999.  ])
    >>> quantile_bins(np.array([1.0, 1.0, 1.0, 2.0]), 4)
    array([1.  , 1.25, 2.  ])
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    w = 100.0 / k
    pcts = np.arange(w, 100 + w, w)
    if pcts[-1] > 100.0:
        pcts[-1] = 100.0
    out = []
    for per in pcts:
        idx = per / 100.0 * (ordered.size - 1)
        i = int(idx)
        if i == idx:
            out.append(float(np.add.reduce(ordered[i : i + 1] * np.array(1)) / 1.0))
        else:
            weights = np.array([(i + 1 - idx), (idx - i)], float)
            out.append(float(np.add.reduce(ordered[i : i + 2] * weights) / weights.sum()))
    return np.unique(np.array(out))


def classify(
    values: Sequence[float] | pd.Series,
    scheme: str = DEFAULT_SCHEME,
    k: int = DEFAULT_K,
    *,
    higher_is_better: bool | None = True,
) -> ClassBreaks:
    """Classify values with mapclassify and pick a colour per class, darker = better.

    Parameters
    ----------
    values : sequence of float
        Values; NaN are left unclassified (class ``-1``).
    scheme : str
        A key of :data:`SCHEME_LABELS`.
    k : int
        Requested number of classes (quantiles may give fewer when values tie).
    higher_is_better : bool or None
        Direction of the column (:meth:`Labels.higher_is_better
        <geoattract.outputs.labels.Labels.higher_is_better>`): False reverses the palette
        (the lowest class darkest); None (unknown) keeps darker = higher.

    Returns
    -------
    ClassBreaks

    Raises
    ------
    ConfigError
        Unknown scheme or ``k < 2``.
    DataError
        No finite value to classify.
    """
    if scheme not in SCHEME_LABELS:
        raise ConfigError(
            f"classification scheme {scheme!r} is not supported; "
            f"choose one of {format_values(SCHEME_LABELS)}"
        )
    if int(k) < 2:
        raise ConfigError(f"number of classes k must be at least 2, got {k}")
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    if not ok.any():
        raise DataError("cannot classify: every value is missing (NaN)")
    if scheme == "quantiles":
        bins = quantile_bins(y[ok], int(k))
    else:
        # mapclassify compiles a numba function when imported (about 5 s of CPU in every
        # process): imported only for the schemes the package does not compute itself
        import mapclassify

        with warnings.catch_warnings():  # mapclassify warns when ties merge classes
            warnings.simplefilter("ignore")
            kwargs = {} if scheme == "jenkscaspall" and ok.sum() <= k else {"k": int(k)}
            clf = mapclassify.classify(y[ok], scheme=scheme, **kwargs)
        bins = np.asarray(clf.bins, dtype=float)
    # drop empty duplicate classes (identical upper bounds) so every class has a colour
    bins = np.unique(bins)
    classes = np.full(len(y), -1, dtype=int)
    classes[ok] = np.searchsorted(bins, y[ok], side="left")
    classes[ok] = np.minimum(classes[ok], len(bins) - 1)
    colours = palette_colours(len(bins))
    return ClassBreaks(
        scheme=scheme,
        bins=bins,
        lower=float(y[ok].min()),
        classes=classes,
        colours=colours[::-1] if higher_is_better is False else colours,
        higher_is_better=higher_is_better,
    )
