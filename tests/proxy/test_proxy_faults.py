"""Faults seen live through the proxy: a stalling upstream, an upstream that dies mid-stream, a
client that goes away, and many concurrent streams (real sockets, no sleeps)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ssescope.core.capture import open_source
from ssescope.core.checker import CheckOptions
from ssescope.core.codex import MSG_TRANSPORT
from ssescope.core.run import Run
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy, sse
from tests.scripted_server import Reply, ScriptedServer

BODY = {"model": "m", "input": "hi", "stream": True}


async def _read_until(chunks: AsyncIterator[bytes], marker: bytes, into: bytearray) -> None:
    """Read from one raw-body iterator (shared by successive calls) until ``marker`` arrived."""
    while marker not in into:
        into += await chunks.__anext__()


@pytest.mark.looptime  # loop time is virtual, and the proxy's clock is the loop's
async def test_a_stall_shows_in_the_run_while_the_client_waits(tmp_path: Path) -> None:
    """The upstream sends response.created, then only comment keep-alives: the byte clock keeps
    resetting, the event clock does not, and the stall finding appears while the client is still
    waiting for the rest (0.3 s of silence on virtual time: the test waits for none of it)."""
    created, *rest = response_events("finally")
    release = asyncio.Event()

    async def handler(request: Request) -> None:
        await request.start()
        await request.send(created)
        while not release.is_set():
            await request.send(b": keepalive\n\n")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), 0.05)
        for frame in rest:
            await request.send(frame)
        await request.end()

    async with (
        Upstream(handler) as upstream,
        running_proxy(
            upstream.url,
            tmp_path,
            tick_interval=0.05,
            options=CheckOptions(stall_warn=0.3),
            clock=asyncio.get_running_loop().time,
        ) as proxy,
        httpx.AsyncClient(timeout=30) as client,
    ):
        async with client.stream("POST", f"{proxy.url}/responses", json=BODY) as response:
            got = bytearray()
            chunks = response.aiter_raw()
            await _read_until(chunks, b"response.created", got)
            reader = asyncio.create_task(_read_until(chunks, b"response.completed", got))
            exchange = proxy.only()
            run = exchange.run
            assert run is not None

            def stalled() -> bool:
                assert run is not None
                return "stall-after-created" in run.checker.log.counts

            await proxy.hub.wait_for(stalled, 10)
            assert not reader.done()  # the client is still waiting
            assert exchange.state == "streaming" and run.state == "streaming"
            now = run.now()
            timing = run.checker.timing
            assert timing.since_last_progress(now) >= 0.3  # Codex's clock: no event for 0.3 s
            assert timing.since_last_byte(now) < timing.since_last_progress(now)  # comments came
            (finding,) = [f for f in run.checker.findings if f.rule == "stall-after-created"]
            assert "comments" in finding.message and "still silent" in finding.message
            prediction = exchange.prediction
            assert prediction is not None and prediction.outcome == "pending"
            release.set()
            await asyncio.wait_for(reader, 10)
        (done,) = await proxy.ended()
    assert done.end_reason == "eof"
    prediction = done.prediction
    assert prediction is not None and prediction.outcome == "ok"
    assert prediction.message == "finally"


async def test_an_upstream_that_dies_mid_stream_cuts_the_client_the_same_way(
    tmp_path: Path,
) -> None:
    sent = response_events("never finished")[:4]
    reply = Reply(chunks=sent, chunked=True, cut=True)
    with ScriptedServer(reply).running() as server:
        direct = await fetch("POST", server.url, json_body=BODY)
        async with running_proxy(f"http://127.0.0.1:{server.port}/v1", tmp_path) as proxy:
            through = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
            (exchange,) = await proxy.ended()
    expected = b"".join(sent)
    assert direct.body == through.body == expected
    assert direct.error == through.error == "RemoteProtocolError"  # incomplete chunked read
    assert exchange.end_reason == "transport-error" and exchange.state == "failed"
    run = exchange.run
    assert run is not None and run.session.end is not None
    assert run.session.end[1] == "transport-error"
    prediction = exchange.prediction
    assert prediction is not None and prediction.message == MSG_TRANSPORT
    src = open_source(exchange.record_path or "")
    assert b"".join(c for _, c in src.chunks()) == expected  # type: ignore[misc]
    assert src.end is not None and src.end[1] == "transport-error"
    assert src.end[2] and "middle of the body" in src.end[2]


async def test_a_client_that_goes_away_cancels_the_upstream(tmp_path: Path) -> None:
    created = response_events()[0]
    never = asyncio.Event()

    async def handler(request: Request) -> None:
        await request.start()
        await request.send(created)
        await never.wait()  # generating forever, until the proxy hangs up

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("POST", f"{proxy.url}/responses", json=BODY) as response,
        ):
            got = bytearray()
            await _read_until(response.aiter_raw(), b"response.created", got)
        # the client closed its connection: the upstream must see its own close
        (request,) = upstream.requests
        await asyncio.wait_for(request.closed.wait(), 10)
        (exchange,) = await proxy.ended()
        await upstream.wait(lambda: upstream.open_connections == 0)
        assert proxy.app.client is not None
        assert proxy.app.client.live_connections() == 0  # nothing leaked on the proxy's side
        assert not proxy.app.flows
    assert exchange.end_reason == "interrupted"
    run = exchange.run
    assert run is not None and run.session.end is not None
    assert run.session.end[1] == "interrupted"
    src = open_source(exchange.record_path or "")
    assert b"".join(c for _, c in src.chunks()) == created  # type: ignore[misc]
    assert src.end is not None and src.end[1] == "interrupted"


async def test_a_client_that_leaves_before_the_upstream_answers_cancels_it(
    tmp_path: Path,
) -> None:
    never = asyncio.Event()

    async def handler(request: Request) -> None:
        await never.wait()  # a long prefill: no headers yet

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        async with httpx.AsyncClient(timeout=30) as client:
            post = asyncio.create_task(client.post(f"{proxy.url}/responses", json=BODY))
            await upstream.wait(lambda: len(upstream.requests) == 1)
            post.cancel()  # the client gives up and closes its connection
            await asyncio.gather(post, return_exceptions=True)
        await asyncio.wait_for(upstream.requests[0].closed.wait(), 10)
        (exchange,) = await proxy.ended()
        await upstream.wait(lambda: upstream.open_connections == 0)
        assert proxy.app.client is not None and proxy.app.client.live_connections() == 0
    assert exchange.end_reason == "interrupted" and exchange.status is None


async def test_fifty_concurrent_streams_are_kept_apart(tmp_path: Path) -> None:
    """Every stream reaches its own client complete and unmixed, and gets its own hub entry,
    run and capture."""

    def frames(tag: str) -> list[bytes]:
        return response_events(f"answer {tag} " + tag * 10, rid=f"resp_{tag}")

    async def handler(request: Request) -> None:
        tag = request.json["input"]
        await request.start()
        for frame in frames(tag):
            # two HTTP chunks per frame, with a switch to other streams in between
            await request.send(frame[:30])
            await asyncio.sleep(0)
            await request.send(frame[30:])
        await request.end()

    tags = [f"s{i:02d}" for i in range(50)]
    limits = httpx.Limits(max_connections=60)
    async with (
        Upstream(handler) as upstream,
        running_proxy(upstream.url, tmp_path) as proxy,
        httpx.AsyncClient(timeout=60, limits=limits) as client,
    ):

        async def one(tag: str) -> bytes:
            body = {**BODY, "input": tag}
            async with client.stream("POST", f"{proxy.url}/responses", json=body) as r:
                return b"".join([c async for c in r.aiter_raw()])

        bodies = await asyncio.gather(*(one(tag) for tag in tags))
        exchanges = await proxy.ended(50)
    assert upstream.connections == 50  # really concurrent upstream requests
    for tag, body in zip(tags, bodies, strict=True):
        assert body == b"".join(frames(tag)), tag
    by_tag = {e.request_body["input"]: e for e in exchanges}
    assert sorted(by_tag) == tags
    paths = {e.record_path for e in exchanges}
    assert len(paths) == 50
    for tag, exchange in by_tag.items():
        run: Run | None = exchange.run
        assert run is not None and exchange.end_reason == "eof"
        assert exchange.findings_summary == "clean", (tag, exchange.rules())
        assert run.prediction().message == f"answer {tag} " + tag * 10
        assert bytes(run.store.data) == b"".join(frames(tag))
        src = open_source(exchange.record_path or "")
        assert b"".join(c for _, c in src.chunks()) == b"".join(frames(tag))  # type: ignore[misc]


async def test_stopping_the_proxy_ends_open_streams_as_interrupted(tmp_path: Path) -> None:
    never = asyncio.Event()
    created = response_events()[0]

    async def handler(request: Request) -> None:
        await request.start()
        await request.send(created)
        await never.wait()

    async with Upstream(handler) as upstream, httpx.AsyncClient(timeout=30) as client:
        async with running_proxy(upstream.url, tmp_path) as proxy:
            response = await client.send(
                client.build_request("POST", f"{proxy.url}/responses", json=BODY), stream=True
            )
            got = bytearray()
            await _read_until(response.aiter_raw(), b"response.created", got)
        # leaving the block stopped the proxy without waiting for the endless stream
        exchange = proxy.only()
        assert exchange.end_reason == "interrupted"
        await asyncio.wait_for(upstream.requests[0].closed.wait(), 10)
        await response.aclose()


async def test_a_judging_failure_never_breaks_forwarding(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    events = response_events("still forwarded")

    async def handler(request: Request) -> None:
        await request.start()
        for frame in events:
            await request.send(frame)
        await request.end()

    def broken(self: Run, chunk: bytes, t: float) -> None:
        raise RuntimeError("a checker bug")

    monkeypatch.setattr(Run, "feed", broken)
    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.body == b"".join(events) and got.error is None
    assert exchange.judge_error == "RuntimeError: a checker bug"
    assert exchange.end_reason == "eof"


async def test_keepalive_events_through_the_proxy_are_judged_as_events(tmp_path: Path) -> None:
    """A sanity check of the judgement live: an unknown event type is flagged on the fly."""
    frames = response_events("ok")
    weird = sse({"type": "response.tool_call.delta", "delta": "{}"})
    stream = [*frames[:3], weird, *frames[3:]]

    async def handler(request: Request) -> None:
        await request.start()
        for frame in stream:
            await request.send(frame)
        await request.end()

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert exchange.events == 9
    assert exchange.rules()
    assert json.loads(json.dumps(exchange.to_dict()))["events"] == 9
