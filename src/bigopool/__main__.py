"""The ``bigopool`` command (also ``python -m bigopool``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the ``bigopool`` command and its subcommands."""
    # Imported here so that importing this module stays as light as
    # ``import bigopool``.
    from ._demo import add_demo_parser

    parser = argparse.ArgumentParser(
        prog="bigopool",
        description="A small, fast worker pool with backpressure.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    commands.required = True
    add_demo_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (``sys.argv[1:]`` by default).

    Returns the exit status. Bad options exit with status 2 through
    argparse, after printing the usage and the problem on stderr.
    """
    args = build_parser().parse_args(argv)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
