"""Write the tiny study of the test suite: ``tests/data/tiny/data`` (run it to regenerate).

A complete study small enough to compute by hand, so the unit tests run without the shared
data folder. Every number below is a design choice; the expected answers follow from them and
are worked out by hand in ``tests/test_tiny_study.py``.

Territory
    9 square communes of :data:`SIDE_M` (4 km, area 16 km²) in Lambert-93, a 3 × 3 grid whose
    centre is (:data:`X0`, :data:`Y0`). Columns ``c = 0, 1, 2`` from west to east, rows
    ``r = 0, 1, 2`` from south to north. Rows 0 and 1 are the 6 study communes of the
    fictional département ``99``, row 2 the 3 buffer communes of département ``98``
    (:data:`COMMUNES`). Town halls at the centres ``(496 000 + 4 000 c, 6 296 000 + 4 000 r)``.

Roads (Travel Mapping columns, ``roads/roads.gpkg``)
    12 départementales (``secondary``), one per pair of neighbouring town halls, 4 km each;
    the motorway A99 along y = 6 295 000 from x = 494 000 to 506 000, drawn as one line whose
    interior vertices at x = 496 000 and x = 504 000 are the ends of two 1 km interchange links
    (``motorway_link``) to the town halls of 99001 and 99003 (the line is split there).

Calibration (``roads/calibration.toml``, :data:`SPEEDS_KPH`)
    secondary 40, motorway 120, motorway_link 60 km/h, every detour 1.0, access leg 30 km/h
    with detour 1.0, no dense-commune delay. Hence:

    * a départementale between neighbours: 4 000 m / (40 / 3.6) = 360 s = 6 min;
    * 99001 → 99003 by the motorway: 60 s + 240 s + 60 s = 6 min (12 min by the D road);
    * the intra-commune leg of a facility known by its commune (BPE):
      0.5 · √(16 km² / π) = 1 128.38 m at 30 km/h = 135.41 s ≈ 2.257 min;
    * a town hall lies on a road node: its access leg is 0 m.

Offer
    BPE counts (``bpe/bpe_sante.csv``): GPs (D265) 2 in 99005 and 1 in 99003; pharmacies
    (D307) 1 in 99002 and 1 in 99006 (:data:`BPE`). Primary schools (points in EPSG:4326,
    ``facilities/schools.geojson``): 600 m north of the town hall of 99002 and in the buffer
    commune 98002; a collège, filtered out (:data:`SCHOOLS`).

Transition and environment
    ``indicators/environment.csv`` (``;``, decimal commas): forest cover per study commune
    (:data:`FOREST_COVER`); an impervious-surface column with one empty cell. Petites villes de
    demain: 99005. Two GeoTIFFs of 1 km cells (13 × 8, origin x = 493 500, y = 6 302 000, so
    the 4 km communes cut the cells at x = ..., 498 000, ... in halves), bands ``TAVG`` and
    ``TX35`` with band descriptions: reference 13 °C and 5 days everywhere; the scenario adds
    1 °C everywhere and :data:`TX35_EXTRA` days in two columns of cells. The area-weighted
    mean increase of TX35 is 1.0 day in the communes of column 0, 1.5 in column 1 and 0.5 in
    column 2 (:data:`TX35_DELTA`). EV charging stations, passenger stations and their
    ridership, housing prices and social housing complete the study.

Population (:data:`COMMUNES`)
    Chosen so that the E2SFCA of GPs is round: both GP sites see a weighted demand of 6 000
    (APL decay), so the study communes that reach both within 10 min (99002, 99006) get
    (2 + 1) / 6 000 × 100 000 = 50 GPs per 100 000 inhabitants.

The files are small text files, except the road GeoPackage (small page size, no spatial
index) and the two GeoTIFFs; the output is deterministic (GDAL's timestamp is fixed).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
from pathlib import Path

#: Folder of this script; the study's TOML files live here and its data in ``data/``.
HERE = Path(__file__).resolve().parents[2] / "geoattract" / "datasets" / "tiny"

#: Side of every commune (m) and the centre of the grid (Lambert-93).
SIDE_M = 4_000.0
X0, Y0 = 500_000.0, 6_300_000.0

#: Code, name, département, column, row, legal population, EPCI.
COMMUNES: tuple[tuple[str, str, str, int, int, int, str], ...] = (
    ("99001", "Aubas", "99", 0, 0, 1200, "200099001"),
    ("99002", "Bernac", "99", 1, 0, 600, "200099001"),
    ("99003", "Cazals", "99", 2, 0, 1800, "200099002"),
    ("99004", "Douzac", "99", 0, 1, 900, "200099001"),
    ("99005", "Esclottes", "99", 1, 1, 2100, "200099002"),
    ("99006", "Fongrave", "99", 2, 1, 400, "200099002"),
    ("98001", "Gaujac", "98", 0, 2, 300, "200098001"),
    ("98002", "Hautefage", "98", 1, 2, 500, "200098001"),
    ("98003", "Issigeac", "98", 2, 2, 700, "200099002"),
)

#: EPCI names (the last one straddles the study border).
EPCI_NAMES = {
    "200099001": "CC des Coteaux",
    "200099002": "CA du Bourg",
    "200098001": "CC Voisine",
}

#: Class speeds (km/h) and access leg of the calibration file.
SPEEDS_KPH = {"motorway": 120.0, "motorway_link": 60.0, "secondary": 40.0}
ACCESS_SPEED_KPH = 30.0

#: y of the motorway and x of its interchanges (the town halls of 99001 and 99003).
MOTORWAY_Y = 6_295_000.0

#: BPE counts per study commune: GPs (D265) and pharmacies (D307).
BPE = {
    "99001": (0, 0),
    "99002": (0, 1),
    "99003": (1, 0),
    "99004": (0, 0),
    "99005": (2, 0),
    "99006": (0, 1),
}

#: Schools: id, name, type, commune code, Lambert-93 point.
SCHOOLS = (
    ("0990001A", "École de Bernac", "Ecole", "99002", (500_000.0, 6_296_600.0)),
    ("0980001B", "École de Hautefage", "Ecole", "98002", (500_000.0, 6_304_000.0)),
    ("0990002C", "Collège d'Esclottes", "Collège", "99005", (500_000.0, 6_300_000.0)),
)

#: Forest cover (%) of the study communes; min-max normalised: 20, 100, 60, 40, 0, 80.
FOREST_COVER = {
    "99001": "10,0",
    "99002": "50,0",
    "99003": "30,0",
    "99004": "20,0",
    "99005": "0,0",
    "99006": "40,0",
}

#: Impervious surface (%); empty for 99005 (NaN and flag, never imputed).
IMPERVIOUS = {
    "99001": "2,5",
    "99002": "1,5",
    "99003": "4,5",
    "99004": "1,0",
    "99005": "",
    "99006": "0,5",
}

#: Raster grid: origin (top-left), cell size, columns, rows.
RASTER_X0, RASTER_Y0 = 493_500.0, 6_302_000.0
CELL_M = 1_000.0
RASTER_COLS, RASTER_ROWS = 13, 8
#: Extra TX35 days of the scenario by raster column (cell x from 493 500 + 1 000 k).
TX35_EXTRA = {4: 8.0, 8: 4.0}
#: Resulting area-weighted mean increase by commune column: (0.5·8)/4, (0.5·8 + 0.5·4)/4,
#: (0.5·4)/4.
TX35_DELTA = {0: 1.0, 1: 1.5, 2: 0.5}

#: EV charging records: id, charging points, power (W), Lambert-93 point. The two records of
#: FRTINY01 are one station listed twice (the second is dropped).
EV_RECORDS = (
    ("FRTINY01", 2, 22_000, (500_000.0, 6_300_000.0)),
    ("FRTINY01", 2, 22_000, (500_000.0, 6_300_000.0)),
    ("FRTINY02", 4, 50_000, (504_000.0, 6_296_300.0)),
)

#: Passenger stations: UIC (10 characters), name, commune, segment, end date, point.
STATIONS = (
    ("0087000018", "Fongrave", "99006", "b", None, (504_500.0, 6_300_000.0)),
    ("0087000026", "Douzac", "99004", "c", "2019-12-31", (496_000.0, 6_300_000.0)),
)
#: Ridership 2019 by 8-digit UIC: log10(1 + 99 999) = 5.0 for Fongrave.
RIDERSHIP_2019 = {"87000018": 99_999, "87000026": 0}

#: Housing: median €/m² (house, flat) and sales (house, flat); social dwellings (let, stock).
HOUSING_PRICES = {
    "99001": (1500, None, 10, 0),
    "99002": (1200, None, 4, 0),
    "99003": (1800, 2000, 20, 6),
    "99004": (1000, None, 8, 0),
    "99005": (2000, 2200, 30, 12),
    "99006": (1300, None, 5, 0),
    "98001": (900, None, 3, 0),
    "98002": (1100, None, 6, 0),
    "98003": (1600, 1700, 9, 2),
}
SOCIAL_HOUSING = {"99003": (40, 42), "99005": (120, 126), "98003": (10, 10)}

#: Fixed GeoPackage timestamp (GDAL's OGR_CURRENT_DATE) and page size: same bytes every run.
GPKG_DATE = "2026-01-01T00:00:00Z"
GPKG_PAGE_SIZE = 512

#: Lambert-93 CRS member of the GeoJSON files written in EPSG:2154.
L93_CRS = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}


def centre(col: int, row: int) -> tuple[float, float]:
    """Town hall (centre) of the commune in column ``col`` and row ``row``."""
    return X0 + (col - 1) * SIDE_M, Y0 + (row - 1) * SIDE_M


def _square(col: int, row: int) -> list:
    x, y = centre(col, row)
    h = SIDE_M / 2
    ring = [[x - h, y - h], [x + h, y - h], [x + h, y + h], [x - h, y + h], [x - h, y - h]]
    return [ring]


def _write_text(path: Path, text: str, *, bom: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


def _write_geojson(path: Path, features: list[dict], crs: dict | None = None) -> None:
    doc: dict = {"type": "FeatureCollection"}
    if crs is not None:
        doc["crs"] = crs
    doc["features"] = features
    _write_text(path, json.dumps(doc, ensure_ascii=False, indent=1) + "\n")


def _point(xy: tuple[float, float], props: dict) -> dict:
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": [xy[0], xy[1]]},
    }


def _wgs84(xy: tuple[float, float]) -> tuple[float, float]:
    """Longitude and latitude of a Lambert-93 point, rounded to 1e-7° (about 1 cm)."""
    from pyproj import Transformer

    lon, lat = Transformer.from_crs("EPSG:2154", "EPSG:4326", always_xy=True).transform(*xy)
    return round(lon, 7), round(lat, 7)


def write_territory(data: Path) -> None:
    """Communes, town halls, legal population (``;`` and a BOM) and EPCI (``,``)."""
    feats = [
        {
            "type": "Feature",
            "properties": {"code": code, "nom": nom, "dep": dep},
            "geometry": {"type": "Polygon", "coordinates": _square(c, r)},
        }
        for code, nom, dep, c, r, _, _ in COMMUNES
    ]
    _write_geojson(data / "boundaries" / "communes.geojson", feats, L93_CRS)
    halls = [_point(centre(c, r), {"code": code}) for code, _, _, c, r, _, _ in COMMUNES]
    _write_geojson(data / "boundaries" / "mairies.geojson", halls, L93_CRS)
    rows = [f"{code};{nom};{pop}" for code, nom, _, _, _, pop, _ in COMMUNES]
    _write_text(
        data / "population" / "population.csv",
        "code;nom;population\n" + "\n".join(rows) + "\n",
        bom=True,
    )
    rows = [f"{code},{epci},{EPCI_NAMES[epci]},CC" for code, _, _, _, _, _, epci in COMMUNES]
    _write_text(
        data / "population" / "epci.csv",
        "code_commune,epci_code,epci_nom,epci_type\n" + "\n".join(rows) + "\n",
    )


def road_features() -> list[dict]:
    """The road pieces: 12 départementales, the motorway and its two interchange links."""
    feats = []
    n = 0
    for r in range(3):
        for c in range(3):
            for dc, dr in ((1, 0), (0, 1)):
                if c + dc > 2 or r + dr > 2:
                    continue
                n += 1
                a, b = centre(c, r), centre(c + dc, r + dr)
                feats.append(
                    {
                        "route": f"D{n}",
                        "system": "fradep99",
                        "highway": "secondary",
                        "inferred_link": False,
                        "length_m": SIDE_M,
                        "coords": [a, b],
                    }
                )
    (xa, ya), (xc, yc) = centre(0, 0), centre(2, 0)
    feats.append(
        {
            "route": "A99",
            "system": "fraa",
            "highway": "motorway",
            "inferred_link": False,
            "length_m": 3 * SIDE_M,
            "coords": [
                (xa - SIDE_M / 2, MOTORWAY_Y),
                (xa, MOTORWAY_Y),
                (xc, MOTORWAY_Y),
                (xc + SIDE_M / 2, MOTORWAY_Y),
            ],
        }
    )
    for exit_no, (x, y) in enumerate(((xa, ya), (xc, yc)), start=1):
        feats.append(
            {
                "route": f"A99 exit {exit_no}",
                "system": "inferred",
                "highway": "motorway_link",
                "inferred_link": True,
                "length_m": y - MOTORWAY_Y,
                "coords": [(x, y), (x, MOTORWAY_Y)],
            }
        )
    return feats


def write_roads(data: Path) -> None:
    """The road GeoPackage (EPSG:2154, no spatial index, small pages) and its calibration."""
    import geopandas as gpd
    import shapely

    feats = road_features()
    gdf = gpd.GeoDataFrame(
        {k: [f[k] for f in feats] for k in ("route", "system", "highway", "inferred_link")}
        | {"length_m": [float(f["length_m"]) for f in feats]},
        geometry=[shapely.LineString(f["coords"]) for f in feats],
        crs="EPSG:2154",
    )
    path = data / "roads" / "roads.gpkg"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    previous = os.environ.get("OGR_CURRENT_DATE")
    os.environ["OGR_CURRENT_DATE"] = GPKG_DATE
    try:
        gdf.to_file(path, layer="roads", driver="GPKG", SPATIAL_INDEX="NO")
    finally:
        if previous is None:
            os.environ.pop("OGR_CURRENT_DATE", None)
        else:
            os.environ["OGR_CURRENT_DATE"] = previous
    con = sqlite3.connect(path)
    try:
        con.execute(f"PRAGMA page_size={GPKG_PAGE_SIZE}")
        con.execute("VACUUM")
    finally:
        con.close()
    speeds = "\n".join(f"{k} = {v}" for k, v in SPEEDS_KPH.items())
    detours = "\n".join(f"{k} = 1.0" for k in SPEEDS_KPH)
    _write_text(
        data / "roads" / "calibration.toml",
        "# Round values of the tiny study (tests/data/tiny/make_tiny.py): times by hand.\n"
        "[calibration]\n"
        'network = "roads.gpkg"\n'
        f"access_speed_kph = {ACCESS_SPEED_KPH}\n"
        "access_detour = 1.0\n"
        "dense_delay_min = 0.0\n"
        "dense_density_per_km2 = 1500.0\n\n"
        f"[calibration.speeds_kph]\n{speeds}\n\n[calibration.detour]\n{detours}\n",
    )


def write_offer(data: Path) -> None:
    """BPE counts and codes, schools (EPSG:4326), housing tables."""
    rows = [f"{code};{nom};{BPE[code][0]};{BPE[code][1]}" for code, nom, *_ in COMMUNES[:6]]
    _write_text(
        data / "bpe" / "bpe_sante.csv", "CODGEO;LIBGEO;D265;D307\n" + "\n".join(rows) + "\n"
    )
    _write_text(
        data / "bpe" / "bpe_sante_codes.csv",
        "code;libelle\nD265;Médecin généraliste\nD307;Pharmacie\n",
    )
    schools = [
        _point(
            _wgs84(xy),
            {
                "identifiant_de_l_etablissement": ident,
                "nom_etablissement": name,
                "type_etablissement": kind,
                "code_commune": code,
            },
        )
        for ident, name, kind, code, xy in SCHOOLS
    ]
    _write_geojson(data / "facilities" / "schools.geojson", schools)
    header = "code_commune,nom,median_eur_m2_appartement,median_eur_m2_maison,n_ventes_appartement,n_ventes_maison"
    names = {code: nom for code, nom, *_ in COMMUNES}
    rows = [
        f"{code},{names[code]},{'' if flat is None else flat},{house},{n_flat},{n_house}"
        for code, (house, flat, n_house, n_flat) in HOUSING_PRICES.items()
    ]
    _write_text(data / "indicators" / "housing_prices.csv", header + "\n" + "\n".join(rows) + "\n")
    rows = [f"{code};{names[code]};{let};{stock}" for code, (let, stock) in SOCIAL_HOUSING.items()]
    _write_text(
        data / "indicators" / "social_housing.csv",
        "DEPCOM_ARM;LIBCOM;nb_loues;nb_ls\n" + "\n".join(rows) + "\n",
        bom=True,
    )


def write_indicators(data: Path) -> None:
    """Environment table, Petites villes de demain, EV stations, passenger stations."""
    names = {code: nom for code, nom, *_ in COMMUNES}
    rows = [
        f"{code};{names[code]};{FOREST_COVER[code]};{IMPERVIOUS[code]}" for code in FOREST_COVER
    ]
    _write_text(
        data / "indicators" / "environment.csv",
        "code_insee;nom;Couvert Forestier;Surface Imperméable\n" + "\n".join(rows) + "\n",
    )
    _write_text(data / "indicators" / "pvd.csv", "insee_com,lib_com\n99005,Esclottes\n")
    ev = [
        _point(
            _wgs84(xy),
            {"id_station_itinerance": sid, "nbre_pdc": str(n), "puissance_nominale": str(w)},
        )
        for sid, n, w, xy in EV_RECORDS
    ]
    _write_geojson(data / "facilities" / "ev_charging.geojson", ev)
    stations = [
        _point(
            _wgs84(xy),
            {
                "Code UIC": uic,
                "Intitulé gare": name,
                "code_commune": code,
                "Code département": code[:2],
                "Segment DRG": segment,
                "Date fin validité plateforme": end,
            },
        )
        for uic, name, code, segment, end, xy in STATIONS
    ]
    _write_geojson(data / "facilities" / "train_stations.geojson", stations)
    rows = [f"{uic},{n}" for uic, n in RIDERSHIP_2019.items()]
    _write_text(
        data / "facilities" / "train_stations_ridership.csv",
        "Code UIC complet,Total Voyageurs 2019\n" + "\n".join(rows) + "\n",
    )


def write_rasters(data: Path) -> None:
    """Reference and scenario GeoTIFFs: 2 bands (TAVG, TX35) of 1 km cells, with descriptions."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    transform = from_origin(RASTER_X0, RASTER_Y0, CELL_M, CELL_M)
    shape = (RASTER_ROWS, RASTER_COLS)
    tavg_ref = np.full(shape, 13.0, dtype="float32")
    tx35_ref = np.full(shape, 5.0, dtype="float32")
    tx35_rcp = tx35_ref.copy()
    for k, extra in TX35_EXTRA.items():
        tx35_rcp[:, k] += extra
    folder = data / "climate"
    folder.mkdir(parents=True, exist_ok=True)
    for name, bands in (
        ("heat_ref.tif", (tavg_ref, tx35_ref)),
        ("heat_rcp45.tif", (tavg_ref + 1.0, tx35_rcp)),
    ):
        with rasterio.open(
            folder / name,
            "w",
            driver="GTiff",
            width=RASTER_COLS,
            height=RASTER_ROWS,
            count=2,
            dtype="float32",
            crs="EPSG:2154",
            transform=transform,
            nodata=-9999.0,
        ) as dst:
            for i, (band, desc) in enumerate(zip(bands, ("TAVG", "TX35"), strict=True), start=1):
                dst.write(band, i)
                dst.set_band_description(i, desc)


def make(out: Path = HERE / "data") -> Path:
    """Write every data file of the tiny study into ``out`` and return it."""
    out.mkdir(parents=True, exist_ok=True)
    write_territory(out)
    write_roads(out)
    write_offer(out)
    write_indicators(out)
    write_rasters(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python tests/data/tiny/make_tiny.py [--out DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "data", help="data folder to write")
    args = parser.parse_args(argv)
    print(f"tiny study data written to {make(args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
