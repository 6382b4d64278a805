"""Internal helpers for files: data folder resolution, atomic writes, validated readers."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geoattract import settings
from geoattract.errors import DataError, DataNotFoundError, format_values

logger = logging.getLogger(__name__)


#: Sub-folders that mark the shared data folder (the root that holds one folder per study).
SHARED_DATA_MARKERS: tuple[str, ...] = ("roads", "france")


def resolve_data_dir(data_dir: str | os.PathLike | None = None, study: str | None = None) -> Path:
    """Find the shared data folder, or one study's folder inside it.

    ``--data-dir``, the ``data_dir`` argument and ``GEOATTRACT_DATA_DIR`` mean the same thing
    in every command and function: the **shared data folder**, the one that holds ``roads/``,
    ``france/`` and one folder per study (``lot-et-garonne/``). A study's own folder is accepted
    too (its parent is then the shared folder). Order: the explicit ``data_dir`` argument, then
    the environment variable, then ``../shared/data`` beside the checkout or the current folder.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit folder, for example from ``--data-dir``.
    study : str, optional
        A study's sub-folder (``"lot-et-garonne"``, the study file's ``data_subdir``); without
        it the shared folder itself is returned.

    Returns
    -------
    pathlib.Path
        An existing folder: ``<shared>/<study>`` (or the study folder given), else the shared
        folder.

    Raises
    ------
    DataNotFoundError
        If no candidate exists; the message lists every place that was looked at.
    """
    tried: list[str] = []
    if data_dir is not None:
        candidates = [Path(data_dir)]
        origin = "--data-dir / data_dir argument"
    elif os.environ.get(settings.data_dir_env_var):
        candidates = [Path(os.environ[settings.data_dir_env_var])]
        origin = f"environment variable {settings.data_dir_env_var}"
    else:
        candidates = list(settings.data_dir_candidates)
        origin = "default locations"
    for cand in candidates:
        cand = cand.expanduser().resolve()
        if study:
            inner = cand / study
            tried.append(str(inner))
            if inner.is_dir():
                logger.debug("study data folder: %s (%s)", inner, origin)
                return inner
            if origin != "default locations" and cand.is_dir():
                # a study's own folder (or a folder laid out like one)
                logger.debug("study data folder: %s (%s)", cand, origin)
                return cand
            continue
        tried.append(str(cand))
        if cand.is_dir():
            if not _is_shared_root(cand) and _is_shared_root(cand.parent):
                cand = cand.parent  # a study's folder: its parent holds the shared data
            logger.debug("shared data folder: %s (%s)", cand, origin)
            return cand
    raise DataNotFoundError(
        f"data folder not found (from {origin}); looked in: {', '.join(tried)}. "
        f"Pass --data-dir DIR (the shared data folder, holding roads/, france/ and one folder "
        f"per study) or set {settings.data_dir_env_var}."
    )


def _is_shared_root(folder: Path) -> bool:
    return any((folder / m).is_dir() for m in SHARED_DATA_MARKERS)


def require_file(path: str | os.PathLike, what: str = "input file") -> Path:
    """Return ``path`` as a :class:`~pathlib.Path`, raising a clear error when it is missing."""
    p = Path(path)
    if not p.is_file():
        raise DataNotFoundError(f"{what} not found: {p}")
    return p


def require_columns(df: pd.DataFrame, columns: Iterable[str], source: str | os.PathLike) -> None:
    """Raise :class:`DataError` naming the file and the missing columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(
            f"{source}: missing column(s) {format_values(missing)}; "
            f"available: {format_values(df.columns, limit=40)}"
        )


#: Separators :func:`read_csv` recognises when none is given.
CSV_SEPARATORS = (",", ";", "\t", "|")

#: Encodings tried in order: UTF-8 (with or without BOM), then Windows-1252, the superset of
#: Latin-1 in which French spreadsheets export (every byte sequence decodes, so it comes last).
CSV_ENCODINGS = ("utf-8-sig", "cp1252")

#: Lines read to sniff the separator (a separator must split every one the same way).
SNIFF_LINES = 20

