"""One scriptable fake HTTP/1.1 server on 127.0.0.1 for every test that needs a peer on a socket.

Written on raw asyncio streams, not an ASGI framework, because the tests need byte-level control:
CRLF, invalid UTF-8, a body cut without its final chunk, a socket held open to stall, a
connection dropped mid-body. A test answers each request with a *handler* (an ``async`` function
of a :class:`Request`), or picks a ready-made one: :class:`Script` (a byte-exact reply with
pauses, chunking, a cut or a stall) or :class:`Route` (a static or computed body). Handlers may
be given per path (``routes``); everything requested is recorded and counted, so tests wait on
"N requests arrived", never on time.

The server runs in the test's event loop (``async with FakeServer(...)``) or, for synchronous
tests and code that runs its own loop, in a background thread (``with server.running():``).
Connections are kept alive between requests, as real inference servers do, until the peer
closes them; when the peer hangs up mid-answer the handler is cancelled (it "stops generating").
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl as ssl_module
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

__all__ = ["FakeServer", "Handler", "Request", "Route", "Script"]


@dataclass
class Request:
    """One request as the server read it, and the means to answer it."""

    method: str
    path: str
    """The request target as sent (path and query)."""
    head: bytes
    """The request line and headers, up to and including the blank line."""
    body: bytes
    writer: asyncio.StreamWriter
    stopping: asyncio.Event
    """Set when the server shuts down (what a held or hung answer waits for)."""
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the client closed this request's connection."""

    @property
    def path_without_query(self) -> str:
        return self.path.split("?", 1)[0]

    @property
    def raw(self) -> bytes:
        """The request exactly as it arrived."""
        return self.head + self.body

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def headers(self) -> list[tuple[str, str]]:
        """The header lines in order, names lower-cased."""
        out = []
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            if line:
                name, _, value = line.partition(":")
                out.append((name.strip().lower(), value.strip()))
        return out

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers() if k == name.lower()), None)

    async def write(self, data: bytes) -> None:
        """Raw bytes on the socket, no framing."""
        self.writer.write(data)
        await self.writer.drain()

    async def start(
        self, status: int = 200, ctype: str = "text/event-stream", **extra: str
    ) -> None:
        """A chunked response head; ``extra`` headers are spelled with ``_`` for ``-``."""
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", "Transfer-Encoding: chunked"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
        await self.write(("\r\n".join(lines) + "\r\n\r\n").encode())

    async def send(self, data: bytes) -> None:
        """One chunk (nothing for empty data: a zero-length chunk would end the body)."""
        if data:
            await self.write(b"%x\r\n%s\r\n" % (len(data), data))

    async def end(self) -> None:
        """The terminating zero-length chunk."""
        await self.write(b"0\r\n\r\n")

    async def stream(self, frames: Sequence[bytes]) -> None:
        """A whole chunked event stream, one chunk per frame."""
        await self.start()
        for frame in frames:
            await self.send(frame)
        await self.end()

    async def reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        """A complete response with a Content-Length."""
        head = f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
        await self.write(head.encode() + b"\r\n" + body)

    async def hold(self) -> None:
        """Keep the connection open, saying nothing more, until the server stops."""
        await self.stopping.wait()

    def close(self) -> None:
        self.writer.close()


Handler = Callable[[Request], Awaitable[None]]


