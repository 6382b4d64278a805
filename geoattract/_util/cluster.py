"""Running partitions: in this process, or on dask.distributed (a LocalCluster or a scheduler).

:func:`run_tasks` runs one function over a list of partitions and returns their results in
the same order. With ``engine="dask"`` each partition is sent to a worker just before it runs
(at most ``2 × workers`` in flight), so a worker holds one or two partitions, never the
country: its memory follows the largest partition. A failed partition is retried once
(``retries``), then reported by name in a :class:`PartitionError` raised after the others
finish; nothing is dropped silently. A progress bar counts the partitions done.

Memory is measured in each process itself (:func:`peak_rss_bytes`): the kernel's high-water
mark of the process's own resident memory (``VmHWM``). ``ru_maxrss`` is not used on Linux: it
is carried over ``fork`` *and* ``exec``, so a worker spawned by a 700 MB driver reports
700 MB whatever it does. LocalCluster workers are separate processes started with the
``spawn`` method (a fresh interpreter: fresh ``VmHWM``).
"""

from __future__ import annotations

import logging
import resource
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tqdm.auto import tqdm

from geoattract.config import StudyConfig
from geoattract.errors import GeoattractError

logger = logging.getLogger(__name__)

#: Where partitions run.
ENGINES: tuple[str, ...] = ("local", "dask")

#: Partitions in flight per dask worker: one running, one waiting on the worker.
IN_FLIGHT_PER_WORKER: int = 2

#: How LocalCluster worker processes start: a fresh interpreter, so that nothing of the
#: driver (memory, its high-water mark) is inherited.
WORKER_START_METHOD: str = "spawn"

#: Linux per-process status file (``VmHWM``: peak resident memory; ``VmRSS``: current).
PROC_STATUS: str = "/proc/self/status"

#: Writing this to ``/proc/self/clear_refs`` resets the process's ``VmHWM`` (Linux >= 4.0).
PROC_CLEAR_REFS: tuple[str, str] = ("/proc/self/clear_refs", "5")


class PartitionError(GeoattractError, RuntimeError):
    """Partitions that failed after their retries (the message names them)."""


@dataclass(frozen=True)
class EngineOptions:
    """How to run the partitions.

    Attributes
    ----------
    engine : str
        ``"local"`` (this process, one after the other) or ``"dask"``.
    scheduler : str or None
        Address of an existing dask scheduler (``tcp://host:8786``); None starts a
        ``LocalCluster``.
    workers, threads_per_worker : int
        Size of the LocalCluster.
    memory_limit : str
        Memory limit of each LocalCluster worker (``"auto"``, ``"4GB"``).
    retries : int
        Retries of a failed partition.
    progress : bool
        Progress bar over the partitions.
    """

    engine: str = "dask"
    scheduler: str | None = None
    workers: int = 2
    threads_per_worker: int = 1
    memory_limit: str = "auto"
    retries: int = 1
    progress: bool = False


@dataclass
class RunStats:
    """What a run of partitions measured.

    Attributes
    ----------
    seconds : float
        Wall time.
    start_s, close_s : float
        Seconds to start the dask client (LocalCluster: its worker processes) and to close it.
    peak_rss_bytes : dict
        Process (``"driver"`` or worker address) → peak resident memory (bytes), measured by
        the process itself (:func:`peak_rss_bytes`).
    start_rss_bytes : dict
        Worker address → resident memory when it was ready (interpreter and imports), before
        any partition: ``peak - start`` is what the partitions cost.
    failures : dict
        Partition name → error text of the partitions that failed for good.
    """

    seconds: float = 0.0
    start_s: float = 0.0
    close_s: float = 0.0
    peak_rss_bytes: dict[str, int] = field(default_factory=dict)
    start_rss_bytes: dict[str, int] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def worker_peaks(self) -> dict[str, int]:
        """Peak resident memory of each worker (bytes), the driver left out."""
        return {k: v for k, v in self.peak_rss_bytes.items() if k != "driver"}