#: Length of an INSEE commune code.
COMMUNE_CODE_LENGTH = 5

_DECIMAL_COMMA = re.compile(r"^\s*[-+]?(\d{1,3}([ \u00a0\u202f.]\d{3})+|\d+),\d+\s*$")
_PLAIN_NUMBER = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")
_FLOAT_CODE = re.compile(r"^(\d+)\.0+$")


def detect_encoding(path: Path) -> str:
    """The first of :data:`CSV_ENCODINGS` that decodes the whole file."""
    data = path.read_bytes()
    for enc in CSV_ENCODINGS[:-1]:
        try:
            data.decode(enc)
        except UnicodeDecodeError:
            continue
        return enc
    logger.info("%s: not UTF-8, read as Windows-1252 (Latin-1)", path)
    return CSV_ENCODINGS[-1]


def sniff_separator(path: Path, encoding: str = "utf-8-sig") -> str:
    """The separator that splits the first lines of a CSV into the same number of fields.

    Parameters
    ----------
    path : Path
        The file.
    encoding : str
        Its encoding.

    Returns
    -------
    str
        One of :data:`CSV_SEPARATORS`; ``,`` for a one-column file.

    Raises
    ------
    DataError
        Two separators split the header and every sniffed line consistently (ambiguous):
        the caller must name one.
    """
    with path.open(encoding=encoding, errors="replace", newline="") as fh:
        lines = [line.rstrip("\r\n") for _, line in zip(range(SNIFF_LINES), fh, strict=False)]
    lines = [line for line in lines if line.strip()]
    if not lines:
        return ","
    consistent = []
    for sep in CSV_SEPARATORS:
        counts = {_split_count(line, sep) for line in lines}
        if len(counts) == 1 and counts.pop() > 0:
            consistent.append(sep)
    if len(consistent) == 1:
        return consistent[0]
    if not consistent:  # ragged lines: fall back to the header's most frequent separator
        counts_h = {sep: lines[0].count(sep) for sep in CSV_SEPARATORS}
        best = max(counts_h, key=lambda k: counts_h[k])
        return best if counts_h[best] > 0 else ","
    header = {sep: _split_count(lines[0], sep) for sep in consistent}
    ranked = sorted(consistent, key=lambda sep: -header[sep])
    if header[ranked[0]] > header[ranked[1]] and ranked[0] == ";":
        return ";"  # French exports: ';' between fields, ',' inside decimal numbers
    raise DataError(
        f"{path}: ambiguous separator, both {format_values(consistent)} split every line "
        "consistently; give the separator (sep) in the configuration"
    )


def _split_count(line: str, sep: str) -> int:
    """Number of separators outside double quotes."""
    count, quoted = 0, False
    for ch in line:
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            count += 1
    return count


def normalise_commune_codes(values: pd.Series, source: str | os.PathLike = "") -> pd.Series:
    """INSEE commune codes as five-character strings, whatever a spreadsheet did to them.

    ``1001`` and ``1001.0`` become ``01001``; Corsican codes (``2A004``) are kept; blanks stay
    missing. The number of repaired codes is logged.

    Parameters
    ----------
    values : Series
        Codes as read (strings, integers or floats).
    source : path-like
        File name for the log.

    Returns
    -------
    Series
        Strings (missing values stay missing), same index.
    """
    text = values.astype("string").str.strip()
    fixed = text.str.replace(_FLOAT_CODE, r"\1", regex=True)
    short = fixed.str.fullmatch(r"\d{1,4}").fillna(False).astype(bool)
    fixed = fixed.where(~short, fixed.str.zfill(COMMUNE_CODE_LENGTH))
    changed = int((fixed != text).fillna(False).sum())
    if changed:
        logger.info(
            "%s: %d commune code(s) of column %r restored to 5 characters (e.g. %s)",
            source,
            changed,
            values.name,
            format_values(fixed[(fixed != text).fillna(False)].unique()[:3]),
        )
    return fixed.astype(object).where(fixed.notna(), None)


