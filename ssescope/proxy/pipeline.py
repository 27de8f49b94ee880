"""Where the body of one exchange goes besides the client: the parts, fed after each write.

Nothing here ever delays a write. Each piece is queued right after it was written to the client
and handed to the parts by a callback the loop runs next, after the forwarding steps that were
already due, so streams that deliver at the same instant (Codex's parallel requests) are
forwarded together rather than one behind the judgement of another. When pieces arrive faster
than the parts take them (a burst of thousands of events) the callback works in slices of about
a millisecond and yields to the loop in between; the parts catch up as soon as the burst ends.
Past ``BACKLOG_LIMIT`` unprocessed bytes the forwarder processes them inline, which bounds
memory and slows the stream down to the parts' pace.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque

from ..http1 import Decoder, Piece, UnsupportedEncoding, decoder_for
from .events import End, Part, RequestHead, ResponseHead
from .hub import Exchange

log = logging.getLogger("ssescope.proxy")

SLICE_BYTES = 16 << 10
"""Larger reads reach a ``"sliced"`` part in pieces of this size (a slice of work stays short)."""
WORK_SLICE = 0.001
"""Seconds of part work between two chances for the forwarder to run, while catching up."""
BACKLOG_LIMIT = 8 << 20
"""Bytes forwarded but not yet processed before the forwarder waits for the parts."""


class Pipeline:
    """The parts of one exchange and the queue that feeds them."""

    __slots__ = (
        "decoder",
        "exchange",
        "idle",
        "parts",
        "pending",
        "pending_size",
        "scheduled",
        "sliced",
        "slices",
        "t0",
        "whole",
    )

    def __init__(self, exchange: Exchange, parts: list[Part]) -> None:
        self.exchange = exchange
        self.parts = parts
        self.t0 = exchange.t0
        self.whole: list[Part] = []
        self.sliced: list[Part] = []
        self.decoder: Decoder | None = None
        self.pending: deque[Piece] = deque()
        """Forwarded, not yet processed (arrival times absolute)."""
        self.pending_size = 0
        self.slices: deque[tuple[float, bytes]] = deque()
        """Processed by the whole-piece parts, not yet by the sliced ones (times relative)."""
        self.scheduled = False
        self.idle: asyncio.Future[None] | None = None

    # -- events --------------------------------------------------------------------------------

    def request(self, request: RequestHead) -> None:
        for part in list(self.parts):
            try:
                part.on_request(request)
            except Exception as exc:
                self._drop(part, exc)

    def response(self, response: ResponseHead) -> None:
        """The response head: the parts say whether they stay; the body of a Responses
        stream reaches them decoded (the client still gets it as it came)."""
        for part in list(self.parts):
            try:
                stays = part.on_response(response)
            except Exception as exc:
                self._drop(part, exc)
                continue
            if not stays:
                self.parts.remove(part)
                part.close()
        self.whole = [p for p in self.parts if p.chunks == "whole"]
        self.sliced = [p for p in self.parts if p.chunks == "sliced"]
        if response.responses_stream and response.ok and (self.whole or self.sliced):
            self.decoder = self._decoder(response.headers.get("content-encoding", ""))

    def _decoder(self, encoding: str) -> Decoder | None:
        notes = self.exchange.notes
        try:
            decoder = decoder_for(encoding)
        except UnsupportedEncoding:
            notes.append(
                f"the body is {encoding.strip().lower()}-encoded: forwarded as is, judged undecoded"
            )
            return None
        if decoder is not None:
            notes.append(f"the body is {encoding.strip().lower()}-encoded: recorded decoded")
        return decoder

    def feed(self, pieces: list[Piece]) -> None:
        """Called right after the same bytes were written to the client."""
        if not (self.whole or self.sliced):
            return  # nobody takes the body
        self.pending.extend(pieces)
        for _, piece in pieces:
            self.pending_size += len(piece)
        if self.pending_size > BACKLOG_LIMIT:
            self._process(None)  # too far behind: catch up before forwarding more
        elif not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._work)

    def end(self, end: End) -> None:
        """The exchange is over: the parts hear it after everything queued was processed."""
        self._process(None)
        for part in list(self.parts):
            try:
                part.on_end(end)
            except Exception as exc:
                self._drop(part, exc)

    def close(self) -> None:
        for part in self.parts:
            part.close()

    async def settle(self) -> None:
        """Wait until everything forwarded so far has been processed."""
        if self.scheduled and (self.pending or self.slices):
            if self.idle is None:
                self.idle = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.idle)

    # -- the work --------------------------------------------------------------------------------

    def _whole(self, t: float, piece: bytes) -> None:
        t -= self.t0
        if self.decoder is not None:
            piece = self.decoder(piece)
        if not piece:
            return
        for part in self.whole:
            try:
                part.on_chunk(t, piece)
            except Exception as exc:
                self._drop(part, exc)
        if not self.sliced:
            return
        if len(piece) <= SLICE_BYTES:
            self.slices.append((t, piece))
        else:  # a huge read: in slices, so that a slice of work stays short
            for i in range(0, len(piece), SLICE_BYTES):
                self.slices.append((t, piece[i : i + SLICE_BYTES]))

    def _sliced(self, t: float, piece: bytes) -> None:
        for part in self.sliced:
            try:
                part.on_chunk(t, piece)
            except Exception as exc:
                self._drop(part, exc)

    def _process(self, budget: float | None) -> bool:
        """Process what is queued (for about ``budget`` seconds); True when nothing is left."""
        pending, slices = self.pending, self.slices
        deadline = None if budget is None else time.perf_counter() + budget
        while True:
            if pending:
                t, piece = pending.popleft()
                self.pending_size -= len(piece)
                self._whole(t, piece)
            elif slices:
                t, piece = slices.popleft()
                self._sliced(t, piece)
            else:
                break
            if deadline is not None and time.perf_counter() > deadline and (pending or slices):
                return False
        self.pending_size = 0
        idle, self.idle = self.idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)
        return True

    def _work(self) -> None:
        self.scheduled = False
        if not self._process(WORK_SLICE):
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._work)  # the forwarders go first

    def _drop(self, part: Part, exc: Exception) -> None:
        """A part raised: it takes no further part in this exchange; the others go on."""
        for parts in (self.parts, self.whole, self.sliced):
            if part in parts:
                parts.remove(part)
        if not self.sliced:
            self.slices.clear()
        try:
            part.failed(exc)
        except Exception:
            log.exception("a proxy part failed while reporting its failure")
        part.close()
