"""Fake inference servers on 127.0.0.1 (port 0): raw asyncio HTTP/1.1 in a background thread.

Routes are mutable while the server runs (a test moves a counter between scrapes); a route may
``hang`` (accept the request and never answer, like a wedged /health) until the server stops.
Every request is counted per path, so tests wait on "N scrapes happened", never on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Route:
    status: int = 200
    body: str | Callable[[], str] = ""
    content_type: str = "text/plain; version=0.0.4; charset=utf-8"
    hang: bool = False


@dataclass
class FakeServer:
    routes: dict[str, Route] = field(default_factory=dict)
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    _stop: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def wait_hits(self, path: str, n: int, timeout: float = 10.0) -> bool:
        """Block until ``path`` was requested ``n`` times (bounded)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.hits[path] >= n, timeout)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        target = head.split(b" ", 2)[1].decode()
        path = target.split("?", 1)[0]
        with self._cond:
            self.hits[path] += 1
            if target != path:
                self.hits[target] += 1
            self._cond.notify_all()
        route = self.routes.get(path, Route(404, "404 page not found"))
        if route.hang:
            assert self._stop is not None
            await self._stop.wait()
            writer.close()
            return
        body = (route.body() if callable(route.body) else route.body).encode()
        writer.write(
            f"HTTP/1.1 {route.status} X\r\nContent-Type: {route.content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        writer.close()

    @contextmanager
    def running(self) -> Iterator[FakeServer]:
        started = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            async with server:
                await self._stop.wait()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        assert started.wait(10), "fake server did not start"
        try:
            yield self
        finally:
            assert self._loop is not None and self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(10)


def free_port() -> int:
    """A port nothing listens on (bound then released), for 'connection refused'."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
