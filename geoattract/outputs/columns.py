"""The dictionary of the ``communes`` layer: one row per column, in French.

:func:`columns_table` describes every column of the layer (label, unit, definition, source
with its vintage), from the labels of the study's configuration and the column-name patterns
of the package. The application writes it as a GeoPackage layer ``columns`` and as a CSV.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from geoattract.outputs.labels import SUMMARY_LABELS, Labels, humanise

#: Source text of the columns computed by the package itself.
COMPUTED = "calcul geoattract"

#: Where the territory columns come from.
TERRITORY = "territoire d'étude (contours des communes, mairies, populations, EPCI)"

#: Where the housing-market columns come from.
HOUSING = "ventes immobilières (DVF)"

#: Columns of the territory, housing, rail and AFOM steps: label, unit, definition, source.
BASE_COLUMNS: dict[str, tuple[str, str, str, str]] = {
    "code": ("Code INSEE", "", "Code officiel géographique de la commune.", TERRITORY),
    "nom": ("Commune", "", "Nom de la commune.", TERRITORY),
    "dep": ("Département", "", "Code du département de la commune.", TERRITORY),
    "population": ("Population", "habitants", "Population légale de la commune.", TERRITORY),
    "population_missing": (
        "Population manquante",
        "oui/non",
        "Population absente des sources.",
        TERRITORY,
    ),
    "epci": ("Code EPCI", "", "Numéro SIREN de l'intercommunalité.", TERRITORY),
    "epci_nom": ("EPCI", "", "Nom de l'intercommunalité de la commune.", TERRITORY),
    "in_study": (
        "Zone d'étude",
        "oui/non",
        "Commune du département étudié (sinon zone tampon).",
        TERRITORY,
    ),
    "location_missing": (
        "Commune sans localisation",
        "oui/non",
        "Commune sans polygone ni mairie dans les sources : ligne conservée, sans temps de "
        "trajet ni indicateur calculé sur la carte.",
        TERRITORY,
    ),
    "town_hall_replaced": (
        "Mairie remplacée",
        "oui/non",
        "Mairie absente ou hors de la commune : un point intérieur à la commune la remplace.",
        TERRITORY,
    ),
    "town_hall_snap_m": (
        "Distance de la mairie au réseau",
        "m",
        "Distance entre la mairie et le nœud du réseau routier auquel elle est rattachée.",
        "",
    ),
    "town_hall_snap_s": (
        "Temps d'accès de la mairie au réseau",
        "s",
        "Durée du trajet d'accès de la mairie au réseau, ajoutée à chaque temps de trajet.",
        "",
    ),
    "time_outside_min": (
        "Temps d'accès à la mairie la plus proche hors du département",
        "min",
        "Temps de trajet en voiture de la mairie à la plus proche mairie d'une commune hors du "
        "département d'étude (vide sans zone tampon atteignable) : un équipement hors "
        "département, placé à la mairie de sa commune, est au moins à ce temps.",
        "",
    ),
    "town_hall_unsnapped": (
        "Mairie non rattachée",
        "oui/non",
        "Mairie trop loin du réseau : ses temps de trajet sont manquants.",
        "",
    ),
    "housing_price_house_rel": (
        "Prix des maisons rapporté à la médiane départementale",
        "ratio",
        "Prix médian au m² des maisons vendues, divisé par la médiane du département, "
        "resserré vers 1 quand les ventes sont peu nombreuses.",
        HOUSING,
    ),
    "housing_price_flat_rel": (
        "Prix des appartements rapporté à la médiane départementale",
        "ratio",
        "Prix médian au m² des appartements vendus, divisé par la médiane du département, "
        "resserré vers 1 quand les ventes sont peu nombreuses.",
        HOUSING,
    ),
    "housing_sales_house": ("Ventes de maisons", "ventes", "Nombre de ventes de maisons.", HOUSING),
    "housing_sales_flat": (
        "Ventes d'appartements",
        "ventes",
        "Nombre de ventes d'appartements.",
        HOUSING,
    ),
    "few_sales_house": (
        "Peu de ventes de maisons",
        "oui/non",
        "Trop peu de ventes de maisons pour un prix médian fiable.",
        HOUSING,
    ),
    "few_sales_flat": (
        "Peu de ventes d'appartements",
        "oui/non",
        "Trop peu de ventes d'appartements pour un prix médian fiable.",
        HOUSING,
    ),
    "tr_rail_service": (
        "Niveau de desserte ferroviaire",
        "indice",
        "Meilleur produit (poids de desserte de la gare × (1 − temps / zone de chalandise)) "
        "parmi les gares atteintes ; 0 sans gare atteinte.",
        "gares et fréquentation (SNCF)",
    ),
    "tr_rail_service_partial": (
        "Desserte ferroviaire incomplète",
        "oui/non",
        "Une gare atteinte a une fréquentation inconnue : la desserte est sous-estimée.",
        "gares et fréquentation (SNCF)",
    ),
    "n_missing_indicators": (
        "Indicateurs manquants",
        "nombre",
        "Nombre d'indicateurs sans valeur pour la commune.",
        COMPUTED,
    ),
    "missing_indicators": (
        "Liste des indicateurs manquants",
        "",
        "Indicateurs sans valeur pour la commune.",
        COMPUTED,
    ),
    "afom_atouts": (
        "Atouts",
        "",
        "Principaux atouts de la commune (synthèse AFOM, indicateurs du quart supérieur).",
        COMPUTED,
    ),
    "afom_faiblesses": (
        "Faiblesses",
        "",
        "Principales faiblesses de la commune (synthèse AFOM, quart inférieur).",
        COMPUTED,
    ),
    "geometry": ("Géométrie", "", "Contour de la commune (Lambert-93).", TERRITORY),
    "fid": (
        "Identifiant",
        "",
        "Numéro de l'entité dans le GeoPackage (clé primaire ajoutée à l'écriture).",
        "",
    ),
}

#: Where the facilities come from.
FACILITIES = "catalogue des équipements de l'étude (sources déclarées dans facilities.toml)"

#: Fields of the other layers and tables a run writes, by layer name: label, unit,
#: definition, source. They win over :data:`BASE_COLUMNS` for their layer (the ``code`` of a
#: facility is the commune it lies in); a field not listed here is described as in ``communes``.
LAYER_COLUMNS: dict[str, dict[str, tuple[str, str, str, str]]] = {
    "facilities": {
        "category": (
            "Catégorie d'équipement",
            "",
            "Identifiant de la catégorie dans le catalogue des équipements.",
            FACILITIES,
        ),
        "facility_id": (
            "Identifiant de l'équipement",
            "",
            "Identifiant unique dans la catégorie, préfixé par sa source.",
            FACILITIES,
        ),
        "name": ("Nom de l'équipement", "", "Nom de l'équipement dans sa source.", FACILITIES),
        "capacity": (
            "Capacité",
            "unité de la catégorie",
            "Capacité dans l'unité de la catégorie (équipements, fauteuils, accouchements…) ; "
            "une ligne de la BPE compte les équipements de sa commune.",
            FACILITIES,
        ),
        "capacity_missing": (
            "Capacité manquante",
            "oui/non",
            "Capacité absente de la source (jamais remplacée par 0).",
            FACILITIES,
        ),
        "code": ("Commune de l'équipement", "", "Code INSEE de la commune.", FACILITIES),
        "in_study": (
            "Équipement de la zone d'étude",
            "oui/non",
            "Équipement situé dans le département étudié (sinon dans la zone tampon).",
            FACILITIES,
        ),
        "source": (
            "Type de source",
            "",
            "bpe, points, table, counts ou osm (voir le catalogue des équipements).",
            FACILITIES,
        ),
        "geometry": (
            "Géométrie",
            "",
            "Position de l'équipement (Lambert-93) ; un équipement connu seulement par sa "
            "commune est placé à la mairie.",
            FACILITIES,
        ),
    },
    "town_halls": {
        "geometry": ("Géométrie", "", "Position de la mairie (Lambert-93).", TERRITORY),
    },
    "isochrones": {
        "code": ("Commune de départ", "", "Code INSEE de la commune, depuis sa mairie.", TERRITORY),
        "minutes": (
            "Temps de trajet",
            "min",
            "Seuil de l'isochrone : temps de trajet en voiture depuis la mairie.",
            "",
        ),
        "shape": (
            "Forme de l'isochrone",
            "",
            "area : routes atteintes et terrain atteint depuis elles ; band : bande le long des "
            "routes atteintes.",
            COMPUTED,
        ),
        "area_km2": (
            "Surface atteinte",
            "km²",
            "Surface de l'isochrone ; vide quand l'isochrone est vide.",
            COMPUTED,
        ),
        "population_reached": (
            "Population atteinte",
            "habitants",
            "Population des communes dont la mairie est dans l'isochrone ; vide quand une "
            "commune comptée n'a pas de population.",
            TERRITORY,
        ),
        "empty": (
            "Isochrone vide",
            "oui/non",
            "Mairie absente ou trop loin du réseau : polygone vide.",
            COMPUTED,
        ),
        "snap_distance_m": (
            "Distance de la mairie au réseau",
            "m",
            "Distance entre la mairie et le nœud du réseau routier d'où part l'isochrone.",
            "",
        ),
        "geometry": ("Géométrie", "", "Zone atteinte (Lambert-93).", ""),
    },
    "columns": {
        "column": ("Colonne", "", "Nom de la colonne dans la couche communes.", COMPUTED),
        "label_fr": ("Libellé", "", "Libellé français de la colonne.", COMPUTED),
        "unit": ("Unité", "", "Unité de la colonne.", COMPUTED),
        "definition": ("Définition", "", "Ce que mesure la colonne.", COMPUTED),
        "source": ("Source", "", "Source de la donnée et son millésime.", COMPUTED),
    },
    "metadata": {
        "key": ("Clé", "", "Nom du renseignement sur l'exécution.", COMPUTED),
        "value": (
            "Valeur",
            "",
            "Valeur du renseignement (texte ou JSON) : étude, réseau routier, règle de "
            "rattachement, sources.",
            COMPUTED,
        ),
    },
}

#: Columns whose threshold is part of their name: pattern → (label, unit, definition), with
#: ``{t}`` the threshold in minutes.
THRESHOLD_COLUMNS: dict[str, tuple[str, str, str]] = {
    r"social_housing_(?P<t>\d+)min_per_1000": (
        "Logements sociaux à moins de {t} min pour 1 000 hab.",
        "logements pour 1 000 hab.",
        "Logements sociaux atteints en moins de {t} min, pour 1 000 habitants atteints.",
    ),
    r"housing_sales_(?P<t>\d+)min": (
        "Ventes immobilières à moins de {t} min",
        "ventes",
        "Ventes immobilières dans les communes atteintes en moins de {t} min.",
    ),
    r"tr_ev_points_(?P<t>\d+)min": (
        "Points de recharge à moins de {t} min",
        "points de charge",
        "Points de recharge électrique atteints en moins de {t} min.",
    ),
}

#: Network transition columns (not in the indicator registry): label, unit, definition.
NETWORK_TIME_COLUMNS: dict[str, tuple[str, str]] = {
    "tr_ev_time_min": ("Temps d'accès à une borne de recharge", "borne de recharge électrique"),
    "tr_rail_time_min": ("Temps d'accès à une gare voyageurs", "gare voyageurs en service"),
}

_COLUMNS = ["column", "label_fr", "unit", "definition", "source"]

#: Definition of a ``<column>_missing`` flag.
MISSING_DEFINITION = "Valeur manquante (jamais remplacée par 0)."


def _row(column: str, label: str, unit: str, definition: str, source: str) -> dict[str, str]:
    return dict(zip(_COLUMNS, [column, label, unit, definition, source], strict=True))


def _network_source(caption: Any) -> str:
    if caption is None:
        return f"{COMPUTED} sur le réseau routier"
    source = str(getattr(caption, "source", "") or "")
    vintage = str(getattr(caption, "vintage", "") or "")
    if source:
        return f"{COMPUTED} sur le réseau {source}" + (f" ({vintage})" if vintage else "")
    return f"{COMPUTED} ; {caption.text_fr}"


def _category_row(column: str, labels: Labels, network: str) -> dict[str, str] | None:
    for cid, cat in labels.categories.items():
        defs = {
            f"time_{cid}_min": "Temps de trajet en voiture de la mairie au plus proche "
            f"équipement ({cat.label}).",
            f"unreachable_{cid}": f"Aucun équipement ({cat.label}) atteignable par le réseau.",
            f"e2sfca_{cid}": f"Accessibilité potentielle localisée ({cat.method_name}) : offre "
            "atteignable, pondérée par le temps et rapportée à la population qui y a aussi "
            "accès, pour 100 000 habitants"
            + (
                " (population standardisée par l'âge)." if cat.catchment.get("age_weights") else "."
            ),
            f"outside_share_{cid}": "Part de l'offre atteinte au plus grand seuil située hors du "
            "département ; vide quand cette offre est inconnue.",
            f"outside_unknown_{cid}": "Les sources ne couvrent pas la zone tampon : l'offre hors "
            "du département est inconnue (et non nulle) ; vrai là où une mairie hors du "
            "département est à moins du plus grand seuil de la catégorie ou plus proche que "
            "l'équipement trouvé : un équipement hors département pourrait y changer les "
            "chiffres de la commune (mention « offre hors département non renseignée »).",
        }
        m = re.fullmatch(rf"count_{re.escape(cid)}_(\d+)min", column)
        if m:
            what = "d'équipements" if cat.capacity == "count" else "de sites"
            defs[column] = (
                f"Nombre {what} ({cat.label}) atteints en moins de {m[1]} min de trajet."
                + (
                    " Estimation : les équipements d'une source d'un millésime plus ancien y comptent "
                    "pour le facteur de correction de millésime (voir la méthode), d'où des valeurs "
                    "non entières."
                    if cat.estimated and cat.capacity == "count"
                    else ""
                )
            )
        if column in defs:
            source = f"{cat.source} ; {network}" if cat.source else network
            return _row(column, labels.column(column), labels.unit(column), defs[column], source)
    return None


def _scoring_row(column: str, labels: Labels) -> dict[str, str] | None:
    source = f"{COMPUTED} (configuration des scores)"
    for prefix, what in (("score_", "Score composite"), ("rank_", "Rang (1 = le meilleur)")):
        name = column.removeprefix(prefix)
        if not column.startswith(prefix):
            continue
        for key, text in SUMMARY_LABELS.items():
            base = name.removesuffix(f"_{key}")
            if name.endswith(f"_{key}") and base in labels.profiles:
                definition = f"{what} du profil {labels.profile(base)} : {text} Monte Carlo."
                return _row(column, labels.column(column), labels.unit(column), definition, source)
        if name in labels.profiles:
            definition = f"{what} du profil {labels.profile(name)}."
            return _row(column, labels.column(column), labels.unit(column), definition, source)
    if column.startswith("pillar_"):
        definition = "Score du pilier (0–100), moyenne pondérée de ses indicateurs normalisés."
        return _row(column, labels.column(column), "0–100", definition, source)
    for prefix, label, unit in (
        ("n_missing_indicators_", "Indicateurs manquants", "nombre"),
        ("missing_pillars_", "Piliers manquants", ""),
    ):
        name = column.removeprefix(prefix)
        if column.startswith(prefix) and name in labels.profiles:
            text = f"{label} — profil {labels.profile(name)}"
            return _row(column, text, unit, f"{label} pour le score du profil.", source)
    return None


def _indicator_row(column: str, labels: Labels, network: str) -> dict[str, str] | None:
    if column in NETWORK_TIME_COLUMNS:
        label, what = NETWORK_TIME_COLUMNS[column]
        definition = f"Temps de trajet en voiture à la plus proche {what}."
        return _row(column, label, "min", definition, network)
    row = _threshold_row(column, network)
    ind = labels.indicators.get(column)
    if row is None and ind is not None:
        vintage = f" ({ind.vintage})" if ind.vintage else ""
        source = f"{ind.source}{vintage}" if ind.source else "configuration des scores"
        row = _row(column, ind.label, ind.unit, f"{ind.label}.", source)
    return row


def _threshold_row(column: str, network: str) -> dict[str, str] | None:
    for pattern, (label, unit, definition) in THRESHOLD_COLUMNS.items():
        m = re.fullmatch(pattern, column)
        if m:
            t = m["t"]
            return _row(
                column, label.format(t=t), unit, definition.format(t=t), f"{COMPUTED} ; {network}"
            )
    return None


def columns_table(
    layer_columns: Iterable[str],
    labels: Labels,
    *,
    caption: Any = None,
    extra: Mapping[str, tuple[str, str, str, str]] | None = None,
    layer: str = "communes",
) -> pd.DataFrame:
    """Describe every column of the ``communes`` layer (or another layer of a run) in French.

    Parameters
    ----------
    layer_columns : iterable of str
        Column names, in layer order.
    labels : Labels
        Labels from the study's configuration (profiles, pillars, categories, indicators).
    caption : object, optional
        Network caption (``.source``, ``.vintage`` and ``.text_fr``, as
        ``network.NetworkCaption``): the source of every travel-time column.
    extra : mapping, optional
        Column → (label, unit, definition, source) of columns the stages describe themselves
        (metropolitan reach, broadband, telework index), from the study's configuration.
    layer : str
        Layer the columns belong to: the fields of :data:`LAYER_COLUMNS` ``[layer]``
        (facilities, isochrones, the dictionary, the run metadata) are described first.

    Returns
    -------
    DataFrame
        ``column``, ``label_fr``, ``unit``, ``definition``, ``source``: one row per column,
        in the given order. A column the package does not know gets its name as label and
        an empty definition (logged by the caller's test, never silently described).
    """
    network = _network_source(caption)
    own = {c: (*d[:3], d[3] or network) for c, d in LAYER_COLUMNS.get(layer, {}).items()}
    known = {**dict(extra or {}), **own}
    resolvers: list[Callable[[str], dict[str, str] | None]] = [
        lambda c: _row(c, *known[c]) if c in known else None,
        lambda c: _base_row(c, network),
        lambda c: _category_row(c, labels, network),
        lambda c: _scoring_row(c, labels),
        lambda c: _indicator_row(c, labels, network),
    ]

    def describe(column: str) -> dict[str, str] | None:
        return next((r for resolve in resolvers if (r := resolve(column)) is not None), None)

    rows = []
    for column in map(str, layer_columns):
        row = describe(column)
        if row is None and column.endswith("_missing"):
            base = describe(column.removesuffix("_missing"))
            if base is not None:
                row = _row(
                    column,
                    f"{base['label_fr']} : donnée manquante",
                    "oui/non",
                    MISSING_DEFINITION,
                    base["source"],
                )
        rows.append(row or _row(column, humanise(column), "", "", ""))
    return pd.DataFrame(rows, columns=_COLUMNS)


def _base_row(column: str, network: str) -> dict[str, str] | None:
    if column not in BASE_COLUMNS:
        return None
    label, unit, definition, source = BASE_COLUMNS[column]
    if column.startswith(("town_hall_snap", "town_hall_unsnapped", "tr_rail", "time_outside")):
        source = f"{source} ; {network}" if source else network
    return _row(column, label, unit, definition, source)
