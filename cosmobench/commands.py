"""``cosmobench evaluate | list | leaderboard | report | calibrate``: the scoring commands.

Each handler takes the parsed arguments and returns an exit status; user mistakes raise
:class:`~cosmobench.errors.CosmobenchError`, which :mod:`cosmobench.cli` prints as ``error: ...``
(exit 2). Heavy modules (torch, the statistics, pandas, matplotlib) are imported inside the
handlers so that ``cosmobench --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

from cosmobench.errors import CosmobenchError

__all__ = ["register"]


def register(subparsers) -> None:
    """Add ``evaluate``, ``list``, ``leaderboard`` and ``report`` to an argparse sub-parser set.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``; every parser added sets ``func`` (args -> exit status).
    """
    e = subparsers.add_parser(
        "evaluate",
        help="score a model against reference N-body fields",
        description="Draw n maps from a model, compare their statistics with the reference source's test split, "
        "print a score card and write a result JSON (only when everything succeeded).",
    )
    e.add_argument("--model", required=True, metavar="SPEC",
                   help="checkpoint (.ckpt/.pt), sample file (.npy/.npz/.h5), registered name, or module:factory")
    e.add_argument("--n", type=int, default=2048, help="number of model maps (default 2048)")
    e.add_argument("--seed", type=int, default=0, help="seed of the draw, floor subsets and bootstrap (default 0)")
    e.add_argument("--source", default="sim", help="reference source (default 'sim', simulated on first use)")
    e.add_argument("--batch-size", type=int, default=256, help="maps per statistics batch (memory only; default 256)")
    e.add_argument("--option", "-o", action="append", default=[], metavar="KEY=VALUE",
                   help="keyword argument for the generator factory (repeatable; VALUE parsed as JSON when it can be)")
    e.add_argument("--out", default="results", metavar="DIR", help="directory of the result JSON (default ./results)")
    e.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    e.set_defaults(func=_cmd_evaluate)

    ls = subparsers.add_parser(
        "list", help="list registered generators and statistics",
        description="Generators registered through the 'cosmobench.generators' entry point, and the statistics.",
    )
    ls.set_defaults(func=_cmd_list)

    lb = subparsers.add_parser(
        "leaderboard", help="build leaderboard tables from result files",
        description="Read every result JSON under --results and write one Markdown and one CSV table per track, "
        "and the leaderboard web page (one self-contained index.html that opens from disk).",
    )
    lb.add_argument("--results", default="leaderboards/results", metavar="DIR",
                    help="directory of result JSON files (default leaderboards/results)")
    lb.add_argument("--out", default="leaderboards", metavar="DIR", help="output directory (default leaderboards)")
    lb.add_argument("--site", default=None, metavar="DIR",
                    help="directory of the web page index.html (default <out>/site)")
    lb.add_argument("--no-site", dest="write_site", action="store_false", help="write the tables only, no web page")
    lb.add_argument("--reports", action="append", default=None, metavar="DIR",
                    help="where HTML reports are found for the page's links (repeatable; default <out>/reports; "
                         "the results directory is always searched)")
    lb.add_argument("--screenshot", default=None, metavar="PNG",
                    help="also save a PNG of the page drawn by headless Chromium (e.g. docs/img/leaderboard.png)")
    lb.set_defaults(func=_cmd_leaderboard)

    rp = subparsers.add_parser(
        "report", help="make an HTML report of one result",
        description="Plots and a self-contained HTML page for one result JSON (and its .maps.npz).",
    )
    rp.add_argument("result", metavar="RESULT.json", help="a result file written by `cosmobench evaluate`")
    rp.add_argument("--out", default=None, metavar="DIR", help="output directory (default: next to the result)")
    rp.set_defaults(func=_cmd_report)

    cb = subparsers.add_parser(
        "calibrate", help="score held-out sets of real maps as models: the share of false flags per metric",
        description="Score sets of real maps the null never saw (and holdout-like sets) as if they were a model, "
        "and print per metric the share flagged at the 5% level and the median ratio to the null.",
    )
    cb.add_argument("--source", default="sim", help="reference source (default: sim)")
    cb.add_argument("--n", type=int, default=2048, help="model size the null is measured for (default 2048)")
    cb.add_argument("--sets", type=int, default=20, help="held-out sets scored (default 20)")
    cb.set_defaults(func=_cmd_calibrate)


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from cosmobench.calibration import calibrate, format_calibration

    print(format_calibration(calibrate(args.source, n=args.n, sets=args.sets, progress=True)))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from cosmobench._io import output_dir
    from cosmobench.evaluation import evaluate

    output_dir(args.out)  # a bad --out fails now, not after the evaluation
    result = evaluate(
        args.model, n=args.n, seed=args.seed, source=args.source, batch_size=args.batch_size, progress=args.progress,
        options=_parse_options(args.option),
    )
    print(result.scorecard())
    # Written last: an error anywhere above leaves no result file behind.
    path = result.save(args.out)
    print(f"\nwrote {path}")
    return 0


def _parse_options(items: list[str]) -> dict:
    """``["a=1", "b=sim-small"]`` -> ``{"a": 1, "b": "sim-small"}`` (JSON values when they parse, else strings)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise CosmobenchError(f"--option {item!r} is not KEY=VALUE with KEY a Python identifier")
        if key in out:
            raise CosmobenchError(f"--option {key} is given twice; pass each option once")
        try:
            # NaN / Infinity are not JSON: keep them as the strings they are, for check_options to refuse.
            out[key] = json.loads(value, parse_constant=_no_constant)
        except (ValueError, RecursionError):  # JSONDecodeError is a ValueError
            out[key] = value
    return out