def _proc_status_kb(key: str) -> int | None:
    """A ``kB`` line of ``/proc/self/status`` (None when the file or the line is missing)."""
    try:
        with open(PROC_STATUS, encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def peak_rss_bytes() -> int:
    """Peak resident memory of this process (bytes), its own only.

    On Linux the kernel's high-water mark ``VmHWM`` of the process's memory map: a spawned
    process starts from zero (``ru_maxrss`` would report the parent's peak, carried over
    ``fork`` and ``exec``). Elsewhere ``ru_maxrss`` (kB on Linux, bytes on macOS).
    """
    hwm = _proc_status_kb("VmHWM")
    if hwm is not None:
        return hwm * 1024
    peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak if sys.platform == "darwin" else peak * 1024


def current_rss_bytes() -> int:
    """Resident memory of this process now (bytes); the peak where it cannot be read."""
    rss = _proc_status_kb("VmRSS")
    return rss * 1024 if rss is not None else peak_rss_bytes()


def reset_peak_rss() -> bool:
    """Reset this process's peak resident memory to its current value (Linux only).

    Returns
    -------
    bool
        Whether the peak was reset (False where ``/proc/self/clear_refs`` is not writable):
        then :func:`peak_rss_bytes` keeps the peak since the process started.
    """
    path, value = PROC_CLEAR_REFS
    try:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(value)
    except OSError:
        return False
    return True


def _warm_up(task: Callable[[], Any] | None) -> int:
    """Run ``task`` on a worker (its imports, its compiled kernels); its resident memory then.

    Sent to every worker when the engine starts, so that the imports (about 4 s) and the
    numba cache load while the driver cuts the partitions, not in the first partition.
    """
    if task is not None:
        task()
    return current_rss_bytes()


class Engine:
    """Runs partitions with one set of options; one dask client for the engine's lifetime.

    Use as a context manager::

        with Engine(options) as engine:
            results = engine.map(run_partition, partitions, names)
        engine.stats.peak_rss_bytes
    """

    def __init__(self, options: EngineOptions, warm_up: Callable[[], Any] | None = None) -> None:
        if options.engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}, got {options.engine!r}")
        self.options = options
        self.warm_up = warm_up
        self.stats = RunStats()
        self.client: Any = None

    def __enter__(self) -> Engine:
        """Start the dask client (LocalCluster or scheduler) when the engine is dask."""
        self._t0 = time.perf_counter()
        self._warming: dict[str, Any] = {}
        if self.options.engine == "dask":
            self.client = open_client(self.options)
            self.stats.start_s = time.perf_counter() - self._t0
            workers = self.client.scheduler_info(n_workers=-1).get("workers", {})
            self._warming = {
                str(addr): self.client.submit(
                    _warm_up, self.warm_up, key=f"warm-up-{addr}", workers=[addr], pure=False
                )
                for addr in workers
            }
        return self

    def __exit__(self, *exc: object) -> None:
        """Record the memory of every process (each measured by itself); close the client."""
        self.stats.peak_rss_bytes["driver"] = peak_rss_bytes()
        if self.client is not None:
            try:
                for addr, fut in self._warming.items():
                    if fut.status == "finished":
                        self.stats.start_rss_bytes[addr] = int(fut.result())
                peaks = self.client.run(peak_rss_bytes)
                self.stats.peak_rss_bytes.update({str(k): int(v) for k, v in peaks.items()})
            finally:
                t_close = time.perf_counter()
                close_client(self.client)
                self.client = None
                self.stats.close_s = time.perf_counter() - t_close
        self.stats.seconds = time.perf_counter() - self._t0

    def map(
        self, func: Callable[[Any], Any], items: Sequence[Any], names: Sequence[str]
    ) -> list[Any]:
        """Run ``func`` on every item and return the results in order.

        Parameters
        ----------
        func : callable
            A picklable function of one item (a partition's task).
        items : sequence
            The partitions.
        names : sequence of str
            Their names, for the progress bar and the messages.

        Returns
        -------
        list
            ``func(item)`` for every item, in order.

        Raises
        ------
        PartitionError
            Partitions that still failed after ``options.retries`` retries (named, with their
            error), raised once every other partition has finished.
        """
        failures: dict[str, str] = {}
        if self.client is None:
            results = _run_local(func, items, names, self.options, failures)
        else:
            results = _run_dask(self.client, func, items, names, self.options, failures)
        if failures:
            self.stats.failures.update(failures)
            retries = self.options.retries
            detail = "; ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
            raise PartitionError(
                f"{len(failures)} partition(s) failed after {retries} retr"
                f"{'y' if retries == 1 else 'ies'}: {detail}"
            )
        return results


