"""A real HTTP/1.1 server on 127.0.0.1 that plays a byte script, for live-reading tests.

Written on raw asyncio sockets (not an ASGI framework) because the tests need byte-level control:
CRLF, invalid UTF-8, a body cut without its final chunk, a socket held open to stall.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/event-stream"})
    chunks: list[bytes] = field(default_factory=list)
    chunked: bool = False
    hold: bool = False
    """Keep the socket open after the last chunk (a stall) until the server stops."""
    cut: bool = False
    """With chunked: close without the terminating zero-length chunk (a transport error)."""


@dataclass
class ScriptedServer:
    reply: Reply
    port: int = 0
    requests: list[bytes] = field(default_factory=list)
    _stop: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/responses"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        self.requests.append(head + body)
        r = self.reply
        lines = [f"HTTP/1.1 {r.status} X".encode()]
        headers = dict(r.headers)
        if r.chunked:
            headers["Transfer-Encoding"] = "chunked"
        else:
            headers["Connection"] = "close"
        lines += [f"{k}: {v}".encode() for k, v in headers.items()]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n")
        await writer.drain()
        for chunk in r.chunks:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if r.chunked else chunk)
            await writer.drain()
        if r.hold:
            assert self._stop is not None
            await self._stop.wait()
        if r.chunked and not r.cut:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        writer.close()

    @contextmanager
    def running(self) -> Iterator[ScriptedServer]:
        started = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
            self.port = server.sockets[0].getsockname()[1]
            started.set()
            async with server:
                await self._stop.wait()

        thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
        thread.start()
        started.wait(10)
        try:
            yield self
        finally:
            assert self._loop is not None and self._stop is not None
            self._loop.call_soon_threadsafe(self._stop.set)
            thread.join(10)
