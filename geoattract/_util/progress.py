"""One rule for progress bars: on the console while work runs, gone when it is done.

Every bar of the package comes from :func:`progress_bar`: ``leave=False`` so that a finished
bar clears its line (the run's summary, not seven spent bars, stays on screen), and the
console's log handler writes through :func:`tqdm.tqdm.write` so a warning never cuts into a bar.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tqdm.auto import tqdm


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    desc: str,
    enabled: bool = True,
    total: int | None = None,
    unit: str = "it",
) -> Any:
    """A progress bar that clears itself when done.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over (omit it and call ``update`` on the bar).
    desc : str
        Text before the bar.
    enabled : bool
        False gives a silent bar (the same object, nothing printed).
    total : int, optional
        Number of steps, when ``iterable`` has no length.
    unit : str
        Unit of the steps.

    Returns
    -------
    tqdm.tqdm
        The bar, iterable and usable as a context manager.

    Examples
    --------
    >>> from geoattract._util.progress import progress_bar
    >>> sum(progress_bar(range(4), desc="sum", enabled=False))
    6
    """
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=not enabled,
        leave=False,
        dynamic_ncols=True,
    )
