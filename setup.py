"""Build hook: the wheel carries numba's compile cache of the package's kernels.

A fresh install would otherwise compile the routing and isochrone kernels on its first run
(about 25 s of CPU on 2 cores). ``build_py`` stages the package, then runs
:func:`geoattract.routing.warmup.compile_kernels` on the staged copy: numba writes the machine
code next to each module (``__pycache__/*.nbi``, ``*.nbc``, keyed by the module's source text,
so valid wherever the wheel is installed) and the wheel takes the files with the package.
The code is compiled for the CPU of the machine that builds the wheel, as ``pip install .``
does on the user's machine; on another CPU numba finds no matching entry and compiles as it
would have. Editable installs skip the step; ``GEOATTRACT_NO_KERNEL_CACHE=1`` skips it too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithKernels(build_py):
    """``build_py``, then compile the kernels of the staged package into its ``__pycache__``."""

    def run(self) -> None:
        """Stage the package, then compile its kernels there."""
        super().run()
        if getattr(self, "editable_mode", False) or os.environ.get("GEOATTRACT_NO_KERNEL_CACHE"):
            return
        env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
        with tempfile.TemporaryDirectory() as cache:
            env.update(PYTHONPATH=os.path.abspath(self.build_lib), GEOATTRACT_CACHE_DIR=cache)
            code = (
                "from geoattract.routing.warmup import compile_kernels; "
                "k = compile_kernels(); print(f'{len(k)} kernels, {sum(k.values())} signatures')"
            )
            proc = subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=cache,  # never the source tree: the staged package is imported
                capture_output=True,
                text=True,
            )
        if proc.returncode == 0:
            print(f"geoattract: compiled ahead of the first run: {proc.stdout.strip()}")
        else:  # the wheel still works: its first run compiles, as without this step
            tail = " ".join(proc.stderr.strip().splitlines()[-3:])
            print(f"geoattract: kernels not compiled ahead ({tail})", file=sys.stderr)


setup(cmdclass={"build_py": BuildPyWithKernels})
