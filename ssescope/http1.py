"""What the engine's and the proxy's upstream HTTP/1.1 clients share: an asyncio protocol around
httptools' C parser, with a waiter the consumer awaits and TCP back-pressure.

The two clients differ in what they hand over (the engine: everything one socket read brought,
decompressed; the proxy: raw pieces with their arrival times), so each subclass keeps its own
``data_received`` and body handling; the connection plumbing lives here once.
"""

from __future__ import annotations

import asyncio


class ResponseProtocol(asyncio.Protocol):
    """One upstream connection; httptools calls the ``on_*`` methods inside ``data_received``."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.lost = False
        self.paused = False
        self._waiter: asyncio.Future[None] | None = None

    def start_response(self) -> None:
        """Fresh per-response state (a kept-alive connection carries several responses)."""
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received_any = False

    # -- asyncio ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self._wake()

    # -- httptools callbacks ---------------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # type: ignore[attr-defined]  # only inside callbacks

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

    def pause_reading(self) -> None:
        """Back-pressure: stop reading the socket while the consumer is behind."""
        if not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.paused and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()

    @property
    def usable(self) -> bool:
        return not self.lost and self.transport is not None and not self.transport.is_closing()