def _run_local(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    names: Sequence[str],
    options: EngineOptions,
    failures: dict[str, str],
) -> list[Any]:
    results: list[Any] = [None] * len(items)
    for i, item in enumerate(
        tqdm(items, desc="partitions", unit="part", disable=not options.progress)
    ):
        for attempt in range(options.retries + 1):
            try:
                results[i] = func(item)
                break
            except Exception as exc:  # a partition's failure is reported, not fatal at once
                logger.warning("partition %s failed (attempt %d): %s", names[i], attempt + 1, exc)
                if attempt == options.retries:
                    failures[names[i]] = f"{type(exc).__name__}: {exc}"
    return results


def open_client(options: EngineOptions) -> Any:
    """A dask client: on ``options.scheduler``, else on a new LocalCluster (closed with it).

    LocalCluster workers are processes (``processes=True``) started by
    :data:`WORKER_START_METHOD`.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    if options.scheduler:
        logger.info("dask: connecting to the scheduler at %s", options.scheduler)
        return Client(options.scheduler)
    with dask.config.set({"distributed.worker.multiprocessing-method": WORKER_START_METHOD}):
        cluster = LocalCluster(
            n_workers=options.workers,
            threads_per_worker=options.threads_per_worker,
            processes=True,
            memory_limit=options.memory_limit,
            dashboard_address=None,
        )
    logger.info("dask: LocalCluster of %d worker(s)", options.workers)
    client = Client(cluster)
    setattr(client, "_geoattract_cluster", cluster)  # noqa: B010 - closed by close_client
    return client


def close_client(client: Any) -> None:
    """Close a client and the LocalCluster it started."""
    cluster = getattr(client, "_geoattract_cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _run_dask(
    client: Any,
    func: Callable[[Any], Any],
    items: Sequence[Any],
    names: Sequence[str],
    options: EngineOptions,
    failures: dict[str, str],
) -> list[Any]:
    from dask.distributed import as_completed

    n_workers = max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))
    limit = IN_FLIGHT_PER_WORKER * n_workers
    results: list[Any] = [None] * len(items)
    todo = list(range(len(items)))
    running = as_completed()
    where: dict[str, int] = {}

    def submit(i: int) -> None:
        # the item travels inside the task, not scattered: a task whose worker dies is run
        # again elsewhere with its data (scattered data would be lost with the worker)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
            fut = client.submit(
                func, items[i], key=f"partition-{names[i]}-{i}", retries=options.retries, pure=False
            )
        where[fut.key] = i
        running.add(fut)

    with tqdm(
        total=len(items), desc="partitions", unit="part", disable=not options.progress
    ) as bar:
        while todo and len(where) < limit:
            submit(todo.pop(0))
        for fut in running:
            i = where.pop(fut.key)
            if fut.status == "error":
                exc = fut.exception()
                failures[names[i]] = f"{type(exc).__name__}: {exc}"
                logger.error(
                    "partition %s failed after %d retries: %s", names[i], options.retries, exc
                )
            else:
                results[i] = fut.result()
            fut.release()
            bar.update()
            if todo:
                submit(todo.pop(0))
    return results


def engine_options(
    config: StudyConfig,
    *,
    engine: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> EngineOptions:
    """Engine options from the study's ``[dask]`` section, overridden by the command line."""
    section = config.section("dask")
    return EngineOptions(
        engine=engine or "dask",
        scheduler=scheduler,
        workers=int(workers or section.get("workers", 2)),
        threads_per_worker=int(section.get("threads_per_worker", 1)),
        memory_limit=str(section.get("memory_limit", "auto")),
        retries=int(section.get("retries", 1)),
        progress=progress,
    )
