"""Compile every numba kernel of the package once, ahead of a first run.

numba compiles a kernel the first time it is called and keeps the machine code in its cache
(``cache=True``: the ``__pycache__`` folder beside the module, keyed by the module's source
text, so it stays valid when the package is copied or installed elsewhere). A fresh install
would pay about 25 s of CPU on its first run; :func:`compile_kernels` pays it where the wheel
is built instead (``setup.py`` runs it on the staged package, and the cache files go into the
wheel), or in a Dask worker before its first partition.

Each kernel is reached through the code path that uses it, on a synthetic road graph, so the
argument types are those of a real run (every caller passes its arrays through
:func:`~geoattract.routing.kernels.kernel_array`: one compiled signature per kernel).
"""

from __future__ import annotations

import importlib

#: Modules holding the package's compiled kernels.
KERNEL_MODULES: tuple[str, ...] = (
    "geoattract.routing.kernels",
    "geoattract.routing.contour",
    "geoattract.routing.isoreach",
    "geoattract.routing.isogrid",
)


def compile_kernels() -> dict[str, int]:
    """Compile (or load from numba's cache) every kernel of the package.

    Runs, on a synthetic graph of about 400 nodes: a bounded search per origin, with and
    without targets; a multi-source nearest search; isochrones of both shapes (area within
    reach and road band) by the grid method, which trace, simplify and nest contours.

    Returns
    -------
    dict
        Kernel (``module.function``) → number of compiled signatures.

    Examples
    --------
    >>> from geoattract.routing.warmup import compile_kernels
    >>> compiled = compile_kernels()
    >>> compiled["kernels.bounded_kernel"], compiled["isoreach.reach_field"]
    (1, 1)
    """
    from geoattract.network.load import Network
    from geoattract.routing.graph import routing_graph
    from geoattract.routing.isochrones import isochrones
    from geoattract.routing.partition import warm_up_kernels
    from geoattract.routing.queries import travel_times_within
    from geoattract.routing.synthetic import synthetic_road_graph

    warm_up_kernels()  # the queries of the accessibility stage
    G = synthetic_road_graph(400, seed=1)
    rg = routing_graph(G)
    nodes = list(G.nodes)[:3]
    travel_times_within(rg, nodes, 900.0, n_threads=1)
    net = Network.from_graph(G)
    for shape in ("area", "band"):
        isochrones(net, nodes, [5, 10], shape=shape, method="grid")
    return compiled_signatures()


def compiled_signatures() -> dict[str, int]:
    """Kernel (``module.function``) → signatures compiled or loaded in this process."""
    from numba.core.registry import CPUDispatcher

    out = {}
    for name in KERNEL_MODULES:
        module = importlib.import_module(name)
        for attr, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.signatures:
                out[f"{name.rsplit('.', 1)[-1]}.{attr}"] = len(obj.signatures)
    return out
