"""An upstream URL with a query string (Azure's ``…/openai/v1?api-version=…``): the engine and
the proxy keep the query after the path they add, instead of building ``…/v1?key=X/chat/…``."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.serve import serve
from ssescope.proxy.config import Target
from tests.engine.helpers import FakeUpstream, UpstreamConn, post, text_stream
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy

BODY = {"model": "m", "input": "hi", "stream": True}


@pytest.mark.parametrize(
    ("upstream", "chat", "models"),
    [
        ("http://h/v1", "http://h/v1/chat/completions", "http://h/v1/models"),
        ("http://h/v1/", "http://h/v1/chat/completions", "http://h/v1/models"),
        ("http://h/v1/chat/completions", "http://h/v1/chat/completions", "http://h/v1/models"),
        (
            "https://x.azure.com/openai/v1?api-version=preview",
            "https://x.azure.com/openai/v1/chat/completions?api-version=preview",
            "https://x.azure.com/openai/v1/models?api-version=preview",
        ),
        (
            "https://x/openai/v1/chat/completions?api-version=1&x=2",
            "https://x/openai/v1/chat/completions?api-version=1&x=2",
            "https://x/openai/v1/models?api-version=1&x=2",
        ),
    ],
)
def test_engine_endpoints_keep_the_query_after_the_path(
    upstream: str, chat: str, models: str
) -> None:
    config = EngineConfig(upstream=upstream)
    assert (config.chat_url, config.models_url) == (chat, models)


async def _chat_or_models(conn: UpstreamConn) -> None:
    if conn.method == "GET":
        await conn.reply(200, b'{"object": "list", "data": []}')
        return
    await conn.stream(text_stream("hi"))


async def test_the_engine_sends_the_query_upstream() -> None:
    async with FakeUpstream(_chat_or_models) as upstream:
        config = EngineConfig(upstream=f"{upstream.url}?api-version=2024-10-21")
        async with serve(config) as engine, httpx.AsyncClient() as client:
            reply = await post(engine.base_url, BODY)
            models = await client.get(f"{engine.base_url}/models")
    assert reply.status == 200 and reply.types()[-1] == "response.completed"
    assert models.status_code == 200
    assert [r.path for r in upstream.requests] == [
        "/v1/chat/completions?api-version=2024-10-21",
        "/v1/models?api-version=2024-10-21",
    ]


def test_the_proxy_adds_the_upstream_query_under_its_base_path() -> None:
    target = Target("https://x.azure.com/openai/v1?api-version=p")
    assert (
        target.url_for("/v1/responses") == "https://x.azure.com/openai/v1/responses?api-version=p"
    )
    assert target.url_for("/v1/responses", "a=1&api-version=q") == (
        "https://x.azure.com/openai/v1/responses?a=1&api-version=q"  # the client's own wins
    )
    assert target.url_for("/health") == "https://x.azure.com/health"  # outside the base: as asked


async def _good(request: Request) -> None:
    await request.stream(response_events("hello"))


async def test_the_proxy_forwards_the_upstream_query(tmp_path: Path) -> None:
    async with (
        Upstream(_good) as upstream,
        running_proxy(f"{upstream.url}?api-version=2024", tmp_path) as proxy,
    ):
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        await proxy.ended()
    assert got.status == 200
    assert upstream.requests[0].path == "/v1/responses?api-version=2024"
