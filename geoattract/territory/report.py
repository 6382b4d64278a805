"""The territory's columns and the report of what loading it found and fixed."""

from __future__ import annotations

from dataclasses import dataclass, field

from geoattract.errors import format_values

#: Columns of the GeoDataFrame :func:`load_territory` returns, in order.
TERRITORY_COLUMNS = [
    "code",
    "nom",
    "dep",
    "population",
    "population_missing",
    "epci",
    "epci_nom",
    "in_study",
    "town_hall",
    "town_hall_replaced",
    "geometry",
]


@dataclass
class TerritoryReport:
    """What validation found and fixed; stored in ``territory.attrs["report"]``.

    Attributes
    ----------
    repaired_geometries : list of str
        Codes whose polygon was invalid and was repaired with ``shapely.make_valid``.
    town_halls_replaced : dict
        Code → distance (m) of town halls farther than the tolerance from their commune,
        replaced by a point inside the polygon.
    town_halls_missing : list of str
        Communes with no town-hall point (a point inside the polygon is used).
    only_in_population, only_in_polygons, only_in_epci : list of str
        Codes present in one source and absent from the other (typically merged communes).
    town_halls_orphan : list of str
        Town halls of the study département without a commune polygon.
    polygons_missing : list of str
        Communes without polygon (national file: merged in 2025), computed at their town hall.
    locations_missing : list of str
        Communes with neither polygon nor town hall: no location, no indicator.
    """

    repaired_geometries: list[str] = field(default_factory=list)
    town_halls_replaced: dict[str, float] = field(default_factory=dict)
    town_halls_missing: list[str] = field(default_factory=list)
    only_in_population: list[str] = field(default_factory=list)
    only_in_polygons: list[str] = field(default_factory=list)
    only_in_epci: list[str] = field(default_factory=list)
    town_halls_orphan: list[str] = field(default_factory=list)
    polygons_missing: list[str] = field(default_factory=list)
    locations_missing: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line per finding, for logs and reports."""
        lines = []
        for name, value in self.__dict__.items():
            if value:
                lines.append(f"{name.replace('_', ' ')}: {format_values(value)}")
        return "\n".join(lines) or "no issue found"
