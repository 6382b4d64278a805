"""Back end of ``geoattract optimise``: where K new facilities of a category help most.

Every argument is checked before any routing (:func:`check_optimise`, a few seconds at most:
the study file, the catalogue, the scoring profiles and, for a candidate file, the territory):
an unknown category or profile, K < 1, a malformed objective, a candidate outside the study
or an unwritable output is a one-line error. Then the study's snapped inputs are built (the
network from its cache), the problem is solved (:mod:`geoattract.accessibility.siting`) and the
answer printed: the chosen sites, the gain, the communes that gain.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from geoattract._util.io import write_text_atomic
from geoattract.config.study import StudyConfig
from geoattract.outputs.optimise_text import optimise_text
from geoattract.scoring.optimise_check import OptimiseRequest, check_optimise

logger = logging.getLogger(__name__)

#: Columns of the ``--out`` CSV: one row per chosen site.
SITE_COLUMNS: tuple[str, ...] = ("code", "nom", "added", "gain")


def optimise_command(
    category: str,
    add: int,
    *,
    objective: str = "coverage:10",
    profile: str | None = None,
    candidates: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    method: str = "auto",
    config: StudyConfig | str | os.PathLike | None = None,
    data_dir: Any = None,
    verbose: bool = False,
) -> tuple[str, Any]:
    """Run ``geoattract optimise``: check, build the snapped inputs, solve, print, write.

    Returns
    -------
    (str, SitingResult)
        The text printed and the result.
    """
    req = check_optimise(
        category,
        add,
        objective=objective,
        profile=profile,
        candidates=candidates,
        out=out,
        method=method,
        config=config,
        data_dir=data_dir,
    )
    result = optimise_request(req, verbose=verbose)
    text = optimise_text(req, result)
    if req.out is not None:
        write_text_atomic(req.out, result.sites[list(SITE_COLUMNS)].to_csv(index=False))
        text += f"\n\nSites écrits dans {req.out}"
    return text, result


def optimise_request(req: OptimiseRequest, *, verbose: bool = False) -> Any:
    """Build the study's snapped inputs (territory, network, offer) and solve the request."""
    from geoattract.accessibility import prepare_inputs
    from geoattract.accessibility.siting import candidate_sites, optimise_sites, siting_problem
    from geoattract.facilities import build_offer
    from geoattract.network import build_network
    from geoattract.territory import build_territory

    cfg = req.config
    territory = build_territory(cfg)
    network = build_network(cfg, territory.communes)
    offer = build_offer(cfg, territory.communes, verbose=verbose)
    inputs = prepare_inputs(
        network.graph,
        territory.communes,
        offer.facilities,
        offer.catalogue,
        snap_rule=network.snap_rule,
        age_structure=offer.age_structure,
    )
    cands = None
    if req.candidate_codes is not None or req.candidate_points is not None:
        cands = candidate_sites(
            inputs,
            territory.communes,
            req.category,
            codes=req.candidate_codes,
            points=req.candidate_points,
        )
    sp = siting_problem(
        inputs, territory.communes, req.category, req.objective, band=req.band, candidates=cands
    )
    return optimise_sites(sp, req.k, method=req.method)
