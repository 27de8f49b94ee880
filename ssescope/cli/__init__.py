"""The ``ssescope`` command line.

The package's shape:

* :mod:`ssescope.cli.common`: exit codes, :class:`~ssescope.cli.common.UsageError`, the parser
  class with its one-line errors, the option groups and the argparse types every command shares.
  It imports the core only, and every shell imports it.
* :mod:`ssescope.cli.check`: ``check`` and ``rules``, where the core's judgement and the health
  layer's rider meet.
* The shells register themselves: ``ssescope.engine.command``, ``ssescope.health.command``,
  ``ssescope.tui.command`` (``connect``, ``open``, ``demo``, and the interactive proxy) and
  ``ssescope.proxy.command``.
* :mod:`ssescope.cli.entry`: :func:`build_parser` and :func:`main`, the one module that imports
  every shell.

This ``__init__`` runs whenever a shell imports ``ssescope.cli.common``, so it imports no shell
itself: :func:`main` and :func:`build_parser` load :mod:`ssescope.cli.entry` when called (else
every shell would import every other one, through the package, in a cycle).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """``ssescope``: the console script and ``python -m ssescope``."""
    from .entry import main as run

    return run(argv)


def build_parser() -> argparse.ArgumentParser:
    """The ``ssescope`` parser with every command registered."""
    from .entry import build_parser as build

    return build()
