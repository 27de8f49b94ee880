"""Streaming one response: upstream reads → translated event batches → client writes.

:class:`Streamer` runs a pump that translates each upstream read and writes it at once (one
write per read), and a watchdog that sends ``keepalive`` events while the upstream is silent
(comments would not reset Codex's idle timer), fails the response when the upstream stays
silent too long, and ends it if the usage chunk never follows ``finish_reason``. Every
translator call and every write happens under one lock, so sequence numbers go out in order
whoever writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any, Protocol

from ..asgi import Send
from ..core.ends import EndReason
from ..core.sse import SSEFramer
from ..http1 import UpstreamError
from .faults import STALL, ResponsesFaults
from .translate import ChatToResponses, Event
from .upstream import ChatResponse
from .wire import DONE_FRAME, encode_event

log = logging.getLogger("ssescope.engine")

MAX_BODY = 64 << 20
"""The largest body the engine reads whole (a request, a JSON completion)."""


class StreamConfig(Protocol):
    """What a stream needs of :class:`~ssescope.engine.app.EngineConfig`."""

    heartbeat: float
    upstream_idle_timeout: float
    finish_grace: float
    done_marker: bool


async def translate_upstream(
    upstream: ChatResponse, translator: ChatToResponses
) -> AsyncIterator[list[Event]]:
    """Upstream bytes → translated event batches, one batch per upstream read."""
    ctype = upstream.headers.get("content-type", "")
    if "json" in ctype and "event-stream" not in ctype:
        raw = await upstream.read(MAX_BODY)
        yield translator.start() + _completion_events(translator, raw)
        return
    framer = SSEFramer()
    feed = translator.feed_data
    yield translator.start()
    try:
        async for chunk in upstream.chunks():
            events: list[Event] = []
            failure: Exception | None = None
            try:
                for frame in framer.feed(chunk, 0.0):
                    if frame.data is not None:
                        events += feed(frame.data)
            except Exception as exc:
                failure = exc  # send what was translated before it, then fail
            yield events
            if failure is not None:
                raise failure
            if translator.done:
                upstream.end(EndReason.EOF)  # the chat stream said all it had to say
                return
        events = []
        for frame in framer.finish(0.0):
            if frame.data is not None:
                events += feed(frame.data)
        yield events + translator.finish("eof")
    except UpstreamError as exc:
        yield translator.fail("upstream_disconnected", f"the upstream connection broke: {exc}")


class Streamer:
    """One streamed response: the pump translates upstream reads, the watchdog sends
    ``keepalive`` events while the upstream is silent, fails the response when it stays silent
    too long, and ends it if the usage chunk never follows ``finish_reason``. Every translator
    call and every write happens under one lock, so sequence numbers go out in order."""

    def __init__(
        self,
        config: StreamConfig,
        stopping: asyncio.Event,
        upstream: ChatResponse,
        translator: ChatToResponses,
        rfaults: ResponsesFaults,
        send: Send,
    ) -> None:
        self.config = config
        self.stopping = stopping
        self.upstream = upstream
        self.translator = translator
        self.rfaults = rfaults
        self.send = send
        self.loop = asyncio.get_running_loop()
        now = self.loop.time()
        self.last_upstream = now
        self.last_sent = now
        self.finished_at: float | None = None
        self.stalled = False
        self.lock = asyncio.Lock()
        self.pump_task: asyncio.Task[None] | None = None

    async def write(self, events: list[Event]) -> None:
        """Send a batch (called with the lock held)."""
        rfaults = self.rfaults
        items: list[Any] = rfaults.apply(events) if rfaults else events
        if items and items[-1] is STALL:
            items.pop()
            self.stalled = True
        if items:
            event_line = rfaults.event_line
            payload = b"".join(encode_event(e, event_line=event_line) for e in items)
            await self.send({"type": "http.response.body", "body": payload, "more_body": True})
            self.last_sent = self.loop.time()

    async def end_body(self, tail: bytes = b"") -> None:
        await self.send({"type": "http.response.body", "body": tail, "more_body": False})

    async def pump(self) -> None:
        translator = self.translator
        try:
            async for events in translate_upstream(self.upstream, translator):
                async with self.lock:
                    self.last_upstream = self.loop.time()
                    if translator.finished and self.finished_at is None:
                        self.finished_at = self.last_upstream
                    await self.write(events)
                if self.stalled or translator.done:
                    return
        except Exception as exc:  # a bug must not leave the client with a cut stream
            log.exception("translation failed")
            self.upstream.abandon()
            with contextlib.suppress(Exception):
                async with self.lock:
                    await self.write(translator.fail("engine_error", f"the engine failed: {exc!r}"))

    def _due(self, now: float, deadlines: list[float]) -> list[Event] | None:
        """The watchdog's verdict (with the lock held): events that end the response (None
        while it goes on), the next deadlines appended to ``deadlines``."""
        config, translator = self.config, self.translator
        if self.finished_at is not None:
            if now - self.finished_at >= config.finish_grace:
                self.upstream.abandon()
                return translator.finish("grace")
            deadlines.append(self.finished_at + config.finish_grace)
        elif config.upstream_idle_timeout > 0:
            if now - self.last_upstream >= config.upstream_idle_timeout:
                return translator.fail(
                    "upstream_timeout",
                    f"the upstream sent nothing for {config.upstream_idle_timeout:g} s",
                )
            deadlines.append(self.last_upstream + config.upstream_idle_timeout)
        return None

    async def watchdog(self) -> None:
        config = self.config
        while True:
            deadlines: list[float] = []
            async with self.lock:
                if self.translator.done or self.stalled:
                    return
                now = self.loop.time()
                ending = self._due(now, deadlines)
                if ending is not None:
                    await self.write(ending)
                    assert self.pump_task is not None
                    self.pump_task.cancel()
                    return
                if config.heartbeat > 0 and self.finished_at is None:
                    if now - self.last_sent >= config.heartbeat:
                        await self.write(self.translator.keepalive())
                    deadlines.append(self.last_sent + config.heartbeat)
            if not deadlines:
                return
            await asyncio.sleep(max(0.0, min(deadlines) - self.loop.time()) + 0.001)

    async def run(self, gone: asyncio.Event) -> str:
        await self.send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream; charset=utf-8"),
                    (b"cache-control", b"no-cache"),
                    (b"x-accel-buffering", b"no"),
                    (b"x-request-id", f"req_{uuid.uuid4().hex}".encode()),
                ],
            }
        )
        stopping = self.stopping
        pump_task = self.pump_task = asyncio.create_task(self.pump())
        dog = asyncio.create_task(self.watchdog())
        gone_task = asyncio.create_task(gone.wait())
        stop_task = asyncio.create_task(stopping.wait())
        try:
            await asyncio.wait(
                {pump_task, gone_task, stop_task}, return_when=asyncio.FIRST_COMPLETED
            )
            if gone.is_set():
                return "client went away (upstream request cancelled)"
            if stopping.is_set() and not pump_task.done():
                pump_task.cancel()
                async with self.lock:
                    await self.write(
                        self.translator.fail("server_shutting_down", "the engine is shutting down")
                    )
                    await self.end_body()
                return "engine stopping"
            with contextlib.suppress(asyncio.CancelledError):
                await pump_task
            dog.cancel()
            return await self._end(gone)
        finally:
            for task in (pump_task, dog, gone_task, stop_task):
                task.cancel()
            for task in (pump_task, dog):
                with contextlib.suppress(BaseException):
                    await task

    async def _end(self, gone: asyncio.Event) -> str:
        if self.stalled:
            self.upstream.close()  # the injected stall: the upstream is not needed any more
            await self._hold(gone)
            if not gone.is_set():
                await self.end_body()
            return "stalled (injected fault)"
        async with self.lock:
            await self.end_body(DONE_FRAME if self.config.done_marker else b"")
        return self.translator.status or "ended"

    async def _hold(self, gone: asyncio.Event) -> None:
        """The injected stall: keep the connection open, optionally with comment keep-alives,
        until the client leaves or the engine stops."""
        comments = self.rfaults.comments
        ended = asyncio.create_task(gone.wait())
        stop = asyncio.create_task(self.stopping.wait())
        try:
            while not (ended.done() or stop.done()):
                await asyncio.wait(
                    {ended, stop}, timeout=1.0 if comments else None,
                    return_when=asyncio.FIRST_COMPLETED,
                )  # fmt: skip
                if comments and not (ended.done() or stop.done()):
                    await self.send(
                        {
                            "type": "http.response.body",
                            "body": b": keepalive\n\n",
                            "more_body": True,
                        }
                    )
        finally:
            ended.cancel()
            stop.cancel()


def _completion_events(translator: ChatToResponses, raw: bytes) -> list[Event]:
    """A JSON completion from an upstream that ignored ``stream: true``: its message as one
    delta, then the end."""
    try:
        data = json.loads(raw)
    except ValueError:
        return translator.feed_data(raw.decode("utf-8", errors="replace"))
    if not isinstance(data, dict):
        return translator.feed_chunk(data)
    if "error" in data:
        return translator.feed_chunk(data)
    choices = []
    for choice in data.get("choices") or []:
        if isinstance(choice, dict):
            message = dict(choice.get("message") or {})
            calls = message.get("tool_calls")
            if isinstance(calls, list):
                message["tool_calls"] = [
                    {**c, "index": i} if isinstance(c, dict) else c for i, c in enumerate(calls)
                ]
            choices.append(
                {
                    "index": choice.get("index", 0),
                    "delta": message,
                    "finish_reason": choice.get("finish_reason") or "stop",
                }
            )
    events = translator.feed_chunk({"choices": choices, "usage": data.get("usage")})
    return events + translator.upstream_done()
