"""Map inputs drawn on the real communes, shared by the map tests and the browser tests.

The inputs are the real 319 Lot-et-Garonne communes (the ``territory`` fixture, so the tests
using them are ``shared_data``) with deterministic synthetic scores (seeded numpy), small
isochrones (discs around the town halls of the main towns), a few facilities of three real
catalogue categories, the labels of the real study configuration and a schematic-network
caption; two communes and one facility carry hostile names to check HTML escaping. The
constants below are what those tests compare with.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geoattract import outputs, settings
from geoattract.outputs import basemap, geometry

PROFILES = ["general", "jeunes", "familles", "personnel_medical", "saisonniers", "teletravailleurs"]
PILLARS = ["services", "health", "culture", "housing", "transition", "environment"]
#: label_fr of the profiles in scoring.toml, in PROFILES order.
PROFILE_LABELS_FR = [
    "Population générale",
    "Jeunes (15-29 ans)",
    "Familles avec enfants",
    "Personnels médicaux et soignants",
    "Travailleurs saisonniers",
    "Télétravailleurs",
]
EVIL_SCRIPT = "<script>alert(1)</script>"
EVIL_IMG = "<img src=x onerror=alert(1)>"
#: Real catalogue categories of the test facilities, with their labels in facilities.toml.
CATEGORY_LABELS = {
    "gp": "Médecin généraliste",
    "school_primary": "École maternelle ou élémentaire",
    "pharmacy": "Pharmacie",
}
#: The schematic-network sentence of the test caption.
SCHEMATIC_TEXT = (
    "Réseau routier schématique, construit à partir des limites communales : "
    "temps de trajet indicatifs."
)
#: Isochrone disc radius per minute of travel (synthetic: 36 km/h as the crow flies).
ISO_M_PER_MIN = 600.0


@dataclass(frozen=True)
class Caption:
    """Stand-in for network.NetworkCaption (same attributes)."""

    text_fr: str
    schematic: bool = True
    source: str = "schématique (limites communales)"
    vintage: str = "COG 2025"
    kind: str = "schematic"


#: Départements of the Lot-et-Garonne study and of its 30 km buffer.
STUDY_DEPARTEMENTS = ("47",)
BUFFER_DEPARTEMENTS = ("24", "32", "33", "40", "46", "82")


def study_labels() -> outputs.Labels:
    """Labels of the shipped study configuration (scoring, catalogue, indicator registry).

    The catalogue is resolved for the study's départements as a run resolves it (whether each
    category's offer is known in the buffer), from the sources' declared coverage alone.
    """
    from dataclasses import replace

    from geoattract.facilities import check_coverage
    from geoattract.facilities.catalogue import load_catalogue
    from geoattract.scoring import load_scoring_config
    from geoattract.transition import load_indicator_registry

    folder = settings.config_folder
    catalogue = load_catalogue(folder / "facilities.toml", check_files=False)
    report = check_coverage(catalogue, list(STUDY_DEPARTEMENTS), list(BUFFER_DEPARTEMENTS))
    catalogue.categories = {
        cid: replace(cat, covers_buffer=report.covers_buffer.get(cid, bool(cat.covers_buffer)))
        for cid, cat in catalogue.categories.items()
    }
    return outputs.Labels.from_configs(
        load_scoring_config(folder / "scoring.toml"),
        catalogue,
        load_indicator_registry(folder / "indicators.toml"),
    )


def make_inputs(territory: gpd.GeoDataFrame, seed: int = 47):
    """Realistic map inputs on ``territory``: (communes, isochrones, facilities, basemap, context)."""
    communes = territory[territory["in_study"]].reset_index(drop=True).copy()
    rng = np.random.default_rng(seed)
    n = len(communes)
    for p in PILLARS:
        communes[f"pillar_{p}"] = rng.uniform(0, 100, n).round(1)
    for p in PROFILES:
        score = rng.uniform(0, 100, n).round(1)
        rank = pd.Series(score).rank(ascending=False, method="min").astype(int).to_numpy()
        communes[f"score_{p}"] = score
        communes[f"rank_{p}"] = rank
        communes[f"rank_{p}_median"] = rank
        communes[f"rank_{p}_p05"] = np.maximum(1, rank - 5)
        communes[f"rank_{p}_p95"] = np.minimum(n, rank + 7)
    communes["afom_atouts"] = "Bonne accessibilité aux services"
    communes["afom_faiblesses"] = "Offre de santé limitée"
    communes.loc[5, "nom"] = EVIL_SCRIPT
    communes.loc[6, "nom"] = EVIL_IMG
    halls = gpd.GeoSeries(communes["town_hall"], crs=communes.crs)
    iso = []
    for code in geometry.main_town_codes(communes):
        hall = halls[communes["code"] == code].iloc[0]
        for minutes in (10, 20, 30):
            disc = hall.buffer(minutes * ISO_M_PER_MIN)
            iso.append(
                {
                    "code": code,
                    "minutes": minutes,
                    "area_km2": disc.area / 1e6,
                    "population_reached": minutes * 1000.0,
                    "geometry": disc,
                }
            )
    isochrones = gpd.GeoDataFrame(iso, crs=communes.crs)
    cats = list(CATEGORY_LABELS)
    fac = [
        {
            "category": cats[i % 3],
            "name": f"Équipement {i}",
            "capacity": float(1 + i % 4),
            "code": communes["code"].iloc[i],
            "geometry": halls.iloc[i],
        }
        for i in range(40)
    ]
    fac[0]["name"] = EVIL_SCRIPT
    fac[1]["name"] = EVIL_IMG
    facilities = gpd.GeoDataFrame(fac, crs=communes.crs)
    base = basemap.make_basemap(territory)
    context = outputs.ReportContext.build(
        "Lot-et-Garonne",
        labels=study_labels(),
        caption=Caption(SCHEMATIC_TEXT),
        sources=[
            {"name": "IGN Admin Express", "vintage": "2025", "licence": "Licence Ouverte 2.0"},
            {
                "name": "INSEE populations légales",
                "vintage": "2023",
                "licence": "Licence Ouverte 2.0",
            },
        ],
        method=["Scores par pilier, puis moyenne pondérée par profil.", "Deuxième paragraphe."],
    )
    return communes.drop(columns=["town_hall"]), isochrones, facilities, base, context


@pytest.fixture(scope="module")
def map_inputs(territory):
    """:func:`make_inputs` on the real territory, once per test module."""
    return make_inputs(territory)
