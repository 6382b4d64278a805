"""The ``geoattract`` command line.

Sub-commands::

    geoattract run        run the whole study and write maps, report and GeoPackages
    geoattract network    build a road graph from a source and print its summary
    geoattract matrix     drive times and road distances between communes (CSV)
    geoattract calibrate  fit a line network's speeds to reference drive times
    geoattract atelier merge  reconcile the weights saved by several workshop groups

Exit code 0 on success; on bad input a one-line error and a non-zero code (2), with the
traceback only under ``--verbose``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from geoattract import __version__
from geoattract._util.logs import configure_console
from geoattract.errors import DataError, GeoattractError

#: Exit code for an error in the user's input (data, configuration, arguments).
EXIT_INPUT_ERROR = 2
#: Exit code for an unexpected failure.
EXIT_FAILURE = 1


def _verbosity_parser(default: object) -> argparse.ArgumentParser:
    """-v/-q, accepted before and after the sub-command."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_mutually_exclusive_group()
    group.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=default,
        help="debug logs and tracebacks on the console",
    )
    group.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="only errors, no progress bar"
    )
    return parent


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--config",
        metavar="NAME|FILE",
        help="a shipped study (lot-et-garonne, france) or a study TOML (default: lot-et-garonne)",
    )
    _add_data_dir(p)


#: The one meaning of --data-dir, in every command.
DATA_DIR_HELP = (
    "shared data folder, holding roads/, france/ and one folder per study (a study's own folder "
    "works too); default: $GEOATTRACT_DATA_DIR, else ../shared/data"
)


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR", help=DATA_DIR_HELP)


def _add_communes(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--communes",
        metavar="FILE.gpkg",
        help="national communes (layers communes, mairies); default the shared one",
    )


def _with_layer_options(cfg: Any, args: argparse.Namespace) -> Any:
    """The study with ``--layer`` / ``--strict`` in its ``[network]`` section."""
    values = {}
    if getattr(args, "layer", None):
        values["layer"] = args.layer
    if getattr(args, "strict", False):
        values["strict"] = True
    return cfg.with_section("network", **values) if values else cfg


