"""A lean HTTP/1.1 client for the upstream chat stream (asyncio protocol + httptools' C parser).

Why not httpx here: httpx hands over one HTTP chunk per iteration even when a socket read brought
hundreds, at ~35 µs of parsing each, so under a token burst every chat chunk cost a parse, a
translation and a socket write of its own. This client gives the engine *everything one socket
read brought* in one piece (one translation batch, one write), at once in a paced stream and
batched under load, and closing it closes the TCP connection immediately, which is how a client
that went away cancels the generation upstream.

Scope: what upstream chat servers need. HTTP/1.1 over TCP or TLS, Content-Length, chunked and
close-delimited bodies, gzip/deflate bodies (``Accept-Encoding: identity`` is sent, but proxies
sometimes compress anyway), keep-alive reuse of idle connections (a TLS handshake per Codex turn
is slow). No proxies, no redirects, no HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import zlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httptools

from .. import __version__
from ..http1 import ResponseProtocol

PAUSE_ABOVE = 1 << 20
"""Stop reading the socket when this much body waits unconsumed (TCP back-pressure upstream)."""


class UpstreamError(Exception):
    """The upstream could not be reached or broke the HTTP exchange."""


class UpstreamConnectError(UpstreamError):
    pass


class UpstreamTimeout(UpstreamConnectError):
    pass


class _Protocol(ResponseProtocol):
    """One connection; the engine takes everything one socket read brought, in one piece."""

    def __init__(self) -> None:
        super().__init__()
        self.parser = httptools.HttpResponseParser(self)
        self.start_response()
        self.body: list[bytes] = []
        self.body_size = 0
        self.error: Exception | None = None

    def data_received(self, data: bytes) -> None:
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = UpstreamError("the upstream tried to upgrade the connection")
        except httptools.HttpParserError as exc:
            self.error = UpstreamError(f"the upstream sent invalid HTTP: {exc}")
        if self.error is not None and self.transport is not None:
            self.transport.close()
        if self.body_size > PAUSE_ABOVE:
            self.pause_reading()
        self._wake()

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)
        self.body_size += len(body)

    def take(self) -> bytes:
        body = self.body
        data = body[0] if len(body) == 1 else b"".join(body)
        body.clear()
        self.body_size = 0
        self.resume_reading()
        return data


class UpstreamResponse:
    """A response whose body has not been read yet."""

    def __init__(self, client: UpstreamClient, key: tuple[str, str, int], proto: _Protocol) -> None:
        self._client = client
        self._key = key
        self._proto = proto
        self.status = proto.parser.get_status_code()
        self.headers: dict[str, str] = {}
        for name, value in proto.headers:
            self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        encoding = self.headers.get("content-encoding", "").lower()
        self._decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._decoder = zlib.decompressobj()
        self._close_delimited = (
            "content-length" not in self.headers
            and "chunked" not in self.headers.get("transfer-encoding", "").lower()
        )
        self._closed = False
        self._abandoned = False

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives: each piece is everything one socket read brought."""
        proto = self._proto
        while True:
            if proto.body:
                data = proto.take()
                if self._decoder is not None:
                    data = self._decoder.decompress(data)
                if data:
                    yield data
                continue
            if proto.error is not None:
                raise proto.error
            if proto.complete:
                return
            if proto.lost:
                if self._close_delimited:
                    return
                raise UpstreamError("the upstream closed the connection in the middle of the body")
            await proto.wait()

    async def read(self, limit: int) -> bytes:
        """The whole body, up to ``limit`` bytes (for error bodies and JSON answers)."""
        out = bytearray()
        with contextlib.suppress(UpstreamError):
            async for data in self.chunks():
                out += data
                if len(out) >= limit:
                    break
        return bytes(out[:limit])

    def abandon(self) -> None:
        """Never reuse this connection (the upstream misbehaved): :meth:`drain` does nothing."""
        self._abandoned = True

    async def drain(self, timeout: float = 0.5, limit: int = 1 << 16) -> None:
        """Read what is left of a finished exchange (the ``0\r\n\r\n`` after ``[DONE]``), so
        that the connection can be reused; gives up quickly, since the client is already
        served by then."""
        proto = self._proto
        if self._abandoned or proto.complete or proto.lost or proto.error is not None:
            return

        async def rest() -> None:
            size = 0
            async for data in self.chunks():
                size += len(data)
                if size > limit:
                    return

        with contextlib.suppress(TimeoutError, UpstreamError):
            await asyncio.wait_for(rest(), timeout)

    async def aclose(self) -> None:
        """Release the connection: back to the pool if the exchange finished cleanly, else
        closed at once (the upstream sees the client go and stops generating)."""
        if self._closed:
            return
        self._closed = True
        proto = self._proto
        if proto.complete and not proto.body and proto.usable and proto.keep_alive:
            self._client._release(self._key, proto)
        elif proto.transport is not None:
            proto.transport.close()


class UpstreamClient:
    """Opens streamed requests; keeps idle keep-alive connections per host."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        max_idle: int = 8,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._idle: dict[tuple[str, str, int], list[_Protocol]] = {}
        self._ssl = ssl_context
        self.open_connections: set[_Protocol] = set()

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> UpstreamResponse:
        """Send a request and wait for the status line and headers."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UpstreamConnectError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}",
            f"User-Agent: ssescope-engine/{__version__}",
            "Accept: text/event-stream, application/json",
            "Accept-Encoding: identity",
        ]
        if body or method == "POST":
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items() if "\n" not in f"{k}{v}"]
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        while True:
            proto, reused = await self._connection(key)
            assert proto.transport is not None
            try:
                proto.transport.write(payload)
                while not proto.headers_done and proto.error is None and not proto.lost:
                    await proto.wait()
            except BaseException:
                proto.transport.close()  # cancelled while waiting: drop the request upstream
                raise
            if proto.headers_done:
                return UpstreamResponse(self, key, proto)
            proto.transport.close()
            if reused and not proto.received_any:
                continue  # an idle connection the server had closed: try a fresh one
            if proto.error is not None:
                raise proto.error
            raise UpstreamError("the upstream closed the connection without answering")

    async def _connection(self, key: tuple[str, str, int]) -> tuple[_Protocol, bool]:
        idle = self._idle.get(key)
        while idle:
            proto = idle.pop()
            if proto.usable:
                proto.parser = httptools.HttpResponseParser(proto)
                proto.start_response()
                return proto, True
        scheme, host, port = key
        ctx = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ctx = self._ssl
        loop = asyncio.get_running_loop()
        try:
            _, proto = await asyncio.wait_for(
                loop.create_connection(
                    _Protocol, host, port, ssl=ctx, server_hostname=host if ctx else None
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            raise UpstreamTimeout(
                f"connecting to {host}:{port} took longer than {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise UpstreamConnectError(
                f"cannot connect to {host}:{port}: {exc.strerror or exc}"
            ) from None
        self.open_connections.add(proto)  # asyncio sets TCP_NODELAY on TCP transports itself
        return proto, False

    def _release(self, key: tuple[str, str, int], proto: _Protocol) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.max_idle:
            idle.append(proto)
        elif proto.transport is not None:
            proto.transport.close()

    def live_connections(self) -> int:
        """Connections not yet closed (pooled idle ones included)."""
        self.open_connections = {p for p in self.open_connections if not p.lost}
        return len(self.open_connections)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for proto in idle:
                if proto.transport is not None:
                    proto.transport.close()
        self._idle.clear()