def _decimal_commas(df: pd.DataFrame, skip: set[str], source: Path) -> pd.DataFrame:
    """Convert text columns written with decimal commas (``12,5``) to numbers.

    A column is converted when every non-empty value is a number and at least one has a
    decimal comma; a column mixing ``12,5`` and ``12.5`` is ambiguous and refused.
    """
    for col in df.columns:
        if col in skip or not (
            df[col].dtype == object or pd.api.types.is_string_dtype(df[col].dtype)
        ):
            continue
        values = df[col].dropna().astype(str)
        values = values[values.str.strip() != ""]
        if values.empty:
            continue
        comma = values.str.match(_DECIMAL_COMMA)
        if not comma.any():
            continue
        plain = values.str.match(_PLAIN_NUMBER) & ~values.str.contains(",", regex=False)
        if not (comma | plain).all():
            continue  # text that merely contains numbers with commas
        dotted = plain & values.str.contains(".", regex=False)
        if dotted.any():
            raise DataError(
                f"{source}: column {col!r} mixes decimal commas and decimal points "
                f"(e.g. {values[comma].iloc[0]!r} and {values[dotted].iloc[0]!r}); fix the file"
            )
        cleaned = (
            df[col]
            .astype("string")
            .str.replace(r"[ \u00a0\u202f]", "", regex=True)
            .str.replace(r"\.(?=\d{3}(\D|$))", "", regex=True)
            .str.replace(",", ".", regex=False)
        )
        df[col] = pd.to_numeric(cleaned, errors="coerce").astype(float)
        logger.debug("%s: column %r read with decimal commas", source, col)
    return df


