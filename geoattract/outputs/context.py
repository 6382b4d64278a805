"""What every output of a study shows besides the data: name, sources, caption, labels, method.

:class:`ReportContext` is built once per run and passed to the maps, the static maps, the
report and the index page, so they all show the same network caption, the same source line
and the same labels. :func:`method_paragraphs` writes the report's method section from the
configurations actually used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from geoattract.accessibility import UNKNOWN_OFFER_FR
from geoattract.outputs.apl_section import catchment_paragraphs
from geoattract.outputs.html import fr_number
from geoattract.outputs.labels import Labels, decay_text

#: French names of the normalisation methods of the scoring configuration.
NORMALISATION_FR: dict[str, str] = {
    "minmax": "min-max sur 0–100",
    "zscore": "score z (centré réduit)",
    "rank": "rangs centiles",
    "distance_to_reference": "distance à une valeur de référence",
}

#: French names of the aggregation methods of the scoring configuration.
AGGREGATION_FR: dict[str, str] = {
    "arithmetic": "moyenne arithmétique pondérée (compensatoire)",
    "geometric": "moyenne géométrique pondérée (peu compensatoire)",
}


class Caption(Protocol):
    """The network caption every output shows (duck type of ``network.NetworkCaption``)."""

    @property
    def text_fr(self) -> str:
        """The sentence, in French."""
        ...


@dataclass(frozen=True)
class DataSource:
    """One data source of the study (``[[sources]]`` of the study file).

    Attributes
    ----------
    name, vintage, licence : str
        As written in the study file (vintage and licence may be empty).
    """

    name: str
    vintage: str = ""
    licence: str = ""

    @classmethod
    def from_mapping(cls, entry: Mapping[str, Any]) -> DataSource:
        """Read a source from a ``{"name", "vintage", "licence"}`` table."""
        return cls(
            str(entry.get("name") or "?"),
            str(entry.get("vintage") or ""),
            str(entry.get("licence") or ""),
        )

    @property
    def text(self) -> str:
        """``name vintage (licence)``."""
        text = self.name + (f" {self.vintage}" if self.vintage else "")
        return text + (f" ({self.licence})" if self.licence else "")


@dataclass(frozen=True)
class ReportContext:
    """Study facts shown by every output besides the data.

    Attributes
    ----------
    name : str
        Study name (``Lot-et-Garonne``).
    labels : Labels
        French labels (from the study's TOML files).
    caption : Caption or None
        Network caption (``.text_fr``); every map, static map, the report and the index
        show its sentence.
    sources : tuple of DataSource
        Data sources with vintage and licence.
    method : tuple of str
        Paragraphs of the report's method section (see :func:`method_paragraphs`).
    """

    name: str
    labels: Labels = field(default_factory=Labels)
    caption: Caption | None = None
    sources: tuple[DataSource, ...] = ()
    method: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        name: str,
        *,
        labels: Labels | None = None,
        caption: Caption | None = None,
        sources: Iterable[Mapping[str, Any] | DataSource] = (),
        method: Iterable[str] = (),
    ) -> ReportContext:
        """Build a context from plain values (sources as ``[[sources]]`` tables or DataSource)."""
        return cls(
            name=name,
            labels=labels if labels is not None else Labels(),
            caption=caption,
            sources=tuple(
                s if isinstance(s, DataSource) else DataSource.from_mapping(s) for s in sources
            ),
            method=tuple(method),
        )

    @property
    def caption_text(self) -> str:
        """The network sentence, ``""`` without a caption."""
        return str(self.caption.text_fr) if self.caption is not None else ""

    @property
    def schematic(self) -> bool:
        """Whether the caption says the network is schematic (highlighted in the outputs)."""
        return bool(getattr(self.caption, "schematic", False))

    @property
    def source_line(self) -> str:
        """``Sources : name vintage (licence) ; …``, ``""`` without sources."""
        if not self.sources:
            return ""
        return "Sources : " + " ; ".join(s.text for s in self.sources)


def _percent(share: float) -> str:
    return f"{fr_number(100 * share)} %"


def _join(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def _minutes(values: Iterable[int]) -> str:
    return "/".join(str(v) for v in values) + " min"


def _accessibility_paragraphs(labels: Labels, buffer_km: float | None) -> list[str]:
    cats = labels.categories
    if not cats:
        return []
    by_thresholds: dict[tuple[int, ...], list[str]] = {}
    by_decay: dict[str, list[str]] = {}
    for cat in cats.values():
        by_thresholds.setdefault(cat.thresholds_min, []).append(cat.label)
        by_decay.setdefault(decay_text(cat.decay), []).append(cat.label)
    thresholds = " ; ".join(
        f"{_minutes(t)} pour {_join(names)}" if len(by_thresholds) > 1 else _minutes(t)
        for t, names in by_thresholds.items()
    )
    decays = " ; ".join(f"{text} pour {_join(names)}" for text, names in by_decay.items())
    out = [
        "Accessibilité : pour chaque catégorie d'équipements, temps de trajet au plus proche "
        f"équipement, nombre d'équipements atteints en moins de {thresholds}, et "
        "accessibilité potentielle localisée (E2SFCA) pour 100 000 habitants. Pondération du "
        f"temps dans l'E2SFCA : {decays}."
    ]
    out += catchment_paragraphs(labels)
    covered = [c.label for c in cats.values() if c.covers_buffer]
    local = [c.label for c in cats.values() if not c.covers_buffer]
    zone = f"la zone tampon de {fr_number(buffer_km)} km" if buffer_km else "la zone tampon"
    text = f"Offre hors du département : les équipements de {zone} comptent pour {_join(covered)}."
    if local:
        text += (
            f" Pour {_join(local)}, les sources ne couvrent que le département : l'offre "
            "extérieure est inconnue (et non nulle), sa part n'est pas calculée. Un temps, un "
            "nombre ou une accessibilité potentielle d'une commune qu'un équipement hors "
            "département pourrait changer (une mairie hors du département plus proche que "
            "l'équipement trouvé, ou dans le seuil compté) porte la mention « "
            f"{UNKNOWN_OFFER_FR} » dans les synthèses AFOM, les classements, l'atelier et les "
            "cartes."
        )
    out.append(text)
    return out


def _scoring_paragraphs(scoring_config: Any, labels: Labels, draws: int | None) -> list[str]:
    method = scoring_config.method
    norm = str(method.get("normalisation", "minmax"))
    agg = str(method.get("aggregation", "arithmetic"))
    text = (
        f"Scores : chaque indicateur est normalisé ({NORMALISATION_FR.get(norm, norm)}, "
        "100 = situation la plus favorable), puis agrégé par pilier et entre piliers par "
        f"{AGGREGATION_FR.get(agg, agg)}, selon le manuel OCDE/JRC des indicateurs composites."
    )
    share = method.get("min_weight_share")
    if share:
        text += (
            f" Un pilier n'est calculé que si au moins {_percent(float(share))} du poids de ses "
            "indicateurs est disponible pour la commune."
        )
    profiles = []
    for name, spec in scoring_config.profiles.items():
        weights = {k: float(v) for k, v in spec["pillars"].items() if float(v) > 0}
        total = sum(weights.values()) or 1.0
        parts = ", ".join(f"{labels.pillar(p)} {_percent(w / total)}" for p, w in weights.items())
        profiles.append(f"{labels.profile(name)} ({parts})")
    out = [text, f"Profils et poids des piliers : {' ; '.join(profiles)}."]
    mc = scoring_config.montecarlo
    n = draws if draws is not None else mc.get("n")
    norms = [NORMALISATION_FR.get(str(m), str(m)) for m in mc.get("normalisations", [])]
    out.append(
        f"Incertitude : {fr_number(n)} tirages Monte Carlo des poids des piliers (loi de "
        f"Dirichlet, concentration {fr_number(mc.get('concentration'))}), de la normalisation "
        f"({_join(norms)}) et des seuils de temps des indicateurs de comptage ; rang médian et "
        "intervalle 5–95 % des rangs. Sensibilité : indices de Sobol du premier ordre et "
        "totaux de chacun de ces facteurs."
    )
    return out


def method_paragraphs(
    scoring_config: Any,
    labels: Labels,
    *,
    caption: Caption | None = None,
    buffer_km: float | None = None,
    draws: int | None = None,
) -> tuple[str, ...]:
    """Paragraphs of the report's method section, written from the configurations used.

    Parameters
    ----------
    scoring_config : geoattract.scoring.core.ScoringConfig or None
        ``method`` (normalisation, aggregation, ``min_weight_share``), ``profiles`` (pillar
        weights) and ``montecarlo`` (``n``, ``concentration``, ``normalisations``).
    labels : Labels
        Labels, including the facility categories (thresholds, decay, ``covers_buffer``).
    caption : Caption, optional
        Network caption, quoted in the first paragraph.
    buffer_km : float, optional
        Width of the buffer zone.
    draws : int, optional
        Number of Monte Carlo draws actually used (default: the scoring configuration's).

    Returns
    -------
    tuple of str
        Network, accessibility, buffer, scores, profiles and uncertainty paragraphs (those
        whose inputs are given).
    """
    out = []
    if caption is not None:
        out.append(
            f"{caption.text_fr} Chaque commune est représentée par sa mairie, rattachée au "
            "réseau routier ; le temps du trajet d'accès est ajouté."
        )
    out += _accessibility_paragraphs(labels, buffer_km)
    if scoring_config is not None:
        out += _scoring_paragraphs(scoring_config, labels, draws)
    return tuple(out)
