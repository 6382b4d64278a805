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
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoattract._util.io import write_text_atomic
from geoattract.config.study import StudyConfig, load_study_config
from geoattract.errors import DataError, format_values

logger = logging.getLogger(__name__)

#: Communes listed among those that gain.
TOP_COMMUNES = 15

#: Widest line printed.
WIDTH = 100

#: Widest name printed (the tables stay within :data:`WIDTH` columns).
NAME_WIDTH = 22

#: Columns of the ``--out`` CSV: one row per chosen site.
SITE_COLUMNS: tuple[str, ...] = ("code", "nom", "added", "gain")

#: Header of the gain column, by objective (its unit).
GAIN_HEADERS: dict[str, str] = {
    "coverage": "Gain (hab.)",
    "time": "Gain (min × hab.)",
    "apl": "Gain (APL × hab.)",
}

#: Vector formats read as candidate points.
POINT_SUFFIXES: tuple[str, ...] = (".gpkg", ".geojson", ".json", ".shp", ".fgb")


@dataclass(frozen=True)
class OptimiseRequest:
    """The checked arguments of ``geoattract optimise``."""

    config: StudyConfig
    category: str
    label: str
    unit: str
    k: int
    objective: Any
    profile: str | None
    band: str | None
    candidate_codes: tuple[str, ...] | None
    candidate_points: gpd.GeoDataFrame | None
    out: Path | None
    method: str = "auto"


def _config(config: StudyConfig | str | os.PathLike | None, data_dir: Any) -> StudyConfig:
    if isinstance(config, StudyConfig):
        return config
    return load_study_config(config, data_dir=data_dir)


def read_candidates(
    path: str | os.PathLike, study: gpd.GeoDataFrame
) -> tuple[tuple[str, ...] | None, gpd.GeoDataFrame | None]:
    """Candidate communes (a CSV with a ``code`` column) or points (a vector file).

    Points take the commune they fall in (or their ``code`` column); every candidate must be
    a study commune.

    Raises
    ------
    DataError
        A missing file or column, a code or a point outside the study.
    """
    from geoattract._util.io import read_csv, read_vector, require_file

    p = require_file(path, "candidate file")
    codes_ok = set(study["code"].astype(str))
    if p.suffix.lower() in POINT_SUFFIXES:
        pts = read_vector(p).to_crs(study.crs)
        if pts.empty or not (pts.geom_type == "Point").all():
            raise DataError(f"{p}: candidate points must be a non-empty layer of points")
        if "code" in pts.columns:
            pts["code"] = pts["code"].astype(str).str.zfill(5)
        else:
            joined = gpd.sjoin(pts, study[["code", "geometry"]], how="left", predicate="within")
            pts["code"] = joined["code"].groupby(level=0).first().reindex(pts.index)
        outside = pts.index[~pts["code"].isin(codes_ok)].tolist()
        if outside:
            raise DataError(
                f"{p}: candidate point(s) {format_values(outside)} (row) are outside the study "
                f"communes"
            )
        if "name" not in pts.columns and "nom" in pts.columns:
            pts["name"] = pts["nom"]
        return None, pts.reset_index(drop=True)
    table = read_csv(p, columns=["code"], commune_columns=["code"])
    codes = table["code"].astype(str).tolist()
    outside = sorted(set(codes) - codes_ok)
    if outside:
        raise DataError(
            f"{p}: candidate commune(s) {format_values(outside)} are not communes of the study "
            f"({len(codes_ok)} communes)"
        )
    if not codes:
        raise DataError(f"{p}: no candidate commune")
    return tuple(dict.fromkeys(codes)), None


def check_optimise(
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
) -> OptimiseRequest:
    """Check every argument of ``geoattract optimise`` before any routing.

    Raises
    ------
    DataError
        One line naming the faulty argument and its value.
    """
    from geoattract.app.commands import check_writable_file
    from geoattract.config.plan import parse_objective
    from geoattract.facilities import load_catalogue
    from geoattract.scoring import load_scoring_config

    if isinstance(add, bool) or int(add) != add or add < 1:
        raise DataError(f"--add {add!r}: the number of new units must be an integer >= 1")
    if method not in ("auto", "exact", "greedy"):
        raise DataError(f"--method {method!r}: one of auto, exact, greedy")
    goal = parse_objective(objective)
    cfg = _config(config, data_dir)
    catalogue = load_catalogue(cfg.config_file("catalogue"), check_files=False)
    if category not in catalogue.ids:
        raise DataError(
            f"--category {category!r}: unknown category; known: {format_values(catalogue.ids, 40)}"
        )
    cat = catalogue[category]
    band = None
    if profile is not None:
        scfg = load_scoring_config(cfg.config_file("scoring"))
        if profile not in scfg.profiles:
            raise DataError(
                f"--profile {profile!r}: unknown profile; profiles: {format_values(scfg.profiles)}"
            )
        band = scfg.profiles[profile].get("target_age_band")
        bands = list(catalogue.age_structure.bands) if catalogue.age_structure else []
        if band is not None and band not in bands:
            raise DataError(
                f"{scfg.source}: profiles.{profile}.target_age_band {band!r} is not an age band "
                f"of the catalogue's [age_structure] ({format_values(bands)})"
            )
    codes = points = None
    if candidates is not None and str(candidates) != "communes":
        from geoattract.territory import build_territory

        codes, points = read_candidates(candidates, build_territory(cfg).study)
    path = check_writable_file(out) if out is not None else None
    return OptimiseRequest(
        cfg,
        category,
        cat.label_fr,
        cat.capacity,
        int(add),
        goal,
        profile,
        band,
        codes,
        points,
        path,
        method,
    )