def read_csv(
    path: str | os.PathLike,
    columns: Iterable[str] = (),
    code_columns: Iterable[str] = (),
    *,
    commune_columns: Iterable[str] = (),
    **kwargs: Any,
) -> pd.DataFrame:
    """Read a CSV file the way French open data comes, and check the required columns.

    UTF-8 with or without BOM, or Windows-1252/Latin-1; ``,``, ``;``, tab or ``|``
    separators (sniffed; an ambiguity is an error, never a guess); decimal commas; INSEE
    commune codes as five-character strings.

    Parameters
    ----------
    path : path-like
        The file.
    columns : iterable of str
        Columns that must be present.
    code_columns : iterable of str
        Columns read as strings (identifiers keep their leading zeros).
    commune_columns : iterable of str
        Columns of INSEE commune codes: read as strings and restored to five characters
        (``1001`` → ``01001``).
    **kwargs
        Passed to :func:`pandas.read_csv` (``sep`` and ``encoding`` are detected when not
        given).

    Returns
    -------
    DataFrame

    Raises
    ------
    DataNotFoundError
        The file is missing.
    DataError
        Unreadable file, ambiguous separator, mixed decimal marks, missing columns.
    """
    p = require_file(path)
    communes = list(commune_columns)
    text_cols = list(code_columns) + communes
    dtype = {c: str for c in text_cols}
    encoding = kwargs.pop("encoding", None) or detect_encoding(p)
    if kwargs.get("sep") is None:
        kwargs["sep"] = sniff_separator(p, encoding)
    try:
        df = pd.read_csv(p, dtype=dtype, encoding=encoding, **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{p}: cannot be read as CSV ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    require_columns(df, list(columns) + text_cols, p)
    for col in communes:
        df[col] = normalise_commune_codes(df[col], p)
    if kwargs.get("decimal") is None:
        df = _decimal_commas(df, set(text_cols), p)
    return df


def check_geometries(
    gdf: gpd.GeoDataFrame,
    source: str | os.PathLike,
    id_column: str | None = None,
    *,
    null: Literal["error", "drop", "keep"] = "error",
    out_of_range: Literal["error", "drop"] = "error",
) -> gpd.GeoDataFrame:
    """Check a layer's geometries: not empty, no null geometry, coordinates in the CRS range.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer, in its declared CRS.
    source : path-like
        File name for messages.
    id_column : str, optional
        Column naming the features in messages (row numbers otherwise).
    null : {"error", "drop", "keep"}
        Features without geometry: an error, dropped with a warning naming them, or kept (the
        caller reports them).
    out_of_range : {"error", "drop"}
        Features with coordinates outside the CRS's range: an error, or dropped with a warning
        naming them.

    Returns
    -------
    GeoDataFrame
        The layer (without its null geometries with ``null="drop"``).

    Raises
    ------
    DataError
        Empty layer, null or empty geometries (``null="error"``), coordinates outside the
        declared CRS's area of use (for example longitudes and latitudes in a file declared in
        Lambert-93).
    """
    if len(gdf) == 0:
        raise DataError(f"{source}: the layer is empty")
    ids: Any
    ids = gdf[id_column].astype(str) if id_column and id_column in gdf else gdf.index.astype(str)
    geoms = gdf.geometry.to_numpy()
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any() and null == "keep":
        ids, geoms = ids[~empty], geoms[~empty]
    elif empty.any():
        msg = (
            f"{source}: {int(empty.sum())} feature(s) without geometry: "
            f"{format_values(np.asarray(ids)[empty])}"
        )
        if null == "error":
            raise DataError(msg)
        logger.info("%s; left out", msg)
        gdf, ids, geoms = gdf[~empty], ids[~empty], geoms[~empty]
        if len(gdf) == 0:
            raise DataError(f"{source}: the layer has no feature with a geometry")
    bounds = _crs_bounds(gdf.crs)
    if bounds is None:
        return gdf
    x0, y0, x1, y1 = shapely.bounds(geoms).T
    tol_x = CRS_RANGE_TOLERANCE * (bounds[2] - bounds[0])
    tol_y = CRS_RANGE_TOLERANCE * (bounds[3] - bounds[1])
    out = (
        (x0 < bounds[0] - tol_x)
        | (y0 < bounds[1] - tol_y)
        | (x1 > bounds[2] + tol_x)
        | (y1 > bounds[3] + tol_y)
    )
    if out.any() and out_of_range == "drop":
        logger.warning(
            "%s: %d feature(s) with coordinates outside the range of the declared CRS %s left "
            "out: %s",
            source,
            int(out.sum()),
            gdf.crs.to_string(),
            format_values(np.asarray(ids)[out]),
        )
        keep = np.ones(len(gdf), dtype=bool)
        keep[np.flatnonzero(~empty)[out] if null == "keep" else out] = False
        return gdf[keep]
    if out.any():
        raise DataError(
            f"{source}: {int(out.sum())} feature(s) with coordinates outside the range of the "
            f"declared CRS {gdf.crs.to_string()} (x {bounds[0]:.0f}…{bounds[2]:.0f}, "
            f"y {bounds[1]:.0f}…{bounds[3]:.0f}): {format_values(np.asarray(ids)[out])}; "
            "is the CRS right?"
        )
    return gdf


#: Share of the CRS's area of use by which coordinates may overflow it (coastal features,
#: buffers) before :func:`check_geometries` calls them out of range.
CRS_RANGE_TOLERANCE = 0.05


def _crs_bounds(crs: Any) -> tuple[float, float, float, float] | None:
    """The area of use of a CRS in its own coordinates (None when unknown)."""
    if crs is None:
        return None
    c = pyproj.CRS(crs)
    area = c.area_of_use
    if area is None:
        return None
    if c.is_geographic:
        return (area.west, area.south, area.east, area.north)
    try:
        tr = pyproj.Transformer.from_crs("EPSG:4326", c, always_xy=True)
        x0, y0, x1, y1 = tr.transform_bounds(area.west, area.south, area.east, area.north)
        return (x0, y0, x1, y1)
    except pyproj.exceptions.ProjError:  # pragma: no cover - exotic CRS
        return None


def read_vector(
    path: str | os.PathLike,
    columns: Iterable[str] = (),
    layer: str | None = None,
    *,
    id_column: str | None = None,
    null_geometries: Literal["error", "drop", "keep"] = "error",
    bbox: tuple[float, float, float, float] | None = None,
    out_of_range: Literal["error", "drop"] = "error",
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage…) and check its CRS, columns and geometries.

    Parameters
    ----------
    path : path-like
        The file.
    columns : iterable of str
        Columns that must be present.
    layer : str, optional
        Layer of a multi-layer file.
    id_column : str, optional
        Column naming features in geometry errors.
    null_geometries : {"error", "drop", "keep"}
        Features without geometry: an error, left out with a warning naming them, or kept for
        the caller to report.
    bbox : tuple of float, optional
        Read only the features meeting this box (xmin, ymin, xmax, ymax in the layer's CRS).
    out_of_range : {"error", "drop"}
        Features with coordinates outside the CRS's range: an error, or left out with a
        warning naming them (a points layer with a few garbage coordinates).

    Returns
    -------
    GeoDataFrame

    Raises
    ------
    DataNotFoundError
        The file is missing.
    DataError
        Unreadable file, no CRS, missing columns, empty layer, null geometries, coordinates
        outside the declared CRS's range.
    """
    p = require_file(path)
    try:
        options: dict[str, Any] = {"layer": layer} if layer else {}
        if bbox is not None:
            options["bbox"] = tuple(bbox)
        gdf = gpd.read_file(p, **options)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{p}: cannot be read as a vector layer ({exc})") from exc
    if gdf.crs is None:
        raise DataError(f"{p}: no CRS; set one (e.g. EPSG:4326) before loading")
    require_columns(gdf, columns, p)
    return check_geometries(gdf, p, id_column, null=null_geometries, out_of_range=out_of_range)


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary file lives in the same folder (same file system), so the final
    :func:`os.replace` is atomic: readers see the old file or the new one, never half of one.
    On error the temporary file is removed and ``target`` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=target.suffix or ".tmp", dir=target.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    tmp_path.unlink()  # writers such as GDAL refuse to overwrite an empty non-GPKG file
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_text_atomic(target: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)


def write_bytes_atomic(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


#: GeoPackage written as version 1.2: Debian's QGIS 3.22 (GDAL 3.6) opens a 1.4 file, which
#: newer GDAL writes by default, with a « may only be partially supported » warning.
GPKG_OPTIONS: dict[str, str] = {"VERSION": "1.2"}


def write_gpkg_atomic(
    target: str | os.PathLike,
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame],
    metadata: dict[str, str] | None = None,
    *,
    finish: Callable[[Path], object] | None = None,
) -> Path:
    """Write several layers to one GeoPackage atomically.

    Parameters
    ----------
    target : path-like
        The ``.gpkg`` file.
    layers : dict
        Layer name → GeoDataFrame (or DataFrame for a table without geometry).
    metadata : dict, optional
        Key/value pairs stored in a ``metadata`` table layer (for example ``schematic``).
    finish : callable, optional
        Called with the temporary file once every layer is written, before the rename (to
        add tables GDAL does not write, such as QGIS styles).
    """
    with atomic_path(target) as tmp:
        for name, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(tmp, layer=name, driver="GPKG", dataset_options=GPKG_OPTIONS)
            else:  # attribute-only table (GeoPackage "attributes" content type)
                pyogrio.write_dataframe(
                    pd.DataFrame(frame),
                    tmp,
                    layer=name,
                    driver="GPKG",
                    dataset_options=GPKG_OPTIONS,
                )
        if metadata:
            meta = pd.DataFrame(
                {"key": list(metadata), "value": [str(v) for v in metadata.values()]}
            )
            pyogrio.write_dataframe(
                meta, tmp, layer="metadata", driver="GPKG", dataset_options=GPKG_OPTIONS
            )
        if finish is not None:
            finish(tmp)
    return Path(target)


def check_writable_file(path: str | os.PathLike) -> Path:
    """Check, at the door, that a file can be written at ``path`` (its folder exists and is writable).

    Raises
    ------
    DataError
        The folder is missing or not writable.
    """
    p = Path(path)
    folder = p.parent if str(p.parent) else Path(".")
    if not folder.is_dir():
        raise DataError(f"{p}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DataError(f"{p}: folder {folder} is not writable (permission denied)")
    return p
