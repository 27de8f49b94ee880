"""The probe against servers that refuse what real servers refuse (tests/probe/servers.py) and
against the engine: the table's rows, the narrowing, the thread-killer flag and the length cut."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from ssescope.core.checker import CheckOptions
from ssescope.engine.app import EngineConfig
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve as serve_engine
from ssescope.probe.cases import CASES, selected
from ssescope.probe.runner import ProbeSettings, Target, exit_status, probe
from tests.probe.servers import llamacpp_error, lmstudio_error, responses_server
from tests.support.server import FakeServer

Serve = Callable[..., Awaitable[FakeServer]]


def by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["cases"]}


def culprits(case: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["where"], c["type"]) for c in case["cause"]["culprits"]]


async def run(url: str, *ids: str, model: str = "qwen3", **settings: Any) -> dict[str, Any]:
    target = Target(f"{url}/responses", model)
    return await probe(target, selected(ids or None), ProbeSettings(**settings))


async def test_the_issue_names_every_case() -> None:
    assert {
        "codex-first-turn", "tool-round-trip", "history-reasoning-encrypted",
        "history-reasoning-text", "history-input-image-no-url", "history-input-file",
        "history-refusal-part", "developer-role", "hosted-tools", "unknown-keys",
        "parallel-tool-calls", "length-cut",
    } <= set(CASES)  # fmt: skip


async def test_the_engine_accepts_every_case() -> None:
    async with serve_engine(EngineConfig(mock=MockOptions())) as engine:
        report = await run(engine.base_url, model="mock")
    rows = by_id(report)
    assert list(rows) == list(CASES)
    assert all(c["accepted"] and c["status"] == 200 for c in rows.values()), rows
    assert report["summary"]["thread_killers"] == [] and report["summary"]["failed"] == []
    assert exit_status(report) == 0
    # every answer was judged by the full checker and the client models
    assert all(c["codex"]["outcome"] == "ok" for i, c in rows.items() if i != "length-cut")
    assert {p["client"] for p in rows["codex-first-turn"]["clients"]} >= {"codex"}
    # the length cut ends response.incomplete, and Codex says so (the case's expected outcome)
    assert "Incomplete response" in rows["length-cut"]["codex"]["message"]


async def test_a_server_that_refuses_replayed_reasoning_names_the_item(serve: Serve) -> None:
    """llama.cpp before PR #21174, with hosted tools already skipped: Codex's second turn after
    a reasoning model answered carries the reasoning item (content: null) and is refused."""
    server = await serve(
        routes={"/v1/responses": responses_server(partial(llamacpp_error, tools=False))},
        base_path="/v1",
    )
    report = await run(server.url)
    rows = by_id(report)
    case = rows["history-reasoning-encrypted"]
    assert case["status"] == 400 and not case["accepted"]
    assert case["error"] == "item['content'] is not an array"
    assert case["thread_killer"] is True
    assert culprits(case) == [("input[4]", "reasoning")]
    assert case["cause"]["how"] == "without"
    rules = {f["rule"] for f in case["findings"]}
    assert {"http-status", "history-rejected"} <= rules
    # readable reasoning with text parts is accepted by the same server
    assert rows["history-reasoning-text"]["accepted"]
    # the refusal part and the file_id image: the same server's other refusals, each narrowed
    assert culprits(rows["history-refusal-part"]) == [("input[4]", "message:assistant:refusal")]
    assert culprits(rows["history-input-image-no-url"]) == [("input[3]", "message:input_image")]
    assert rows["codex-first-turn"]["accepted"] and rows["tool-round-trip"]["accepted"]
    assert "history-reasoning-encrypted" in report["summary"]["thread_killers"]
    assert exit_status(report) == 1


async def test_a_server_that_refuses_hosted_tools_kills_every_codex_request(serve: Serve) -> None:
    """LM Studio 0.4.11: `Invalid` with param tools.N.type. Both non-function tools of Codex's
    list are refused each on its own, so one removal is not enough: the group is removed and
    each tool put back in turn."""
    server = await serve(
        routes={"/v1/responses": responses_server(lmstudio_error)}, base_path="/v1"
    )
    report = await run(server.url, "codex-first-turn", "developer-role")
    rows = by_id(report)
    first = rows["codex-first-turn"]
    assert first["thread_killer"] and first["error"] == "Invalid"
    assert culprits(first) == [("tools[4]", "namespace"), ("tools[8]", "web_search")]
    assert first["cause"]["how"] == "only"
    (rejected,) = [f for f in first["findings"] if f["rule"] == "history-rejected"]
    assert "points at tools[4] (namespace 'multi_agent_v1')" in rejected["message"]
    assert rows["developer-role"]["accepted"] and not rows["developer-role"]["thread_killer"]


async def test_older_llamacpp_refuses_every_codex_request_for_its_tools(serve: Serve) -> None:
    server = await serve(
        routes={"/v1/responses": responses_server(llamacpp_error)}, base_path="/v1"
    )
    report = await run(server.url, "codex-first-turn", "history-reasoning-encrypted")
    rows = by_id(report)
    first = rows["codex-first-turn"]
    assert first["error"] == "'type' of tool must be 'function'"
    (rejected,) = [f for f in first["findings"] if f["rule"] == "history-rejected"]
    assert "tools[4] (namespace 'multi_agent_v1'), tools[8] (web_search)" in rejected["message"]
    # the reasoning item and both hosted tools are each enough for a refusal
    assert set(culprits(rows["history-reasoning-encrypted"])) == {
        ("input[4]", "reasoning"), ("tools[4]", "namespace"), ("tools[8]", "web_search")
    }  # fmt: skip


async def test_a_rejection_the_request_does_not_cause_is_no_thread_killer(serve: Serve) -> None:
    """A server that refuses everything (a wrong model): narrowing finds no culprit."""

    async def refuse(request: Any) -> None:
        await request.reply(400, b'{"error": {"message": "model qwen3 is not loaded"}}')

    server = await serve(routes={"/v1/responses": refuse}, base_path="/v1")
    report = await run(server.url, "history-reasoning-encrypted")
    (case,) = report["cases"]
    assert not case["accepted"] and not case["thread_killer"]
    assert case["cause"]["culprits"] == [] and case["cause"]["how"] == "none"
    assert exit_status(report) == 1  # the http-status error still fails the probe


async def test_a_length_cut_labelled_completed_fails_the_length_case(serve: Serve) -> None:
    """llama.cpp labels a max_tokens cut `completed`: the completed-at-token-limit rule (a
    warning under the openai profile) is what the length-cut case tests, so it fails there."""
    handler = responses_server(lambda body: None, length_label="completed")
    server = await serve(routes={"/v1/responses": handler}, base_path="/v1")
    report = await run(server.url, "length-cut", "developer-role")
    rows = by_id(report)
    cut = rows["length-cut"]
    rules = {f["rule"]: f["severity"] for f in cut["findings"]}
    assert rules["completed-at-token-limit"] == "warning"
    assert cut["failed"] and not rows["developer-role"]["failed"]
    assert report["summary"]["failed"] == ["length-cut"] and exit_status(report) == 1
    report = await run(server.url, "length-cut", options=CheckOptions(profile="codex"))
    (cut,) = report["cases"]
    assert {f["rule"]: f["severity"] for f in cut["findings"]}[
        "completed-at-token-limit"
    ] == "error"


@pytest.mark.parametrize("label", ["incomplete"])
async def test_a_proper_length_cut_passes(serve: Serve, label: str) -> None:
    server = await serve(
        routes={"/v1/responses": responses_server(lambda body: None, length_label=label)},
        base_path="/v1",
    )
    report = await run(server.url, "length-cut")
    (cut,) = report["cases"]
    assert cut["accepted"] and not cut["failed"], cut["findings"]