def _add_layer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--layer", metavar="NAME", help="layer of a multi-layer line file")
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse class values of a line layer that its preset does not know",
    )


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="geoattract",
        description="Territorial attractiveness studies: accessibility over the road network, "
        "transition indicators, composite scores, maps and reports.",
        parents=[_verbosity_parser(False)],
    )
    parser.add_argument("--version", action="version", version=f"geoattract {__version__}")
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        required=True,
        parser_class=_subparser_class(_verbosity_parser(argparse.SUPPRESS)),
    )

    p = sub.add_parser(
        "run",
        help="run the whole study and write its outputs",
        description="Run every stage of the study and write GeoPackages, maps and the report.",
    )
    _add_common(p)
    p.add_argument("--out", metavar="DIR", help="output folder (default: study.output_dir, maps/)")
    p.add_argument(
        "--isochrones-for",
        nargs="+",
        metavar="CODE",
        help="communes whose isochrones the maps show (default: [maps] isochrone_communes)",
    )
    p.add_argument(
        "--network",
        metavar="FILE|online|schematic",
        help="road network replacing [network] source (a line layer, an OSM file, 'online', "
        "or 'schematic' as a last resort)",
    )
    _add_layer_options(p)
    p.add_argument(
        "--no-isochrones", action="store_true", help="skip the isochrones (isochrones.gpkg)"
    )
    p.add_argument(
        "--no-maps",
        action="store_true",
        help="GeoPackages and tables only: no interactive or printable map, no report",
    )
    p.add_argument(
        "--separate-maps",
        action="store_true",
        help="also write one interactive map per profile and pillar (score_*.html, "
        "pillar_*.html) besides atelier.html ([maps] separate_maps)",
    )
    national = p.add_argument_group("national runs (studies with [partitions] enabled: france)")
    national.add_argument(
        "--engine", choices=("dask", "local"), help="dask (default) or this process only"
    )
    national.add_argument(
        "--scheduler", metavar="ADDRESS", help="existing dask scheduler (default: a LocalCluster)"
    )
    national.add_argument("--workers", type=int, metavar="N", help="LocalCluster workers")
    national.add_argument(
        "--departement-maps",
        nargs="+",
        default=[],
        metavar="DEP",
        help="also write an interactive map of these départements",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "network",
        help="build a road graph from a source and print its summary",
        description="Build a road graph (OSM file, online OSM or the schematic fallback), print "
        "nodes, edges, km by road class, tagged maxspeed share and what was dropped.",
    )
    _add_common(p)
    p.add_argument(
        "--source",
        required=True,
        metavar="FILE|schematic|online",
        help="a .osm.pbf, .osm, .graphml or .gpkg file, 'schematic' or 'online'",
    )
    p.add_argument("--out", metavar="FILE.gpkg", help="save the graph (layers nodes, edges)")
    _add_layer_options(p)
    p.set_defaults(func=_cmd_network)

    p = sub.add_parser(
        "matrix",
        help="drive times and road distances between communes",
        description="Origin-destination table (origin, destination, minutes, km) between the "
        "town halls of two commune selections: 'all', a département (38, 2A) or a "
        "comma-separated list of département and commune codes.",
    )
    p.add_argument(
        "--network",
        default=None,
        metavar="SOURCE",
        help="line layer or graph source (default: the classified roads of the shared data, "
        "roads/france_roads_travelmapping.gpkg)",
    )
    p.add_argument("--from", dest="sel_from", required=True, metavar="SEL", help="origins")
    p.add_argument("--to", dest="sel_to", required=True, metavar="SEL", help="destinations")
    p.add_argument("--out", required=True, metavar="FILE.csv", help="output CSV")
    p.add_argument("--max-minutes", type=float, default=None, help="leave out longer pairs")
    _add_communes(p)
    _add_layer_options(p)
    _add_data_dir(p)
    p.set_defaults(func=_cmd_matrix)

    p = sub.add_parser(
        "calibrate",
        help="fit a line network's speeds to reference drive times",
        description="Fit class speeds, access leg and dense-commune delay of a line network to "
        "tables of reference drive times between communes; print the error figures and "
        "optionally write the [calibration] TOML.",
    )
    p.add_argument(
        "--network",
        metavar="SOURCE",
        help="line layer (default: the classified roads of the shared data, "
        "roads/france_roads_travelmapping.gpkg)",
    )
    p.add_argument(
        "--reference", action="append", required=True, metavar="FILE.csv", help="reference times"
    )
    p.add_argument("--out", metavar="FILE.toml", help="write the fitted values")
    p.add_argument(
        "--holdout-dep",
        metavar="DEPS",
        help="comma-separated origin départements held out (default: a random 30 %%)",
    )
    p.add_argument(
        "--weight",
        action="append",
        default=[],
        metavar="NAME=W",
        help="weight of a reference table in the fit (its file stem; default 1)",
    )
    p.add_argument(
        "--seeds",
        metavar="SEEDS",
        help="comma-separated other hold-out seeds: the fit is repeated for each and their "
        "held-out figures printed (robustness)",
    )
    _add_communes(p)
    _add_data_dir(p)
    p.set_defaults(func=_cmd_calibrate)

    p = sub.add_parser(
        "isochrones",
        help="isochrones of communes' town halls",
        description="Isochrone polygons from the town halls of the given communes; GeoJSON or "
        "GeoPackage by the extension of --out.",
    )
    _add_common(p)
    p.add_argument("codes", nargs="+", metavar="CODE", help="INSEE commune codes")
    p.add_argument(
        "--minutes", nargs="+", type=float, default=None, help="thresholds (default 10 20 30)"
    )
    p.add_argument("--out", required=True, metavar="FILE", help="output .geojson or .gpkg")
    p.add_argument(
        "--network", metavar="SOURCE", help="road network replacing the study's [network] source"
    )
    _add_layer_options(p)
    p.set_defaults(func=_cmd_isochrones)

    p = sub.add_parser(
        "compare",
        help="compare communes side by side",
        description="Scores, ranks with their 5-95 % interval, pillars and each indicator against "
        "the département median, for two or more communes.",
    )
    _add_common(p)
    p.add_argument("codes", nargs="+", metavar="CODE", help="INSEE commune codes (or exact names)")
    p.add_argument("--profile", default="general", help="profile (default general)")
    p.add_argument("--html", metavar="FILE", help="also write an HTML page with a radar chart")
    p.add_argument(
        "--results",
        metavar="DIR",
        help="folder of a previous `geoattract run` (default maps/); recomputed when absent",
    )
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser(
        "scenario",
        help="what if a facility is added or removed",
        description="Add or remove facilities (CATEGORY:CODE[:CAPACITY]), or replace and add "
        "rail links (--rail-link, --rail-scenario); recompute what they move and report each "
        "commune's score and rank change by pillar.",
    )
    _add_common(p)
    p.add_argument(
        "--add", action="append", default=[], metavar="CAT:CODE[:N]", help="e.g. gp:47157:2"
    )
    p.add_argument(
        "--remove", action="append", default=[], metavar="CAT:CODE[:N]", help="e.g. maternity:47323"
    )
    p.add_argument(
        "--rail-link",
        action="append",
        default=[],
        metavar="UIC:POLE:MIN[:TRAINS]",
        help="replace or add a rail link, e.g. 87586008:bordeaux:35",
    )
    p.add_argument(
        "--rail-scenario",
        action="append",
        default=[],
        metavar="NAME",
        help="a named rail scenario of the study file ([scenarios.NAME]), e.g. gpso",
    )
    p.add_argument("--profile", default="general", help="profile shown (default general)")
    p.add_argument("--top", type=int, default=15, help="communes listed (default 15)")
    p.add_argument("--out", metavar="FILE.csv", help="write every commune's changes, all profiles")
    p.set_defaults(func=_cmd_scenario)

    p = sub.add_parser(
        "config",
        help="the shipped studies: list them, copy one to edit it",
        description="Studies shipped with the package live inside it; export one to a folder "
        "of yours, edit its TOML files and run it with --config DIR/study.toml.",
    )
    actions = p.add_subparsers(
        dest="config_action",
        metavar="ACTION",
        required=True,
        parser_class=_subparser_class(_verbosity_parser(argparse.SUPPRESS)),
    )
    c = actions.add_parser("list", help="names of the shipped studies")
    c.set_defaults(func=_cmd_config_list)
    c = actions.add_parser(
        "export",
        help="copy a shipped study's TOML files to DIR",
        description="Copy the TOML files of a shipped study to DIR (created when absent), to "
        "edit them; then run with --config DIR/study.toml.",
    )
    c.add_argument("name", metavar="NAME", help="a shipped study (see `geoattract config list`)")
    c.add_argument("dir", metavar="DIR", help="folder to write")
    c.add_argument("--force", action="store_true", help="overwrite files already in DIR")
    c.set_defaults(func=_cmd_config_export)

    p = sub.add_parser(
        "atelier",
        help="co-construction workshops: reconcile the weights of several groups",
        description="Tools of the co-construction workshops (the weights are set in "
        "atelier.html, written by every run).",
    )
    actions = p.add_subparsers(
        dest="atelier_action",
        metavar="ACTION",
        required=True,
        parser_class=_subparser_class(_verbosity_parser(argparse.SUPPRESS)),
    )
    m = actions.add_parser(
        "merge",
        help="scores under each group's weights, consensus and contested communes",
        description="Read the weight files several groups saved from atelier.html; write the "
        "scores under each group's weights, the consensus communes (top quintile for every "
        "group) and the contested ones (rank spread of a quintile or more) with a map of "
        "each, rank intervals from a Monte Carlo over the groups' weights, and a French "
        "section for the report.",
    )
    _add_common(m)
    m.add_argument("files", nargs="+", metavar="WEIGHTS.json", help="weight files (two or more)")
    m.add_argument(
        "--out", metavar="DIR", help="output folder (default: <results>/atelier, maps/atelier)"
    )
    m.add_argument(
        "--results",
        metavar="DIR",
        help="folder of a previous `geoattract run` (default maps/); recomputed when absent",
    )
    m.add_argument("--draws", type=int, metavar="N", help="Monte Carlo draws in all")
    m.set_defaults(func=_cmd_atelier_merge)
    _add_plan_commands(sub)
    return parser


