"""Compare the ``communes`` layers of two runs: columns added, removed, and values that differ.

Usage::

    python scripts/compare_runs.py BEFORE/communes.gpkg AFTER/communes.gpkg [--tol 1e-9]

Prints the columns only in one run, then, for every shared column, the number of communes whose
value differs (numbers beyond the tolerance, relative to the magnitude; text exactly; NaN equal
to NaN) and the largest difference. Exit code 0 when the shared columns agree, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys

import geopandas as gpd
import numpy as np
import pandas as pd


def compare(before: pd.DataFrame, after: pd.DataFrame, tol: float) -> pd.DataFrame:
    """One row per shared column that differs: count of communes and the largest difference."""
    rows = []
    for col in [c for c in before.columns if c in after.columns and c != "geometry"]:
        a, b = before[col], after[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(float), b.to_numpy(float)
            both_nan = np.isnan(x) & np.isnan(y)
            diff = np.abs(x - y)
            scale = np.maximum(1.0, np.maximum(np.abs(x), np.abs(y)))
            bad = ~both_nan & ~(diff <= tol * scale)
            worst = float(np.nanmax(np.where(bad, diff, np.nan))) if bad.any() else 0.0
        else:
            sa, sb = a.astype("string").fillna(""), b.astype("string").fillna("")
            bad = (sa != sb).to_numpy()
            worst = np.nan
        if bad.any():
            rows.append({"column": col, "communes": int(bad.sum()), "max_abs_diff": worst})
    return pd.DataFrame(rows, columns=["column", "communes", "max_abs_diff"])


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--tol", type=float, default=1e-9, help="relative tolerance (1e-9)")
    args = parser.parse_args(argv)
    before = gpd.read_file(args.before, layer="communes").set_index("code").sort_index()
    after = gpd.read_file(args.after, layer="communes").set_index("code").sort_index()
    if not before.index.equals(after.index):
        print(f"communes differ: {len(before)} before, {len(after)} after")
        return 1
    only_before = [c for c in before.columns if c not in after.columns]
    only_after = [c for c in after.columns if c not in before.columns]
    print(
        f"{len(before)} communes; {len(before.columns)} columns before, {len(after.columns)} after"
    )
    print(f"only before ({len(only_before)}): {', '.join(only_before) or '-'}")
    print(f"only after ({len(only_after)}): {', '.join(only_after) or '-'}")
    geom = before.geometry.geom_equals_exact(after.geometry, tolerance=1e-6)
    print(f"geometries equal: {int(geom.sum())} of {len(before)}")
    diffs = compare(before, after, args.tol)
    shared = len([c for c in before.columns if c in after.columns])
    print(f"shared columns: {shared}; columns that differ: {len(diffs)}")
    if len(diffs):
        with pd.option_context("display.max_rows", 500, "display.width", 160):
            print(diffs.to_string(index=False))
    return 0 if diffs.empty else 1


if __name__ == "__main__":
    sys.exit(main())
