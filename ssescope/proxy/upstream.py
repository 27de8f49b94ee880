"""The proxy's HTTP/1.1 client: raw bytes in both directions, arrival time per socket read.

Why not httpx (or the engine's client): a debugging proxy must hand the client the upstream's
bytes *unchanged* (no decompression, every header including repeated ones) and know when each
piece arrived. httpx yields one HTTP chunk per iteration at tens of microseconds each and hides
the socket read boundaries; the engine's client decompresses and rewrites the request headers.
This one is an asyncio protocol around httptools' C parser: every socket read becomes one
``(arrival time, body bytes)`` piece, handed over the moment it is parsed, and closing a reply
closes the TCP connection at once, which is how a client that went away cancels the upstream.

Scope: HTTP/1.1 over TCP or TLS; Content-Length, chunked and close-delimited bodies; keep-alive
reuse of idle connections (a TLS handshake per Codex turn is slow). No redirects, no HTTP/2.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from urllib.parse import urlsplit

import httptools

from ..http1 import ResponseProtocol

PAUSE_ABOVE = 1 << 20
"""Stop reading the upstream socket when this much body waits unforwarded (TCP back-pressure
upstream while the client is slow)."""

Piece = tuple[float, bytes]
"""Body bytes of one socket read, with their arrival time (``time.monotonic()``)."""


class UpstreamError(Exception):
    """The upstream broke the HTTP exchange (or could not be reached: :class:`ConnectError`)."""


class ConnectError(UpstreamError):
    """No connection to the upstream (refused, unresolvable, timed out)."""


class _Conn(ResponseProtocol):
    """One upstream connection; the proxy takes raw pieces with their arrival times."""

    def __init__(self, key: tuple[str, str, int]) -> None:
        super().__init__()
        self.key = key
        self.reset()

    def reset(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.start_response()
        self.reason = b""
        self.pieces: list[Piece] = []
        self.pending = 0
        self._body: list[bytes] = []
        self.error: UpstreamError | None = None
        self.head_only = False

    def data_received(self, data: bytes) -> None:
        t = time.monotonic()
        self.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.error = UpstreamError("the upstream switched protocols (upgrade), not proxied")
        except httptools.HttpParserError as exc:
            self.error = UpstreamError(f"the upstream sent invalid HTTP: {exc}")
        body = self._body
        if body:
            piece = body[0] if len(body) == 1 else b"".join(body)
            body.clear()
            self.pieces.append((t, piece))
            self.pending += len(piece)
            if self.pending > PAUSE_ABOVE:
                self.pause_reading()
        if self.error is not None and self.transport is not None:
            self.transport.close()
        self._wake()

    def on_status(self, status: bytes) -> None:
        self.reason += status

    def on_headers_complete(self) -> None:
        self.headers_done = True
        if self.head_only:
            self.complete = True
            self._wake()

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def take(self) -> list[Piece]:
        pieces = self.pieces
        self.pieces = []
        self.pending = 0
        self.resume_reading()
        return pieces

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
        self._wake()


class Reply:
    """An upstream response whose head has arrived; the body is read with :meth:`read`."""

    def __init__(self, client: UpstreamClient, conn: _Conn, t_headers: float) -> None:
        self._client = client
        self._conn = conn
        self.t_headers = t_headers
        parser = conn.parser
        self.status: int = parser.get_status_code()
        self.reason = conn.reason.decode("latin-1")
        self.http_version = f"HTTP/{parser.get_http_version()}"
        self.headers = conn.headers
        """Exactly as received: ``(name, value)`` bytes pairs, repeats and order kept."""
        names = {k.lower(): v for k, v in conn.headers}
        self.close_delimited = (
            b"content-length" not in names
            and b"chunked" not in names.get(b"transfer-encoding", b"").lower()
        )
        self.aborted = False
        self._released = False

    def header(self, name: str) -> str | None:
        want = name.lower().encode("latin-1")
        for k, v in self.headers:
            if k.lower() == want:
                return v.decode("latin-1")
        return None

    async def read(self) -> list[Piece]:
        """The next body pieces (every socket read since the last call); ``[]`` at the clean end.
        Raises :class:`UpstreamError` when the upstream breaks the body off."""
        conn = self._conn
        while True:
            if conn.pieces:
                return conn.take()
            if conn.error is not None:
                raise conn.error
            if conn.complete:
                return []
            if conn.lost:
                if self.aborted:
                    raise UpstreamError("the upstream request was cancelled")
                if self.close_delimited:
                    return []
                raise UpstreamError("the upstream closed the connection in the middle of the body")
            await conn.wait()

    def abort(self) -> None:
        """Close the upstream connection now (the client went away, or the proxy stops): the
        upstream sees the TCP connection close and can stop generating."""
        if not self._released:
            self.aborted = True
            self._released = True
            self._conn.close()

    def release(self) -> None:
        """The exchange is over: keep the connection for the next request if it is clean."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if (
            conn.complete
            and not conn.pieces
            and conn.keep_alive
            and conn.usable
            and not conn.head_only
        ):
            self._client._release(conn)
        else:
            conn.close()


class UpstreamClient:
    """Opens requests to the upstream; keeps idle keep-alive connections per host."""

    def __init__(
        self,
        *,
        connect_timeout: float = 10.0,
        max_idle: int = 16,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.max_idle = max_idle
        self._ssl = ssl_context
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._conns: set[_Conn] = set()

    async def request(
        self, method: str, url: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Reply:
        """Send a request (``headers`` exactly as given, ``Host`` and ``Content-Length``
        included) and wait for the response head. A reused connection that turns out to have
        been closed by the upstream is retried once on a fresh one."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConnectError(f"not an http(s) URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key = (parts.scheme, parts.hostname, port)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1")]
        for name, value in headers:
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n")
        payload = b"".join(head) + body
        while True:
            conn, reused = await self._connection(key)
            conn.head_only = method == "HEAD"
            assert conn.transport is not None
            try:
                conn.transport.write(payload)
                while not conn.headers_done and conn.error is None and not conn.lost:
                    await conn.wait()
            except BaseException:
                conn.close()  # cancelled while waiting: drop the request upstream
                raise
            if conn.headers_done:
                return Reply(self, conn, time.monotonic())
            conn.close()
            if reused and not conn.received_any:
                continue  # an idle connection the upstream had closed: once more, on a fresh one
            if conn.error is not None:
                raise conn.error
            raise UpstreamError("the upstream closed the connection without answering")

    async def _connection(self, key: tuple[str, str, int]) -> tuple[_Conn, bool]:
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
                    lambda: _Conn(key), host, port, ssl=ctx, server_hostname=host if ctx else None
                ),
                self.connect_timeout,
            )
        except TimeoutError:
            raise ConnectError(
                f"connecting to {host}:{port} took longer than {self.connect_timeout:g} s"
            ) from None
        except OSError as exc:
            raise ConnectError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        self._conns.add(conn)  # asyncio sets TCP_NODELAY on TCP transports itself
        return conn, False

    def _release(self, conn: _Conn) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) < self.max_idle:
            idle.append(conn)
        else:
            conn.close()

    def live_connections(self) -> int:
        """Upstream connections not yet closed (idle pooled ones included): tests use it to
        prove that nothing leaks."""
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
