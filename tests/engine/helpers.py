"""Shared helpers for the engine tests: a scripted chat upstream on a real socket, a Responses
client that keeps the raw bytes, and ssescope's own checker as the judge."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ssescope.core.checker import CheckOptions
from ssescope.core.session import StreamSession
from ssescope.engine.app import EngineConfig
from ssescope.engine.serve import EngineServer, serve

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL = SHARED / "real_streams"
CHAT_RECORDINGS = sorted(REAL.glob("*chat*")) if REAL.is_dir() else []


def chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    """A chat.completion.chunk with one choice."""
    out: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up-model",
        "choices": [{"index": 0, "delta": delta or {}, "logprobs": None, "finish_reason": finish}],
    }
    out.update(extra)
    return out


def usage_chunk(prompt: int = 5, completion: int = 3) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up-model",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def sse(obj: Any) -> bytes:
    return b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n"


def text_stream(*words: str, finish: str = "stop") -> list[bytes]:
    """A complete chat stream (role chunk, one chunk per word, finish, usage, [DONE])."""
    frames = [sse(chunk({"role": "assistant", "content": ""}))]
    frames += [sse(chunk({"content": w})) for w in words]
    frames += [sse(chunk({}, finish)), sse(usage_chunk(completion=len(words))), b"data: [DONE]\n\n"]
    return frames


# -- a scripted upstream ---------------------------------------------------------------------------


class UpstreamConn:
    """One request to the fake upstream; the handler answers through it."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes, body: bytes
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.head = head
        self.body = body
        self.closed = asyncio.Event()
        """Set when the engine closes this connection (EOF or reset seen)."""

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for line in self.head.decode("latin-1").split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    async def start(self, status: int = 200, ctype: str = "text/event-stream") -> None:
        self.writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        await self.writer.drain()

    async def send(self, data: bytes) -> None:
        if data:
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

    async def stream(self, frames: list[bytes]) -> None:
        await self.start()
        for frame in frames:
            await self.send(frame)
        await self.end()


Handler = Callable[[UpstreamConn], Awaitable[None]]


@dataclass
class FakeUpstream:
    """A chat server on 127.0.0.1:0 in the test's event loop. ``handler`` answers each request;
    after it returns, the connection stays open (keep-alive) until the engine closes it."""

    handler: Handler
    port: int = 0
    requests: list[UpstreamConn] = field(default_factory=list)
    open_connections: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    ssl: Any = None
    """An ssl.SSLContext to serve https."""
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl else 'http'}://127.0.0.1:{self.port}/v1"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open_connections += 1
        conn: UpstreamConn | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                conn = UpstreamConn(reader, writer, head, body)
                self.requests.append(conn)
                self.arrived.set()
                watcher = asyncio.create_task(_watch_close(reader, conn))
                with contextlib.suppress(ConnectionError, OSError):
                    await self.handler(conn)
                if conn.closed.is_set():
                    return
                watcher.cancel()
        finally:
            self.open_connections -= 1
            if conn is not None:
                conn.closed.set()
            writer.close()

    async def __aenter__(self) -> FakeUpstream:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._server.wait_closed(), 2)


async def _watch_close(reader: asyncio.StreamReader, conn: UpstreamConn) -> None:
    """The engine sends nothing more on a streamed request, so any read result means closed."""
    with contextlib.suppress(Exception):
        await reader.read(1)
    conn.closed.set()


@contextlib.asynccontextmanager
async def engine_for(
    handler: Handler, **config: Any
) -> AsyncIterator[tuple[EngineServer, FakeUpstream]]:
    """A fake upstream and an engine in front of it, both on real sockets."""
    async with (
        FakeUpstream(handler) as upstream,
        serve(EngineConfig(upstream=upstream.url, **config)) as running,
    ):
        yield running, upstream


# -- the client side -------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def events(self) -> list[dict[str, Any]]:
        out = []
        for frame in self.body.split(b"\n\n"):
            for line in frame.split(b"\n"):
                if line.startswith(b"data: ") and line != b"data: [DONE]":
                    out.append(json.loads(line[6:]))
        return out

    def types(self) -> list[str]:
        return [e["type"] for e in self.events()]


async def post(base_url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(f"{base_url}/responses", json=body, headers=headers or {})
        return Reply(response.status_code, dict(response.headers), response.content)


def judge(data: bytes, profile: str = "openai", status: int = 200) -> StreamSession:
    """ssescope's own checker on the bytes a client received."""
    session = StreamSession(CheckOptions(profile=profile))
    session.on_response(status, {"content-type": "text/event-stream"})
    session.feed(data, 0.0)
    session.finish(0.0)
    return session


def errors(session: StreamSession) -> list[str]:
    return [f"{f.rule}: {f.message}" for f in session.checker.findings if f.severity == "error"]


def findings(session: StreamSession, severity: str | None = None) -> set[str]:
    return {f.rule for f in session.checker.findings if severity is None or f.severity == severity}


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition driven by other tasks (no fixed sleeps)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
