"""Internal helpers for files: data folder resolution, atomic writes, validated readers."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geoattract import settings
from geoattract.errors import DataError, DataNotFoundError, format_values

logger = logging.getLogger(__name__)


def resolve_data_dir(data_dir: str | os.PathLike | None = None, study: str | None = None) -> Path:
    """Find the folder that holds the study's input data.

    Order: the explicit ``data_dir`` argument, then the ``GEOATTRACT_DATA_DIR`` environment
    variable, then ``../shared/data/<study>`` beside the checkout.

    Parameters
    ----------
    data_dir : path-like, optional
        Explicit folder, for example from ``--data-dir``.
    study : str, optional
        Sub-folder of the shared data folder (``"lot-et-garonne"``).

    Returns
    -------
    pathlib.Path
        An existing folder.

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
        candidates = [c / study if study else c for c in settings.data_dir_candidates]
        origin = "default locations"
    for cand in candidates:
        cand = cand.expanduser().resolve()
        tried.append(str(cand))
        if cand.is_dir():
            logger.debug("data folder: %s (%s)", cand, origin)
            return cand
    raise DataNotFoundError(
        f"data folder not found (from {origin}); looked in: {', '.join(tried)}. "
        f"Pass --data-dir DIR or set {settings.data_dir_env_var}."
    )


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


def _sniff_separator(path: Path) -> str:
    """The candidate separator that appears most often in the header line (``,`` if none)."""
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        header = fh.readline()
    counts = {sep: header.count(sep) for sep in CSV_SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def read_csv(
    path: str | os.PathLike, columns: Iterable[str] = (), code_columns: Iterable[str] = (), **kwargs
) -> pd.DataFrame:
    """Read a CSV file, keeping code columns as strings and checking required columns.

    Parameters
    ----------
    path : path-like
        The file.
    columns : iterable of str
        Columns that must be present.
    code_columns : iterable of str
        Columns read as strings (INSEE codes keep their leading zeros).
    **kwargs
        Passed to :func:`pandas.read_csv` (``sep`` is sniffed when not given).
    """
    p = require_file(path)
    dtype = {c: str for c in code_columns}
    if kwargs.get("sep") is None:
        kwargs["sep"] = _sniff_separator(p)
    try:
        df = pd.read_csv(p, dtype=dtype, encoding="utf-8-sig", **kwargs)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(f"{p}: cannot be read as CSV ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    require_columns(df, list(columns) + list(code_columns), p)
    return df


def read_vector(
    path: str | os.PathLike, columns: Iterable[str] = (), layer: str | None = None
) -> gpd.GeoDataFrame:
    """Read a vector file (GeoJSON, GeoPackage…) and check its CRS and columns."""
    p = require_file(path)
    try:
        gdf = gpd.read_file(p, layer=layer) if layer else gpd.read_file(p)
    except Exception as exc:  # pyogrio raises several unrelated types
        raise DataError(f"{p}: cannot be read as a vector layer ({exc})") from exc
    if gdf.crs is None:
        raise DataError(f"{p}: no CRS; set one (e.g. EPSG:4326) before loading")
    require_columns(gdf, columns, p)
    return gdf


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


def write_gpkg_atomic(
    target: str | os.PathLike,
    layers: dict[str, gpd.GeoDataFrame | pd.DataFrame],
    metadata: dict[str, str] | None = None,
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
    """
    with atomic_path(target) as tmp:
        for name, frame in layers.items():
            if isinstance(frame, gpd.GeoDataFrame):
                frame.to_file(tmp, layer=name, driver="GPKG")
            else:  # attribute-only table (GeoPackage "attributes" content type)
                pyogrio.write_dataframe(pd.DataFrame(frame), tmp, layer=name, driver="GPKG")
        if metadata:
            meta = pd.DataFrame(
                {"key": list(metadata), "value": [str(v) for v in metadata.values()]}
            )
            pyogrio.write_dataframe(meta, tmp, layer="metadata", driver="GPKG")
    return Path(target)
