"""Thread-pool fan-out and forked tasks: the one place that decides how many workers run.

The routing kernels (numba ``nogil``), GEOS (shapely 2) and numpy release the GIL, so plain
threads run them in parallel without copying the graph into other processes.
:func:`thread_count` reads the caller's ``n_threads``, else the environment variable
:data:`THREADS_ENV_VAR`, else the number of cores this process may use;
:func:`map_threads` maps a function over items with that many threads, in order, with an
optional progress bar. :class:`ForkedTasks` runs pure-Python CPU-bound tasks (drawing the
printed maps) in that many forked processes while the caller goes on.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

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


#: Tasks of the running :class:`ForkedTasks`, by token: forked workers inherit them (nothing
#: is pickled on the way in, only the results on the way back).
_FORKED_TASKS: dict[int, Sequence[Callable[[], Any]]] = {}


def fork_available() -> bool:
    """Whether this platform starts processes by ``fork`` (Linux, BSD): workers share memory."""
    return "fork" in multiprocessing.get_all_start_methods()


def _run_forked(token: int, i: int) -> Any:
    return _FORKED_TASKS[token][i]()


def _quiet_worker(parent: int | None = None) -> None:
    """Signals of a forked worker: Ctrl-C and SIGTERM are for the parent, which stops it.

    On Linux the worker is also killed when its parent dies (``PR_SET_PDEATHSIG``): a run
    killed with SIGKILL leaves no orphan drawing maps, nor holding a copy of its files.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if parent is not None and os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)


#: ``prctl`` option: the signal a process gets when its parent dies (Linux).
PR_SET_PDEATHSIG = 1


class ForkedTasks(Generic[R]):
    """Zero-argument tasks run in forked worker processes while this process goes on.

    CPU-bound pure-Python work (matplotlib drawing) does not run in parallel on threads; forked
    processes do, and inherit the caller's memory, so a task may close over large frames
    without copying them: only its result is pickled back. Without ``fork`` (Windows, macOS
    default) or with one worker, the tasks run in this process when :meth:`results` is
    called.

    >>> with ForkedTasks([lambda: 1 + 1, lambda: 2 * 3], n_workers=2) as running:
    ...     other = sum(range(4))  # this process works meanwhile
    ...     running.results()
    [2, 6]

    Parameters
    ----------
    tasks : sequence of callables
        The tasks, each called without argument.
    n_workers : int, optional
        Worker processes (see :func:`thread_count`), at most one per task.
    """

    _next_token = 0

    def __init__(self, tasks: Sequence[Callable[[], R]], n_workers: int | None = None) -> None:
        self.tasks = list(tasks)
        self.workers = min(thread_count(n_workers), len(self.tasks))
        self._token = ForkedTasks._next_token
        ForkedTasks._next_token += 1
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Any] = []

    def __enter__(self) -> ForkedTasks[R]:
        if self.workers > 1 and fork_available():
            _FORKED_TASKS[self._token] = self.tasks
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("fork"),
                initializer=_quiet_worker,
                initargs=(os.getpid(),),
            )
            # the workers are forked at the first submission: they see the tasks above
            self._futures = [
                self._pool.submit(_run_forked, self._token, i) for i in range(len(self.tasks))
            ]
        return self

    def results(self) -> list[R]:
        """The results of the tasks, in order (waits for them; a task's error is raised)."""
        if self._pool is None:
            return [task() for task in self.tasks]
        return [future.result() for future in self._futures]

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=exc_type is not None)
            self._pool = None
        _FORKED_TASKS.pop(self._token, None)
