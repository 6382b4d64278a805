"""Copy a shipped study out of the package, to edit it; point warnings to that copy.

The studies shipped with the package live inside ``site-packages``, where an edit is lost at
the next upgrade. :func:`export_study` copies one to a folder of the user's; the command line's
``geoattract config export NAME DIR`` calls it, and :func:`edit_hint` is the one wording every
message uses when it asks the user to change a configuration file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from geoattract import settings
from geoattract.config.study import STUDY_FILE, shipped_studies
from geoattract.errors import ConfigError


def export_study(name: str, dest: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Copy the TOML files of a shipped study into ``dest``, for editing.

    Parameters
    ----------
    name : str
        A shipped study (see :func:`geoattract.config.shipped_studies`).
    dest : path-like
        Folder to write; created when absent.
    overwrite : bool
        Replace files that already exist in ``dest`` (refused by default, naming them).

    Returns
    -------
    list of Path
        The files written, ``study.toml`` first; run the copy with ``--config DEST/study.toml``.

    Raises
    ------
    ConfigError
        Unknown study, or files of ``dest`` that would be overwritten.

    Examples
    --------
    >>> import tempfile
    >>> from geoattract.config.export import export_study
    >>> with tempfile.TemporaryDirectory() as d:
    ...     [p.name for p in export_study("lot-et-garonne", d)]
    ['study.toml', 'facilities.toml', 'indicators.toml', 'levers.toml', 'plan.toml', 'scoring.toml']
    """
    studies = shipped_studies()
    if name not in studies:
        raise ConfigError(f"unknown study {name!r}; shipped studies: {', '.join(studies)}")
    source = settings.studies_folder / name
    files = sorted(source.glob("*.toml"), key=lambda p: (p.name != STUDY_FILE, p.name))
    out = Path(dest).expanduser()
    clash = [p.name for p in files if (out / p.name).exists()]
    if clash and not overwrite:
        raise ConfigError(
            f"{out}: would overwrite {', '.join(clash)}; choose an empty folder or pass --force"
        )
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for f in files:
        target = out / f.name
        tmp = target.with_name(f".{f.name}.tmp")
        shutil.copyfile(f, tmp)
        os.replace(tmp, target)
        written.append(target)
    return written


def edit_hint(path: str | os.PathLike) -> str:
    """How to change the configuration file ``path``, in one clause.

    A file of a shipped study is inside the package: the hint gives the export command instead
    of the ``site-packages`` path.

    Examples
    --------
    >>> from geoattract import settings
    >>> from geoattract.config.export import edit_hint
    >>> edit_hint(settings.studies_folder / "lot-et-garonne" / "scoring.toml")
    'scoring.toml of the shipped study lot-et-garonne (copy it to edit: geoattract config export lot-et-garonne DIR, then run with --config DIR/study.toml)'
    >>> edit_hint("/home/me/etude/scoring.toml")
    '/home/me/etude/scoring.toml'
    """
    p = Path(path)
    try:
        rel = p.resolve().relative_to(settings.studies_folder.resolve())
    except ValueError:
        return str(path)
    study = rel.parts[0]
    return (
        f"{p.name} of the shipped study {study} (copy it to edit: geoattract config export "
        f"{study} DIR, then run with --config DIR/study.toml)"
    )
