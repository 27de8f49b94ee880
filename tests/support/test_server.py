"""The fake server itself, and how a test uses it (the shared fixtures are in tests/conftest.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx

from tests.support.server import FakeServer, Request, Route, Script


async def test_a_handler_answers_and_every_request_is_recorded(
    serve: Callable[..., Awaitable[FakeServer]],
) -> None:
    async def hello(request: Request) -> None:
        await request.stream([b"data: 1\n\n", b"data: 2\n\n"])

    server = await serve(hello, routes={"/health": Route(200, "ok")}, base_path="/v1")
    async with httpx.AsyncClient() as client:
        streamed = await client.post(f"{server.url}/responses?x=1", json={"a": 1})
        health = await client.get(f"{server.origin}/health")
    assert streamed.text == "data: 1\n\ndata: 2\n\n" and health.text == "ok"
    first = server.requests[0]
    assert first.method == "POST" and first.path == "/v1/responses?x=1" and first.json == {"a": 1}
    assert server.hits["/v1/responses"] == 1 and server.hits["/v1/responses?x=1"] == 1
    assert server.connections == 1  # keep-alive: one connection for the first two requests


async def test_a_script_cut_mid_body_is_a_transport_error(
    serve: Callable[..., Awaitable[FakeServer]],
) -> None:
    server = await serve(Script(chunks=[b"data: 1\n\n"], chunked=True, cut=True))
    async with httpx.AsyncClient() as client:
        try:
            await client.get(server.url)
        except httpx.RemoteProtocolError as exc:
            error: Exception | None = exc
        else:
            error = None
    assert isinstance(error, httpx.RemoteProtocolError)


async def test_a_hung_route_answers_nothing_until_the_server_stops() -> None:
    async with (
        httpx.AsyncClient() as client,
        FakeServer(routes={"/health": Route(hang=True)}) as server,
    ):
        pending = asyncio.create_task(client.get(f"{server.url}/health"))
        await server.wait(lambda: server.hits["/health"] == 1)
        unknown = await client.get(f"{server.url}/other")
        assert not pending.done() and unknown.status_code == 404
    done, _ = await asyncio.wait({pending}, timeout=5)
    assert done and isinstance(pending.exception(), httpx.TransportError)


def test_a_script_served_from_a_thread_for_synchronous_code(
    scripted: Callable[[Script], FakeServer],
) -> None:
    server = scripted(Script(status=500, headers={"Content-Type": "text/plain"}, chunks=[b"x"]))
    reply = httpx.post(server.url, content=b"body")
    assert reply.status_code == 500 and reply.text == "x"
    assert server.requests[0].raw.endswith(b"\r\n\r\nbody")
    assert server.wait_hits("/v1/responses", 1)
