"""Commune codes and names given by a user, resolved against a study's communes."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import pandas as pd

from geoattract.errors import DataError

#: Close names suggested for an unknown commune.
N_SUGGESTIONS = 5


def resolve_codes(names: Sequence[str], communes: pd.DataFrame) -> list[str]:
    """INSEE codes of the given codes or exact names (case-insensitive).

    Raises
    ------
    DataError
        For an unknown code or name, suggesting close names and codes.
    """
    codes = communes["code"].astype(str).tolist()
    by_name = {str(n).casefold(): c for n, c in zip(communes["nom"], codes, strict=True)}
    display = {str(n).casefold(): str(n) for n in communes["nom"]}
    out = []
    for name in names:
        if name in codes:
            out.append(name)
            continue
        if name.casefold() in by_name:
            out.append(by_name[name.casefold()])
            continue
        labels = [f"{n} ({c})" for n, c in zip(communes["nom"], codes, strict=True)]
        close = difflib.get_close_matches(name, codes, n=N_SUGGESTIONS, cutoff=0.6)
        close_names = difflib.get_close_matches(
            name.casefold(), list(by_name), n=N_SUGGESTIONS, cutoff=0.5
        )
        hints = [lab for lab in labels if lab.split(" (")[-1].rstrip(")") in close]
        hints += [f"{display[n]} ({by_name[n]})" for n in close_names]
        hints = list(dict.fromkeys(hints))[:N_SUGGESTIONS]
        hint = f"; did you mean {', '.join(hints)}?" if hints else ""
        raise DataError(f"unknown commune {name!r} (not a study commune code or name){hint}")
    return out