def _no_constant(name: str):
    raise ValueError(name)


def _cmd_list(args: argparse.Namespace) -> int:
    from cosmobench import registry
    from cosmobench.stats import STATISTICS

    gens = registry.entries()
    clashes = registry.collisions()
    print("generators (entry-point group 'cosmobench.generators'):")
    if not gens:
        print("  (none installed; evaluate sample files or checkpoints, or install a package that registers one)")
    rows = [(name, e.target_str, e.distribution) for name, e in gens.items()]
    _print_table(rows, ("name", "module:factory", "distribution"))
    for name, claims in clashes.items():
        print(f"  warning: {name!r} is claimed by {', '.join(c.distribution for c in claims)}; it cannot be used by name")
    print("\nstatistics:")
    rows = [(name, str(cls.version), cls.distance, cls.description) for name, cls in STATISTICS.items()]
    _print_table(rows, ("name", "version", "distance", "description"))
    return 0


def _print_table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
    if not rows:
        return
    allrows = [header, *rows]
    widths = [max(len(r[i]) for r in allrows) for i in range(len(header) - 1)]
    for r in allrows:
        print("  " + "  ".join([*(c.ljust(w) for c, w in zip(r, widths)), r[-1]]).rstrip())


def _import(module: str, attr: str):
    """Import ``module.attr`` lazily; a missing module is a CosmobenchError, not a traceback."""
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        raise CosmobenchError(f"{module} is not available ({exc}); reinstall cosmobench with its dependencies") from None


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from cosmobench._io import output_dir

    build_leaderboards = _import("cosmobench.leaderboard", "build_leaderboards")
    if Path(args.results).exists() and not Path(args.results).is_dir():
        raise CosmobenchError(f"--results {args.results} is a file, not a directory; pass the directory holding result JSON files")
    if not Path(args.results).is_dir():
        raise CosmobenchError(f"no such results directory: {args.results}; pass --results DIR holding result JSON files")
    output_dir(args.out)
    written = build_leaderboards(args.results, args.out)
    if args.write_site:
        build_site = _import("cosmobench.site", "build_site")
        reports = args.reports if args.reports is not None else [Path(args.out) / "reports"]
        page = build_site(args.results, args.site or Path(args.out) / "site", reports)
        written = [*_as_paths(written), page]
        if args.screenshot:
            written.append(_import("cosmobench.site", "screenshot")(page, args.screenshot))
    for p in _as_paths(written):
        print(f"wrote {p}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    make_report = _import("cosmobench.report", "make_report")
    result = Path(args.result)
    if not result.is_file():
        raise CosmobenchError(f"no such result file: {result}")
    from cosmobench._io import output_dir

    out = output_dir(Path(args.out) if args.out else result.parent)
    path = make_report(result, out)
    if path is not None:
        print(f"wrote {path}")
    return 0


def _as_paths(obj) -> list:
    """Whatever a builder returned (a path, a list or dict of paths, None) as a flat list for printing."""
    if obj is None:
        return []
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        return [p for o in obj for p in _as_paths(o)]
    return [obj]


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run `cosmobench` (or `python -m cosmobench`) instead")
