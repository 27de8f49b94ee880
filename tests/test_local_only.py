"""The engine and the proxy answer only requests addressed to this machine (DNS rebinding: a web
page must not drive a server that holds the user's upstream credentials). A foreign ``Host`` or
``Origin`` gets a 403 in OpenAI's error envelope unless ``--allow-host`` names it."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from ssescope.cli import build_parser
from ssescope.engine.app import EngineConfig
from ssescope.engine.command import build_config as engine_config
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve
from ssescope.proxy.command import build_config as proxy_config
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy

BODY = {"model": "mock", "input": "hi", "stream": True}
FOREIGN = [
    {"Host": "evil.example"},
    {"Host": "evil.example:8788"},
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Host": "127.0.0.1.nip.io"},
]
LOCAL = [
    {},
    {"Host": "localhost"},
    {"Host": "app.localhost:1"},
    {"Host": "127.0.0.2"},
    {"Origin": "http://localhost:3000"},
    {"Origin": "http://127.0.0.1:5173"},
]


def _refused(status: int, body: dict[str, Any]) -> bool:
    error = body.get("error") or {}
    return (
        status == 403
        and error.get("code") == "host_not_allowed"
        and "--allow-host" in error.get("message", "")
        and set(error) == {"message", "type", "param", "code"}
    )


@pytest.mark.parametrize("headers", FOREIGN)
async def test_the_engine_refuses_a_foreign_host_or_origin(headers: dict[str, str]) -> None:
    async with serve(EngineConfig(mock=MockOptions(delay=0))) as engine, httpx.AsyncClient() as c:
        posted = await c.post(f"{engine.base_url}/responses", json=BODY, headers=headers)
        health = await c.get(f"http://127.0.0.1:{engine.port}/health", headers=headers)
    assert _refused(posted.status_code, posted.json()), posted.text
    assert _refused(health.status_code, health.json())
    assert engine.engine.served == 0


@pytest.mark.parametrize("headers", LOCAL)
async def test_the_engine_answers_local_names(headers: dict[str, str]) -> None:
    async with serve(EngineConfig(mock=MockOptions(delay=0))) as engine, httpx.AsyncClient() as c:
        posted = await c.post(f"{engine.base_url}/responses", json=BODY, headers=headers)
    assert posted.status_code == 200 and "response.completed" in posted.text


async def test_allow_host_names_more() -> None:
    config = EngineConfig(mock=MockOptions(delay=0), allow_hosts=("gpu-box.lan",))
    async with serve(config) as engine, httpx.AsyncClient() as c:
        allowed = await c.get(f"{engine.base_url}/models", headers={"Host": "GPU-box.lan:80"})
        other = await c.get(f"{engine.base_url}/models", headers={"Host": "evil.example"})
    anyone = EngineConfig(mock=MockOptions(delay=0), allow_hosts=("*",))
    async with serve(anyone) as engine, httpx.AsyncClient() as c:
        anything = await c.get(f"{engine.base_url}/models", headers={"Host": "evil.example"})
    assert allowed.status_code == 200 and anything.status_code == 200
    assert other.status_code == 403


def _own_address() -> str | None:
    """This machine's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
        except OSError:
            return None
        address: str = s.getsockname()[0]
    return None if address.startswith("127.") else address


async def test_listening_on_every_address_answers_its_own_addresses() -> None:
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    everywhere = EngineConfig(mock=MockOptions(delay=0))
    async with serve(everywhere, "0.0.0.0") as engine, httpx.AsyncClient() as c:
        own = await c.get(f"http://{address}:{engine.port}/health")
        loopback = await c.get(f"http://127.0.0.1:{engine.port}/health")
        foreign = await c.get(
            f"http://{address}:{engine.port}/health", headers={"Host": "evil.example"}
        )
    assert own.status_code == 200 and loopback.status_code == 200
    assert foreign.status_code == 403


async def _good(request: Request) -> None:
    await request.stream(response_events("hello"))


@pytest.mark.parametrize("headers", FOREIGN)
async def test_the_proxy_refuses_a_foreign_host_or_origin(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async with Upstream(_good) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY, headers=headers)
        health = await fetch("GET", proxy.url.removesuffix("/v1") + "/health", headers=headers)
    assert _refused(got.status, json.loads(got.body)) and health.status == 403
    assert upstream.requests == [] and len(proxy.hub) == 0  # never forwarded nor recorded


async def test_the_proxy_answers_local_and_allowed_names(tmp_path: Path) -> None:
    async with (
        Upstream(_good) as upstream,
        running_proxy(upstream.url, tmp_path, allow_hosts=("gpu-box.lan",)) as proxy,
    ):
        for headers in [*LOCAL, {"Host": "gpu-box.lan:8787"}]:
            got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY, headers=headers)
            assert got.status == 200, headers
    assert len(upstream.requests) == len(LOCAL) + 1


def test_allow_host_is_an_option_of_both() -> None:
    parser = build_parser()
    args = parser.parse_args(
        ["proxy", "--upstream", "http://h:1/v1", "--allow-host", "a", "--allow-host", "b"]
    )
    assert proxy_config(args).allow_hosts == ("a", "b")
    args = parser.parse_args(["engine", "--mock", "--allow-host", "gpu-box"])
    assert engine_config(args).allow_hosts == ("gpu-box",)


async def test_a_proxy_listening_on_every_address_answers_its_own_addresses() -> None:
    address = _own_address()
    if address is None:
        pytest.skip("this machine has no non-loopback IPv4 address")
    async with Upstream(_good) as upstream, running_proxy(upstream.url, host="0.0.0.0") as proxy:
        port = proxy.config.port
        own = await fetch("POST", f"http://{address}:{port}/v1/responses", json_body=BODY)
        foreign = await fetch(
            "POST", f"http://{address}:{port}/v1/responses", json_body=BODY,
            headers={"Host": "evil.example"},
        )  # fmt: skip
    assert own.status == 200 and foreign.status == 403
