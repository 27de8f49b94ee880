"""The upstream HTTP/1.1 client: one connection pool, raw or decoded bodies through one API.

Why not httpx: a debugging proxy must hand its client the upstream's bytes *unchanged* (every
header, repeats included, no decompression) and know when each piece arrived; the engine wants
*everything one socket read brought* in one piece (one translation batch, one write). httpx
hands over one HTTP chunk per iteration at tens of microseconds each and hides the socket read
boundaries. Closing a response closes its TCP connection at once, which is how a client that
went away cancels the generation upstream.

Scope: HTTP/1.1 over TCP or TLS; Content-Length, chunked and close-delimited bodies; keep-alive
reuse of idle connections per host (a TLS handshake per Codex turn is slow). No proxies, no
redirects, no HTTP/2.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit

from .connection import Connection, Key, Piece
from .decoders import Decoder, UnsupportedEncoding, decoder_for
from .errors import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    ProtocolError,
    RequestAborted,
    UpstreamError,
)

Headers = list[tuple[bytes, bytes]]


class Response:
    """A response whose head has arrived; the body is read with :meth:`pieces` or
    :meth:`chunks`, raw or decoded as the request asked."""

    def __init__(self, client: Client, conn: Connection, *, decode: bool) -> None:
        self._client = client
        self._conn = conn
        self.t_headers = client.clock()
        parser = conn.parser
        self.status: int = parser.get_status_code()
        self.reason = conn.reason.decode("latin-1")
        self.http_version = f"HTTP/{parser.get_http_version()}"
        self.raw_headers: Headers = conn.headers
        self.interim = conn.interim
        """Interim answers that came first (``(status, reason, headers)``), not forwarded: ASGI
        has no way to send one, and a client must never take one for the answer."""
        """Exactly as received: ``(name, value)`` bytes pairs, repeats and order kept."""
        self.headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in conn.headers}
        """Lower-case names; the last of repeated headers wins."""
        self.close_delimited = (
            "content-length" not in self.headers
            and "chunked" not in self.headers.get("transfer-encoding", "").lower()
        )
        self._decoder: Decoder | None = None
        if decode:
            with contextlib.suppress(UnsupportedEncoding):  # handed over as it came
                self._decoder = decoder_for(self.headers.get("content-encoding", ""))
        self.aborted = False
        self.abandoned = False
        self._released = False

    @property
    def complete(self) -> bool:
        """The whole body has been received."""
        return self._conn.complete

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    async def pieces(self) -> list[Piece]:
        """The next body pieces (every socket read since the last call); ``[]`` at the clean
        end. Raises :class:`UpstreamError` when the body is broken off."""
        conn = self._conn
        while True:
            if conn.pieces:
                pieces = conn.take()
                decoder = self._decoder
                if decoder is None:
                    return pieces
                decoded = [(t, data) for t, raw in pieces if (data := decoder(raw))]
                if decoded:
                    return decoded
                continue
            if conn.error is not None:
                raise conn.error
            if conn.complete:
                return []
            if conn.lost:
                if self.aborted:
                    raise RequestAborted("the upstream request was cancelled")
                if self.close_delimited:
                    return []
                raise ConnectionClosed(
                    "the upstream closed the connection in the middle of the body"
                )
            await conn.wait()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives: each piece is everything the socket reads since the last
        one brought, joined."""
        while pieces := await self.pieces():
            yield pieces[0][1] if len(pieces) == 1 else b"".join([p for _, p in pieces])

    def abandon(self) -> None:
        """The upstream misbehaved: :meth:`drain` does nothing, so the connection is not
        kept for reuse unless it already ended cleanly."""
        self.abandoned = True

    async def drain(self, timeout: float = 0.5, limit: int = 1 << 16) -> None:
        """Read what is left of a finished exchange (the ``0\\r\\n\\r\\n`` after ``[DONE]``)
        so that the connection can be reused; gives up quickly (the client is served)."""
        conn = self._conn
        if self.abandoned or conn.complete or conn.lost or conn.error is not None:
            return

        async def rest() -> None:
            size = 0
            async for data in self.chunks():
                size += len(data)
                if size > limit:
                    return

        with contextlib.suppress(TimeoutError, UpstreamError):
            await asyncio.wait_for(rest(), timeout)

    def abort(self) -> None:
        """Close the connection now: the upstream sees it close and can stop generating."""
        if not self._released:
            self.aborted = True
            self._released = True
            self._conn.close()

    def release(self) -> None:
        """The exchange is over: the connection goes back to the pool if it ended cleanly,
        else it is closed at once."""
        if self._released:
            return
        self._released = True
        if self._conn.reusable:
            self._client._release(self._conn)
        else:
            self._conn.close()


