"""Shared helpers for the proxy tests: the proxy in the test's event loop, a fake upstream whose
every step the test controls (the shared fake server, on a real socket), and a client that keeps
the raw bytes."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ssescope.proxy.app import ProxyApp
from ssescope.proxy.config import ProxyConfig
from ssescope.proxy.hub import Exchange, ExchangeHub
from ssescope.proxy.serve import serve_proxy
from tests.support.net import client_tls
from tests.support.server import FakeServer, Handler, Request

__all__ = [
    "Got",
    "Handler",
    "Proxy",
    "Request",
    "Upstream",
    "fetch",
    "response_events",
    "running_proxy",
    "sse",
]


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


class Upstream(FakeServer):
    """An HTTP/1.1 server on 127.0.0.1:0 in the test's loop at ``/v1``. ``handler`` answers each
    request; the connection then stays open for the next one (keep-alive) until the proxy closes
    it (see :mod:`tests.support.server`)."""

    def __init__(self, handler: Handler) -> None:
        super().__init__(handler, base_path="/v1")


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
        httpx.AsyncClient(timeout=60, verify=client_tls()) as client,
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
