"""The proxy's ASGI app: forward every request to the upstream, every byte back the moment it
arrives, and record and judge each exchange on the way.

A raw ASGI callable rather than Starlette routes, for the same reasons as the engine's
``/v1/responses``: one client write per upstream socket read (nothing buffers), the upstream's
status and headers go out as they came, and a client that disconnects closes the upstream
connection at once (while waiting for the upstream's headers, too).

The hot path forwards first, then queues the piece; a callback the loop runs right after
records and judges it (:class:`_Sink`). So a write never waits for the checker or the capture
writer, a live stream is judged within a loop iteration of each write, and under a burst the
judgement falls behind for a moment instead of slowing the stream down.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import re
import ssl
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from ..core.capture import CaptureWriter, redact_headers, redact_url
from ..core.checker import CheckOptions
from ..core.run import Run, RunInfo
from .config import ProxyConfig
from .hub import Exchange, ExchangeHub
from .upstream import ConnectError, Piece, Reply, UpstreamClient, UpstreamError

log = logging.getLogger("ssescope.proxy")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
"""RFC 9110 §7.6.1: meaningful for one connection only, so never forwarded."""
ERROR_BODY_LIMIT = 1 << 20
"""How much of a non-2xx body the judgement keeps for its ``http-status`` message."""
JUDGE_PIECE = 16 << 10
"""Larger reads are judged in pieces of this size (a judging slice stays short)."""
JUDGE_SLICE = 0.001
"""Seconds of judging between two chances for the forwarder to run, while catching up."""
BACKLOG_LIMIT = 8 << 20
"""Bytes forwarded but not yet judged before the forwarder waits for the judgement."""
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")


class _ClientGone(Exception):
    pass


class LazyCaptureWriter:
    """A :class:`CaptureWriter` whose file is created on the first record, i.e. once the
    upstream answers: opening a file is kept off the path of the request to the upstream."""

    def __init__(self, path: str, **kwargs: Any) -> None:
        self.path = path
        self._kwargs = kwargs
        self._writer: CaptureWriter | None = None
        self.closed = False

    def _open(self) -> CaptureWriter:
        if self._writer is None:
            self._writer = CaptureWriter(self.path, **self._kwargs)
        return self._writer

    @property
    def request(self) -> dict[str, Any]:
        return self._open().request

    def write_response(self, status: int | None, headers: Any = None, **kwargs: Any) -> None:
        self._open().write_response(status, headers, **kwargs)

    def write_chunk(self, t: float, chunk: bytes) -> None:
        self._open().write_chunk(t, chunk)

    def write_end(self, t: float, reason: str, error: str | None = None) -> None:
        self._open().write_end(t, reason, error)

    def close(self) -> None:
        self.closed = True
        if self._writer is not None:
            self._writer.close()


class Flow:
    """The moving parts of one exchange while it is in flight."""

    __slots__ = ("complete", "exchange", "gone", "reply", "stopping")

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        self.reply: Reply | None = None
        self.gone = False
        """The client went away before the response was complete."""
        self.complete = False
        """The last body message is being sent (a disconnect after it is the normal end)."""
        self.stopping = False

    def abort(self) -> None:
        """The proxy is stopping: cut the upstream (and so the client) now."""
        self.stopping = True
        if self.reply is not None:
            self.reply.abort()


class _Sink:
    """Where the body of one exchange goes besides the client: the capture and the judging run.

    Neither ever delays a write. Each piece is queued right after it was written to the client
    and recorded and judged by a callback the loop runs next, after the forwarding steps that
    were already due, so streams that deliver at the same instant (Codex's parallel requests)
    are forwarded together rather than one behind the judgement of another. When pieces arrive
    faster than they can be judged (a burst of thousands of events) the callback works in
    slices of about a millisecond and yields to the loop in between; the judgement catches up
    as soon as the burst ends. Past ``BACKLOG_LIMIT`` unprocessed bytes the forwarder processes them inline,
    which bounds memory and slows the stream down to the judge's pace. An error body is held
    back and judged whole at the end (the ``http-status`` finding quotes it)."""

    __slots__ = (
        "decoder",
        "exchange",
        "held",
        "idle",
        "pending",
        "pending_size",
        "run",
        "scheduled",
        "t0",
        "t_headers",
        "unjudged",
        "writer",
    )

    def __init__(
        self,
        exchange: Exchange,
        run: Run | None,
        writer: LazyCaptureWriter | None,
        *,
        hold: bool,
        decoder: Any = None,
        t_headers: float = 0.0,
    ) -> None:
        self.exchange = exchange
        self.run = run
        self.writer = writer
        self.t0 = exchange.t0
        self.t_headers = t_headers
        self.held: list[tuple[float, bytes]] | None = [] if hold else None
        self.decoder = decoder
        self.pending: deque[Piece] = deque()
        """Forwarded, not yet recorded (arrival times absolute)."""
        self.pending_size = 0
        self.unjudged: deque[tuple[float, bytes]] = deque()
        """Recorded, not yet judged (times relative to the request start)."""
        self.scheduled = False
        self.idle: asyncio.Future[None] | None = None

    def feed(self, pieces: list[Piece]) -> None:
        """Called right after the same bytes were written to the client."""
        if self.run is None and self.writer is None:
            return  # neither recorded nor judged
        self.pending.extend(pieces)
        for _, piece in pieces:
            self.pending_size += len(piece)
        if self.pending_size > BACKLOG_LIMIT:
            self._process(None)  # too far behind: catch up before forwarding more
        elif not self.scheduled:
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._work)

    def _record(self, t: float, piece: bytes) -> None:
        t -= self.t0
        if self.decoder is not None:
            piece = self.decoder.decompress(piece)
        if not piece:
            return
        if self.writer is not None:
            try:
                self.writer.write_chunk(t, piece)
            except (OSError, ValueError) as exc:  # disk full, …: stop recording, go on
                self.exchange.notes.append(f"recording stopped: {exc}")
                self.writer = None
        if self.run is None:
            return
        if self.held is not None:
            self.held.append((t, piece))
        elif len(piece) <= JUDGE_PIECE:
            self.unjudged.append((t, piece))
        else:  # a huge read: in pieces, so that a judging slice stays short
            for i in range(0, len(piece), JUDGE_PIECE):
                self.unjudged.append((t, piece[i : i + JUDGE_PIECE]))

    def _process(self, budget: float | None) -> bool:
        """Record, then judge, what is queued (for about ``budget`` seconds); True when
        nothing is left."""
        pending, unjudged = self.pending, self.unjudged
        deadline = None if budget is None else time.perf_counter() + budget
        try:
            while True:
                if pending:
                    t, piece = pending.popleft()
                    self.pending_size -= len(piece)
                    self._record(t, piece)
                elif unjudged:
                    t, piece = unjudged.popleft()
                    if self.run is not None:
                        self.run.feed(piece, t)
                else:
                    break
                if (
                    deadline is not None
                    and time.perf_counter() > deadline
                    and (pending or unjudged)
                ):
                    return False
        except Exception as exc:  # a judging bug must never break forwarding
            self._fail(exc)
            return self._process(budget)
        self.pending_size = 0
        idle, self.idle = self.idle, None
        if idle is not None and not idle.done():
            idle.set_result(None)
        return True

    def _work(self) -> None:
        self.scheduled = False
        if not self._process(JUDGE_SLICE):
            self.scheduled = True
            asyncio.get_running_loop().call_soon(self._work)  # the forwarders go first

    async def settle(self) -> None:
        """Wait until everything forwarded so far has been recorded and judged."""
        if self.scheduled and (self.pending or self.unjudged):
            if self.idle is None:
                self.idle = asyncio.get_running_loop().create_future()
            await asyncio.shield(self.idle)

    def _fail(self, exc: Exception) -> None:
        """Judging stops for this exchange; recording goes on."""
        log.exception("judging exchange %d failed; forwarding goes on", self.exchange.id)
        self.exchange.judge_error = f"{type(exc).__name__}: {exc}"
        self.run = None
        self.held = None
        self.unjudged.clear()

    def finish(self, t_end: float, reason: str, error: str | None, *, url: str) -> None:
        """The exchange is over: process what is left, then end the run and the capture."""
        self._process(None)
        try:
            run = self.run
            if run is not None and self.held is not None:
                ex = self.exchange
                held, self.held = self.held, None
                text = b"".join(p for _, p in held)[:ERROR_BODY_LIMIT]
                run.on_response(
                    ex.status or 0,
                    ex.response_headers,
                    body=text.decode("utf-8", errors="replace"),
                    url=url,
                    t=self.t_headers,
                    reason=ex.reason,
                )
                for t, piece in held:
                    run.feed(piece, t)
            if run is not None:
                run.finish(t_end, reason, error)
        except Exception as exc:
            self._fail(exc)
        writer = self.writer
        if writer is not None and not writer.closed:
            with contextlib.suppress(Exception):
                writer.write_end(t_end, reason, error)
            writer.close()


class ProxyApp:
    """The ASGI app. ``hub`` receives every exchange; :meth:`stop` ends the ones in flight."""

    def __init__(self, config: ProxyConfig, hub: ExchangeHub) -> None:
        self.config = config
        self.hub = hub
        self.client: UpstreamClient | None = None
        self.started = asyncio.Event()
        self.closed = asyncio.Event()
        """Set once the server has shut down (e.g. after SIGINT)."""
        self.stopping = False
        self.flows: set[Flow] = set()
        self.translator: Any = None
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
        self.client = UpstreamClient(
            connect_timeout=self.config.connect_timeout, ssl_context=context
        )
        if self.config.translate:
            from .translate import EngineBridge

            self.translator = EngineBridge(self.config)
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
        t0 = time.monotonic()
        wall = time.time()
        try:
            body = await _read_body(receive)
        except _ClientGone:
            return
        config = self.config
        method: str = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        url = config.target.url_for(path, query)
        headers: list[tuple[bytes, bytes]] = list(scope["headers"])
        header_map = {k.decode("latin-1"): v.decode("latin-1") for k, v in headers}
        body_doc = _body_doc(body)
        is_responses = method == "POST" and path.rstrip("/").endswith("/responses")
        wants_stream = isinstance(body_doc, dict) and body_doc.get("stream") is True
        translated = is_responses and self.translator is not None
        shown_url = url
        if translated:
            shown_url = f"engine → {self.translator.chat_url}"
        exchange = self.hub.open(
            started=wall,
            t0=t0,
            method=method,
            path=path + (f"?{query}" if query else ""),
            url=redact_url(shown_url) if config.redact else shown_url,
            request_headers=redact_headers(header_map) if config.redact else header_map,
            request_body=body_doc,
        )
        host = header_map.get("host", f"{config.host}:{config.port}")
        client_url = f"http://{host}{path}"
        writer = None
        if self._record_dir is not None:
            exchange.record_path = str(self._record_dir / _file_name(exchange))
            writer = LazyCaptureWriter(
                exchange.record_path,
                method=method,
                url=client_url if translated else url,  # translated: the engine answered
                headers=header_map,
                body=body_doc,
                redact=config.redact,
            )
        flow = Flow(exchange)
        self.flows.add(flow)
        try:
            if translated:
                await self.translator.handle(
                    self, flow, scope, receive, send, body, writer, wants_stream, client_url
                )
            else:
                await self._forward(
                    flow, receive, send, url, headers, body, writer, is_responses, wants_stream,
                    client_url,
                )  # fmt: skip
        finally:
            self.flows.discard(flow)
            if writer is not None and not writer.closed:
                writer.close()

    def new_run(self, exchange: Exchange, writer: LazyCaptureWriter | None) -> Run:
        """The judgement of one streamed Responses exchange, on the exchange's clock. The
        capture is written by the sink as bytes are forwarded, not by the run."""
        options = CheckOptions(**{**self.config.options.__dict__})
        run = Run(
            options,
            RunInfo(
                f"#{exchange.id} {exchange.method} {exchange.path}",
                "live",
                request=None if writer is None else writer.request,
                record_path=exchange.record_path,
            ),
            keep_chunks=self.config.keep_chunks,
        )
        run.started_at = exchange.t0
        return run

    def response_sink(
        self,
        exchange: Exchange,
        writer: LazyCaptureWriter | None,
        *,
        judged: bool,
        status: int,
        headers: dict[str, str],
        t_headers: float,
        reason: str,
        http_version: str,
        client_url: str,
    ) -> _Sink:
        """Record the response head and say where the body goes."""
        exchange.status = status
        exchange.reason = reason
        exchange.response_headers = headers
        exchange.state = "streaming"
        if writer is not None:
            writer.write_response(
                status, headers, reason=reason, http_version=http_version, t=t_headers
            )
        if not judged:
            self.hub.changed(exchange, "response")
            return _Sink(exchange, None, writer, hold=False)
        run = self.new_run(exchange, writer)
        exchange.run = run
        ok = 200 <= status < 300
        decoder = None
        if ok:
            run.on_response(status, headers, url=client_url, t=t_headers, reason=reason)
            encoding = headers.get("content-encoding", "").strip().lower()
            if encoding in ("gzip", "x-gzip"):
                decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                decoder = zlib.decompressobj()
            elif encoding not in ("", "identity"):
                exchange.notes.append(
                    f"the body is {encoding}-encoded: forwarded as is, judged undecoded"
                )
            if decoder is not None:
                exchange.notes.append(f"the body is {encoding}-encoded: recorded decoded")
        self.hub.changed(exchange, "response")
        # An error head is judged with its body (the http-status message quotes it), at the end.
        return _Sink(exchange, run, writer, hold=not ok, decoder=decoder, t_headers=t_headers)

    def end(
        self,
        flow: Flow,
        sink: _Sink | None,
        writer: LazyCaptureWriter | None,
        reason: str,
        error: str | None = None,
        *,
        client_url: str = "",
        t_end: float | None = None,
    ) -> None:
        exchange = flow.exchange
        if t_end is None:
            t_end = time.monotonic() - exchange.t0
        if sink is not None:
            sink.finish(t_end, reason, error, url=client_url)
        elif writer is not None and not writer.closed:
            writer.write_end(t_end, reason, error)
            writer.close()
        exchange.t_end = t_end
        exchange.end_reason = reason
        if error and exchange.error is None:
            exchange.error = error
        exchange.state = "done" if reason == "eof" else "failed"
        self.hub.changed(exchange, "end")

    async def _forward(
        self,
        flow: Flow,
        receive: Receive,
        send: Send,
        url: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        writer: LazyCaptureWriter | None,
        is_responses: bool,
        wants_stream: bool,
        client_url: str,
    ) -> None:
        assert self.client is not None
        exchange = flow.exchange
        method = exchange.method
        opening = asyncio.create_task(
            self.client.request(method, url, self._upstream_headers(headers, body), body)
        )
        watcher = asyncio.create_task(_watch_disconnect(receive, flow))
        sink: _Sink | None = None
        try:
            await asyncio.wait({opening, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if not opening.done() or flow.stopping:
                opening.cancel()  # closes the half-open upstream request
                with contextlib.suppress(BaseException):
                    await opening
                self.end(flow, None, writer, "interrupted", "the client went away first")
                return
            try:
                reply = opening.result()
            except UpstreamError as exc:
                await self._unreachable(
                    flow, send, writer, exc, url, is_responses and wants_stream, client_url
                )
                return
            flow.reply = reply
            if flow.gone or flow.stopping:
                reply.abort()
                self.end(flow, None, writer, "interrupted")
                return
            status = reply.status
            if not 100 <= status < 600:
                reply.abort()
                exc = UpstreamError(f"the upstream answered with an invalid status {status}")
                await self._unreachable(flow, send, writer, exc, url, False, client_url)
                return
            out_headers = _response_headers(reply.headers)
            shown = {k.decode("latin-1"): v.decode("latin-1") for k, v in out_headers}
            ctype = shown.get("content-type", "").lower()
            judged = is_responses and ("text/event-stream" in ctype or wants_stream)
            await send({"type": "http.response.start", "status": status, "headers": out_headers})
            sink = self.response_sink(
                exchange,
                writer,
                judged=judged,
                status=status,
                headers=shown,
                t_headers=reply.t_headers - exchange.t0,
                reason=reply.reason,
                http_version=reply.http_version,
                client_url=client_url,
            )
            reason, error = await self._pump(flow, reply, send, sink)
            if reason == "transport-error" or (flow.stopping and not flow.gone):
                await _cut(send, watcher, flow)
            elif reason == "eof":
                reply.release()
            t_end = time.monotonic() - exchange.t0
            await sink.settle()  # a burst may still be being judged
            self.end(flow, sink, writer, reason, error, client_url=client_url, t_end=t_end)
        except BaseException:
            if flow.reply is not None:
                flow.reply.abort()
            if exchange.end_reason is None:
                self.end(flow, sink, writer, "interrupted", "the proxy stopped")
            raise
        finally:
            watcher.cancel()
            if not opening.done():
                opening.cancel()

    async def _pump(
        self, flow: Flow, reply: Reply, send: Send, sink: _Sink
    ) -> tuple[str, str | None]:
        """Forward the body as it arrives; returns ``(end reason, error)``."""
        exchange = flow.exchange
        read = reply.read
        feed = sink.feed
        message: dict[str, Any] = {"type": "http.response.body", "body": b"", "more_body": True}
        try:
            while True:
                pieces = await read()
                if not pieces:
                    break
                data = pieces[0][1] if len(pieces) == 1 else b"".join([p for _, p in pieces])
                message["body"] = data
                await send(message)
                exchange.bytes += len(data)
                feed(pieces)
        except UpstreamError as exc:
            if flow.gone:
                return "interrupted", "the client went away"
            if flow.stopping:
                return "interrupted", "the proxy stopped"
            return "transport-error", str(exc)
        flow.complete = True
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return "eof", None

    async def _unreachable(
        self,
        flow: Flow,
        send: Send,
        writer: LazyCaptureWriter | None,
        exc: UpstreamError,
        url: str,
        judged: bool,
        client_url: str,
    ) -> None:
        """No usable answer from the upstream: 502 (504 for a connect timeout) with a JSON
        error naming it, recorded and judged as the client sees it."""
        exchange = flow.exchange
        timeout = isinstance(exc, ConnectError) and "longer than" in str(exc)
        status = 504 if timeout else 502
        what = "cannot reach" if isinstance(exc, ConnectError) else "bad answer from"
        message = f"ssescope proxy: {what} the upstream {redact_url(url)}: {exc}"
        payload = json.dumps(
            {
                "error": {
                    "message": message,
                    "type": "upstream_error",
                    "code": "upstream_unreachable"
                    if isinstance(exc, ConnectError)
                    else "upstream_error",
                    "param": None,
                }
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        exchange.error = message
        flow.complete = True
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload, "more_body": False})
        t = time.monotonic()
        sink = self.response_sink(
            exchange,
            writer,
            judged=judged,
            status=status,
            headers={k.decode(): v.decode() for k, v in headers},
            t_headers=t - exchange.t0,
            reason="Bad Gateway" if status == 502 else "Gateway Timeout",
            http_version="HTTP/1.1",
            client_url=client_url,
        )
        exchange.bytes = len(payload)
        sink.feed([(t, payload)])
        self.end(flow, sink, writer, "connect-error", str(exc), client_url=client_url)

    def _upstream_headers(
        self, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> list[tuple[bytes, bytes]]:
        """The client's headers, minus hop-by-hop ones, with the upstream's Host and the body's
        exact length."""
        # Expect: 100-continue was answered by the proxy's own server (the body is in hand)
        drop = _connection_tokens(headers) | HOP_BY_HOP | {b"host", b"content-length", b"expect"}
        out = [(b"host", self.config.target.host_header)]
        out += [(k, v) for k, v in headers if k.lower() not in drop]
        if body or any(k.lower() == b"content-length" for k, _ in headers):
            out.append((b"content-length", str(len(body)).encode()))
        return out


# -- helpers --------------------------------------------------------------------------------------


def _connection_tokens(headers: list[tuple[bytes, bytes]]) -> set[bytes]:
    """Headers named in ``Connection`` are hop-by-hop too."""
    out: set[bytes] = set()
    for k, v in headers:
        if k.lower() == b"connection":
            out.update(t.strip().lower() for t in v.split(b",") if t.strip())
    return out


def _response_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    drop = _connection_tokens(headers) | HOP_BY_HOP
    chunked = any(k.lower() == b"transfer-encoding" and b"chunked" in v.lower() for k, v in headers)
    if chunked:
        drop = drop | {b"content-length"}  # both given: Transfer-Encoding wins (RFC 9112 §6.3)
    return [(k.lower(), v) for k, v in headers if k.lower() not in drop]


def _body_doc(body: bytes) -> Any:
    """The request body as the capture keeps it: JSON as JSON, else text, else base64."""
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


def _file_name(exchange: Exchange) -> str:
    stamp = time.strftime("%H%M%S", time.localtime(exchange.started))
    slug = _SLUG.sub("-", exchange.path.split("?", 1)[0]).strip("-")[:60] or "root"
    return f"{exchange.id:05d}-{stamp}-{exchange.method}-{slug}.jsonl"


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


async def _watch_disconnect(receive: Receive, flow: Flow) -> None:
    """After the request body, the server's ``receive`` only ever says ``http.disconnect``:
    before the response is complete that means the client went away, so the upstream request
    is closed at once."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            if not flow.complete:
                flow.gone = True
                if flow.reply is not None:
                    flow.reply.abort()
            return


async def _cut(send: Send, watcher: asyncio.Task[None], flow: Flow) -> None:
    """The upstream broke the body off: break the client's connection the same way (no final
    chunk), so the client sees the same cut instead of a clean end.

    ASGI has no message for this; with uvicorn the connection's transport is reachable from
    ``send`` and closed directly, then the disconnect is awaited so that uvicorn does not log
    an incomplete response as an application error. Elsewhere, raising does it."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("the upstream broke the stream off; cutting the client connection")
    transport.close()
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(watcher), 2.0)
