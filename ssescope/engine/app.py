"""The engine's ASGI app (Starlette): ``POST /v1/responses`` backed by a Chat Completions server.

``/v1/responses`` is a raw ASGI endpoint rather than a ``StreamingResponse`` because the engine
needs exact control of three things a generator cannot give:

* **No buffering.** Every upstream read is framed, translated and written at once, one write per
  read; ``response.created`` goes out as soon as the upstream answers 200.
* **The upstream status decides the response status.** The upstream is opened *before* the
  response starts, so an upstream 4xx/5xx comes back with its own status and an OpenAI-style
  error body, not as a 200 stream.
* **A client that goes away cancels the upstream request at once** (while waiting for upstream
  headers, too), so nothing keeps generating for nobody and no connection leaks.

A watchdog task sends ``keepalive`` events while the upstream is silent (comments would not reset
Codex's idle timer), fails the response when the upstream stays silent too long, and ends the
response if the usage chunk never follows ``finish_reason``. Every translator call and every
write happens under one lock, so sequence numbers go out in order whoever writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import ssl
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from .. import __version__
from ..core.sse import SSEFramer
from .faults import (
    CHAT_FAULTS,
    STALL,
    ResponsesFaults,
    UnknownFault,
    parse_faults,
    split_model,
)
from .mock import FAULT_HEADER, MockOptions, create_mock_app
from .request import RequestError, output_messages, to_chat
from .translate import ChatToResponses, Event
from .upstream import UpstreamClient, UpstreamError, UpstreamResponse, UpstreamTimeout
from .wire import DONE_FRAME, encode_event

log = logging.getLogger("ssescope.engine")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 64 << 20
HISTORY_SIZE = 128
"""Stored conversations kept for ``previous_response_id`` (in memory, newest kept)."""
ERROR_BODY_LIMIT = 64 << 10


@dataclass
class EngineConfig:
    upstream: str | None = None
    """The chat server: a base URL (``http://host:8000/v1``) or the full ``…/chat/completions``."""
    api_key: str | None = None
    """Sent upstream as ``Authorization: Bearer …``."""
    upstream_headers: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    """Send this model upstream whatever the client asks (the client's name is still echoed)."""
    done_marker: bool = False
    """End with ``data: [DONE]`` as Open Responses requires (OpenAI does not send it)."""
    reasoning: str = "text"
    """Stream upstream reasoning as ``reasoning_text`` (``text``) or as a summary (``summary``)."""
    refusal: str = "part"
    """Upstream refusals as a ``refusal`` part (``part``) or as text (``text``; Codex shows it)."""
    max_tokens_field: str = "max_tokens"
    heartbeat: float = 15.0
    """Seconds of upstream silence before a ``keepalive`` event (0: never)."""
    upstream_idle_timeout: float = 600.0
    """Seconds of upstream silence before the response fails (0: never)."""
    finish_grace: float = 2.0
    """Seconds to wait for the usage chunk or ``[DONE]`` after ``finish_reason``."""
    connect_timeout: float = 10.0
    ca_file: str | None = None
    """Trust this CA bundle for an https upstream (a self-signed internal server)."""
    faults: tuple[str, ...] = ()
    tap: Callable[[str, bytes | None], None] | None = None
    """Sees every upstream chat chunk as it arrives (None: the upstream response ended), keyed
    by the client's ``X-Ssescope-Session`` header: how ``connect --via-engine`` shows the raw
    upstream stream next to the translated one. (``proxy --translate`` calls the engine's ASGI
    endpoint in-process and wraps its client instead, because it also records the chat request,
    status and end; a client over HTTP, like the TUI's, can only be told apart by a header.)"""
    mock: MockOptions | None = None
    """Serve the mock backend under ``/mock/v1`` and use it as the upstream."""

    @property
    def chat_url(self) -> str:
        base = (self.upstream or "").rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    @property
    def models_url(self) -> str:
        base = (self.upstream or "").rstrip("/")
        return f"{base.removesuffix('/chat/completions')}/models"


SESSION_HEADER = "x-ssescope-session"
_TAP_KEY: contextvars.ContextVar[str] = contextvars.ContextVar("ssescope_tap_key", default="")


def error_body(
    message: str, etype: str = "invalid_request_error", code: Any = None, param: Any = None
) -> dict[str, Any]:
    """OpenAI's error envelope."""
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def upstream_error_body(status: int, raw: bytes) -> dict[str, Any]:
    """An upstream error answer as OpenAI's envelope, keeping the upstream's message and code."""
    text = raw.decode("utf-8", errors="replace").strip()
    with contextlib.suppress(ValueError):
        data = json.loads(text)
        err = data.get("error") if isinstance(data, dict) else None
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            code = err.get("code")
            return error_body(
                err["message"],
                str(err.get("type") or "upstream_error"),
                str(code) if code is not None and not isinstance(code, str) else code,
                err.get("param") if isinstance(err.get("param"), str) else None,
            )
        if isinstance(err, str):
            return error_body(err, "upstream_error")
        if isinstance(data, dict) and isinstance(data.get("message"), str):
            return error_body(data["message"], "upstream_error")
    shown = text if len(text) <= 500 else text[:500] + "…"
    return error_body(
        f"the upstream answered HTTP {status}" + (f": {shown}" if shown else " with an empty body"),
        "upstream_error",
    )


class _ClientGone(Exception):
    pass


class _Stream:
    """State of one streamed response."""

    __slots__ = ("finished_at", "last_sent", "last_upstream", "stalled")

    def __init__(self, now: float) -> None:
        self.last_upstream = now
        self.last_sent = now
        self.finished_at: float | None = None
        self.stalled = False


class Engine:
    """Owns the upstream HTTP client and serves the endpoints."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.client: UpstreamClient | None = None
        self.stopping = asyncio.Event()
        self.started = asyncio.Event()
        self.active = 0
        """Responses being streamed right now (tests wait on it to prove nothing leaks)."""
        self.served = 0
        self._logged: set[str] = set()
        self.history: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        """Chat conversations of stored responses, by response id (``previous_response_id``)."""

    def remember(self, response_id: str, messages: list[dict[str, Any]]) -> None:
        self.history[response_id] = messages
        while len(self.history) > HISTORY_SIZE:
            self.history.popitem(last=False)

    def warn_once(self, message: str) -> None:
        """Codex repeats the same request shape every turn: say each thing once, then only at
        debug level."""
        if message in self._logged:
            log.debug("%s", message)
            return
        if len(self._logged) < 1000:
            self._logged.add(message)
        log.warning("%s", message)

    # -- lifecycle -----------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        context = None
        if self.config.ca_file:
            context = ssl.create_default_context(cafile=self.config.ca_file)
        self.client = UpstreamClient(
            connect_timeout=self.config.connect_timeout, ssl_context=context
        )
        self.started.set()
        try:
            yield
        finally:
            self.stopping.set()
            await self.client.aclose()

    def _headers(self) -> dict[str, str]:
        headers = dict(self.config.upstream_headers)
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        return headers

    # -- small endpoints -------------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "engine": "ssescope",
                "version": __version__,
                "upstream": self.config.chat_url if self.config.upstream else None,
                "mock": self.config.mock is not None,
                "active_streams": self.active,
            }
        )

    async def models(self, request: Request) -> Response:
        """Passed through to the upstream's ``GET /models``."""
        assert self.client is not None
        try:
            upstream = await self.client.request(
                "GET", self.config.models_url, headers=self._headers()
            )
            try:
                content = await upstream.read(MAX_BODY)
            finally:
                await upstream.aclose()
        except UpstreamError as exc:
            return JSONResponse(
                error_body(f"cannot reach the upstream: {exc}", "upstream_error"), 502
            )
        return Response(
            content,
            status_code=upstream.status,
            media_type=upstream.headers.get("content-type", "application/json"),
        )

    # -- POST /v1/responses ----------------------------------------------------------------------

    async def responses(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = time.monotonic()
        try:
            raw = await _read_body(receive)
        except _ClientGone:
            return
        except ValueError as exc:
            await _send_json(send, 413, error_body(str(exc)))
            return
        try:
            request = json.loads(raw)
        except ValueError:
            await _send_json(send, 400, error_body("the request body is not valid JSON"))
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        _TAP_KEY.set(headers.get(SESSION_HEADER, ""))
        try:
            faults = parse_faults([*self.config.faults, headers.get(FAULT_HEADER, "")])
            if (
                self.config.mock is not None
                and isinstance(request, dict)
                and isinstance(request.get("model"), str)
            ):
                plain, from_model = split_model(request["model"])
                faults = parse_faults([*faults, *from_model])
                request = {**request, "model": plain}
            history = None
            previous = request.get("previous_response_id") if isinstance(request, dict) else None
            if previous is not None:
                if not isinstance(previous, str) or previous not in self.history:
                    raise RequestError(
                        f"previous_response_id {previous!r} is not known to this engine: it keeps "
                        f"the last {HISTORY_SIZE} stored responses in memory (none across "
                        "restarts, none with store: false); send the whole conversation instead",
                        "previous_response_id",
                    )
                history = self.history[previous]
                self.history.move_to_end(previous)
            chat = to_chat(
                request,
                model=self.config.model,
                max_tokens_field=self.config.max_tokens_field,
                history=history,
            )
        except (UnknownFault, RequestError) as exc:
            await _send_json(send, 400, error_body(str(exc), param=getattr(exc, "param", None)))
            return
        chat_faults = [f for f in faults if f in CHAT_FAULTS]
        upstream_headers = self._headers()
        if chat_faults:
            if self.config.mock is None:
                await _send_json(
                    send,
                    400,
                    error_body(f"chat-side faults need --mock: {', '.join(chat_faults)}"),
                )
                return
            upstream_headers[FAULT_HEADER] = ",".join(chat_faults)
        for warning in chat.warnings:
            self.warn_once(f"request: {warning}")

        translator = ChatToResponses(
            chat.echo,
            model=str(chat.echo.get("model") or ""),
            reasoning=self.config.reasoning,
            refusal=self.config.refusal,
            on_warning=lambda w: log.warning("translation: %s", w),
        )
        rfaults = ResponsesFaults(faults)
        self.active += 1
        self.served += 1
        outcome = "?"
        try:
            outcome = await self._serve(
                chat.body, chat.stream, upstream_headers, translator, rfaults, receive, send
            )
            if chat.store and translator.status in ("completed", "incomplete"):
                output = translator.snapshot()["output"]
                self.remember(translator.response_id, chat.conversation + output_messages(output))
        finally:
            self.active -= 1
            log.info(
                "POST /v1/responses model=%s → %s in %.2fs (%d chunks, %d events)%s",
                chat.body.get("model"),
                outcome,
                time.monotonic() - t0,
                translator.chunks,
                translator.sequence_number,
                f" faults={','.join(faults)}" if faults else "",
            )

    async def _serve(
        self,
        body: dict[str, Any],
        stream: bool,
        upstream_headers: dict[str, str],
        translator: ChatToResponses,
        rfaults: ResponsesFaults,
        receive: Receive,
        send: Send,
    ) -> str:
        assert self.client is not None
        gone = asyncio.Event()
        watcher = asyncio.create_task(_watch_disconnect(receive, gone))
        waiter = asyncio.create_task(gone.wait())
        opening: asyncio.Task[UpstreamResponse] | None = None
        try:
            opening = asyncio.create_task(
                self.client.request(
                    "POST",
                    self.config.chat_url,
                    body=json.dumps(body, ensure_ascii=False).encode(),
                    headers=upstream_headers,
                )
            )
            await asyncio.wait({opening, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if not opening.done():
                return "client went away before the upstream answered"
            try:
                upstream = opening.result()
            except UpstreamTimeout as exc:
                await _send_json(send, 504, error_body(str(exc), "upstream_error"))
                return "upstream timeout (504)"
            except UpstreamError as exc:
                await _send_json(
                    send,
                    502,
                    error_body(f"upstream {self.config.chat_url}: {exc}", "upstream_error"),
                )
                return "upstream unreachable (502)"
            try:
                if not 200 <= upstream.status < 300:
                    raw = await upstream.read(ERROR_BODY_LIMIT)
                    await _send_json(
                        send, upstream.status, upstream_error_body(upstream.status, raw)
                    )
                    return f"upstream HTTP {upstream.status}"
                if stream:
                    return await self._stream(upstream, translator, rfaults, send, gone)
                collect = asyncio.create_task(self._collect(upstream, translator, send))
                await asyncio.wait({collect, waiter}, return_when=asyncio.FIRST_COMPLETED)
                if not collect.done():
                    collect.cancel()
                    with contextlib.suppress(BaseException):
                        await collect
                    return "client went away (upstream request cancelled)"
                return collect.result()
            finally:
                if translator.status in ("completed", "incomplete") and not gone.is_set():
                    await upstream.drain()  # the client has everything: keep the connection
                await upstream.aclose()
        finally:
            # Whatever ended this (the client, a shutdown), nothing is left running upstream.
            watcher.cancel()
            waiter.cancel()
            if opening is not None and not opening.done():
                opening.cancel()  # closes the half-open upstream request
                with contextlib.suppress(BaseException):
                    await opening

    async def _collect(
        self, upstream: UpstreamResponse, translator: ChatToResponses, send: Send
    ) -> str:
        """``stream: false``: translate the whole stream, answer with the final Response."""
        async for _ in self._translate(upstream, translator):
            pass
        response = translator.snapshot()
        if translator.status == "failed":
            error = response.get("error") or {}
            await _send_json(
                send,
                502,
                error_body(
                    error.get("message", "upstream failed"), "upstream_error", error.get("code")
                ),
            )
        else:
            await _send_json(send, 200, response)
        return f"{translator.status} (not streamed)"

    async def _translate(
        self, upstream: UpstreamResponse, translator: ChatToResponses
    ) -> AsyncIterator[list[Event]]:
        """Upstream bytes → translated event batches, one batch per upstream read."""
        ctype = upstream.headers.get("content-type", "")
        if "json" in ctype and "event-stream" not in ctype:
            raw = await upstream.read(MAX_BODY)
            yield translator.start() + _completion_events(translator, raw)
            return
        framer = SSEFramer()
        feed = translator.feed_data
        tap, key = self.config.tap, _TAP_KEY.get()
        yield translator.start()
        try:
            async for chunk in upstream.chunks():
                if tap is not None:
                    tap(key, chunk)
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
                    return
            events = []
            for frame in framer.finish(0.0):
                if frame.data is not None:
                    events += feed(frame.data)
            yield events + translator.finish("eof")
        except UpstreamError as exc:
            yield translator.fail("upstream_disconnected", f"the upstream connection broke: {exc}")
        finally:
            if tap is not None:
                tap(key, None)

    async def _stream(
        self,
        upstream: UpstreamResponse,
        translator: ChatToResponses,
        rfaults: ResponsesFaults,
        send: Send,
        gone: asyncio.Event,
    ) -> str:
        config = self.config
        loop = asyncio.get_running_loop()
        state = _Stream(loop.time())
        lock = asyncio.Lock()
        event_line = rfaults.event_line

        async def write(events: list[Event]) -> None:
            """Send a batch (called with the lock held)."""
            items: list[Any] = rfaults.apply(events) if rfaults else events
            if items and items[-1] is STALL:
                items.pop()
                state.stalled = True
            if items:
                payload = b"".join(encode_event(e, event_line=event_line) for e in items)
                await send({"type": "http.response.body", "body": payload, "more_body": True})
                state.last_sent = loop.time()

        async def pump() -> None:
            try:
                async for events in self._translate(upstream, translator):
                    async with lock:
                        state.last_upstream = loop.time()
                        if translator.finished and state.finished_at is None:
                            state.finished_at = state.last_upstream
                        await write(events)
                    if state.stalled or translator.done:
                        return
            except Exception as exc:  # a bug must not leave the client with a cut stream
                log.exception("translation failed")
                upstream.abandon()
                with contextlib.suppress(Exception):
                    async with lock:
                        await write(translator.fail("engine_error", f"the engine failed: {exc!r}"))

        async def watchdog() -> None:
            while True:
                now = loop.time()
                deadlines = []
                async with lock:
                    if translator.done or state.stalled:
                        return
                    if state.finished_at is not None:
                        if now - state.finished_at >= config.finish_grace:
                            await write(translator.finish("grace"))
                            upstream.abandon()
                            pump_task.cancel()
                            return
                        deadlines.append(state.finished_at + config.finish_grace)
                    elif config.upstream_idle_timeout > 0:
                        if now - state.last_upstream >= config.upstream_idle_timeout:
                            await write(
                                translator.fail(
                                    "upstream_timeout",
                                    f"the upstream sent nothing for {config.upstream_idle_timeout:g} s",
                                )
                            )
                            pump_task.cancel()
                            return
                        deadlines.append(state.last_upstream + config.upstream_idle_timeout)
                    if config.heartbeat > 0 and state.finished_at is None:
                        if now - state.last_sent >= config.heartbeat:
                            await write(translator.keepalive())
                        deadlines.append(state.last_sent + config.heartbeat)
                if not deadlines:
                    return
                await asyncio.sleep(max(0.0, min(deadlines) - loop.time()) + 0.001)

        await send(
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
        pump_task = asyncio.create_task(pump())
        dog = asyncio.create_task(watchdog())
        gone_task = asyncio.create_task(gone.wait())
        stop_task = asyncio.create_task(self.stopping.wait())
        try:
            await asyncio.wait(
                {pump_task, gone_task, stop_task}, return_when=asyncio.FIRST_COMPLETED
            )
            if gone.is_set():
                return "client went away (upstream request cancelled)"
            if self.stopping.is_set() and not pump_task.done():
                pump_task.cancel()
                async with lock:
                    await write(
                        translator.fail("server_shutting_down", "the engine is shutting down")
                    )
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return "engine stopping"
            with contextlib.suppress(asyncio.CancelledError):
                await pump_task
            dog.cancel()
            if state.stalled:
                await upstream.aclose()  # the injected stall: the upstream is not needed any more
                await self._hold(send, rfaults, gone)
                if not gone.is_set():
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return "stalled (injected fault)"
            async with lock:
                tail = DONE_FRAME if config.done_marker else b""
                await send({"type": "http.response.body", "body": tail, "more_body": False})
            return translator.status or "ended"
        finally:
            for task in (pump_task, dog, gone_task, stop_task):
                task.cancel()
            for task in (pump_task, dog):
                with contextlib.suppress(BaseException):
                    await task

    async def _hold(self, send: Send, rfaults: ResponsesFaults, gone: asyncio.Event) -> None:
        """The injected stall: keep the connection open, optionally with comment keep-alives,
        until the client leaves or the engine stops."""
        ended = asyncio.create_task(gone.wait())
        stop = asyncio.create_task(self.stopping.wait())
        try:
            while not (ended.done() or stop.done()):
                timeout = 1.0 if rfaults.comments else None
                await asyncio.wait(
                    {ended, stop}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if rfaults.comments and not (ended.done() or stop.done()):
                    await send(
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


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        body = message.get("body", b"")
        size += len(body)
        if size > MAX_BODY:
            raise ValueError(f"the request body is larger than {MAX_BODY >> 20} MiB")
        chunks.append(body)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, body: Any) -> None:
    payload = json.dumps(body, ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload, "more_body": False})


class _ResponsesEndpoint:
    """Starlette treats a non-function endpoint as a raw ASGI app."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.engine.responses(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    return JSONResponse(
        error_body(f"{request.method} {request.url.path}: no such endpoint on the ssescope engine"),
        status_code=status,
    )


def create_app(config: EngineConfig) -> Starlette:
    """The engine as an ASGI app. ``app.state.engine`` is the :class:`Engine`."""
    engine = Engine(config)
    endpoint = _ResponsesEndpoint(engine)
    routes: list[Any] = [
        Route("/v1/responses", endpoint, methods=["POST"]),
        Route("/responses", endpoint, methods=["POST"]),
        Route("/v1/models", engine.models, methods=["GET"]),
        Route("/models", engine.models, methods=["GET"]),
        Route("/health", engine.health, methods=["GET"]),
    ]
    if config.mock is not None:
        routes.append(Mount("/mock/v1", app=create_mock_app(config.mock, engine.stopping)))
    app = Starlette(
        routes=routes,
        lifespan=engine.lifespan,
        exception_handlers={404: _not_found, 405: _not_found},
    )
    app.state.engine = engine
    return app
