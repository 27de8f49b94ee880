"""``ssescope proxy --translate``: Responses requests through the bundled engine, in-process.

The upstream speaks only Chat Completions. Each ``POST …/responses`` is handed to the engine's
ASGI endpoint (:meth:`ssescope.engine.app.Engine.responses`) inside the proxy's own request, so
the client gets the engine's Responses stream, judged live like any other, while the chat stream
the engine reads from the upstream is recorded next to it (its own capture, on the same clock)
and exposed as ``exchange.upstream`` for a side-by-side view.

The engine is not changed for this: its upstream client is wrapped once at startup, and a
context variable set around each engine call tells the wrapper which exchange a chat request
belongs to (asyncio tasks the engine creates inherit it), so concurrent exchanges never mix.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.capture import CaptureWriter
from ..engine.upstream import UpstreamError as EngineUpstreamError
from ..engine.upstream import UpstreamResponse as EngineUpstreamResponse
from .hub import ChatSide, Exchange, ExchangeHub

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .app import Flow, LazyCaptureWriter, ProxyApp, Receive, Scope, Send
    from .config import ProxyConfig

FORWARDED = ("authorization", "api-key", "x-api-key", "openai-organization", "openai-project")
"""Client headers the engine's chat request carries upstream (credentials, mostly)."""


class _ChatTap:
    """Records the chat request behind one Responses exchange."""

    def __init__(
        self, hub: ExchangeHub, exchange: Exchange, forward: dict[str, str], redact: bool
    ) -> None:
        self.hub = hub
        self.exchange = exchange
        self.forward = forward
        self.redact = redact

    async def open(
        self, inner: Any, method: str, url: str, body: bytes, headers: dict[str, str]
    ) -> Any:
        from .app import _body_doc

        exchange = self.exchange
        t0 = exchange.t0
        doc = _body_doc(body)
        side = ChatSide(url=url, request_body=doc)
        exchange.upstream = side
        writer = None
        if exchange.record_path is not None:
            side.record_path = str(Path(exchange.record_path).with_suffix(".chat.jsonl"))
            writer = CaptureWriter(
                side.record_path,
                method=method,
                url=url,
                headers={"Content-Type": "application/json", **headers},
                body=doc,
                redact=self.redact,
            )
        self.hub.changed(exchange, "upstream")
        try:
            response = await inner.request(method, url, body=body, headers=headers)
        except BaseException as exc:
            reason = "connect-error" if isinstance(exc, EngineUpstreamError) else "interrupted"
            _end(side, writer, time.monotonic() - t0, reason, str(exc) or None)
            self.hub.changed(exchange, "upstream")
            raise
        side.status = response.status
        side.headers = dict(response.headers)
        side.t_headers = time.monotonic() - t0
        if writer is not None:
            writer.write_response(response.status, side.headers, t=side.t_headers)
        self.hub.changed(exchange, "upstream")
        return _TapResponse(response, side, writer, t0)


_TAP: ContextVar[_ChatTap | None] = ContextVar("ssescope_proxy_chat_tap", default=None)


def _end(
    side: ChatSide, writer: CaptureWriter | None, t: float, reason: str, error: str | None = None
) -> None:
    if side.end is not None:
        return
    side.finish(t, reason, error)
    if writer is not None and not writer.closed:
        writer.write_end(t, reason, error)
        writer.close()


class _TapResponse:
    """The engine's upstream response, with every chunk the engine reads recorded."""

    def __init__(self, inner: Any, side: ChatSide, writer: CaptureWriter | None, t0: float) -> None:
        self._inner = inner
        self._side = side
        self._writer = writer
        self._t0 = t0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def chunks(self) -> AsyncIterator[bytes]:
        side, writer, t0 = self._side, self._writer, self._t0
        try:
            async for data in self._inner.chunks():
                t = time.monotonic() - t0
                side.feed(data, t)
                if writer is not None:
                    writer.write_chunk(t, data)
                yield data
        except EngineUpstreamError as exc:
            _end(side, writer, time.monotonic() - t0, "transport-error", str(exc))
            raise
        _end(side, writer, time.monotonic() - t0, "eof")

    read = EngineUpstreamResponse.read  # the engine's own body reader, over the recorded chunks

    async def aclose(self) -> None:
        side = self._side
        if side.end is None:
            # The engine stops reading at the end of the chat stream ([DONE], or the usage
            # chunk after finish_reason) without waiting for the socket to say so.
            complete = getattr(getattr(self._inner, "_proto", None), "complete", False)
            done = any(f.data == "[DONE]" for f in side.frames[-2:])
            reason = "eof" if complete or done else "interrupted"
            _end(side, self._writer, time.monotonic() - self._t0, reason)
        await self._inner.aclose()


