"""The command line of the action plan: ``optimise``, ``levers`` and ``plan``.

:func:`add_plan_commands` adds the three sub-commands to the parser of
:mod:`geoattract.app.cli`; their back ends are :mod:`geoattract.app.optimise` and
:mod:`geoattract.app.plan`. Bad input is a one-line error with exit code 2 before any routing
(the caller's error handling).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_plan_commands(
    sub: Any,
    add_common: Callable[[argparse.ArgumentParser], None],
    progress: Callable[[argparse.Namespace], bool],
) -> None:
    """Add ``optimise``, ``levers`` and ``plan`` to the sub-command parsers ``sub``.

    Parameters
    ----------
    sub : argparse sub-parsers action
    add_common : callable
        Adds ``--config`` and ``--data-dir`` to a parser.
    progress : callable
        Whether progress bars show, from the parsed arguments.
    """
    p = sub.add_parser(
        "optimise",
        help="where K new facilities of a category help most",
        description="Choose the sites of K new facilities of a catalogue category (counted in "
        "the category's unit) that maximise the population covered within MIN minutes "
        "(or a profile's target population), the population-weighted APL gain, or that "
        "minimise the population-weighted time; exact (HiGHS) at a study's size, greedy "
        "with its bound beyond.",
    )
    add_common(p)
    p.add_argument("--category", required=True, help="catalogue category, e.g. gp")
    p.add_argument("--add", required=True, type=int, metavar="K", help="units to add (>= 1)")
    p.add_argument(
        "--objective",
        default="coverage:10",
        metavar="coverage:MIN|apl[:TARGET]|time",
        help="what the sites maximise (default coverage:10)",
    )
    p.add_argument(
        "--profile", default=None, help="count the profile's target population (target_age_band)"
    )
    p.add_argument(
        "--candidates",
        default=None,
        metavar="communes|FILE",
        help="every study commune (default), a CSV with a code column or a file of points",
    )
    p.add_argument(
        "--method", default="auto", choices=("auto", "exact", "greedy"), help="default auto"
    )
    p.add_argument("--out", metavar="FILE.csv", help="one row per chosen site: code,nom,added,gain")

    def run_optimise(args: argparse.Namespace) -> int:
        from geoattract.app.optimise import optimise_command

        text, _ = optimise_command(
            args.category,
            args.add,
            objective=args.objective,
            profile=args.profile,
            candidates=args.candidates,
            out=args.out,
            method=args.method,
            config=args.config,
            data_dir=args.data_dir,
            verbose=progress(args),
        )
        if not args.quiet:
            print(text)
        return 0

    p.set_defaults(func=run_optimise)

    p = sub.add_parser(
        "levers",
        help="the smallest single action that lifts a commune by one quintile",
        description="Try each action of the study's lever catalogue (levers.toml: one GP, a "
        "France Services office, a crèche, fibre to 100 %, a rail stop…) at one commune and "
        "report the smallest that lifts its score for a profile into the next quintile.",
    )
    add_common(p)
    p.add_argument("code", metavar="CODE", help="INSEE code or exact name of a study commune")
    p.add_argument("--profile", required=True, help="profile whose score is lifted")
    p.add_argument("--catalogue", metavar="FILE", help="lever catalogue (default [configs] levers)")

    def run_levers(args: argparse.Namespace) -> int:
        from geoattract.app.plan import levers_command

        text, _ = levers_command(
            args.code,
            profile=args.profile,
            catalogue=args.catalogue,
            config=args.config,
            data_dir=args.data_dir,
            verbose=progress(args),
        )
        print(text)
        return 0

    p.set_defaults(func=run_levers)

    p = sub.add_parser(
        "plan",
        help="evaluate an action plan (plan.toml)",
        description="Evaluate each action of a plan alone and all of them together: indicator, "
        "score and rank changes per commune, EPCI and profile, population affected, cost per "
        "inhabitant who gains access; write the CSV tables and the chapter « Plan d'action ».",
    )
    add_common(p)
    p.add_argument("plan", metavar="PLAN.toml", help="the action plan")
    p.add_argument("--out", metavar="DIR", help="output folder (default: study.output_dir)")

    def run_plan(args: argparse.Namespace) -> int:
        from geoattract.app.plan import plan_command

        text, _ = plan_command(
            args.plan,
            out=args.out,
            config=args.config,
            data_dir=args.data_dir,
            verbose=progress(args),
        )
        if not args.quiet:
            print(text)
        return 0

    p.set_defaults(func=run_plan)