def _fr(value: float, decimals: int = 0) -> str:
    from geoattract.outputs.html import fr_number

    return "n.d." if value is None or not np.isfinite(value) else fr_number(value, decimals)


def _name(text: Any) -> str:
    s = str(text)
    return s if len(s) <= NAME_WIDTH else s[: NAME_WIDTH - 1] + "…"


def _objective_text(req: OptimiseRequest, target: float | None) -> str:
    kind = req.objective.kind
    who = "population" if req.band is None else f"population « {req.band} » du profil {req.profile}"
    if kind == "coverage":
        return f"{who} couverte à moins de {req.objective.minutes:g} min (nouvellement couverte)"
    if kind == "time":
        return f"temps d'accès moyen pondéré par la {who} (minutes-habitants gagnées)"
    return (
        f"gain d'accessibilité potentielle (e2sfca_{req.category}) pondéré par la {who}, "
        f"compté jusqu'à la cible {_fr(target or np.nan, 1)}"
    )


def _level_lines(req: OptimiseRequest, s: dict[str, Any]) -> list[str]:
    kind = req.objective.kind
    total = s["weight_total"]
    if kind == "coverage":
        pct = 100 * s["before"] / total if total else np.nan
        pct_a = 100 * s["after"] / total if total else np.nan
        return [
            f"Couverts aujourd'hui : {_fr(s['before'])} sur {_fr(total)} ({_fr(pct, 1)} %) ; "
            f"après : {_fr(s['after'])} ({_fr(pct_a, 1)} %) ; gain : {_fr(s['value'])}"
        ]
    if kind == "time":
        return [
            f"Temps moyen pondéré : {_fr(s['before'], 2)} min aujourd'hui, "
            f"{_fr(s['after'], 2)} min après ; gain : {_fr(s['value'])} minutes-habitants"
        ]
    return [
        f"Indicateur moyen pondéré : {_fr(s['before'], 1)} aujourd'hui, {_fr(s['after'], 1)} après"
        f" ; gain pondéré sous la cible : {_fr(s['value'])}"
    ]


def _solver_line(s: dict[str, Any]) -> str:
    if s["method"] == "exact" and s["gap"] <= 1e-9:
        how = "exacte (HiGHS, optimum prouvé)"
    elif s["method"] == "exact":
        how = f"exacte interrompue (HiGHS, écart à la borne {_fr(100 * s['gap'], 2)} %)"
    else:
        how = (
            f"gloutonne (≥ 63 % de l'optimum ; borne {_fr(s['upper_bound'])}, "
            f"écart ≤ {_fr(100 * s['gap'], 1)} %)"
        )
    return f"Résolution {how} ; {s['n_candidates']} sites candidats, {s['n_pairs']} paires utiles"


def optimise_text(req: OptimiseRequest, result: Any, top: int = TOP_COMMUNES) -> str:
    """The printed answer: objective, levels, chosen sites, communes that gain (≤ 100 columns)."""
    s = result.summary
    unit = (
        "1 ajout = 1 unité de décompte de la catégorie"
        if req.unit == "count"
        else f"1 ajout = {_fr(s['unit_capacity'])} {req.unit}, capacité médiane de l'offre"
    )
    head = [
        f"Où ajouter {req.k} × « {req.label} » ({unit})",
        f"Objectif : {_objective_text(req, s['target'])}",
        *_level_lines(req, s),
        _solver_line(s),
    ]
    if s["excluded"]:
        head.append(
            f"Communes hors calcul (mairie hors réseau ou sans temps) : {len(s['excluded'])}"
        )
    lines = [textwrap.fill(x, WIDTH, subsequent_indent="  ", break_on_hyphens=False) for x in head]
    sites = result.sites
    if sites.empty or not (sites["gain"] > 0).any():
        lines.append("Aucun site ne fait gagner quoi que ce soit pour cet objectif.")
        return "\n".join(lines)
    if int(sites["added"].sum()) < req.k:
        lines.append(
            f"{int(sites['added'].sum())} ajout(s) suffisent : un ajout de plus ne gagne rien."
        )
    decimals = 0
    gain = GAIN_HEADERS[req.objective.kind]
    table = pd.DataFrame(
        {
            "Code": sites["code"],
            "Site": sites["nom"].map(_name),
            "Ajout": sites["added"],
            gain: sites["gain"].map(lambda v: _fr(v, decimals)),
            "Communes": sites["communes_gaining"],
        }
    )
    lines += ["", "Sites retenus", table.to_string(index=False)]
    com = result.communes[result.communes["gain"] > 0].sort_values("gain", ascending=False)
    measure = "APL" if req.objective.kind == "apl" else "min"
    shown = com.head(top)
    ctab = pd.DataFrame(
        {
            "Code": shown["code"],
            "Commune": shown["nom"].map(_name),
            "Population": shown["population"].map(_fr),
            f"Avant ({measure})": shown["before"].map(lambda v: _fr(v, 1)),
            f"Après ({measure})": shown["after"].map(lambda v: _fr(v, 1)),
            gain: shown["gain"].map(lambda v: _fr(v, decimals)),
            "Site": shown["site"],
        }
    )
    lines += [
        "",
        f"Communes qui gagnent ({len(shown)} premières sur {len(com)})",
        ctab.to_string(index=False),
    ]
    return "\n".join(lines)


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