class _TapClient:
    """Wraps the engine's upstream client: requests made for a proxy exchange are recorded."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Any:
        tap = _TAP.get()
        if tap is None or method != "POST":
            return await self._inner.request(method, url, body=body, headers=headers)
        merged = {**tap.forward, **(headers or {})}
        return await tap.open(self._inner, method, url, body, merged)


class EngineBridge:
    """The bundled engine, in-process, pointed at the proxy's upstream."""

    def __init__(self, config: ProxyConfig) -> None:
        from ..engine.app import EngineConfig, create_app

        self.config = config
        self.engine_config = EngineConfig(
            upstream=config.upstream,
            connect_timeout=config.connect_timeout,
            ca_file=config.ca_file,
        )
        self.app = create_app(self.engine_config)
        self.engine = self.app.state.engine
        self.chat_url = self.engine_config.chat_url
        self._lifespan: Any = None

    async def start(self) -> None:
        self._lifespan = self.engine.lifespan(self.app)
        await self._lifespan.__aenter__()
        self.engine.client = _TapClient(self.engine.client)

    def stop(self) -> None:
        """The engine ends its streams with a ``server_shutting_down`` failure."""
        self.engine.stopping.set()

    async def close(self) -> None:
        if self._lifespan is not None:
            lifespan, self._lifespan = self._lifespan, None
            await lifespan.__aexit__(None, None, None)

    async def handle(
        self,
        proxy: ProxyApp,
        flow: Flow,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: bytes,
        writer: LazyCaptureWriter | None,
        wants_stream: bool,
        client_url: str,
    ) -> None:
        """One Responses exchange, answered by the engine; the client's bytes are teed into
        the judgement right after each write, as in plain forwarding."""
        exchange = flow.exchange
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        forward = {k: headers[k] for k in FORWARDED if k in headers}
        tap = _ChatTap(proxy.hub, exchange, forward, self.config.redact)
        sink: Any = None

        async def tee(message: Any) -> None:
            nonlocal sink
            if message["type"] == "http.response.start":
                status = int(message["status"])
                shown = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in message.get("headers") or []
                }
                ctype = shown.get("content-type", "").lower()
                await send(message)
                sink = proxy.response_sink(
                    exchange,
                    writer,
                    judged="text/event-stream" in ctype or wants_stream,
                    status=status,
                    headers=shown,
                    t_headers=time.monotonic() - exchange.t0,
                    reason=_phrase(status),
                    http_version="HTTP/1.1",
                    client_url=client_url,
                )
                side = exchange.upstream
                if exchange.run is not None and side is not None:
                    # the same list: what the TUI's raw-upstream view (run.upstream) shows
                    exchange.run.upstream = side.chunks
                return
            data = message.get("body", b"")
            if not message.get("more_body", False):
                flow.complete = True
            await send(message)
            if data and sink is not None:
                exchange.bytes += len(data)
                sink.feed([(time.monotonic(), data)])

        delivered = False

        async def replay(_receive: Receive = receive) -> Any:
            nonlocal delivered
            if not delivered:  # the proxy already read the body (to record it)
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            message = await _receive()
            if message["type"] == "http.disconnect" and not flow.complete:
                flow.gone = True
            return message

        token = _TAP.set(tap)
        try:
            await self.engine.responses(scope, replay, tee)
        except BaseException:
            proxy.end(flow, sink, writer, "interrupted", "the proxy stopped")
            raise
        finally:
            _TAP.reset(token)
        t_end = time.monotonic() - exchange.t0
        if sink is not None:
            await sink.settle()
        if flow.gone:
            reason, error = "interrupted", "the client went away"
        elif not flow.complete:
            reason, error = "interrupted", "the engine ended the response early"
        else:
            reason, error = "eof", None
        proxy.end(flow, sink, writer, reason, error, client_url=client_url, t_end=t_end)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
