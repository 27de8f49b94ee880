"""``ssescope proxy --translate``: Responses requests through the bundled engine, in-process.

The upstream speaks only Chat Completions. Each ``POST …/responses`` is handed to the engine's
ASGI endpoint (:meth:`ssescope.engine.app.Engine.responses`) inside the proxy's own request, so
the client gets the engine's Responses stream, judged live like any other, while the chat stream
the engine reads from the upstream is recorded next to it (its own capture, on the same clock)
and exposed as ``exchange.upstream`` for a side-by-side view.

The chat side is seen through the engine's one upstream-observer hook
(``EngineConfig.observe``): the proxy puts a :class:`ChatRecorder` for the exchange in the scope
it passes to the engine (``OBSERVER_SCOPE_KEY``), and the hook hands it back for the chat request
that scope causes, so concurrent exchanges never mix.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..asgi import Message, Receive, Scope, Send
from ..core.capture import CaptureWriter
from ..core.ends import EndReason
from ..engine.app import EngineConfig, create_app
from ..engine.upstream import OBSERVER_SCOPE_KEY, UpstreamObserver, observer_in_scope
from . import wire
from .hub import ChatSide, Exchange, ExchangeHub

if TYPE_CHECKING:
    from .config import ProxyConfig
    from .flow import Flow

FORWARDED = ("authorization", "api-key", "x-api-key", "openai-organization", "openai-project")
"""Client headers the engine's chat request carries upstream (credentials, mostly)."""


class ChatRecorder(UpstreamObserver):
    """Records the chat exchange behind one Responses exchange (``exchange.upstream``, and a
    ``.chat.jsonl`` capture beside the exchange's own), on the exchange's clock."""

    def __init__(self, hub: ExchangeHub, exchange: Exchange, redact: bool) -> None:
        self.hub = hub
        self.exchange = exchange
        self.redact = redact
        self.t0 = exchange.t0
        self.clock = exchange.clock
        self.side: ChatSide | None = None
        self.writer: CaptureWriter | None = None

    def on_request(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        exchange = self.exchange
        doc = wire.body_doc(body)
        side = self.side = exchange.upstream = ChatSide(url=url)
        if exchange.record_path is not None:
            side.record_path = str(Path(exchange.record_path).with_suffix(".chat.jsonl"))
            self.writer = CaptureWriter(
                side.record_path, method=method, url=url, headers=headers, body=doc,
                redact=self.redact,
            )  # fmt: skip
        side.request_body = wire.kept_body(doc, len(body), side.record_path)
        self.hub.changed(exchange, "upstream")

    def on_response(self, status: int, headers: dict[str, str]) -> None:
        side = self.side
        assert side is not None
        side.status = status
        side.headers = dict(headers)
        side.t_headers = self.clock() - self.t0
        if self.writer is not None:
            self.writer.write_response(status, side.headers, t=side.t_headers)
        self.hub.changed(self.exchange, "upstream")

    def on_chunk(self, data: bytes) -> None:
        t = self.clock() - self.t0
        assert self.side is not None
        self.side.feed(data, t)
        if self.writer is not None:
            self.writer.write_chunk(t, data)

    def on_end(self, reason: EndReason, error: str | None) -> None:
        t = self.clock() - self.t0
        if self.side is not None:
            self.side.finish(t, reason, error)
        writer = self.writer
        if writer is not None and not writer.closed:
            writer.write_end(t, reason, error)
            writer.close()
        self.hub.changed(self.exchange, "upstream")


class EngineBridge:
    """The bundled engine, in-process, pointed at the proxy's upstream."""

    def __init__(self, config: ProxyConfig, hub: ExchangeHub) -> None:
        self.config = config
        self.hub = hub
        self.engine_config = EngineConfig(
            upstream=config.upstream,
            connect_timeout=config.connect_timeout,
            ca_file=config.ca_file,
            observe=observer_in_scope,
            forward_headers=FORWARDED,
        )
        self.app = create_app(self.engine_config)
        self.engine = self.app.state.engine
        self.chat_url = self.engine_config.chat_url
        self._lifespan: Any = None

    async def start(self) -> None:
        self._lifespan = self.engine.lifespan(self.app)
        await self._lifespan.__aenter__()

    def stop(self) -> None:
        """The engine ends its streams with a ``server_shutting_down`` failure."""
        self.engine.stopping.set()

    async def close(self) -> None:
        if self._lifespan is not None:
            lifespan, self._lifespan = self._lifespan, None
            await lifespan.__aexit__(None, None, None)

    async def handle(self, flow: Flow, scope: Scope, receive: Receive, send: Send) -> None:
        """One Responses exchange, answered by the engine; the client's bytes are fed to the
        exchange's parts right after each write, as in plain forwarding."""
        exchange = flow.exchange
        recorder = ChatRecorder(self.hub, exchange, self.config.redact)
        tee = _Tee(flow, send)
        try:
            await self.engine.responses(
                {**scope, OBSERVER_SCOPE_KEY: recorder}, _Replay(flow, receive), tee.send
            )
        except BaseException:
            flow.end(EndReason.INTERRUPTED, "the proxy stopped")
            raise
        t_end = exchange.clock() - exchange.t0
        await flow.settle()
        if flow.gone:
            flow.end(EndReason.INTERRUPTED, "the client went away", t_end)
        elif not flow.complete:
            flow.end(EndReason.INTERRUPTED, "the engine ended the response early", t_end)
        else:
            flow.end(EndReason.EOF, None, t_end)


class _Tee:
    """The engine's ``send``: to the client, then to the exchange's parts."""

    def __init__(self, flow: Flow, send: Send) -> None:
        self.flow = flow
        self._send = send

    async def send(self, message: Message) -> None:
        flow = self.flow
        if message["type"] == "http.response.start":
            headers = wire.shown(list(message.get("headers") or []))
            await self._send(message)
            request = flow.request
            flow.respond(
                int(message["status"]),
                headers,
                t=flow.exchange.clock(),
                responses_stream="text/event-stream" in headers.get("content-type", "").lower()
                or request.wants_stream,
            )
            exchange = flow.exchange
            side = exchange.upstream
            if exchange.run is not None and side is not None:
                # the same list: what the TUI's raw-upstream view (run.upstream) shows
                exchange.run.upstream = side.chunks
            return
        data = message.get("body", b"")
        if not message.get("more_body", False):
            flow.complete = True
        await self._send(message)
        if data:
            flow.exchange.bytes += len(data)
            flow.feed([(flow.exchange.clock(), data)])


class _Replay:
    """The engine's ``receive``: the body the proxy already read (to record it), then the
    client's own messages (a disconnect marks the client gone)."""

    def __init__(self, flow: Flow, receive: Receive) -> None:
        self.flow = flow
        self._receive = receive
        self._delivered = False

    async def __call__(self) -> Message:
        if not self._delivered:
            self._delivered = True
            return {"type": "http.request", "body": self.flow.request.body, "more_body": False}
        message = await self._receive()
        if message["type"] == "http.disconnect" and not self.flow.complete:
            self.flow.gone = True
        return message
