"""``cosmobench`` command line: a thin dispatcher over the layers' own commands.

Each layer registers its sub-commands (``data`` in :mod:`cosmobench.data.commands`; ``evaluate``,
``list``, ``leaderboard``, ``report`` in :mod:`cosmobench.commands`). User mistakes surface as
``error: <what to do>`` on stderr and exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from cosmobench._version import __version__
from cosmobench.errors import CosmobenchError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every layer's sub-commands."""
    from cosmobench import commands
    from cosmobench.data import commands as data_commands

    parser = argparse.ArgumentParser(
        prog="cosmobench",
        description="Score generative models of the cosmic matter field against reference N-body fields.",
    )
    parser.add_argument("--version", action="version", version=f"cosmobench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.register(sub)
    data_commands.register(sub)
    return parser


def main(argv: "list[str] | None" = None) -> int:
    """Run the CLI; returns the process exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except CosmobenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing half-written was kept; run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
