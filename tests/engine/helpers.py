"""Shared helpers for the engine tests: a scripted chat upstream on a real socket, a Responses
client that keeps the raw bytes, and ssescope's own checker as the judge."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl as ssl_module
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ssescope.core.checker import CheckOptions
from ssescope.core.session import StreamSession
from ssescope.engine.app import EngineConfig
from ssescope.engine.serve import EngineServer, serve
from tests.support.net import client_tls
from tests.support.server import FakeServer, Handler, Request

SHARED = Path(__file__).resolve().parents[3] / "shared"
REAL = SHARED / "real_streams"
CHAT_RECORDINGS = sorted(REAL.glob("*chat*")) if REAL.is_dir() else []


def function_tool(name: str, argument: str) -> dict[str, Any]:
    """A Responses function tool taking one required string ``argument``."""
    return {
        "type": "function",
        "name": name,
        "parameters": {
            "type": "object",
            "properties": {argument: {"type": "string"}},
            "required": [argument],
        },
    }


WEATHER = function_tool("get_weather", "city")
"""The function tool the mock's tool scenarios call (mock-tool answers get_weather)."""


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

UpstreamConn = Request
"""One request to the fake upstream; the handler answers through it."""


class FakeUpstream(FakeServer):
    """A chat server on 127.0.0.1:0 in the test's event loop at ``/v1`` (https with ``ssl``).
    ``handler`` answers each request; after it returns, the connection stays open (keep-alive)
    until the engine closes it (see :mod:`tests.support.server`)."""

    def __init__(self, handler: Handler, ssl: ssl_module.SSLContext | None = None) -> None:
        super().__init__(handler, ssl=ssl, base_path="/v1")


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
    async with httpx.AsyncClient(timeout=30, verify=client_tls()) as client:
        response = await client.post(f"{base_url}/responses", json=body, headers=headers or {})
        return Reply(response.status_code, dict(response.headers), response.content)


def judge(data: bytes, profile: str = "openai", status: int = 200) -> StreamSession:
    """ssescope's own checker on the bytes a client received."""
    session = StreamSession(CheckOptions(profile=profile))
    session.on_response(status, {"content-type": "text/event-stream"})
    session.feed(data, 0.0)
    session.finish(0.0)
    return session


def errors(session: StreamSession, *, clients: bool = False) -> list[str]:
    """Error findings of the protocol rules; ``clients=True`` adds the client models' verdicts
    (the engine's tests pin those per scenario with :func:`client_outcomes`)."""
    return [
        f"{f.rule}: {f.message}"
        for f in session.checker.findings
        if f.severity == "error" and (clients or not f.rule.startswith("client-"))
    ]


def client_outcomes(session: StreamSession) -> dict[str, str]:
    """The clients whose outcome is not ``ok``: {client: outcome}."""
    return {p.client: p.outcome for p in session.checker.client_predictions() if p.outcome != "ok"}


def findings(session: StreamSession, severity: str | None = None) -> set[str]:
    return {f.rule for f in session.checker.findings if severity is None or f.severity == severity}


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition driven by other tasks (no fixed sleeps)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
