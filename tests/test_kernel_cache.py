"""A first run after install compiles nothing: the wheel carries numba's cache (issue 28).

``setup.py`` runs :func:`geoattract.routing.warmup.compile_kernels` on the staged package;
numba writes each kernel's machine code beside its module, and the wheel ships the files.
Under ``.ci/run`` the package tested is that wheel, installed: a study run in a fresh process
must find every kernel there and write no new compiled code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import geoattract
from geoattract.routing.warmup import KERNEL_MODULES

ROUTING = Path(geoattract.__file__).parent / "routing" / "__pycache__"

RUN_EVERY_PATH = """
import geoattract as ga
from geoattract.app.pipeline import compute_study
state = compute_study(ga.datasets.tiny_config(), progress=False)
net = ga.load_network(ga.datasets.tiny_roads())
halls = ga.datasets.tiny_town_halls()
ga.od_matrix(net, halls, halls)
for shape in ("area", "band"):
    ga.isochrones(net, halls.head(2), [10, 20], shape=shape)
"""


def _compiled_files() -> set[str]:
    return {p.name for p in ROUTING.glob("*.nb[ic]")} if ROUTING.is_dir() else set()


@pytest.mark.skipif(
    not os.environ.get("GEOATTRACT_EXPECT_WHEEL"),
    reason="the source tree has no shipped cache; .ci/run tests the installed wheel",
)
def test_the_installed_wheel_carries_every_kernel_and_a_run_compiles_nothing(tmp_path):
    before = _compiled_files()
    modules = {m.rsplit(".", 1)[-1] for m in KERNEL_MODULES}
    assert {name.split(".")[0] for name in before} == modules
    index_before = {p.name: p.read_bytes() for p in ROUTING.glob("*.nbi")}
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["GEOATTRACT_CACHE_DIR"] = str(tmp_path / "cache")
    proc = subprocess.run(
        [sys.executable, "-c", RUN_EVERY_PATH],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _compiled_files() == before  # no new specialisation compiled
    index_after = {p.name: p.read_bytes() for p in ROUTING.glob("*.nbi")}
    assert index_after == index_before  # nor a new entry for another CPU or signature
