"""The engine's side of the upstream: its chat requests over :mod:`ssescope.http1`, and the one
hook through which a caller watches them (:class:`UpstreamObserver`).

The engine reads bodies decoded (``Accept-Encoding: identity`` is sent, but proxies sometimes
compress anyway) and takes everything one socket read brought in one piece: one translation
batch, one write, at once in a paced stream and batched under a token burst.

**The observer hook.** ``connect --via-engine`` shows the raw chat stream next to the translated
one, and ``proxy --translate`` records the chat request, status, chunks and end beside each
Responses exchange. Both ask :attr:`EngineConfig.observe <ssescope.engine.app.EngineConfig>`,
called with the ASGI scope of each Responses request, for an :class:`UpstreamObserver` of the
chat exchange that request causes: a client over HTTP (the TUI) is told apart by a request
header, an in-process caller (the proxy) passes its observer in the scope under
:data:`OBSERVER_SCOPE_KEY` and sets ``observe=``:func:`observer_in_scope`. Either way the observer is keyed to its Responses request, and
concurrent requests never mix.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from .. import __version__
from ..core.ends import EndReason
from ..http1 import Client, Response, UpstreamError, host_header

OBSERVER_SCOPE_KEY = "ssescope.upstream_observer"
"""An in-process caller of the engine's ASGI endpoint puts its observer here in the scope."""


class UpstreamObserver:
    """Sees one upstream chat exchange of the engine: the request, the response head, every
    chunk as it arrives (decoded, everything one socket read brought) and the end, exactly
    once. The methods do nothing here: subclass what you need. They run inside the engine's
    streaming steps: keep them short, never block."""

    def on_request(self, method: str, url: str, headers: dict[str, str], body: bytes) -> None:
        """Just before the request goes out."""

    def on_response(self, status: int, headers: dict[str, str]) -> None:
        """The response head arrived."""

    def on_chunk(self, data: bytes) -> None:
        """Body bytes as the engine reads them."""

    def on_end(self, reason: EndReason, error: str | None) -> None:
        """The exchange is over: ``eof`` (the chat stream ended), ``transport-error``,
        ``connect-error`` (no answer), or ``interrupted`` (the engine stopped reading: the
        client went away, a timeout, a shutdown)."""


NO_OBSERVER = UpstreamObserver()


class ChunkObserver(UpstreamObserver):
    """An observer that only wants the chunks (the TUI's raw-upstream view)."""

    def __init__(self, on_chunk: Callable[[bytes], None]) -> None:
        self._on_chunk = on_chunk

    def on_chunk(self, data: bytes) -> None:
        self._on_chunk(data)


def observer_in_scope(scope: Mapping[str, Any]) -> UpstreamObserver | None:
    """The hook for in-process callers: the observer they put in the scope."""
    observer = scope.get(OBSERVER_SCOPE_KEY)
    return observer if isinstance(observer, UpstreamObserver) else None


class ChatResponse:
    """An upstream response as the engine reads it, seen by its observer."""

    def __init__(self, response: Response, observer: UpstreamObserver) -> None:
        self.response = response
        self.status = response.status
        self.headers = response.headers
        self._observer = observer
        self._ended = False

    def end(self, reason: EndReason, error: str | None = None) -> None:
        """Tell the observer how the exchange ended (the first call counts)."""
        if not self._ended:
            self._ended = True
            self._observer.on_end(reason, error)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The decoded body as it arrives; the observer sees each piece and the end."""
        on_chunk = self._observer.on_chunk
        next_pieces = self.response.pieces  # one await per socket read, no generator between
        try:
            while pieces := await next_pieces():
                data = pieces[0][1] if len(pieces) == 1 else b"".join([p for _, p in pieces])
                on_chunk(data)
                yield data
        except UpstreamError as exc:
            self.end(EndReason.TRANSPORT_ERROR, str(exc))
            raise
        self.end(EndReason.EOF)

    async def read(self, limit: int) -> bytes:
        """The whole body, up to ``limit`` bytes (error bodies, JSON answers)."""
        out = bytearray()
        try:
            async for data in self.chunks():
                out += data
                if len(out) >= limit:
                    break
        except UpstreamError:
            pass
        return bytes(out[:limit])

    def abandon(self) -> None:
        self.response.abandon()

    async def drain(self) -> None:
        await self.response.drain()

    def close(self) -> None:
        """Release the connection (pooled if the exchange finished cleanly); an exchange the
        engine stopped reading before its end is ``interrupted``."""
        self.end(EndReason.EOF if self.response.complete else EndReason.INTERRUPTED)
        self.response.release()


class ChatClient:
    """The engine's upstream client: its request headers, decoded bodies, the observer."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        observer: UpstreamObserver = NO_OBSERVER,
    ) -> ChatResponse:
        """Send a request and wait for the status line and headers."""
        sent = {
            "User-Agent": f"ssescope-engine/{__version__}",
            "Accept": "text/event-stream, application/json",
            "Accept-Encoding": "identity",
        }
        if body or method == "POST":
            sent["Content-Type"] = "application/json"
        sent.update((k, v) for k, v in (headers or {}).items() if "\n" not in f"{k}{v}")
        observer.on_request(method, url, sent, body)
        wire = [(b"host", host_header(url))]
        wire += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in sent.items()]
        if body or method == "POST":
            wire.append((b"content-length", str(len(body)).encode()))
        try:
            response = await self.client.request(method, url, wire, body, decode=True)
        except UpstreamError as exc:
            observer.on_end(EndReason.CONNECT_ERROR, str(exc))
            raise
        except BaseException as exc:
            observer.on_end(EndReason.INTERRUPTED, str(exc) or None)
            raise
        observer.on_response(response.status, response.headers)
        return ChatResponse(response, observer)

    async def post_json(
        self, url: str, body: Any, headers: dict[str, str], observer: UpstreamObserver
    ) -> ChatResponse:
        """``POST`` a JSON document (the chat request)."""
        payload = json.dumps(body, ensure_ascii=False).encode()
        return await self.request("POST", url, body=payload, headers=headers, observer=observer)

    def live_connections(self) -> int:
        return self.client.live_connections()

    async def aclose(self) -> None:
        self.client.close_idle()
