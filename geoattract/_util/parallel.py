"""Thread-pool fan-out: the one place that decides how many threads a stage uses.

The routing kernels (numba ``nogil``), GEOS (shapely 2) and numpy release the GIL, so plain
threads run them in parallel without copying the graph into other processes.
:func:`thread_count` reads the caller's ``n_threads``, else the environment variable
:data:`THREADS_ENV_VAR`, else the number of cores this process may use;
:func:`map_threads` maps a function over items with that many threads, in order, with an
optional progress bar.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from geoattract.errors import ConfigError

#: Environment variable that caps the worker threads of routing and isochrones (default: all
#: cores this process may run on).
THREADS_ENV_VAR = "GEOATTRACT_ROUTING_THREADS"

T = TypeVar("T")
R = TypeVar("R")


def available_cores() -> int:
    """Count the cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def thread_count(n_threads: int | None = None) -> int:
    """Decide how many worker threads to use.

    Parameters
    ----------
    n_threads : int, optional
        Asked for by the caller; else the integer in :data:`THREADS_ENV_VAR`; else
        :func:`available_cores`.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    ConfigError
        If ``n_threads`` is below 1 or the environment variable is not an integer.
    """
    if n_threads is not None:
        if int(n_threads) < 1:
            raise ConfigError(f"n_threads must be >= 1, got {n_threads!r}")
        return int(n_threads)
    env = os.environ.get(THREADS_ENV_VAR)
    if env:
        try:
            return max(1, int(env))
        except ValueError as exc:
            raise ConfigError(
                f"environment variable {THREADS_ENV_VAR} must be an integer, got {env!r}"
            ) from exc
    return available_cores()


def map_threads(
    func: Callable[[T], R],
    items: Iterable[T],
    n_threads: int | None = None,
    *,
    progress: str | None = None,
    unit: str = "item",
) -> list[R]:
    """``[func(item) for item in items]`` run on a thread pool, results in input order.

    Parameters
    ----------
    func : callable
        Applied to each item; it should spend its time in code that releases the GIL (numba
        ``nogil`` kernels, GEOS, numpy) for threads to help.
    items : iterable
        The work items.
    n_threads : int, optional
        Worker threads (see :func:`thread_count`); with one thread, or one item, no pool is
        started.
    progress : str, optional
        Description of a tqdm progress bar over the items; no bar when None.
    unit : str
        Unit shown by the progress bar.

    Returns
    -------
    list
        The results, in the order of ``items``.
    """
    work: Sequence[T] = items if isinstance(items, Sequence) else list(items)
    threads = min(thread_count(n_threads), max(1, len(work)))
    if threads == 1:
        return list(_with_progress(map(func, work), len(work), progress, unit))
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(_with_progress(pool.map(func, work), len(work), progress, unit))


def _with_progress(
    iterator: Iterator[R], total: int, progress: str | None, unit: str
) -> Iterator[R]:
    if progress is None:
        return iterator
    from geoattract._util.progress import progress_bar

    return iter(progress_bar(iterator, total=total, desc=progress, unit=unit))
