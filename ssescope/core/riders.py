"""Riders: what goes along with the judgement of a stream, without the core knowing it.

The core judges streams. Other layers want to see the same read: the health layer replays the
server and GPU samples a capture recorded, polls probes while a URL is read, records their samples
into the capture and diagnoses stalls. Instead of the core importing them (a cycle between the
layers, and a core that is no longer pure), the caller hands :func:`ssescope.core.check.check_source`
or :func:`~ssescope.core.check.check_url` a rider. The core calls it at the few points that matter
and merges what it returns into each stream's result. ``ssescope check`` wires the health layer's
rider in (``ssescope.cli.check``); the core names none.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable

    from .capture import CaptureWriter
    from .checker import Checker
    from .session import StreamSession


class Rider(Protocol):
    """Rides along the judgement of one source (every stream in it, in order)."""

    def on_record(self, record: dict[str, Any], checker: Checker) -> None:
        """A capture's extra record (not request, response, chunk or end), in file order;
        ``checker`` judges the stream being read."""

    def result(self, checker: Checker) -> dict[str, Any]:
        """The keys this rider adds to the result of the stream ``checker`` judged."""


class LiveRider(Rider, Protocol):
    """Rides along a live read of a URL as well."""

    def capture_writer(self, path: str, **request: Any) -> CaptureWriter:
        """The writer for ``--record`` (``request``: CaptureWriter's keywords), which may record
        what the rider sees next to the stream."""

    def riding(
        self, session: StreamSession, clock: Callable[[], float]
    ) -> AbstractAsyncContextManager[None]:
        """Entered for the length of the read; ``clock`` gives seconds on the stream's clock."""
