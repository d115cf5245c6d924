"""``cosmobench data build | info | import``: manage reference sources from the command line."""

from __future__ import annotations

import argparse
import sys

from cosmobench.data.loaders import KINDS
from cosmobench.data.store import DEFAULT_BOXES
from cosmobench.errors import CosmobenchError

__all__ = ["register"]


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``data`` command and its sub-commands to an argparse sub-parser set.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The ``data`` parser; every leaf sets ``func`` (args → exit status).
    """
    data = subparsers.add_parser(
        "data",
        help="build, import and list reference sources",
        description="Reference sources: simulate them (build), bring your own files (import), list them (info).",
    )
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])
    sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")

    b = sub.add_parser(
        "build",
        help="simulate a reference source (resumable)",
        description="Simulate reference boxes with the built-in particle-mesh code, one dask.distributed task per "
        "box: on a local cluster of --workers processes, or on a running cluster given by --scheduler (its workers "
        "must see this data home at the same path: a shared filesystem). Interrupting, or a worker dying, loses at "
        "most the boxes in progress; run the same command again to resume.",
    )
    b.add_argument("--source", default=None, help="source name (default: 'sim', or 'sim-small' with --config small)")
    b.add_argument("--config", default=None, help="simulator config: default | small, or the earlier recipes "
                   "default-v1 | small-v1 (default: the source's own, else implied by --source)")
    b.add_argument("--boxes", type=int, default=DEFAULT_BOXES,
                   help=f"number of boxes the source should hold (default {DEFAULT_BOXES}: test 0,1 / val 2 / train 3)")
    b.add_argument("--seed", type=int, default=None, help="base seed (default: the source's, else the built-in one)")
    b.add_argument("--threads", type=int, default=None,
                   help="threads per box (default: $COSMOBENCH_THREADS, else the CPUs divided among the workers)")
    b.add_argument("--workers", type=int, default=1,
                   help="local dask worker processes, one box each at a time (default 1; 0 = no dask, in this process)")
    b.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="address of a running dask scheduler (tcp://host:8786) instead of a local cluster; "
                   "its workers must share this data home's filesystem path")
    b.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    b.set_defaults(func=_cmd_build)

    i = sub.add_parser("info", help="list the sources on disk", description="List reference sources under the data home.")
    i.add_argument("--verify", action="store_true", help="re-hash every file and check it against meta.json")
    i.set_defaults(func=_cmd_info)

    m = sub.add_parser(
        "import",
        help="import Quijote or CAMELS files as a source",
        description="Import Quijote 3-D cubes (df_m_256_CIC_z=0.npy), Quijote 2-D maps (df_z=0.npy) or CAMELS CMD "
        "maps (Maps_Mtot_*_LH_z=0.00.npy) as a reference source.",
    )
    m.add_argument("paths", nargs="+", metavar="PATH", help=".npy files of one kind")
    m.add_argument("--name", default=None, help="source name (default: <kind>-<short content hash>)")
    m.add_argument("--kind", choices=KINDS, default=None, help="default: from file names")
    m.add_argument("--box-size", type=float, default=None, help="box side in Mpc/h for quijote3d (default 1000)")
    m.set_defaults(func=_cmd_import)
    return data


def _cmd_build(args) -> int:
    from cosmobench.data.store import SIM_SOURCE_CONFIGS, build_simulated

    name = args.source
    if name is None:
        name = "sim-small" if args.config == "small" else "sim"
    config = args.config
    if config is None and name in SIM_SOURCE_CONFIGS:
        config = SIM_SOURCE_CONFIGS[name]
    if args.workers is None or args.workers < 0:
        raise CosmobenchError(f"--workers must be 0 (no dask) or a positive number, got {args.workers}")
    if args.threads is not None and args.threads < 1:
        raise CosmobenchError(f"--threads must be a positive number, got {args.threads}")
    workers = None if (args.scheduler or args.workers == 0) else args.workers
    src = build_simulated(name=name, config=config, boxes=args.boxes, seed=args.seed, progress=args.progress,
                          threads=args.threads, workers=workers, scheduler=args.scheduler)
    print(f"source {src.name!r}: {src.n_boxes} boxes, {src.n_maps()} maps, recipe {src.recipe_id[:12]}, "
          f"content hash {src.content_hash[:12]}, at {src.path}")
    return 0


def _fmt_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"  # pragma: no cover


def _cmd_info(args) -> int:
    from cosmobench.data.store import SPLITS, list_sources, sources_dir

    sources = list_sources()
    if not sources:
        print(f"no sources under {sources_dir()}; run `cosmobench data build` (or `cosmobench data import PATH...`)")
        return 0
    header = ["name", "kind", "track", "boxes (train/val/test)", "maps", "recipe", "content hash", "sigma0", "size"]
    rows = []
    for s in sources:
        if getattr(args, "verify", False):
            s.verify()
        sig = "-" if s.sigma0 is None else f"{s.sigma0:.5f}"
        boxes = "/".join(str(len(s.boxes(sp))) for sp in SPLITS)
        rows.append([s.name, s.kind, s.track.name, boxes, str(s.n_maps()), s.recipe_id[:12], s.content_hash[:12], sig,
                     _fmt_size(s.size_on_disk())])
    widths = [max(len(r[c]) for r in [header, *rows]) for c in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    print(f"(data home: {sources_dir().parent})")
    return 0


def _cmd_import(args) -> int:
    from cosmobench.data.loaders import import_files

    src = import_files(args.paths, name=args.name, kind=args.kind, box_size=args.box_size)
    print(f"imported {src.kind} source {src.name!r}: {src.n_boxes} boxes, {src.n_maps()} maps, "
          f"track {src.track.name!r}, content hash {src.content_hash[:12]}")
    return 0


def main(argv=None) -> int:  # pragma: no cover - the real entry point is cosmobench.cli
    parser = argparse.ArgumentParser(prog="cosmobench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CosmobenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