def _cmd_config_list(args: argparse.Namespace) -> int:
    from geoattract.config import shipped_studies

    print("\n".join(shipped_studies()))
    return 0


def _cmd_config_export(args: argparse.Namespace) -> int:
    from geoattract.config.export import export_study

    written = export_study(args.name, args.dir, overwrite=args.force)
    print(f"geoattract config export: {args.name} → {Path(args.dir)}")
    for f in written:
        print(f"  {f.name}")
    print(f"  run it: geoattract run --config {written[0]}")
    return 0


def _cmd_atelier_merge(args: argparse.Namespace) -> int:
    from geoattract.app.atelier import atelier_merge_command

    text, _ = atelier_merge_command(
        args.files,
        out=args.out,
        results=args.results,
        draws=args.draws,
        config=args.config,
        data_dir=args.data_dir,
        verbose=_progress(args),
    )
    if not args.quiet:
        print(text)
    return 0


def _cmd_network(args: argparse.Namespace) -> int:
    from geoattract.app.commands import network_command

    if args.out is not None and not args.out.lower().endswith(".gpkg"):
        raise DataError(f"{args.out}: --out must be a GeoPackage file ending in .gpkg")
    summary = network_command(
        args.source,
        args.out,
        strict=args.strict,
        layer=args.layer,
        config=args.config,
        data_dir=args.data_dir,
    )
    if not args.quiet:
        from geoattract.outputs.console import summary_text

        print(summary_text(summary))
    return 0


