"""Benchmark of the study run: a first run after install (cold) against a warm one, and France.

Usage::

    python scripts/benchmark_run.py [--rounds N] [--config NAME] [--wheel FILE] [--skip-france]
        [--france-config NAME] [--json FILE] [--markdown FILE]

The package measured is a wheel (built from this checkout with ``pip wheel``, as ``.ci/run``
and ``pip install .`` build it, unless ``--wheel`` names one). Each round installs it afresh
(``pip install --no-deps --target``) and runs ``geoattract run`` twice in fresh processes, one
after the other on the same machine: **cold**, a new user's first run after ``pip install``
(the package as the wheel ships it, an empty geoattract cache: no road graph built), then
**warm** (what the cold run left: its caches, and anything numba compiled). Rounds alternate
cold and warm so that a change of the machine's load hits both. Then, unless
``--skip-france``, one warm run of the France study.

For every run it prints the wall time, the time of each stage (the lines ``geoattract run``
prints), the CPU time and the peak resident memory of the run's process (``ru_maxrss`` from
``wait4``, which includes the processes it waited for). The tables are printed in Markdown, to
paste into the README; the machine's load average before and after is printed too: on a
shared machine compare the runs of one call, not calls.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

STAGE_LINE = re.compile(r"^\s{2}(\w+)\s+([0-9.]+) s$")

#: The checkout this script belongs to.
REPO = Path(__file__).resolve().parents[1]


def build_wheel(folder: Path) -> Path:
    """The wheel of this checkout, built as ``pip install .`` builds it."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--wheel-dir",
            str(folder),
            str(REPO),
        ],
        check=True,
    )
    return next(folder.glob("geoattract-*.whl"))


def install(wheel: Path, target: Path) -> Path:
    """A fresh install of ``wheel`` (no dependencies: the running environment has them)."""
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    return target


def run_once(config: str, cold: bool, install: Path, cache_root: Path, out: Path) -> dict[str, Any]:
    """One ``geoattract run`` in a fresh process; its wall time, stages, CPU and peak memory."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}  # the wheel's cache
    ga_cache = cache_root / "geoattract"
    if cold and ga_cache.exists():
        shutil.rmtree(ga_cache)
    env["GEOATTRACT_CACHE_DIR"] = str(ga_cache)
    env["PYTHONPATH"] = str(install)
    env.setdefault("GEOATTRACT_DATA_DIR", str(REPO.parent / "shared" / "data"))
    cmd = [sys.executable, "-m", "geoattract", "run", "--config", config, "--out", str(out)]
    t0 = time.perf_counter()
    log_out, log_err = out.with_suffix(".stdout"), out.with_suffix(".stderr")
    with log_out.open("w") as fo, log_err.open("w") as fe:
        proc = subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe, cwd=out.parent)
        _, status, usage = os.wait4(proc.pid, 0)  # this run's own rusage (and its waited children)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    stdout = log_out.read_text()
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {log_err.read_text().strip()[-2000:]}")
    stages = {
        m.group(1): float(m.group(2)) for m in map(STAGE_LINE.match, stdout.splitlines()) if m
    }
    return {
        "cold": cold,
        "wall_s": wall,
        "stages_s": stages,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="cold/warm pairs (default 3)")
    parser.add_argument("--config", default="lot-et-garonne", help="study (default lot-et-garonne)")
    parser.add_argument("--skip-france", action="store_true", help="no France run")
    parser.add_argument("--france-config", default="france", help="national study (default france)")
    parser.add_argument("--wheel", type=Path, help="the wheel to measure (default: built here)")
    parser.add_argument("--json", type=Path, help="write every run's figures")
    parser.add_argument("--markdown", type=Path, help="write the tables")
    args = parser.parse_args(argv)

    runs: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ga-bench-") as tmp:
        root = Path(tmp)
        wheel = args.wheel or build_wheel(root / "dist")
        for r in range(args.rounds):
            target = install(wheel, root / "site")
            for cold in (True, False):
                res = run_once(
                    args.config, cold, target, root / "cache", root / f"out-{r}-{int(cold)}"
                )
                res["round"] = r + 1
                runs.append(res)
                print(_one_line(args.config, res), flush=True)
        france = None
        if not args.skip_france:
            run_once(args.france_config, False, target, root / "cache", root / "fr-warmup")
            france = run_once(args.france_config, False, target, root / "cache", root / "fr")
            france["round"] = 1
            print(_one_line(args.france_config, france), flush=True)
    load_after = os.getloadavg()
    text = tables(args.config, runs, france, load_before, load_after)
    print()
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "france": france}, indent=2))
    return 0


def _rss(res: dict[str, Any]) -> float:
    return float(res["peak_rss_mb"])


def _one_line(config: str, res: dict[str, Any]) -> str:
    kind = "cold" if res["cold"] else "warm"
    return f"{config} {kind}: {res['wall_s']:.1f} s wall, peak {_rss(res):.0f} MB"


def tables(
    config: str,
    runs: list[dict[str, Any]],
    france: dict[str, Any] | None,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    """The Markdown tables: every run, medians, first/warm ratio and outputs share."""
    stages = list(dict.fromkeys(s for r in runs for s in r["stages_s"]))
    head = ["run", "wall (s)", "CPU (s)", *stages, "peak memory (MB)"]
    lines = [
        f"`{config}`, {len(runs) // 2} rounds of a first run after install (cold) then a warm "
        f"one; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in runs:
        kind = "first (cold)" if r["cold"] else "warm"
        cells = [f"{kind} #{r['round']}", f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}"]
        cells += [f"{r['stages_s'].get(s, float('nan')):.1f}" for s in stages]
        cells.append(f"{_rss(r):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    summary = {}
    for kind, cold in (("first (cold)", True), ("warm", False)):
        sel = [r for r in runs if r["cold"] == cold]
        cells = [
            f"**median {kind}**",
            f"**{statistics.median(r['wall_s'] for r in sel):.1f}**",
            f"{statistics.median(r['cpu_s'] for r in sel):.1f}",
        ]
        cells += [
            f"{statistics.median(r['stages_s'].get(s, 0.0) for r in sel):.1f}" for s in stages
        ]
        cells.append(f"{max(_rss(r) for r in sel):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
        summary[cold] = sel
    cold_med = statistics.median(r["wall_s"] for r in summary[True])
    warm_med = statistics.median(r["wall_s"] for r in summary[False])
    out_share = statistics.median(
        r["stages_s"].get("outputs", 0.0) / r["wall_s"] for r in summary[False]
    )
    lines += [
        "",
        f"First run / warm run: **{cold_med / warm_med:.2f}×** (median {cold_med:.1f} s / "
        f"{warm_med:.1f} s); outputs are {100 * out_share:.0f} % of the warm run.",
    ]
    if france is not None:
        fr_stages = france["stages_s"]
        lines += [
            "",
            "| France (warm) | wall (s) | " + " | ".join(fr_stages) + " | peak memory (MB) |",
            "|" + "---|" * (len(fr_stages) + 3),
            f"| `run --config france` | {france['wall_s']:.1f} | "
            + " | ".join(f"{v:.1f}" for v in fr_stages.values())
            + f" | {_rss(france):.0f} |",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
