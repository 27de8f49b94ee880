"""``history-rejected`` live, through the proxy: Codex's replayed history (or its hosted tools)
refused by a server that refuses them (tests/probe/servers.py) is named in the exchange's
findings, its JSON summary and its headless line, with or without recording."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from ssescope.probe.cases import CASES
from ssescope.proxy.command import format_line
from ssescope.tui.proxy_view import exchange_cells
from tests.probe.servers import llamacpp_error, lmstudio_error, responses_server
from tests.proxy.helpers import fetch, running_proxy
from tests.support.server import FakeServer


@pytest.mark.parametrize("record", [True, False])
async def test_a_refused_reasoning_item_is_history_rejected(tmp_path: Path, record: bool) -> None:
    handler = responses_server(partial(llamacpp_error, tools=False))
    body = CASES["history-reasoning-encrypted"].build("qwen3")
    async with (
        FakeServer(routes={"/v1/responses": handler}, base_path="/v1") as upstream,
        running_proxy(upstream.url, tmp_path if record else None) as proxy,
    ):
        got = await fetch("POST", f"{proxy.url}/responses", json_body=body)
        (exchange,) = await proxy.ended(1)
    assert got.status == 400
    assert exchange.rules().keys() >= {"http-status", "history-rejected"}
    message = exchange.history_rejected
    assert message is not None
    assert message.startswith(
        "HTTP 400 to a request that replays 2 history item(s) (reasoning, message:assistant) "
        "and carries 2 non-function tool(s) (namespace, web_search): the server's message does "
        "not say which part; Codex resends it on every turn"
    )  # llama.cpp says only "item['content'] is not an array": ssescope probe narrows it
    assert exchange.to_dict()["history_rejected"] == message
    findings_cell = exchange_cells(exchange)[7].plain  # the flow list's findings column
    assert findings_cell == "2 errors: history-rejected, http-status"
    line = format_line(exchange)
    assert "history-rejected" in line.split("|")[1]
    assert line.endswith(f"| history-rejected: {message}")


async def test_a_refused_hosted_tool_is_named_from_lm_studios_param(tmp_path: Path) -> None:
    body = CASES["codex-first-turn"].build("qwen3")
    async with (
        FakeServer(
            routes={"/v1/responses": responses_server(lmstudio_error)}, base_path="/v1"
        ) as upstream,
        running_proxy(upstream.url, tmp_path) as proxy,
    ):
        await fetch("POST", f"{proxy.url}/responses", json_body=body)
        (exchange,) = await proxy.ended(1)
    message = exchange.history_rejected
    assert message is not None
    assert "carries 2 non-function tool(s) (namespace, web_search)" in message
    assert "points at tools[4] (namespace 'multi_agent_v1')" in message


async def test_an_accepted_replay_is_not_flagged(tmp_path: Path) -> None:
    body = CASES["history-reasoning-text"].build("qwen3")
    handler = responses_server(partial(llamacpp_error, tools=False))
    async with (
        FakeServer(routes={"/v1/responses": handler}, base_path="/v1") as upstream,
        running_proxy(upstream.url, tmp_path) as proxy,
    ):
        got = await fetch("POST", f"{proxy.url}/responses", json_body=body)
        (exchange,) = await proxy.ended(1)
    assert got.status == 200 and exchange.history_rejected is None
    assert "history-rejected" not in format_line(exchange)