@dataclass
class Script:
    """A byte-exact reply: the status line and headers, then ``chunks`` as written (a float in
    ``chunks`` is a pause of that many seconds). Without ``chunked`` the body is delimited by
    closing the connection."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    chunks: Sequence[bytes | float] = field(default_factory=list)
    chunked: bool = False
    hold: bool = False
    """Keep the socket open after the last chunk (a stall) until the server stops."""
    cut: bool = False
    """With chunked: close without the terminating zero-length chunk (a transport error)."""

    async def __call__(self, request: Request) -> None:
        headers = dict(self.headers)
        if self.chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Connection"] = "close"
        lines = [f"HTTP/1.1 {self.status} X", *(f"{k}: {v}" for k, v in headers.items())]
        await request.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        for step in self.chunks:
            if isinstance(step, float):
                await asyncio.sleep(step)
            elif self.chunked:
                await request.send(step)
            else:
                await request.write(step)
        if self.hold:
            await request.hold()
        if self.chunked and not self.cut:
            await request.end()
        request.close()


@dataclass
class Route:
    """A complete answer with a Content-Length, the body computed per request if callable; or
    with ``hang``, an accepted request never answered (like a wedged /health)."""

    status: int = 200
    body: str | Callable[[], str] = ""
    content_type: str = "text/plain; version=0.0.4; charset=utf-8"
    hang: bool = False

    async def __call__(self, request: Request) -> None:
        if self.hang:
            await request.hold()
            request.close()
            return
        body = (self.body() if callable(self.body) else self.body).encode()
        await request.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        request.close()


NOT_FOUND = Route(404, "404 page not found")


class FakeServer:
    """An HTTP/1.1 server on 127.0.0.1 (``port`` 0: one from the OS). ``handler`` answers every
    request whose path has no entry in ``routes`` (404 without either); routes may change while
    the server runs."""

    def __init__(
        self,
        handler: Handler | None = None,
        routes: Mapping[str, Handler] | None = None,
        *,
        port: int = 0,
        ssl: ssl_module.SSLContext | None = None,
        base_path: str = "",
    ) -> None:
        self.handler = handler
        self.routes: dict[str, Handler] = dict(routes or {})
        self.port = port
        self.ssl = ssl
        self.base_path = base_path
        """Appended to the origin in :attr:`url` (``/v1`` for an API base URL)."""
        self.requests: list[Request] = []
        self.hits: Counter[str] = Counter()
        """Requests per path, and per full target when it has a query."""
        self.connections = 0
        """Connections accepted so far."""
        self.open_connections = 0
        self.arrived = asyncio.Event()
        """Set once a request has arrived."""
        self.changed = asyncio.Event()
        """Set whenever a request arrives or a connection opens or closes."""
        self._count = threading.Condition()
        self._server: asyncio.Server | None = None
        self._stopping = asyncio.Event()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def origin(self) -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.origin + self.base_path

    def set(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    async def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (in the server's loop) until ``predicate()`` holds, re-checked whenever a
        request arrives or a connection opens or closes."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    def wait_hits(self, path: str, n: int, timeout: float = 10.0) -> bool:
        """Block (from any thread) until ``path`` was requested ``n`` times (bounded)."""
        with self._count:
            return self._count.wait_for(lambda: self.hits[path] >= n, timeout)

    def _notify(self) -> None:
        self.changed.set()
        with self._count:
            self._count.notify_all()

    def _record(self, request: Request) -> None:
        self.requests.append(request)
        with self._count:
            self.hits[request.path_without_query] += 1
            if request.path != request.path_without_query:
                self.hits[request.path] += 1
        self.arrived.set()
        self._notify()

    async def _read_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, early: bytes
    ) -> Request | None:
        try:
            head = early + await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        method, target = head.split(b" ", 2)[:2]
        return Request(method.decode(), target.decode(), head, body, writer, self._stopping)

    async def _answer(self, reader: asyncio.StreamReader, request: Request) -> bytes | None:
        """Run the handler while watching the socket; returns the first byte of a next request
        that arrived meanwhile (b"" if none), or None when the client hung up."""
        handler = self.routes.get(request.path_without_query) or self.handler or NOT_FOUND
        watcher = asyncio.create_task(reader.read(1))
        handling: asyncio.Future[None] = asyncio.ensure_future(handler(request))
        racing: list[asyncio.Future[Any]] = [watcher, handling]
        await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
        if watcher.done() and (watcher.exception() is not None or not watcher.result()):
            request.closed.set()  # EOF or reset: the client hung up, stop "generating"
            handling.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await handling
        if request.closed.is_set() or request.writer.is_closing():
            watcher.cancel()
            return None
        if not watcher.done():
            watcher.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await watcher
            return b""
        if watcher.exception() is not None or not watcher.result():
            return None
        return watcher.result()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self._writers.add(writer)
        self._notify()
        request: Request | None = None
        early: bytes | None = b""
        try:
            while early is not None:
                request = await self._read_request(reader, writer, early)
                if request is None:
                    return
                self._record(request)
                early = await self._answer(reader, request)
        finally:
            self.open_connections -= 1
            self._writers.discard(writer)
            if request is not None:
                request.closed.set()
            writer.close()
            self._notify()

    async def __aenter__(self) -> FakeServer:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, ssl=self.ssl
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._stopping.set()
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)

    @contextmanager
    def running(self) -> Iterator[FakeServer]:
        """Serve from a background thread (for synchronous tests) until the block ends."""
        started = threading.Event()
        loops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

        async def main() -> None:
            done = asyncio.Event()
            loops.append((asyncio.get_running_loop(), done))
            async with self:
                started.set()
                await done.wait()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        assert started.wait(10), "the fake server did not start"
        try:
            yield self
        finally:
            loop, done = loops[0]
            loop.call_soon_threadsafe(done.set)
            thread.join(10)
