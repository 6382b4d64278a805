"""The ``geoattract`` command line.

Sub-commands::

    geoattract run        run the whole study and write maps, report and GeoPackages
    geoattract network    build a road graph from a source and print its summary

Exit code 0 on success; on bad input a one-line error and a non-zero code (2), with the
traceback only under ``--verbose``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from . import __version__
from .errors import GeoattractError

#: Exit code for an error in the user's input (data, configuration, arguments).
EXIT_INPUT_ERROR = 2
#: Exit code for an unexpected failure.
EXIT_FAILURE = 1


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config", metavar="FILE", help="study configuration TOML (default: Lot-et-Garonne)"
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        help="data folder (default: $GEOATTRACT_DATA_DIR, else ../shared/data/<study>)",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="geoattract",
        description="Territorial attractiveness studies: accessibility over the road network, "
        "transition indicators, composite scores, maps and reports.",
    )
    parser.add_argument("--version", action="version", version=f"geoattract {__version__}")
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument(
        "-v", "--verbose", action="store_true", help="progress bars, debug logs, tracebacks"
    )
    verbosity.add_argument("-q", "--quiet", action="store_true", help="only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "run",
        help="run the whole study and write its outputs",
        description="Run every stage of the study and write GeoPackages, maps and the report.",
    )
    _add_common(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: study.output_dir, maps/)")
    p.set_defaults(func=_cmd_run)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from .pipeline import run_study

    result = run_study(args.config, data_dir=args.data_dir, out_dir=args.out, verbose=args.verbose)
    if not args.quiet:
        print(f"geoattract run: {result.config.name} → {result.out_dir}")
        for label, path in result.files.items():
            print(f"  {label:<24} {path}")
        print(result.timing_summary())
    return 0


def _configure_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("geoattract").setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``geoattract`` command.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_logging(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except (GeoattractError, FileNotFoundError) as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"geoattract {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(
            f"geoattract {args.command}: interrupted; previous outputs left intact", file=sys.stderr
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
