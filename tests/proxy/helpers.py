"""Shared helpers for the proxy tests: the proxy in the test's event loop, a fake upstream whose
every step the test controls (on a real socket), and a client that keeps the raw bytes."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ssescope.proxy.app import ProxyApp
from ssescope.proxy.config import ProxyConfig
from ssescope.proxy.hub import Exchange, ExchangeHub
from ssescope.proxy.serve import serve_proxy


@dataclass
class Proxy:
    url: str
    hub: ExchangeHub
    app: ProxyApp
    config: ProxyConfig

    @property
    def record_dir(self) -> Path:
        assert self.config.record_dir is not None
        return Path(self.config.record_dir)

    def only(self) -> Exchange:
        (exchange,) = self.hub.snapshot()
        return exchange

    async def ended(self, count: int = 1, timeout: float = 10.0) -> list[Exchange]:
        """Wait until ``count`` exchanges have ended; returns them in arrival order."""
        await self.hub.wait_for(
            lambda: sum(1 for e in self.hub.exchanges if e.end_reason) >= count, timeout
        )
        return [e for e in self.hub.exchanges if e.end_reason]


@contextlib.asynccontextmanager
async def running_proxy(
    upstream: str, tmp_path: Path | None = None, **config: Any
) -> AsyncIterator[Proxy]:
    """The proxy on 127.0.0.1:0 in the test's loop, recording under ``tmp_path/captures``."""
    record_dir = str(tmp_path / "captures") if tmp_path is not None else None
    cfg = ProxyConfig(upstream=upstream, port=0, record_dir=record_dir, **config)
    hub = ExchangeHub()
    apps: list[ProxyApp] = []
    async with serve_proxy(cfg, hub, app_out=apps) as url:
        yield Proxy(url, hub, apps[0], cfg)


# -- a fake upstream ---------------------------------------------------------------------------------


@dataclass
class Request:
    method: str
    path: str
    head: bytes
    body: bytes
    writer: asyncio.StreamWriter
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the proxy closed this request's connection."""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def headers(self) -> list[tuple[str, str]]:
        out = []
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            if line:
                name, _, value = line.partition(":")
                out.append((name.strip().lower(), value.strip()))
        return out

    def header(self, name: str) -> str | None:
        for k, v in self.headers():
            if k == name.lower():
                return v
        return None

    async def start(
        self, status: int = 200, ctype: str = "text/event-stream", **extra: str
    ) -> None:
        lines = [f"HTTP/1.1 {status} X", f"Content-Type: {ctype}", "Transfer-Encoding: chunked"]
        lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        self.writer.write(b"%x\r\n%s\r\n" % (len(data), data))
        await self.writer.drain()

    async def end(self) -> None:
        self.writer.write(b"0\r\n\r\n")
        await self.writer.drain()

    async def reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await self.writer.drain()


Handler = Callable[[Request], Awaitable[None]]


@dataclass
class Upstream:
    """An HTTP/1.1 server on 127.0.0.1:0 in the test's loop. ``handler`` answers each request;
    the connection then stays open for the next one (keep-alive) until the proxy closes it."""

    handler: Handler
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    """Connections accepted so far."""
    open_connections: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def wait(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked whenever a request arrives or a
        connection opens or closes."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_connections += 1
        self.changed.set()
        request: Request | None = None
        early = b""  # the first byte of the next request, if the close watcher read it
        try:
            while True:
                try:
                    head = early + await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                method, path = head.split(b" ", 2)[:2]
                request = Request(method.decode(), path.decode(), head, body, writer)
                self.requests.append(request)
                self.changed.set()
                watcher = asyncio.create_task(reader.read(1))
                handling = asyncio.create_task(self.handler(request))
                await asyncio.wait({watcher, handling}, return_when=asyncio.FIRST_COMPLETED)
                if watcher.done() and not watcher.cancelled() and watcher.exception() is None:
                    early = watcher.result()
                    if not early:  # EOF: the proxy hung up; stop "generating"
                        request.closed.set()
                        handling.cancel()
                with contextlib.suppress(BaseException):
                    await handling
                if request.closed.is_set():
                    return
                if not watcher.done():
                    watcher.cancel()
                    with contextlib.suppress(BaseException):
                        await watcher
                    early = b""
                elif watcher.exception() is not None:
                    request.closed.set()
                    return
                else:
                    early = watcher.result()
                    if not early:
                        request.closed.set()
                        return
        finally:
            self.open_connections -= 1
            if request is not None:
                request.closed.set()
            writer.close()
            self.changed.set()

    async def __aenter__(self) -> Upstream:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)


# -- the client side ---------------------------------------------------------------------------------


@dataclass
class Got:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    error: str | None = None
    """How the body read ended if it did not end cleanly (httpx's exception name)."""

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


async def fetch(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> Got:
    """One request; the raw body (transfer coding removed, nothing decoded), and whether the
    body ended cleanly."""
    async with (
        httpx.AsyncClient(timeout=60) as client,
        client.stream(method, url, json=json_body, content=content, headers=headers) as response,
    ):
        body = bytearray()
        error = None
        try:
            async for chunk in response.aiter_raw():
                body += chunk
        except httpx.HTTPError as exc:
            error = type(exc).__name__
        return Got(response.status_code, list(response.headers.multi_items()), bytes(body), error)


def sse(obj: dict[str, Any]) -> bytes:
    return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()


def response_events(text: str = "hello", rid: str = "resp_1") -> list[bytes]:
    """A complete, valid Responses stream answering ``text`` (one text delta)."""
    mid = f"msg_{rid}"
    base = {
        "id": rid,
        "object": "response",
        "created_at": 1,
        "model": "m",
        "output": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1.0,
        "top_p": 1.0,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
    }
    part = {"type": "output_text", "text": "", "annotations": []}
    item = {"id": mid, "type": "message", "status": "in_progress", "role": "assistant"}
    done_part = {**part, "text": text}
    done_item = {**item, "status": "completed", "content": [done_part]}
    where = {"item_id": mid, "output_index": 0, "content_index": 0}
    usage = {
        "input_tokens": 1,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 1,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 2,
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**base, "status": "in_progress"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
        {"type": "response.content_part.added", **where, "part": part},
        {"type": "response.output_text.delta", **where, "delta": text, "logprobs": []},
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": done_part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {
            "type": "response.completed",
            "response": {**base, "status": "completed", "output": [done_item], "usage": usage},
        },
    ]
    for seq, event in enumerate(events):
        event["sequence_number"] = seq
    return [sse(e) for e in events]
