"""The output folder of a run, tried as a user would: unwritable, busy, interrupted, killed.

Each test runs ``geoattract run`` on the tiny study in a separate process (the way a user or a
scheduler starts it), from a temporary folder so that the installed package is the one tested.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TINY = Path(__file__).resolve().parents[1] / "geoattract" / "datasets" / "tiny"

#: Seconds within which a refusal at the door must come (the issue's bound).
DOOR_SECONDS = 5.0

#: Longest wait for a run to reach a given point.
WAIT_SECONDS = 120.0


def _cmd(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "geoattract",
        "run",
        "--config",
        str(TINY / "study.toml"),
        "--data-dir",
        str(TINY / "data"),
        "--out",
        str(out),
        *extra,
    ]


def _run(cwd: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        _cmd(out, *extra), cwd=cwd, capture_output=True, text=True, timeout=WAIT_SECONDS * 2
    )


def _start(cwd: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        _cmd(out, *extra), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _wait_for(predicate, proc: subprocess.Popen | None = None) -> None:
    t0 = time.monotonic()
    while not predicate():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the run ended first: {proc.communicate()}")
        if time.monotonic() - t0 > WAIT_SECONDS:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _staging(out: Path) -> list[Path]:
    return sorted(out.glob(".staging-*"))


@contextlib.contextmanager
def _read_only(folder: Path):
    """Make a folder unwritable, also for root (``chattr +i``; plain permissions otherwise)."""
    root = os.geteuid() == 0
    if root:
        if shutil.which("chattr") is None:
            pytest.fail("running as root without chattr: cannot make a folder read-only")
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


@pytest.fixture
def previous(tmp_path) -> Path:
    """An output folder holding a finished quick run (GeoPackages and tables, no maps)."""
    out = tmp_path / "out"
    done = _run(tmp_path, out, "--no-maps", "-q")
    assert done.returncode == 0, done.stderr
    return out


def test_read_only_output_folder_is_one_line_exit_2(tmp_path):
    out = tmp_path / "ro"
    out.mkdir()
    with _read_only(out):
        done = _run(tmp_path, out, "--no-maps")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"geoattract run: error: output folder {out}: not writable (permission denied)"
    ]
    assert not any(out.iterdir())


def test_output_folder_under_a_read_only_parent_leaves_nothing(tmp_path):
    parent = tmp_path / "ro"
    parent.mkdir()
    with _read_only(parent):
        done = _run(tmp_path, parent / "new" / "maps", "--no-maps")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"geoattract run: error: output folder {parent / 'new' / 'maps'}")
    assert "cannot be created" in line and ".staging" not in line
    assert not (parent / "new").exists()


def test_failed_run_leaves_no_new_empty_folder(tmp_path):
    out = tmp_path / "a" / "b" / "maps"
    t0 = time.monotonic()
    done = _run(tmp_path, out, "--isochrones-for", "99999")
    assert time.monotonic() - t0 < DOOR_SECONDS + 10  # the interpreter start is not the door
    assert done.returncode == 2
    assert "unknown commune '99999'" in done.stderr
    assert not (tmp_path / "a").exists()


def test_unknown_isochrone_commune_is_refused_at_the_door(tmp_path, previous):
    before = _digest(previous)
    t0 = time.monotonic()
    done = _run(tmp_path, previous, "--isochrones-for", "99999")
    elapsed = time.monotonic() - t0
    assert done.returncode == 2, done.stderr
    assert "unknown commune '99999'" in done.stderr
    assert elapsed < DOOR_SECONDS + 10
    assert _digest(previous) == before


def test_second_run_into_a_busy_folder_is_refused_at_once(tmp_path, previous):
    first = _start(tmp_path, previous)  # with maps: long enough to overlap
    try:
        _wait_for(lambda: bool(_staging(previous)), first)
        t0 = time.monotonic()
        second = _run(tmp_path, previous, "--no-maps")
        elapsed = time.monotonic() - t0
        assert second.returncode == 2
        (line,) = second.stderr.strip().splitlines()
        assert "another geoattract run is writing to it" in line
        assert f"pid {first.pid}" in line
        assert elapsed < DOOR_SECONDS + 10
    finally:
        first.terminate()
        first.communicate(timeout=WAIT_SECONDS)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_previous_outputs_byte_identical(tmp_path, previous, sig):
    before = _digest(previous)
    run = _start(tmp_path, previous)
    _wait_for(lambda: any((s / "communes.gpkg").exists() for s in _staging(previous)), run)
    run.send_signal(sig)
    _, err = run.communicate(timeout=WAIT_SECONDS)
    assert run.returncode == 130, err
    assert "interrupted; previous outputs left intact" in err
    assert _digest(previous) == before
    assert _staging(previous) == []
    assert not (previous / ".geoattract.lock").exists()


def test_run_after_a_sigkill_cleans_up_and_succeeds(tmp_path, previous):
    run = _start(tmp_path, previous)
    _wait_for(lambda: any((s / "communes.gpkg").exists() for s in _staging(previous)), run)
    run.kill()
    run.communicate(timeout=WAIT_SECONDS)
    assert _staging(previous)  # the killed run could not clean up
    done = _run(tmp_path, previous, "--no-maps", "-q")
    assert done.returncode == 0, done.stderr
    assert _staging(previous) == []
    assert not (previous / ".geoattract.lock").exists()
    assert (previous / "communes.gpkg").is_file()
    log = (previous / "run.log").read_text(encoding="utf-8")
    assert "left by an interrupted run" in log
