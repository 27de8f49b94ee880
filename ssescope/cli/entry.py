"""The top of the ``ssescope`` command line: the parser with every command, and ``main``.

This is the one module that imports every shell (the shells import ``ssescope.cli.common``,
never this module). The TUI opens the proxy, not the other way: :func:`build_parser` hands the
proxy command the TUI's runner (``ssescope.tui.command.open_proxy``), and the proxy command calls
it for the interactive mode; the proxy layer imports nothing of the TUI.

Exit status of ``check``: 0 no error-severity finding, 1 error findings, 2 the source could not be
read. Bad input gets one line on stderr, never a traceback (set SSESCOPE_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .. import __version__
from ..core.capture import SourceError
from ..core.redact import redact_text
from ..engine import command as engine_command
from ..health import command as health_command
from ..probe import command as probe_command
from ..proxy import command as proxy_command
from ..tui import command as tui_command
from . import check as check_command
from .common import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREADABLE, Parser, UsageError


def build_parser() -> argparse.ArgumentParser:
    """``ssescope`` and its subcommands, each registered by its shell."""
    parser = Parser(
        prog="ssescope", description="A terminal debugger for OpenAI Responses API SSE streams."
    )
    parser.add_argument("--version", action="version", version=f"ssescope {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    check_command.register(sub)
    engine_command.register(sub)
    health_command.register(sub)
    tui_command.register(sub)
    proxy_command.register(sub, open_ui=tui_command.open_proxy)
    probe_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit status (bad input: one line on stderr, status 2)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_OK
        return int(args.func(args))
    except (UsageError, SourceError) as exc:
        message = str(exc) if isinstance(exc, UsageError) else f"ssescope: {exc}"
        print(redact_text(message), file=sys.stderr)
        return EXIT_UNREADABLE
    except KeyboardInterrupt:
        print("ssescope: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # the promise: never a traceback for bad input
        if os.environ.get("SSESCOPE_DEBUG"):
            raise
        print(
            redact_text(f"ssescope: internal error: {type(exc).__name__}: {exc} ")
            + "(SSESCOPE_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_UNREADABLE
