"""Fake inference servers for the health tests: :class:`tests.support.server.FakeServer` with
per-path :class:`Route` answers (mutable while it runs; a route may ``hang``), every request
counted per path so tests wait on "N scrapes happened", never on time."""

from __future__ import annotations

from collections.abc import Mapping

from tests.support.net import free_port
from tests.support.server import FakeServer as _FakeServer
from tests.support.server import Handler, Route

__all__ = ["FakeServer", "Route", "free_port"]


class FakeServer(_FakeServer):
    """Answers by path from ``routes``; 404 for any other path."""

    def __init__(self, routes: Mapping[str, Handler] | None = None, port: int = 0) -> None:
        super().__init__(routes=routes, port=port)
