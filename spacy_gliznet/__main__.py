"""``python -m spacy_gliznet COMMAND ...``: the commands of ``spacy_gliznet/cli/``.

Each command is one module there that registers itself the same way (see
``spacy_gliznet/cli/_common.py``): ``add_parser(subparsers)`` adds its options and
``set_defaults(run=run)``. A new command is a new module and one entry in ``COMMANDS``.
"""

import argparse
import sys
from typing import List, Optional

from .cli import (adapt, benchmark, calibrate, convert, export, find_thresholds, init_config,
                  init_model, interpolate, label_report, render)
from .cli._common import USER_ERRORS, error_line

PROG = "python -m spacy_gliznet"
#: the command modules, in the order ``--help`` lists them
COMMANDS = (benchmark, calibrate, convert, init_model, export, interpolate, find_thresholds,
            adapt, init_config, label_report, render)


def build_parser() -> argparse.ArgumentParser:
    """The command line parser of ``python -m spacy_gliznet``: one sub-parser per command."""
    parser = argparse.ArgumentParser(prog=PROG)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``) and run the command; returns 0.

    A mistake in the options stops in argparse (``SystemExit``, code 2); a mistake in
    what they name (a missing file, labels the data lacks, ...) raises the package's
    typed error, for a caller to catch. :func:`cli` turns both into one line."""
    args = build_parser().parse_args(argv)
    args.run(args)
    return 0


def cli(argv: Optional[List[str]] = None) -> int:
    """The process entry of ``python -m spacy_gliznet``: :func:`main`, with a user's
    mistake (``cli._common.USER_ERRORS``) reported as one ``error:`` line on stderr and
    exit code 2, as argparse reports a bad option. Anything else is a bug and keeps its
    traceback."""
    try:
        return main(argv)
    except USER_ERRORS as err:
        print(f"error: {error_line(err)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(cli())
