"""The proxy's ASGI app: each request becomes an exchange, forwarded by the core
(:mod:`.forward`, or the engine with ``--translate``), its events fed to the parts that record,
judge and show it (:mod:`.parts`).

A raw ASGI callable rather than Starlette routes, for the same reasons as the engine's
``/v1/responses``: one client write per upstream socket read, the upstream's status and headers
as they came, and a client that disconnects closes the upstream connection at once.

The hot path forwards first, then queues the piece; a callback the loop runs right after hands
it to the parts (:class:`~.pipeline.Pipeline`). So a write never waits for the checker or the
capture writer, a live stream is judged within a loop iteration of each write, and under a
burst the judgement falls behind for a moment instead of slowing the stream down.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..asgi import BodyTooLarge, ClientGone, Receive, Scope, Send, read_body, send_error
from ..asgi.hosts import host_refusal
from ..core.redact import redact_body, redact_headers, redact_text, redact_url
from ..http1 import Client
from . import wire
from .config import ProxyConfig
from .events import Part, RequestHead
from .flow import Flow
from .forward import forward
from .hub import Exchange, ExchangeHub
from .parts import Judge, Recorder, Show, capture_request
from .pipeline import Pipeline
from .rotate import CaptureBudget

if TYPE_CHECKING:
    from .metrics import ProxyMetrics
    from .translate import EngineBridge

log = logging.getLogger("ssescope.proxy")


class ProxyApp:
    """The ASGI app. ``hub`` receives every exchange; :meth:`stop` ends the ones in flight."""

    def __init__(
        self, config: ProxyConfig, hub: ExchangeHub, *, metrics: ProxyMetrics | None = None
    ) -> None:
        self.config = config
        self.hub = hub
        self.metrics = metrics
        """With ``--metrics``: every exchange is counted (:class:`~.metrics.MetricsPart`)."""
        self.budget = (
            CaptureBudget(config.record_dir, config.record_max_bytes)
            if config.record_dir and config.record_max_bytes is not None
            else None
        )
        """With ``--record-max-bytes``: the oldest captures go first (:mod:`.rotate`)."""
        self.client: Client | None = None
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        """Set once the server has shut down (e.g. after SIGINT)."""
        self.stopping = False
        self.flows: set[Flow] = set()
        self.translator: EngineBridge | None = None
        """With ``--translate``: the engine bridge (:mod:`ssescope.proxy.translate`)."""
        self._ticker: asyncio.Task[None] | None = None
        self._record_dir = Path(config.record_dir) if config.record_dir else None

    # -- ASGI ---------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1003})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        try:
            await self.startup()
        except Exception as exc:
            await send({"type": "lifespan.startup.failed", "message": str(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await self.shutdown()
        await send({"type": "lifespan.shutdown.complete"})

    async def startup(self) -> None:
        context = None
        if self.config.ca_file:
            context = ssl.create_default_context(cafile=self.config.ca_file)
        self.client = Client(
            connect_timeout=self.config.connect_timeout,
            ssl_context=context,
            clock=self.config.clock,
        )
        if self.config.translate:
            from .translate import EngineBridge

            self.translator = EngineBridge(self.config, self.hub)
            await self.translator.start()
        if self.config.tick_interval > 0:
            self._ticker = asyncio.create_task(self._tick())
        self.started.set()

    async def shutdown(self) -> None:
        self.stop()
        if self._ticker is not None:
            self._ticker.cancel()
        if self.translator is not None:
            await self.translator.close()
        if self.client is not None:
            self.client.close_all()
        self.closed.set()

    def stop(self) -> None:
        """End every exchange in flight (their clients see the connection cut)."""
        self.stopping = True
        for flow in list(self.flows):
            flow.abort()
        if self.translator is not None:
            self.translator.stop()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.config.tick_interval)
            try:
                self.hub.tick()
            except Exception:  # a judging bug must not stop the clocks of other streams
                log.exception("ticking the live streams failed")

    # -- one exchange -------------------------------------------------------------------------------

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        t0 = self.config.clock()
        wall = time.time()
        refusal = host_refusal(scope, (*self.config.allow_hosts, self.config.host))
        if refusal is not None:  # a web page trying to drive the proxy: not forwarded
            await send_error(send, 403, f"ssescope proxy: {refusal}", code="host_not_allowed")
            return
        try:
            body = await read_body(receive, self.config.max_request_bytes)
        except ClientGone:
            return
        except BodyTooLarge:
            await _too_large(send, self.config.max_request_bytes)
            return
        request = self._request(scope, body)
        translator = self.translator if request.is_responses else None
        flow = self._flow(request, t0, wall, translated=translator is not None)
        self.flows.add(flow)
        try:
            flow.start()
            if translator is not None:
                await translator.handle(flow, scope, receive, send)
            else:
                assert self.client is not None
                target = self.config.targets[request.upstream_name]
                upstream = wire.upstream_headers(list(scope["headers"]), body, target.host_header)
                await forward(self.client, flow, receive, send, upstream)
        finally:
            self.flows.discard(flow)
            flow.close()

    def _request(self, scope: Scope, body: bytes) -> RequestHead:
        config = self.config
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        headers = wire.shown(list(scope["headers"]))
        host = headers.get("host", f"{config.host}:{config.port}")
        name, upstream_path = config.route(path)
        return RequestHead(
            method=scope["method"],
            path=path,
            query=query,
            url=config.targets[name].origin
            if path == "*"  # OPTIONS *: the upstream's asterisk form
            else config.targets[name].url_for(upstream_path, query),
            client_url=f"http://{host}{path}",
            headers=headers,
            body=body,
            body_doc=wire.body_doc(body),
            upstream_name=name,
        )

    def _flow(self, request: RequestHead, t0: float, wall: float, *, translated: bool) -> Flow:
        """The exchange in the hub, and the parts that record, judge and show it."""
        config = self.config
        shown_url = request.url
        if translated:
            assert self.translator is not None
            shown_url = f"engine → {self.translator.chat_url}"
        shown_body = redact_body(request.body_doc)  # one walk of a big body, on the request path
        exchange = self.hub.open(
            started=wall,
            t0=t0,
            clock=config.clock,
            method=request.method,
            # what the flow list, headless lines and --json show: always redacted
            # (--no-redact keeps the secrets in the captures only)
            path=redact_url(request.target),
            url=redact_text(shown_url),  # "engine → URL" with --translate
            request_headers=redact_headers(request.headers),
            request_body=shown_body,
        )
        parts: list[Part] = []
        record = None
        if self._record_dir is not None:
            exchange.record_path = str(self._record_dir / _file_name(exchange))
        # a big body is held only while it is forwarded and recorded; the exchange keeps a note
        exchange.request_body = wire.kept_body(shown_body, len(request.body), exchange.record_path)
        if exchange.record_path is not None:
            url = (
                request.client_url if translated else request.url
            )  # translated: the engine answered
            parts.append(Recorder(exchange, url, redact=config.redact))
            body = shown_body if config.redact else request.body_doc
            record = capture_request(
                request.method, url, request.headers, body, redact=config.redact
            )
        if request.is_responses:
            parts.append(
                Judge(
                    exchange,
                    config.options,
                    keep_chunks=config.keep_chunks,
                    request=record
                    or capture_request(
                        request.method, request.url, {}, request.body_doc, redact=True
                    ),
                    client_url=request.client_url,
                )
            )
        if self.metrics is not None:
            parts.append(self.metrics.part(exchange))
        if self.budget is not None:
            parts.append(self.budget.part(exchange))
        parts.append(Show(exchange, self.hub))
        return Flow(exchange, request, Pipeline(exchange, parts))


async def _too_large(send: Send, limit: int) -> None:
    message = (
        f"ssescope proxy: the request body is larger than --max-request-bytes ({limit:,} bytes)"
    )
    await send_error(send, 413, message, "invalid_request_error", "request_too_large")


def _file_name(exchange: Exchange) -> str:
    return wire.file_name(exchange.id, exchange.started, exchange.method, exchange.path)