def _cmd_matrix(args: argparse.Namespace) -> int:
    from geoattract.routing.matrix import matrix_command

    summary = matrix_command(
        args.network,
        args.sel_from,
        args.sel_to,
        args.out,
        communes=args.communes,
        max_minutes=args.max_minutes,
        data_dir=args.data_dir,
        layer=args.layer,
        strict=args.strict,
    )
    if not args.quiet:
        print(
            f"{summary['pairs']:,} of {summary['expected_pairs']:,} pairs written to "
            f"{summary['out']} in {summary['load_seconds'] + summary['route_seconds']:.1f} s"
        )
        if summary["missing_pairs"]:
            print(f"missing: {summary['missing']}")
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from geoattract.network.calibrate import calibrate
    from geoattract.network.references import Holdout, parse_seeds, parse_weights

    holdout = Holdout()
    if args.holdout_dep:
        holdout = Holdout(departements=tuple(d.strip() for d in args.holdout_dep.split(",")))
    weights = parse_weights(args.weight)
    seeds = parse_seeds(args.seeds)
    network = args.network
    if network is None:
        from geoattract._util.io import resolve_data_dir
        from geoattract.routing.matrix import DEFAULT_ROADS_FILE

        network = resolve_data_dir(args.data_dir) / DEFAULT_ROADS_FILE
    result = calibrate(
        network,
        args.reference,
        holdout=holdout,
        out=args.out,
        communes=args.communes,
        weights=weights,
        seeds=seeds,
    )
    if not args.quiet:
        print(result.report_text())
        if args.out:
            print(f"calibration written to {args.out}")
    return 0


