"""The forwarding core: every request to the upstream, every byte back the moment it arrives.

It knows nothing of recording or judging: it reports the exchange to its :class:`~.flow.Flow`
(response head, each body piece right after it was written to the client, the end), whose
parts do the rest after the write. One client write per upstream socket read (nothing
buffers), the upstream's status and headers go out as they came, and a client that disconnects
closes the upstream connection at once (while waiting for the upstream's headers, too).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ..asgi import Receive, Send, send_error, until_disconnect
from ..core.capture import redact_url
from ..core.ends import EndReason
from ..http1 import Client, ConnectError, ConnectTimeout, Response, UpstreamError
from . import wire
from .flow import Flow


async def forward(
    client: Client, flow: Flow, receive: Receive, send: Send, upstream_headers: wire.Headers
) -> None:
    """Forward one exchange and report it to ``flow``."""
    watcher = asyncio.create_task(_watch_disconnect(receive, flow))
    try:
        reply = await _open(client, flow, watcher, send, upstream_headers)
        if reply is not None:
            await _relay(flow, reply, send, watcher)
    except BaseException:
        if flow.reply is not None:
            flow.reply.abort()
        flow.end(EndReason.INTERRUPTED, "the proxy stopped")
        raise
    finally:
        watcher.cancel()


async def _open(
    client: Client, flow: Flow, watcher: asyncio.Task[None], send: Send, headers: wire.Headers
) -> Response | None:
    """The upstream's response head, or None when the exchange already ended (the client
    went away first, the upstream could not be reached)."""
    request = flow.request
    target = "*" if request.path == "*" else None  # OPTIONS *: the asterisk form, upstream too
    opening = asyncio.create_task(
        client.request(request.method, request.url, headers, request.body, target=target)
    )
    try:
        await asyncio.wait({opening, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if not opening.done() or flow.stopping:
            opening.cancel()  # closes the half-open upstream request
            with contextlib.suppress(BaseException):
                await opening
            flow.end(EndReason.INTERRUPTED, "the client went away first")
            return None
        try:
            reply = opening.result()
        except UpstreamError as exc:
            await unreachable(flow, send, exc)
            return None
    finally:
        if not opening.done():
            opening.cancel()
    flow.reply = reply
    if flow.gone or flow.stopping:
        reply.abort()
        flow.end(EndReason.INTERRUPTED)
        return None
    return reply


async def _relay(flow: Flow, reply: Response, send: Send, watcher: asyncio.Task[None]) -> None:
    """The response, head then body, as it arrives."""
    out_headers = wire.response_headers(reply.raw_headers)
    shown = wire.shown(out_headers)
    ctype = shown.get("content-type", "").lower()
    request = flow.request
    await send({"type": "http.response.start", "status": reply.status, "headers": out_headers})
    flow.respond(
        reply.status,
        shown,
        t=reply.t_headers,
        responses_stream=request.is_responses
        and ("text/event-stream" in ctype or request.wants_stream),
        reason=reply.reason,
        http_version=reply.http_version,
    )
    reason, error = await _pump(flow, reply, send)
    if reason == EndReason.TRANSPORT_ERROR or (flow.stopping and not flow.gone):
        await _cut(send, watcher)
    elif reason == EndReason.EOF:
        reply.release()
    t_end = flow.exchange.clock()
    await flow.settle()  # a burst may still be being processed
    flow.end(reason, error, t_end - flow.exchange.t0)


async def _pump(flow: Flow, reply: Response, send: Send) -> tuple[EndReason, str | None]:
    """Forward the body as it arrives; returns ``(end reason, error)``."""
    exchange = flow.exchange
    read = reply.pieces
    feed = flow.pipeline.feed
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
            return EndReason.INTERRUPTED, "the client went away"
        if flow.stopping:
            return EndReason.INTERRUPTED, "the proxy stopped"
        return EndReason.TRANSPORT_ERROR, str(exc)
    flow.complete = True
    await send({"type": "http.response.body", "body": b"", "more_body": False})
    return EndReason.EOF, None


async def unreachable(flow: Flow, send: Send, exc: UpstreamError) -> None:
    """No usable answer from the upstream: 502 (504 for a connect timeout) with a JSON error
    naming it, reported as the client sees it."""
    connect = isinstance(exc, ConnectError)
    status = 504 if isinstance(exc, ConnectTimeout) else 502
    what = "cannot reach" if connect else "bad answer from"
    message = f"ssescope proxy: {what} the upstream {redact_url(flow.request.url)}: {exc}"
    flow.exchange.error = message
    flow.complete = True
    code = "upstream_unreachable" if connect else "upstream_error"
    payload = await send_error(send, status, message, "upstream_error", code)
    t = flow.exchange.clock()
    flow.respond(
        status,
        {"content-type": "application/json", "content-length": str(len(payload))},
        t=t,
        responses_stream=flow.request.is_responses and flow.request.wants_stream,
        reason="Bad Gateway" if status == 502 else "Gateway Timeout",
    )
    flow.exchange.bytes = len(payload)
    flow.feed([(t, payload)])
    flow.end(EndReason.CONNECT_ERROR, str(exc))


async def _watch_disconnect(receive: Receive, flow: Flow) -> None:
    """A disconnect before the response is complete means the client went away, so the
    upstream request is closed at once."""
    await until_disconnect(receive)
    if not flow.complete:
        flow.gone = True
        if flow.reply is not None:
            flow.reply.abort()


async def _cut(send: Send, watcher: asyncio.Task[None]) -> None:
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
