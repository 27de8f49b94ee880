"""The engine on uvicorn, in front of a scripted chat upstream, both on real sockets on 127.0.0.1.

Synchronisation is by conditions (the upstream's connection-closed events, the engine's active
stream count), never by sleeping.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.serve import serve
from tests.engine.helpers import (
    FakeUpstream,
    UpstreamConn,
    chunk,
    engine_for,
    errors,
    judge,
    post,
    sse,
    text_stream,
    until,
    usage_chunk,
)

BODY = {"model": "m", "input": "hi", "stream": True}


async def answer_hello(conn: UpstreamConn) -> None:
    await conn.stream(text_stream("Hello", " world"))


async def test_a_streamed_response_is_openai_shaped_and_judged_clean() -> None:
    async with engine_for(answer_hello) as (engine, upstream):
        reply = await post(engine.base_url, BODY)
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in reply.body.split(b"\n\n") if f]
    for frame in frames:  # every frame: `event:` equal to the JSON type
        event_line, data_line = frame.split(b"\n")
        assert (
            event_line[len(b"event: ") :].decode()
            == json.loads(data_line[len(b"data: ") :])["type"]
        )
    assert b"[DONE]" not in reply.body  # as OpenAI: no [DONE] by default
    assert reply.types()[-1] == "response.completed"
    assert reply.events()[-1]["response"]["output"][0]["content"][0]["text"] == "Hello world"
    assert errors(judge(reply.body)) == []
    # what went upstream: a chat request with usage asked for
    sent = upstream.requests[0].json
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


async def test_done_marker_option_satisfies_open_responses() -> None:
    async with engine_for(answer_hello, done_marker=True) as (engine, _):
        reply = await post(engine.base_url, BODY)
    assert reply.body.endswith(b"data: [DONE]\n\n")
    assert errors(judge(reply.body, "open-responses")) == []


async def test_events_are_sent_as_soon_as_they_are_produced() -> None:
    """The upstream holds back its second token until the client has seen the first delta, and
    sends nothing at all until the client has seen response.created."""
    created_seen = asyncio.Event()
    first_delta_seen = asyncio.Event()

    async def gated(conn: UpstreamConn) -> None:
        await conn.start()
        await created_seen.wait()
        await conn.send(
            sse(chunk({"role": "assistant", "content": ""})) + sse(chunk({"content": "one"}))
        )
        await first_delta_seen.wait()
        for frame in text_stream(" two")[1:]:
            await conn.send(frame)
        await conn.end()

    async with (
        engine_for(gated) as (engine, _),
        httpx.AsyncClient(timeout=10) as client,
        client.stream("POST", f"{engine.base_url}/responses", json=BODY) as response,
    ):
        types = []
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            types.append(event["type"])
            if event["type"] == "response.created":
                created_seen.set()
            if event["type"] == "response.output_text.delta":
                first_delta_seen.set()
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert first_delta_seen.is_set()


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            b'{"error": {"message": "\'type\' of tool must be \'function\'", "type": "invalid_request_error", "code": 400}}',
            "'type' of tool must be 'function'",
        ),
        (
            429,
            b'{"error": {"message": "slow down", "type": "rate_limit", "code": "rate_limit_exceeded"}}',
            "slow down",
        ),
        (
            500,
            b"<html>Internal Server Error</html>",
            "the upstream answered HTTP 500: <html>Internal Server Error</html>",
        ),
        (503, b'{"detail": "x", "message": "model loading"}', "model loading"),
    ],
)
async def test_upstream_http_errors_come_back_with_the_upstream_status(
    status: int, body: bytes, message: str
) -> None:
    async def failing(conn: UpstreamConn) -> None:
        await conn.reply(status, body)

    async with engine_for(failing) as (engine, _upstream):
        reply = await post(engine.base_url, BODY)
        await until(lambda: engine.engine.active == 0)
    assert reply.status == status
    assert reply.headers["content-type"] == "application/json"
    assert reply.json["error"]["message"] == message
    assert set(reply.json["error"]) == {"message", "type", "param", "code"}


async def test_an_unreachable_upstream_is_a_502_error_body() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    async with serve(EngineConfig(upstream=f"http://127.0.0.1:{dead}/v1")) as engine:
        reply = await post(engine.base_url, BODY)
        models = await httpx.AsyncClient().get(f"{engine.base_url}/models")
    assert reply.status == 502 and "cannot connect" in reply.json["error"]["message"]
    assert models.status_code == 502


async def test_a_client_that_goes_away_mid_stream_cancels_the_upstream_request() -> None:
    async def endless(conn: UpstreamConn) -> None:
        await conn.start()
        await conn.send(sse(chunk({"role": "assistant", "content": ""})))
        i = 0
        while not conn.closed.is_set():  # generates until the engine hangs up
            await conn.send(sse(chunk({"content": f" t{i}"})))
            i += 1
            await asyncio.sleep(0.001)

    async with engine_for(endless, heartbeat=0) as (engine, upstream):
        async with (
            httpx.AsyncClient(timeout=10) as client,
            client.stream("POST", f"{engine.base_url}/responses", json=BODY) as response,
        ):
            async for line in response.aiter_lines():
                if "output_text.delta" in line:
                    break  # the client leaves mid-answer
        async with asyncio.timeout(10):
            await upstream.requests[0].closed.wait()
        await until(lambda: engine.engine.active == 0 and upstream.open_connections == 0)
        assert engine.engine.client is not None and engine.engine.client.live_connections() == 0


async def test_a_client_that_goes_away_before_the_upstream_answers_cancels_it() -> None:
    async def silent(conn: UpstreamConn) -> None:
        await conn.closed.wait()  # never answers

    async with engine_for(silent) as (engine, upstream):
        _reader, writer = await asyncio.open_connection("127.0.0.1", engine.port)
        payload = json.dumps(BODY).encode()
        writer.write(
            b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )
        await writer.drain()
        async with asyncio.timeout(10):
            await upstream.arrived.wait()
        writer.close()
        async with asyncio.timeout(10):
            await upstream.requests[0].closed.wait()
        await until(lambda: engine.engine.active == 0 and upstream.open_connections == 0)


@pytest.mark.parametrize("how", ["eof", "reset"])
async def test_an_upstream_that_dies_mid_stream_ends_response_failed(how: str) -> None:
    async def dying(conn: UpstreamConn) -> None:
        await conn.start()
        await conn.send(sse(chunk({"content": "par"})))
        if how == "eof":
            await conn.end()  # a clean end of body, but no finish_reason and no [DONE]
        else:
            conn.writer.transport.abort()  # the connection drops mid-body

    async with engine_for(dying) as (engine, upstream):
        reply = await post(engine.base_url, BODY)
        await until(lambda: engine.engine.active == 0)
        if how == "reset":
            await until(lambda: upstream.open_connections == 0)
    assert reply.status == 200
    last = reply.events()[-1]
    assert (
        last["type"] == "response.failed"
        and last["response"]["error"]["code"] == "upstream_disconnected"
    )
    assert "response.completed" not in reply.types()
    assert errors(judge(reply.body)) == []


async def test_malformed_upstream_data_is_an_error_then_failed() -> None:
    async def garbage(conn: UpstreamConn) -> None:
        await conn.stream(
            [sse(chunk({"content": "ok"})), b"data: {not json\n\n", *text_stream("x")]
        )

    async with engine_for(garbage) as (engine, _):
        reply = await post(engine.base_url, BODY)
        await until(lambda: engine.engine.active == 0)
    assert reply.types()[-2:] == ["error", "response.failed"]
    assert reply.events()[-1]["response"]["error"]["code"] == "invalid_upstream_chunk"


@pytest.mark.looptime  # loop time is virtual: the timers fire at once, in order
async def test_a_silent_upstream_gets_keepalive_events_then_fails_on_the_idle_timeout() -> None:
    async def prefill_forever(conn: UpstreamConn) -> None:
        await conn.start()
        await conn.closed.wait()

    async with engine_for(prefill_forever, heartbeat=0.05, upstream_idle_timeout=0.4) as (
        engine,
        upstream,
    ):
        reply = await post(engine.base_url, BODY)
        async with asyncio.timeout(10):
            await upstream.requests[0].closed.wait()
    types = reply.types()
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types.count("keepalive") >= 2  # complete events: they reset Codex's idle timer
    assert types[-1] == "response.failed"
    assert reply.events()[-1]["response"]["error"]["code"] == "upstream_timeout"
    assert [e["sequence_number"] for e in reply.events()] == list(range(len(types)))
    assert errors(judge(reply.body)) == []


@pytest.mark.looptime  # loop time is virtual: the timers fire at once, in order
async def test_a_slow_upstream_that_resumes_completes_normally() -> None:
    keepalive_seen = asyncio.Event()

    async def slow(conn: UpstreamConn) -> None:
        await conn.start()
        await keepalive_seen.wait()
        for frame in text_stream("late", " but fine"):
            await conn.send(frame)
        await conn.end()

    async with (
        engine_for(slow, heartbeat=0.05) as (engine, _),
        httpx.AsyncClient(timeout=10) as client,
        client.stream("POST", f"{engine.base_url}/responses", json=BODY) as response,
    ):
        body = b""
        async for data in response.aiter_bytes():
            body += data
            if b"event: keepalive" in body:
                keepalive_seen.set()
    types = [
        json.loads(line[6:])["type"]
        for line in body.decode().splitlines()
        if line.startswith("data: ")
    ]
    assert "keepalive" in types and types[-1] == "response.completed"
    assert errors(judge(body)) == []


@pytest.mark.looptime  # loop time is virtual: the timers fire at once, in order
async def test_usage_that_never_comes_ends_after_the_finish_grace() -> None:
    async def no_usage_no_done(conn: UpstreamConn) -> None:
        await conn.start()
        await conn.send(sse(chunk({"content": "hi"})) + sse(chunk({}, "stop")))
        await conn.closed.wait()  # keeps the connection open after finish_reason

    async with engine_for(no_usage_no_done, finish_grace=0.1) as (engine, upstream):
        reply = await post(engine.base_url, BODY)
        async with asyncio.timeout(10):
            await upstream.requests[0].closed.wait()
    assert reply.types()[-1] == "response.completed"
    assert reply.events()[-1]["response"]["output"][0]["content"][0]["text"] == "hi"


async def test_an_upstream_that_ignores_stream_true_and_answers_json() -> None:
    completion = {
        "id": "c",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_9",
                            "type": "function",
                            "function": {"name": "f", "arguments": "{}"},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }

    async def json_answer(conn: UpstreamConn) -> None:
        await conn.reply(200, json.dumps(completion).encode())

    async with engine_for(json_answer) as (engine, _):
        reply = await post(engine.base_url, BODY)
    output = reply.events()[-1]["response"]["output"]
    assert output[0]["call_id"] == "call_9" and output[0]["arguments"] == "{}"
    assert errors(judge(reply.body)) == []


async def test_stream_false_answers_the_final_response_as_json() -> None:
    async with engine_for(answer_hello) as (engine, _):
        reply = await post(engine.base_url, {**BODY, "stream": False})
    assert reply.status == 200
    assert reply.json["object"] == "response" and reply.json["status"] == "completed"
    assert reply.json["output"][0]["content"][0]["text"] == "Hello world"
    assert reply.json["usage"]["output_tokens"] == 2


async def test_models_pass_through_and_health() -> None:
    models = {"object": "list", "data": [{"id": "qwen3", "object": "model"}]}

    async def handler(conn: UpstreamConn) -> None:
        assert conn.head.startswith(b"GET /v1/models ")
        await conn.reply(200, json.dumps(models).encode())

    async with engine_for(handler) as (engine, upstream), httpx.AsyncClient() as client:
        got = await client.get(f"{engine.base_url}/models")
        health = await client.get(f"http://127.0.0.1:{engine.port}/health")
        missing = await client.get(f"http://127.0.0.1:{engine.port}/v1/nothing")
    assert got.status_code == 200 and got.json() == models
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["upstream"] == f"{upstream.url}/chat/completions"
    assert missing.status_code == 404 and "error" in missing.json()


async def test_api_key_header_and_model_override_go_upstream() -> None:
    async with engine_for(
        answer_hello, api_key="sk-test", model="served-model", upstream_headers={"X-Team": "a"}
    ) as (engine, upstream):
        reply = await post(engine.base_url, {**BODY, "model": "gpt-5"})
    conn = upstream.requests[0]
    assert conn.header("authorization") == "Bearer sk-test" and conn.header("x-team") == "a"
    assert conn.json["model"] == "served-model"
    assert reply.events()[-1]["response"]["model"] == "gpt-5"


async def test_keep_alive_reuses_the_upstream_connection() -> None:
    async with engine_for(answer_hello) as (engine, upstream):
        for _ in range(3):
            reply = await post(engine.base_url, BODY)
            assert reply.types()[-1] == "response.completed"
    assert len(upstream.requests) == 3
    assert len({id(c.writer) for c in upstream.requests}) == 1


@pytest.mark.parametrize(
    ("body", "headers", "status", "needle"),
    [
        (b"{nope", {}, 400, "not valid JSON"),
        (json.dumps({"input": "x"}).encode(), {}, 400, "`model` is required"),
        (json.dumps({"model": "m", "input": 3}).encode(), {}, 400, "`input`"),
        (json.dumps(BODY).encode(), {"X-Ssescope-Fault": "bogus"}, 400, "unknown fault"),
        (json.dumps(BODY).encode(), {"X-Ssescope-Fault": "cut"}, 400, "need --mock"),
        (
            json.dumps({**BODY, "previous_response_id": "resp_1"}).encode(),
            {},
            400,
            "previous_response_id",
        ),
    ],
)
async def test_bad_requests_are_400_with_an_openai_error_body(
    body: bytes, headers: dict[str, str], status: int, needle: str
) -> None:
    async with engine_for(answer_hello) as (engine, upstream), httpx.AsyncClient() as client:
        response = await client.post(
            f"{engine.base_url}/responses",
            content=body,
            headers={"content-type": "application/json", **headers},
        )
    assert response.status_code == status
    assert needle in response.json()["error"]["message"]
    assert upstream.requests == []


async def test_concurrent_streams_are_independent() -> None:
    async def echo(conn: UpstreamConn) -> None:
        prompt = conn.json["messages"][-1]["content"]
        await conn.stream(text_stream(prompt))

    async with engine_for(echo) as (engine, _):
        replies = await asyncio.gather(
            *(post(engine.base_url, {**BODY, "input": f"p{i}"}) for i in range(8))
        )
    texts = [r.events()[-1]["response"]["output"][0]["content"][0]["text"] for r in replies]
    assert texts == [f"p{i}" for i in range(8)]
    assert len({r.events()[0]["response"]["id"] for r in replies}) == 8


async def test_upstream_usage_reaches_the_terminal_event() -> None:
    async def with_usage(conn: UpstreamConn) -> None:
        await conn.stream(
            [
                sse(chunk({"content": "x"})),
                sse(chunk({}, "stop")),
                sse(usage_chunk(11, 1)),
                b"data: [DONE]\n\n",
            ]
        )

    async with engine_for(with_usage) as (engine, _):
        reply = await post(engine.base_url, BODY)
    usage: dict[str, Any] = reply.events()[-1]["response"]["usage"]
    assert (usage["input_tokens"], usage["output_tokens"], usage["total_tokens"]) == (11, 1, 12)


async def test_previous_response_id_continues_a_stored_conversation() -> None:
    async def answer(conn: UpstreamConn) -> None:
        if conn.json["messages"][-1]["role"] == "user":
            await conn.stream(
                [
                    sse(
                        chunk(
                            {
                                "tool_calls": [
                                    {
                                        "index": 0,
                                        "id": "call_w",
                                        "type": "function",
                                        "function": {"name": "w", "arguments": "{}"},
                                    }
                                ]
                            }
                        )
                    ),
                    sse(chunk({}, "tool_calls")),
                    b"data: [DONE]\n\n",
                ]
            )
        else:
            await conn.stream(text_stream("sunny"))

    async with engine_for(answer) as (engine, upstream):
        first = await post(engine.base_url, {**BODY, "instructions": "old rules"})
        first_id = first.events()[0]["response"]["id"]
        follow = {
            "model": "m",
            "stream": True,
            "previous_response_id": first_id,
            "instructions": "new rules",
            "input": [{"type": "function_call_output", "call_id": "call_w", "output": "sun"}],
        }
        second = await post(engine.base_url, follow)
        unstored = await post(engine.base_url, {**BODY, "store": False})
        refused = await post(
            engine.base_url,
            {**follow, "previous_response_id": unstored.events()[0]["response"]["id"]},
        )
    assert second.types()[-1] == "response.completed"
    assert second.events()[0]["response"]["previous_response_id"] == first_id
    assert upstream.requests[1].json["messages"] == [
        {"role": "system", "content": "new rules"},  # instructions do not carry over
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_w", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_w", "content": "sun"},
    ]
    assert refused.status == 400 and "store: false" in refused.json["error"]["message"]


async def test_an_engine_bug_ends_the_stream_failed_not_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ssescope.engine import translate

    original = translate.ChatToResponses.feed_data

    def explode(self: translate.ChatToResponses, data: str) -> list[dict[str, Any]]:
        if "boom" in data:
            raise RuntimeError("boom")
        return original(self, data)

    monkeypatch.setattr(translate.ChatToResponses, "feed_data", explode)

    async def handler(conn: UpstreamConn) -> None:
        await conn.stream([sse(chunk({"content": "fine"})), sse(chunk({"content": "boom"}))])

    async with engine_for(handler) as (engine, _):
        reply = await post(engine.base_url, BODY)
    assert reply.types()[-1] == "response.failed"
    assert reply.events()[-1]["response"]["error"]["code"] == "engine_error"
    assert [e["sequence_number"] for e in reply.events()] == list(range(len(reply.types())))


async def test_lone_surrogates_from_the_upstream_do_not_break_the_stream() -> None:
    async def handler(conn: UpstreamConn) -> None:
        await conn.stream(
            [
                b'data: {"choices": [{"index": 0, "delta": {"content": "a\\ud800b"}}]}\n\n',
                *text_stream("ok"),
            ]
        )

    async with engine_for(handler) as (engine, _):
        reply = await post(engine.base_url, BODY)
    assert reply.types()[-1] == "response.completed"
    assert reply.events()[-1]["response"]["output"][0]["content"][0]["text"] == "a\ud800bok"


async def test_a_non_streamed_request_whose_client_leaves_cancels_the_upstream() -> None:
    async def slow_json(conn: UpstreamConn) -> None:
        await conn.start()
        await conn.send(sse(chunk({"content": "x"})))
        await conn.closed.wait()  # still generating when the client leaves

    async with engine_for(slow_json) as (engine, upstream):
        _, writer = await asyncio.open_connection("127.0.0.1", engine.port)
        payload = json.dumps({**BODY, "stream": False}).encode()
        writer.write(
            b"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
        )
        await writer.drain()
        async with asyncio.timeout(10):
            await upstream.arrived.wait()
        writer.close()
        async with asyncio.timeout(10):
            await upstream.requests[0].closed.wait()
        await until(lambda: engine.engine.active == 0)


async def test_an_https_upstream_with_a_private_ca(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is not installed (needed to make a test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    async with FakeUpstream(answer_hello, ssl=server_ctx) as upstream:
        assert upstream.url.startswith("https://")
        async with serve(EngineConfig(upstream=upstream.url, ca_file=str(cert))) as engine:
            reply = await post(engine.base_url, BODY)
            assert engine.engine.client is not None
        async with serve(EngineConfig(upstream=upstream.url)) as untrusting:
            refused = await post(untrusting.base_url, BODY)
    assert reply.types()[-1] == "response.completed"
    assert reply.events()[-1]["response"]["output"][0]["content"][0]["text"] == "Hello world"
    assert refused.status == 502 and "CERTIFICATE_VERIFY_FAILED" in refused.json["error"]["message"]