def _cmd_isochrones(args: argparse.Namespace) -> int:
    from geoattract.app import commands
    from geoattract.config import load_study_config

    cfg = _with_layer_options(load_study_config(args.config, data_dir=args.data_dir), args)
    if args.network:
        cfg = cfg.with_section("network", source=args.network)
    path, iso = commands.isochrones_command(
        args.codes, args.out, minutes=args.minutes, config=cfg, verbose=_progress(args)
    )
    if not args.quiet:
        print(f"{len(iso)} isochrone(s) written to {path}")
        from geoattract.outputs.console import fit_table

        print(fit_table(iso.drop(columns="geometry").round(2), keys=[iso.columns[0]]))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from geoattract.app import commands

    table = commands.compare_command(
        args.codes,
        profile=args.profile,
        html=args.html,
        results=args.results,
        config=args.config,
        data_dir=args.data_dir,
        verbose=_progress(args),
    )
    print(table)
    if args.html and not args.quiet:
        print(f"HTML page written to {args.html}")
    return 0


def _cmd_scenario(args: argparse.Namespace) -> int:
    from geoattract.app import commands

    text = commands.scenario_command(
        args.add,
        args.remove,
        rail_links=args.rail_link,
        rail_scenarios=args.rail_scenario,
        profile=args.profile,
        top=args.top,
        out=args.out,
        config=args.config,
        data_dir=args.data_dir,
        verbose=_progress(args),
    )
    print(text)
    return 0


def _add_plan_commands(sub: Any) -> None:
    """Add the action-plan commands (``optimise``, ``levers``, ``plan``): :mod:`~geoattract.app.plan_cli`."""
    from geoattract.app.plan_cli import add_plan_commands

    add_plan_commands(sub, _add_common, _progress)


def _cmd_run(args: argparse.Namespace) -> int:
    # the checks at the door come before the heavy imports of the stages
    from geoattract._util.output_folder import check_output_folder
    from geoattract.config import load_study_config

    cfg = _with_layer_options(load_study_config(args.config, data_dir=args.data_dir), args)
    if args.separate_maps:
        cfg = cfg.with_section("maps", separate_maps=True)
    out = Path(args.out) if args.out is not None else Path(cfg.study["output_dir"])
    check_output_folder(out)
    if args.departement_maps and not cfg.section("partitions").get("enabled"):
        raise DataError("--departement-maps: only for a study at national scale ([partitions])")
    if args.isochrones_for or cfg.section("maps").get("isochrone_communes"):
        from geoattract.app.codes import resolve_codes
        from geoattract.territory import build_territory

        wanted = args.isochrones_for or cfg.section("maps")["isochrone_communes"]
        resolve_codes(list(wanted), build_territory(cfg).study)

    from geoattract.app.pipeline import run_study

    result = run_study(
        cfg,
        data_dir=args.data_dir,
        out_dir=args.out,
        progress=_progress(args),
        isochrone_communes=args.isochrones_for,
        network=args.network,
        isochrones=not args.no_isochrones,
        maps=not args.no_maps,
        engine=args.engine,
        scheduler=args.scheduler,
        workers=args.workers,
        departement_maps=args.departement_maps,
    )
    if not args.quiet:
        from geoattract.outputs.console import run_summary

        print(run_summary(result))
    return 0


def _subparser_class(parent: argparse.ArgumentParser) -> type[argparse.ArgumentParser]:
    """Sub-command parsers that also accept -v/-q (after the sub-command)."""

    class SubParser(argparse.ArgumentParser):
        def __init__(self, **kwargs: object) -> None:
            kwargs.setdefault("parents", [parent])
            super().__init__(**kwargs)  # type: ignore[arg-type]

    return SubParser


def _progress(args: argparse.Namespace) -> bool:
    """Progress bars: on a terminal unless -q (always with -v)."""
    return bool(args.verbose or (not args.quiet and sys.stderr.isatty()))


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
    configure_console(args.verbose, args.quiet)
    try:
        return int(args.func(args) or 0)
    except (GeoattractError, OSError) as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"geoattract {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print(
            f"geoattract {args.command}: interrupted; previous outputs left intact", file=sys.stderr
        )
        return 130


def _one_line(exc: BaseException) -> str:
    """The error on one line; an OS error names its file."""
    if isinstance(exc, OSError) and not isinstance(exc, GeoattractError):
        where = exc.filename or ""
        text = f"{where}: {exc.strerror}" if where and exc.strerror else str(exc)
    else:
        text = str(exc)
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
