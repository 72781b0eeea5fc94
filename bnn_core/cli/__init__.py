"""The command line: ``python -m bnn_core train --out DIR`` and ``python -m bnn_core show DIR``.

Every mistake a user can make ends in one line on stderr and exit code 2, with nothing written.

The parser (:mod:`.parser`) is pure Python, so ``--help`` and a usage error answer at once. Each command is a
module of this package (:mod:`.train`, :mod:`.compare`, :mod:`.sweep`, :mod:`.tune`, :mod:`.show`,
:mod:`.gallery`) with an
``execute(args)``; torch, pandas and the rest load only when that command runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from ..errors import BNNInputError
from ..text import cut
from .exit_codes import INTERRUPTED, USAGE_ERROR
from .parser import build_parser


def main(argv: Sequence[str] | None = None, prog: str = "python -m bnn_core") -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, 130 interrupted)."""
    args = build_parser(prog).parse_args(argv)
    try:
        command = importlib.import_module(f"{__name__}.{args.command}")  # the subcommand's name is its module's
        from ..engine.threads import one_thread_per_call  # here, not at the top: it imports torch

        one_thread_per_call()
        return command.execute(args)
    except BNNInputError as err:
        print(f"error: {cut(str(err))}", file=sys.stderr)  # it may quote a file's text: no control characters
        return USAGE_ERROR
    except KeyboardInterrupt:
        print("\ninterrupted: nothing was written.", file=sys.stderr)
        return INTERRUPTED


def run() -> None:
    """The ``bnn`` console command that ``pip install`` creates: the same as ``python -m bnn_core``."""
    sys.exit(main(prog="bnn"))
