"""``--translate``: Responses requests answered by the bundled engine from a Chat Completions
upstream; both streams recorded and exposed side by side in the hub."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import httpx

from ssescope.core.capture import open_source
from tests.proxy.helpers import Request, Upstream, fetch, running_proxy

BODY = {"model": "m", "input": "hi", "stream": True}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(body).encode() + b"\n\n"


USAGE = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"up",'
    b'"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}\n\n'
)
CHAT = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hello"}),
    chunk({"content": " there"}),
    chunk({}, "stop"),
    USAGE,
    b"data: [DONE]\n\n",
]


async def _chat(request: Request) -> None:
    if request.method == "GET":
        await request.reply(200, b'{"object":"list","data":[{"id":"up","object":"model"}]}')
        return
    await request.start()
    for frame in CHAT:
        await request.send(frame)
    await request.end()


async def test_responses_go_through_the_engine_and_both_sides_are_recorded(
    tmp_path: Path,
) -> None:
    async with (
        Upstream(_chat) as upstream,
        running_proxy(upstream.url, tmp_path, translate=True) as proxy,
    ):
        got = await fetch(
            "POST",
            f"{proxy.url}/responses",
            json_body=BODY,
            headers={"Authorization": "Bearer sk-client"},
        )
        (exchange,) = await proxy.ended()
    assert got.status == 200 and (got.header("content-type") or "").startswith("text/event-stream")
    assert b"response.completed" in got.body
    (request,) = upstream.requests
    assert request.path == "/v1/chat/completions"
    assert request.json["messages"][-1]["content"] == "hi"
    assert request.header("authorization") == "Bearer sk-client"  # the client's credentials

    run = exchange.run
    assert run is not None and bytes(run.store.data) == got.body
    assert exchange.finding_counts["errors"] == 0, exchange.rules()
    prediction = exchange.prediction
    assert prediction is not None and prediction.outcome == "ok"
    assert prediction.message == "Hello there"

    side = exchange.upstream
    assert side is not None and side.status == 200
    assert b"".join(c for _, c in side.chunks) == b"".join(CHAT)
    assert run.upstream is side.chunks  # the TUI's raw upstream view of the run
    assert [f.data for f in side.frames][-1] == "[DONE]"
    assert side.request_body["messages"][-1]["content"] == "hi"
    assert side.end is not None and side.end[1] == "eof"
    # one clock for both sides: the chat chunk arrived before the event made from it went out
    first_chat = side.chunks[0][0]
    assert run.checker.timing.t_first_byte is not None
    assert first_chat <= run.checker.timing.t_first_content  # type: ignore[operator]

    main = open_source(exchange.record_path or "")
    assert b"".join(c for _, c in main.chunks()) == got.body  # type: ignore[misc]
    chat = open_source(side.record_path or "")
    assert b"".join(c for _, c in chat.chunks()) == b"".join(CHAT)  # type: ignore[misc]
    assert chat.request is not None
    assert chat.request["headers"]["authorization"] == "Bearer [redacted]"
    assert chat.end is not None and chat.end[1] == "eof"


async def test_other_paths_pass_through_to_the_chat_server(tmp_path: Path) -> None:
    async with (
        Upstream(_chat) as upstream,
        running_proxy(upstream.url, tmp_path, translate=True) as proxy,
    ):
        got = await fetch("GET", f"{proxy.url}/models")
        (exchange,) = await proxy.ended()
    assert got.status == 200 and json.loads(got.body)["data"][0]["id"] == "up"
    assert upstream.requests[0].path == "/v1/models"
    assert exchange.run is None and exchange.upstream is None


async def test_a_chat_upstream_that_dies_is_a_failed_response_and_a_cut_chat_capture(
    tmp_path: Path,
) -> None:
    async def dies(request: Request) -> None:
        await request.start()
        await request.send(CHAT[0])
        await request.send(CHAT[1])
        request.writer.close()  # no final chunk

    async with Upstream(dies) as upstream, running_proxy(upstream.url, tmp_path, translate=True) as proxy:  # fmt: skip
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.status == 200 and b"response.failed" in got.body
    prediction = exchange.prediction
    assert prediction is not None and prediction.outcome == "error"
    assert "upstream connection broke" in prediction.message
    side = exchange.upstream
    assert side is not None and side.end is not None and side.end[1] == "transport-error"
    chat = open_source(side.record_path or "")
    assert b"".join(c for _, c in chat.chunks()) == CHAT[0] + CHAT[1]  # type: ignore[misc]
    assert chat.end is not None and chat.end[1] == "transport-error"


async def test_an_unreachable_chat_upstream_is_judged_as_the_client_sees_it(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with running_proxy(f"http://127.0.0.1:{port}/v1", tmp_path, translate=True) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.status == 502
    assert exchange.status == 502 and "http-status" in exchange.rules()
    side = exchange.upstream
    assert side is not None and side.end is not None and side.end[1] == "connect-error"


async def test_a_client_that_goes_away_cancels_the_chat_request(tmp_path: Path) -> None:
    never = asyncio.Event()

    async def slow(request: Request) -> None:
        await request.start()
        await request.send(CHAT[0])
        await request.send(CHAT[1])
        await never.wait()

    async with (
        Upstream(slow) as upstream,
        running_proxy(upstream.url, tmp_path, translate=True) as proxy,
        httpx.AsyncClient(timeout=30) as client,
    ):
        async with client.stream("POST", f"{proxy.url}/responses", json=BODY) as response:
            got = b""
            chunks = response.aiter_raw()
            while b"output_text.delta" not in got:
                got += await chunks.__anext__()
        await asyncio.wait_for(upstream.requests[0].closed.wait(), 10)
        (exchange,) = await proxy.ended()
        await upstream.wait(lambda: upstream.open_connections == 0)
    assert exchange.end_reason == "interrupted"
    side = exchange.upstream
    assert side is not None and side.end is not None and side.end[1] == "interrupted"
