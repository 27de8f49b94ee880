"""A real client against the engine on a real socket: the openai Python SDK.

``client.responses.stream(...)`` must complete, and its final response must equal ssescope's own
reconstruction of the very bytes the SDK read (teed off its transport and fed to StreamSession).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import openai
import pytest

from ssescope.engine.serve import mock_engine
from tests.engine.helpers import (
    CHAT_RECORDINGS,
    REAL,
    WEATHER,
    UpstreamConn,
    engine_for,
    errors,
    judge,
)

try:  # openai 3.x talks through httpx2; older releases through httpx
    import httpx2
except ImportError:  # pragma: no cover
    import httpx as httpx2  # type: ignore[no-redef]


class TeeTransport(httpx2.AsyncBaseTransport):
    """The SDK's real HTTP transport, keeping a copy of every response byte."""

    def __init__(self) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.data = bytearray()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.inner.handle_async_request(request)
        tee = self

        class Stream(httpx2.AsyncByteStream):
            async def __aiter__(self) -> AsyncIterator[bytes]:
                async for chunk in response.stream:  # type: ignore[union-attr]
                    tee.data += chunk
                    yield chunk

            async def aclose(self) -> None:
                await response.stream.aclose()  # type: ignore[union-attr]

        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=Stream(),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def client_for(base_url: str) -> tuple[openai.AsyncOpenAI, TeeTransport]:
    tee = TeeTransport()
    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key="unused",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=tee),
    )
    return client, tee


def without_nulls(value: Any) -> Any:
    """The SDK's models carry every optional field (None when absent); compare what is set."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


async def stream_and_compare(base_url: str, **kwargs: Any) -> dict[str, Any]:
    client, tee = client_for(base_url)
    async with client.responses.stream(**kwargs) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_response()
    await client.close()
    sdk = final.model_dump()
    session = judge(bytes(tee.data))
    ours = session.checker.tree.reconstruct()
    assert without_nulls(ours) == without_nulls(sdk)
    # (the client models' verdicts are pinned in test_engine_mock; the SDK itself read it all)
    assert errors(session, clients=False) == []
    assert sdk["status"] == "completed"
    return sdk


@pytest.mark.parametrize(
    ("model", "prompt", "types"),
    [
        ("mock-text", "Say hello", ["message"]),
        ("mock-tool", "What is the weather?", ["function_call"]),
        ("mock-reasoning", "Think first", ["reasoning", "message"]),
        ("mock-parallel", "Two cities", ["function_call", "function_call"]),
    ],
)
async def test_sdk_stream_final_response_equals_ssescope_reconstruction(
    model: str, prompt: str, types: list[str]
) -> None:
    async with mock_engine() as base_url:
        sdk = await stream_and_compare(base_url, model=model, input=prompt, tools=[WEATHER])
    assert [item["type"] for item in sdk["output"]] == types
    for item in sdk["output"]:
        if item["type"] == "function_call":
            assert item["name"] == "get_weather" and json.loads(item["arguments"])["city"]
            assert item["call_id"].startswith("call_")
        if item["type"] == "message":
            assert item["content"][0]["text"]


async def test_sdk_create_stream_iterates_cleanly() -> None:
    async with mock_engine() as base_url:
        client, _ = client_for(base_url)
        stream = await client.responses.create(
            model="mock-tool", input="weather?", tools=[WEATHER], stream=True
        )
        seen = [event.type async for event in stream]
        await client.close()
    assert seen[:2] == ["response.created", "response.in_progress"]
    assert seen[-1] == "response.completed"
    assert "response.function_call_arguments.delta" in seen
    assert [e.split(".")[-1] for e in seen if "output_item" in e] == ["added", "done"]


async def test_sdk_sees_a_length_limit_as_response_incomplete() -> None:
    async with mock_engine() as base_url:
        client, tee = client_for(base_url)
        stream = await client.responses.create(model="mock-length", input="go on", stream=True)
        events = [event async for event in stream]
        await client.close()
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details is not None
    assert last.response.incomplete_details.reason == "max_output_tokens"
    assert last.response.output[0].status == "incomplete"
    assert errors(judge(bytes(tee.data))) == []


async def test_sdk_raises_the_upstream_error_message() -> None:
    async with mock_engine(faults=["error-chunk"]) as base_url:
        client, _tee = client_for(base_url)
        stream = await client.responses.create(model="mock-text", input="hi", stream=True)
        with pytest.raises(openai.APIError, match="failed mid-stream"):
            async for _ in stream:
                pass
        await client.close()


async def test_sdk_non_streaming_create() -> None:
    async with mock_engine() as base_url:
        client, _ = client_for(base_url)
        response = await client.responses.create(model="mock-text", input="hello there")
        await client.close()
    assert response.status == "completed"
    assert "hello there" in response.output_text


def _as_sse(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw.lstrip().startswith(b"data:"):
        return raw
    return b"".join(b"data: " + line.strip() + b"\n\n" for line in raw.splitlines() if line.strip())


# A recording cut by the token limit translates to response.incomplete, on which the SDK's
# get_final_response() raises by design (tested on the finish-length case elsewhere).
COMPLETING = [p for p in CHAT_RECORDINGS if b'"finish_reason":"length"' not in p.read_bytes()]


@pytest.mark.real_streams
@pytest.mark.skipif(not CHAT_RECORDINGS, reason=f"recorded chat streams not found in {REAL}")
@pytest.mark.parametrize("path", COMPLETING, ids=lambda p: p.name.split(".")[0])
async def test_sdk_on_real_recordings_replayed_through_the_engine(path: Path) -> None:
    """A fake upstream replays a recorded provider stream byte for byte; the SDK reads the
    engine's translation of it."""
    data = _as_sse(path)

    async def replay(conn: UpstreamConn) -> None:
        await conn.start()
        await conn.send(data)
        await conn.end()

    async with engine_for(replay) as (engine, _):
        sdk = await stream_and_compare(engine.base_url, model="recorded", input="x")
    assert sdk["output"]
