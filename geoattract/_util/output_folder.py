"""The output folder of a run: checked at the door, locked, staged, published atomically.

A run writes every file into a staging folder inside the output folder and moves them into
place only once every stage has succeeded, each with an atomic :func:`os.replace`, with SIGINT
and SIGTERM held back during the moves: an interrupted or failed run leaves the previous
outputs byte-identical. A lock (``fcntl.flock`` on ``.geoattract.lock``) refuses a second run
into the same folder at once; the kernel releases it when its process dies, even by SIGKILL, so
the next run knows the staging folders it finds are leftovers and removes them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

from geoattract.errors import DataError

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: no lock, the rest still holds
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

#: Descriptors of the output-folder locks this process holds. A forked child (the printed
#: maps' workers) inherits them, and a flock lives as long as any copy of its descriptor is
#: open: a worker outliving a killed run would keep the folder locked. The child closes its
#: copies at once (closing, not unlocking: an unlock would release the parent's lock too).
_HELD_LOCKS: set[int] = set()


def _close_inherited_locks() -> None:
    for fd in list(_HELD_LOCKS):
        with contextlib.suppress(OSError):
            os.close(fd)
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)

#: Prefix of the staging folder created inside the output folder during a run.
STAGING_PREFIX = ".staging-"

#: Lock file of a run, inside the output folder.
LOCK_FILE = ".geoattract.lock"

#: Manifest of the files a run published (relative paths), read by the next run.
MANIFEST = "run.json"

#: Signals held back while files are moved into place.
PUBLISH_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Raised in the main thread when the run receives SIGTERM (SIGINT raises its parent)."""


class OutputFolder:
    """Context manager owning the output folder of one run.

    Parameters
    ----------
    out : path-like
        The output folder (created if needed; removed again if the run fails and it is still
        empty).
    publish : bool
        False for an in-memory run: a private temporary staging folder, no lock, nothing
        published.

    Raises
    ------
    DataError
        The folder cannot be created or written to, or another run holds its lock.
    """

    def __init__(self, out: str | os.PathLike, *, publish: bool = True) -> None:
        self.out = Path(out)
        self.publish_enabled = publish
        self.staging = Path()
        self._created: list[Path] = []
        self._lock: IO[str] | None = None
        self._previous_sigterm: Any = None
        self.leftovers: list[str] = []

    # -- entering ---------------------------------------------------------------------------
    def __enter__(self) -> OutputFolder:
        """Check the folder, take the lock, clean leftovers, create the staging folder."""
        if not self.publish_enabled:
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX))
            return self
        self._make_folder()
        try:
            self._take_lock()
            self._remove_leftovers()
            self.staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.out))
        except BaseException:
            self._release()
            raise
        self._trap_sigterm()
        return self

    def _make_folder(self) -> None:
        missing = []
        p = self.out.resolve()
        while not p.exists():
            missing.append(p)
            p = p.parent
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(
                f"output folder {self.out}: cannot be created ({exc.strerror or exc})"
            ) from exc
        self._created = missing
        if not self.out.is_dir():
            raise DataError(f"output folder {self.out}: exists and is not a folder")
        if not os.access(self.out, os.W_OK | os.X_OK):
            self._remove_created()
            raise DataError(f"output folder {self.out}: not writable (permission denied)")

    def _take_lock(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        path = self.out / LOCK_FILE
        try:
            fh = path.open("a+", encoding="utf-8")
        except OSError as exc:
            raise DataError(
                f"output folder {self.out}: cannot write its lock file ({exc})"
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise _busy(self.out, holder) from None
        _HELD_LOCKS.add(fh.fileno())
        fh.seek(0)
        fh.truncate()
        fh.write(
            f"pid {os.getpid()} on {socket.gethostname()}, started "
            f"{time.strftime('%Y-%m-%d %H:%M:%S')}"
        )
        fh.flush()
        self._lock = fh

    def _remove_leftovers(self) -> None:
        """Staging folders left by a killed run (we hold the lock: nobody else is writing)."""
        for stale in sorted(self.out.glob(STAGING_PREFIX + "*")):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
                self.leftovers.append(stale.name)

    def _trap_sigterm(self) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            raise RunInterrupted(f"signal {signal.Signals(signum).name}")

        with contextlib.suppress(ValueError):  # not the main thread: leave signals alone
            self._previous_sigterm = signal.signal(signal.SIGTERM, handler)

    # -- publishing -------------------------------------------------------------------------
    def publish(self, files: dict[str, Path]) -> dict[str, Path]:
        """Move staged files into the output folder, each with an atomic rename.

        Files the previous run listed in its manifest and this run did not produce are removed
        afterwards; files the user put in the folder are never touched. SIGINT and SIGTERM are
        held back until every file is in place.

        Parameters
        ----------
        files : dict
            Label → path inside the staging folder.

        Returns
        -------
        dict
            Label → published path.
        """
        previous = previous_outputs(self.out)
        published: dict[str, Path] = {}
        with _signals_blocked():
            for label, path in files.items():
                rel = path.relative_to(self.staging)
                target = self.out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                published[label] = target
            current = {p.relative_to(self.out).as_posix() for p in published.values()}
            for stale in sorted(previous - current):
                with contextlib.suppress(FileNotFoundError):
                    (self.out / stale).unlink()
                    logger.info(
                        "removed %s, left by the previous run and no longer produced", stale
                    )
        self._created = []  # the folder now holds outputs: keep it
        return published

    # -- leaving ----------------------------------------------------------------------------
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Remove the staging folder, release the lock, remove a folder the run created."""
        with contextlib.suppress(OSError):
            shutil.rmtree(self.staging)
        if self._previous_sigterm is not None:
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGTERM, self._previous_sigterm)
        self._release()
        if exc_type is not None:
            self._remove_created()

    def _release(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                (self.out / LOCK_FILE).unlink()
            _HELD_LOCKS.discard(self._lock.fileno())
            self._lock.close()  # closing the descriptor releases the flock
            self._lock = None

    def _remove_created(self) -> None:
        for folder in self._created:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty
        self._created = []


def check_output_folder(out: str | os.PathLike) -> None:
    """Check, before any heavy work, that a run could write to ``out`` now.

    The folder (or its nearest existing parent, when it does not exist yet) must be writable,
    and no other run may hold its lock. Nothing is created. :class:`OutputFolder` checks again
    when the run starts; this early probe only makes a refusal immediate.

    Raises
    ------
    DataError
        Not a folder, not writable, or busy (naming the process that holds the lock).
    """
    folder = Path(out)
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise DataError(f"output folder {folder}: {probe} exists and is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        what = "not writable (permission denied)" if probe == folder else "cannot be created"
        detail = "" if probe == folder else f" ({probe} is not writable)"
        raise DataError(f"output folder {folder}: {what}{detail}")
    lock = folder / LOCK_FILE
    if fcntl is None or not lock.is_file():
        return
    with lock.open("r", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise _busy(folder, fh.read().strip()) from None
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _busy(folder: Path, holder: str) -> DataError:
    """The error of a run refused because another one holds the folder's lock."""
    return DataError(
        f"output folder {folder}: another geoattract run is writing to it "
        f"({holder or 'unknown process'}); wait for it to finish or choose another --out"
    )


@contextlib.contextmanager
def _signals_blocked() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (delivered on exit) in the calling thread."""
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, PUBLISH_SIGNALS)
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def previous_outputs(out: Path) -> set[str]:
    """Relative paths the previous run wrote, from its manifest (empty if none)."""
    try:
        files = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {
        f
        for f in files
        if isinstance(f, str) and ".." not in Path(f).parts and not Path(f).is_absolute()
    }
