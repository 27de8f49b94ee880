"""One upstream connection: an asyncio protocol around httptools' C parser.

Every socket read becomes one ``(arrival time, body bytes)`` piece, handed to the consumer the
moment it is parsed; above ``PAUSE_ABOVE`` unconsumed bytes the socket stops being read (TCP
back-pressure upstream while the consumer is slow).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import cast

import httptools

from .errors import ProtocolError, UpstreamError

PAUSE_ABOVE = 1 << 20
"""Stop reading the socket when this much body waits unconsumed."""

Piece = tuple[float, bytes]
"""Body bytes of one socket read, with their arrival time (the client's clock)."""

Key = tuple[str, str, int]
"""``(scheme, host, port)``: which idle connections a request may reuse."""


class Connection(asyncio.Protocol):
    """One connection; httptools calls the ``on_*`` methods inside ``data_received``."""

    def __init__(self, key: Key, clock: Callable[[], float] = time.monotonic) -> None:
        self.key = key
        self.clock = clock
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.paused = False
        self._waiter: asyncio.Future[None] | None = None
        self.reset()

    def reset(self) -> None:
        """Fresh per-response state (a kept-alive connection carries several responses)."""
        self.parser = httptools.HttpResponseParser(self)
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False
        self.reason = b""
        self.pieces: list[Piece] = []
        self.pending = 0
        self._body: list[bytes] = []
        self.error: UpstreamError | None = None
        self.head_only = False
        self.interim: list[tuple[int, bytes, list[tuple[bytes, bytes]]]] = []
        """Interim answers before the response (``100 Continue``, ``103 Early Hints``): status,
        reason and headers each, kept apart so that the response head is the final one's."""
        self._in_interim = False

    # -- asyncio ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake()

    def data_received(self, data: bytes) -> None:
        t = self.clock()
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = ProtocolError("the upstream switched protocols (upgrade), not supported")
        except httptools.HttpParserError as exc:
            self.error = ProtocolError(f"the upstream sent invalid HTTP: {exc}")
        body = self._body
        if body:
            piece = body[0] if len(body) == 1 else b"".join(body)
            body.clear()
            self.pieces.append((t, piece))
            self.pending += len(piece)
            if self.pending > PAUSE_ABOVE:
                self.pause_reading()
        if self.error is not None and self.transport is not None:
            self.transport.close()
        self._wake()

    # -- httptools callbacks ---------------------------------------------------------------------

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if 100 <= status < 200 and status != 101:  # 101: an upgrade, refused by the parser
            self.interim.append((status, self.reason, self.headers))
            self.reason, self.headers = b"", []
            self._in_interim = True  # its end is not the response's end
            return
        self.headers_done = True
        if self.head_only:
            self.complete = True

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._in_interim:
            self._in_interim = False
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # only valid inside callbacks

    # -- consumer side ---------------------------------------------------------------------------

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until the parser has news (body, end, error) or the connection is lost."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def take(self) -> list[Piece]:
        pieces = self.pieces
        self.pieces = []
        self.pending = 0
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return pieces

    def pause_reading(self) -> None:
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self._wake()

    @property
    def usable(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()

    @property
    def reusable(self) -> bool:
        """The response ended cleanly and the connection may carry the next request."""
        return (
            self.complete and not self.pieces and self.keep_alive and self.usable
        ) and not self.head_only
