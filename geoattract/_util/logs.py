"""Logging for the application layer: a quiet console and a detailed ``run.log``.

The library only logs (it never attaches handlers); the command line and :func:`run_study`
decide where records go. The console shows warnings that need action, each message once;
every record of a run, debug included, goes to ``run.log`` beside the outputs.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

#: Logger every module of the package logs under.
ROOT_LOGGER = "geoattract"

#: Format of the console lines.
CONSOLE_FORMAT = "%(levelname_fr)s: %(message)s"

#: Format of ``run.log`` lines.
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: Console names of the levels.
LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warning",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}


class OnceFilter(logging.Filter):
    """Let each distinct message through once (a warning repeated by several stages)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[str, int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for a message already shown."""
        key = (record.name, record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class _ConsoleFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.levelname_fr = LEVEL_NAMES.get(record.levelno, record.levelname.lower())
        return super().format(record)


class _BarFriendlyHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Write through tqdm so a message never cuts into a progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm.auto import tqdm

            text = self.format(record)
            if getattr(self.stream, "isatty", lambda: False)():  # wrap for a person, not a pipe
                width = shutil.get_terminal_size((100, 24)).columns
                text = textwrap.fill(text, width=min(width, 100), subsequent_indent="  ")
            tqdm.write(text, file=self.stream)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


class WarningCounter(logging.Handler):
    """Count the warnings of a run (for its summary)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the message."""
        self.messages.append(record.getMessage())


def configure_console(verbose: bool = False, quiet: bool = False) -> logging.Handler:
    """Send the package's records to stderr: warnings by default, debug with -v, errors with -q.

    Parameters
    ----------
    verbose, quiet : bool
        Command-line verbosity.

    Returns
    -------
    logging.Handler
        The console handler (attached to the ``geoattract`` logger).
    """
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING
    logger = logging.getLogger(ROOT_LOGGER)
    for h in list(logger.handlers):
        if getattr(h, "_geoattract_console", False):
            logger.removeHandler(h)
    handler = _BarFriendlyHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(_ConsoleFormatter(CONSOLE_FORMAT))
    handler.addFilter(OnceFilter())
    handler._geoattract_console = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return handler


@contextlib.contextmanager
def run_log(path: Path) -> Iterator[WarningCounter]:
    """Write every record of the package to ``path`` while the block runs.

    Parameters
    ----------
    path : Path
        The log file (usually ``run.log`` in the staging folder).

    Yields
    ------
    WarningCounter
        Collects the warnings of the run.
    """
    logger = logging.getLogger(ROOT_LOGGER)
    previous = logger.level
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    counter = WarningCounter()
    logger.addHandler(handler)
    logger.addHandler(counter)
    if logger.level == logging.NOTSET or logger.level > logging.DEBUG:
        logger.setLevel(logging.DEBUG)
    try:
        yield counter
    finally:
        logger.removeHandler(handler)
        logger.removeHandler(counter)
        handler.close()
        logger.setLevel(previous)