def _split(url: str) -> tuple[Key, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectError(f"not an http(s) URL: {url}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, port), target


def host_header(url: str) -> bytes:
    """The ``Host`` header for a request to ``url``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return (host if parts.port is None else f"{host}:{parts.port}").encode("latin-1")


class Client:
    """Opens requests; keeps idle keep-alive connections per ``(scheme, host, port)``."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        max_idle: int = 16,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``clock``: the arrival times of heads and body pieces (tests drive a virtual one)."""
        self.clock = clock
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._ssl = ssl_context
        self._idle: dict[Key, list[Connection]] = {}
        self._conns: set[Connection] = set()

    async def request(
        self,
        method: str,
        url: str,
        headers: Headers,
        body: bytes = b"",
        *,
        decode: bool = False,
        target: str | None = None,
    ) -> Response:
        """Send a request (``headers`` exactly as given: ``Host`` and ``Content-Length``
        included) and wait for the response head; ``decode``: hand over the body decoded
        (``Content-Encoding``); ``target``: the request target when it is not the URL's path
        (``*`` for ``OPTIONS *``). A reused connection the upstream had closed meanwhile is
        retried once on a fresh one."""
        key, path = _split(url)
        target = target or path
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1")]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        payload = b"".join(head) + body
        while True:
            conn, reused = await self._connection(key)
            conn.head_only = method == "HEAD"
            if await self._send(conn, payload):
                response = Response(self, conn, decode=decode)
                if not 100 <= response.status < 600:
                    response.abort()
                    raise ProtocolError(
                        f"the upstream answered with an invalid status {response.status}"
                    )
                return response
            conn.close()
            if reused and not conn.received_any:
                continue  # an idle connection the upstream had closed: once more, fresh
            if conn.error is not None:
                raise conn.error
            raise ConnectionClosed("the upstream closed the connection without answering")

    async def _send(self, conn: Connection, payload: bytes) -> bool:
        """Write the request and wait for the response head; False if none came."""
        assert conn.transport is not None
        try:
            conn.transport.write(payload)
            while not conn.headers_done and conn.error is None and not conn.lost:
                await conn.wait()
        except BaseException:
            conn.close()  # cancelled while waiting: drop the request upstream
            raise
        return conn.headers_done

    async def _connection(self, key: Key) -> tuple[Connection, bool]:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.usable:
                conn.reset()
                return conn, True
        scheme, host, port = key
        ctx = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ctx = self._ssl
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: Connection(key, self.clock),
                    host,
                    port,
                    ssl=ctx,
                    server_hostname=host if ctx else None,
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            raise ConnectTimeout(
                f"connecting to {host}:{port} took longer than {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self._conns.add(conn)  # asyncio sets TCP_NODELAY on TCP transports itself
        return conn, False

    def _release(self, conn: Connection) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    def live_connections(self) -> int:
        """Connections not yet closed (idle pooled ones included): tests use it to prove that
        nothing leaks."""
        self._conns = {c for c in self._conns if not c.lost}
        return len(self._conns)

    def idle_connections(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def close_idle(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()

    def close_all(self) -> None:
        self.close_idle()
        for conn in list(self._conns):
            conn.close()
