"""The mock backend and the fault catalogue, through the engine on real sockets.

Every scenario must come out clean under ssescope's openai and open-responses profiles; every
fault must produce exactly the failure its catalogue entry promises.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.faults import (
    FAULTS,
    UnknownFault,
    fault_table_markdown,
    parse_faults,
    split_model,
)
from ssescope.engine.mock import MockOptions, pick_scenario, plan_chat
from ssescope.engine.serve import mock_engine, serve
from tests.engine.helpers import client_outcomes, errors, findings, function_tool, judge, post

EXEC = function_tool("exec_command", "cmd")


def body(model: str = "mock", prompt: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "input": prompt, "stream": True, **extra}


# -- scenarios ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "items", "terminal", "codex", "clients"),
    [
        ("mock-text", ["message"], "response.completed", "ok", {}),
        # @ai-sdk/openai reads only reasoning summaries; the engine streams reasoning_text
        (
            "mock-reasoning",
            ["reasoning", "message"],
            "response.completed",
            "ok",
            {"ai-sdk": "loss"},
        ),
        ("mock-tool", ["function_call"], "response.completed", "ok", {}),
        ("mock-parallel", ["function_call", "function_call"], "response.completed", "ok", {}),
        # a correct length cut: openai-python's stream() raises, Codex fails the turn
        (
            "mock-length",
            ["message"],
            "response.incomplete",
            "error",
            {"codex": "error", "openai-python": "error"},
        ),
        # Codex and @ai-sdk/open-responses drop refusal parts
        (
            "mock-refusal",
            ["message"],
            "response.completed",
            "empty",
            {"codex": "loss", "ai-sdk-open-responses": "loss"},
        ),
    ],
)
async def test_every_scenario_is_clean_under_openai_and_open_responses(
    model: str, items: list[str], terminal: str, codex: str, clients: dict[str, str]
) -> None:
    async with (
        mock_engine(done_marker=True) as base_url,
        mock_engine(done_marker=True, reasoning="open-responses") as spec_url,
    ):
        reply = await post(base_url, body(model, tools=[EXEC]))
        spec_reply = await post(spec_url, body(model, tools=[EXEC]))
    assert reply.status == 200
    last = reply.events()[-1]
    assert last["type"] == terminal
    assert [i["type"] for i in last["response"]["output"]] == items
    # raw reasoning carries OpenAI's event names unless --reasoning open-responses
    for profile, answer in (("openai", reply), ("open-responses", spec_reply)):
        session = judge(answer.body, profile)
        assert errors(session, clients=False) == [], profile
        assert findings(session, "warning") == set(), profile
    for profile in ("openai", "open-responses"):
        assert client_outcomes(judge(reply.body, profile)) == clients, profile
    assert judge(reply.body, "codex").checker.prediction().outcome == codex


@pytest.mark.parametrize(
    ("model", "prompt", "expected"),
    [
        ("mock", "Reply with one word.", "text"),
        ("mock", "Run `ls` please", "tool"),
        ("mock", "what's the weather in Paris?", "tool"),
        ("mock", "do two things in parallel", "parallel"),
        ("mock", "think hard", "reasoning"),
        ("mock", "please refuse", "refusal"),
        ("mock", "a truncated answer", "length"),
        ("mock-tool", "Reply with one word.", "tool"),
        ("qwen-reasoning-7b", "hi", "reasoning"),
    ],
)
def test_scenario_from_model_then_prompt(model: str, prompt: str, expected: str) -> None:
    assert (
        pick_scenario({"model": model, "messages": [{"role": "user", "content": prompt}]})
        == expected
    )


def test_a_tool_result_always_gets_the_final_answer() -> None:
    request = {
        "model": "mock-tool",
        "messages": [
            {"role": "user", "content": "run `echo hi`"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c",
                        "type": "function",
                        "function": {"name": "exec_command", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c", "content": "hi\n"},
        ],
        "stream": True,
    }
    plan = plan_chat(request)
    assert plan.scenario == "answer"
    assert plan.completion is not None
    assert plan.completion["choices"][0]["message"]["content"] == "The tool returned: hi"


@pytest.mark.parametrize(
    ("tools", "name", "args"),
    [
        ([{"type": "function", "function": EXEC}], "exec_command", {"cmd": "ls -la"}),
        (
            [{"type": "function", "function": {"name": "shell", "parameters": {"type": "object"}}}],
            "shell",
            {"command": ["bash", "-lc", "ls -la"]},
        ),
        (
            [
                {
                    "type": "function",
                    "function": {
                        "name": "book",
                        "parameters": {
                            "type": "object",
                            "properties": {
                                "city": {"type": "string"},
                                "nights": {"type": "integer"},
                                "kind": {"type": "string", "enum": ["hotel", "flat"]},
                                "note": {"type": "string"},
                            },
                            "required": ["city", "nights", "kind"],
                        },
                    },
                }
            ],
            "book",
            {"city": "Paris", "nights": 1, "kind": "hotel"},
        ),
        ([], "get_weather", {"city": "Paris"}),
    ],
)
def test_tool_calls_target_an_offered_tool_with_fitting_arguments(
    tools: list[Any], name: str, args: Any
) -> None:
    plan = plan_chat(
        {
            "model": "mock-tool",
            "messages": [{"role": "user", "content": "run `ls -la`"}],
            "tools": tools,
        }
    )
    assert plan.completion is not None
    (call,) = plan.completion["choices"][0]["message"]["tool_calls"]
    assert call["function"]["name"] == name and json.loads(call["function"]["arguments"]) == args


def test_max_tokens_cuts_any_scenario_with_length() -> None:
    plan = plan_chat(
        {
            "model": "mock-text",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 3,
            "stream": True,
        }
    )
    assert plan.completion is not None
    choice = plan.completion["choices"][0]
    assert choice["finish_reason"] == "length" and len(choice["message"]["content"].split()) == 3


async def test_mock_engine_context_manager_and_mock_endpoints() -> None:
    async with mock_engine() as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/v1")
        async with httpx.AsyncClient() as client:
            models = (await client.get(f"{base_url}/models")).json()
            direct = await client.post(
                f"{base_url.removesuffix('/v1')}/mock/v1/chat/completions",
                json={"model": "mock", "messages": [{"role": "user", "content": "hi"}]},
            )
    assert "mock-tool" in [m["id"] for m in models["data"]]
    assert direct.json()["object"] == "chat.completion"


# -- faults -----------------------------------------------------------------------------------------

CHAT_CASES: dict[str, tuple[str, Any]] = {
    # fault: (model, expected) — expected is an HTTP status, or (terminal type, error code or None)
    "http-500": ("mock", 500),
    "http-429": ("mock", 429),
    "http-400": ("mock", 400),
    "cut": ("mock", ("response.failed", "upstream_disconnected")),
    "reset": ("mock", ("response.failed", "upstream_disconnected")),
    "stall": ("mock", ("response.failed", "upstream_timeout")),
    "slow-first-token": ("mock", ("response.completed", None)),
    "slow-tokens": ("mock", ("response.completed", None)),
    "error-chunk": ("mock", ("response.failed", "mock_failure")),
    "malformed-chunk": ("mock", ("response.failed", "invalid_upstream_chunk")),
    "no-usage": ("mock", ("response.completed", None)),
    "no-done": ("mock", ("response.completed", None)),
    "no-finish-reason": ("mock", ("response.completed", None)),
    "comments": ("mock", ("response.completed", None)),
    "json-body": ("mock-tool", ("response.completed", None)),
    "args-before-name": ("mock-tool", ("response.completed", None)),
    "empty-id-continuation": ("mock-tool", ("response.completed", None)),
    "one-chunk-call": ("mock-tool", ("response.completed", None)),
    "interleaved-calls": ("mock-parallel", ("response.completed", None)),
}


def test_every_chat_fault_has_a_case() -> None:
    assert set(CHAT_CASES) == {n for n, f in FAULTS.items() if f.side == "chat"}


@pytest.fixture
def fast_mock() -> EngineConfig:
    return EngineConfig(
        mock=MockOptions(slow_delay=0.005, prefill_delay=0.15),
        heartbeat=0.05,
        upstream_idle_timeout=0.3,
    )


@pytest.mark.looptime  # loop time is virtual: the timers fire at once, in order
@pytest.mark.parametrize("fault", sorted(CHAT_CASES))
async def test_chat_side_faults_are_survived_as_promised(
    fault: str, fast_mock: EngineConfig
) -> None:
    model, expected = CHAT_CASES[fault]
    async with serve(fast_mock) as engine:
        reply = await post(engine.base_url, body(model, tools=[EXEC]), {"X-Ssescope-Fault": fault})
        await asyncio.wait_for(_idle(engine), 10)
    if isinstance(expected, int):
        assert reply.status == expected
        assert f"injected fault {fault}" in reply.json["error"]["message"]
        return
    terminal, code = expected
    last = reply.events()[-1]
    assert last["type"] == terminal
    assert (last["response"].get("error") or {}).get("code") == code
    assert errors(judge(reply.body)) == []
    if terminal == "response.completed":
        assert last["response"]["output"]
        for item in last["response"]["output"]:
            if item["type"] == "function_call":
                json.loads(item["arguments"])
        if fault == "slow-first-token":
            assert "keepalive" in reply.types()
        if fault == "no-usage":
            assert last["response"]["usage"] is None
        else:
            assert last["response"]["usage"]["total_tokens"] > 0


async def _idle(engine: Any) -> None:
    while engine.engine.active:
        await asyncio.sleep(0.005)


RESPONSES_CASES: dict[str, tuple[str, list[str], str]] = {
    # fault: (model, rules that must appear, profile)
    "delta-object": ("mock-text", ["delta-not-string"], "openai"),
    "call-id-changed": ("mock-tool", ["item-identity-changed"], "openai"),
    "call-id-missing": ("mock-tool", ["call-id-missing"], "openai"),
    "empty-arguments": ("mock-tool", ["arguments-empty"], "openai"),
    "no-sequence-numbers": ("mock-text", ["sequence-missing"], "openai"),
    "thin-created": ("mock-text", ["created-incomplete"], "openai"),
    "no-event-lines": ("mock-text", ["event-line-missing"], "openai"),
    "tool-call-delta": ("mock-tool", ["unknown-event-type"], "openai"),
    "no-item-done": ("mock-text", ["codex-text-lost"], "codex"),
    "missing-completed": ("mock-text", ["terminal-missing"], "openai"),
    "error-no-failed": ("mock-text", ["error-event", "codex-error-hidden"], "codex"),
    "fake-completed": ("mock-text+cut", [], "openai"),
    "incomplete-in-completed": ("mock-length", ["terminal-status-mismatch"], "openai"),
}


@pytest.mark.parametrize("fault", sorted(RESPONSES_CASES))
async def test_responses_side_faults_produce_their_finding(fault: str) -> None:
    model, rules, profile = RESPONSES_CASES[fault]
    async with mock_engine() as base_url:
        reply = await post(base_url, body(model, tools=[EXEC]), {"X-Ssescope-Fault": fault})
    assert reply.status == 200
    session = judge(reply.body, profile)
    assert set(rules) <= findings(session), findings(session)
    if fault == "fake-completed":
        # LiteLLM's bug reproduced: the upstream was cut, yet the stream claims completion
        assert reply.types()[-1] == "response.completed"
    if fault == "no-sequence-numbers":
        assert all("sequence_number" not in e for e in reply.events())


def test_every_responses_fault_has_a_case() -> None:
    assert set(RESPONSES_CASES) | {"stall-after-created", "keepalive-comments"} == {
        n for n, f in FAULTS.items() if f.side == "responses"
    }


@pytest.mark.looptime  # loop time is virtual: the timers fire at once, in order
@pytest.mark.parametrize("fault", ["stall-after-created", "keepalive-comments"])
async def test_stall_after_created_holds_the_connection_after_in_progress(fault: str) -> None:
    async with (
        mock_engine(faults=[fault]) as base_url,
        httpx.AsyncClient(timeout=10) as client,
        client.stream("POST", f"{base_url}/responses", json=body()) as response,
    ):
        seen = b""
        chunks = response.aiter_bytes()
        async for data in chunks:
            seen += data
            if fault == "stall-after-created" and b"response.in_progress" in seen:
                break
            if fault == "keepalive-comments" and b": keepalive" in seen:
                break
        # absence is the point: nothing but (maybe) comments follows in_progress
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                async for data in chunks:
                    seen += data
    types = [
        json.loads(line[6:])["type"]
        for line in seen.decode().splitlines()
        if line.startswith("data: ")
    ]
    assert types == ["response.created", "response.in_progress"]
    session = judge(seen)
    assert "terminal-missing" in findings(session)


async def test_faults_from_the_model_suffix_and_from_the_context_manager() -> None:
    async with mock_engine() as base_url:
        by_suffix = await post(base_url, body("mock-text+cut"))
    async with mock_engine(faults=["http-429"]) as base_url:
        by_config = await post(base_url, body())
    assert by_suffix.events()[-1]["type"] == "response.failed"
    assert by_suffix.events()[0]["response"]["model"] == "mock-text"
    assert by_config.status == 429


def test_fault_names_parse_and_document() -> None:
    assert parse_faults(["cut+slow-tokens", " delta-object ,cut"]) == (
        "cut",
        "slow-tokens",
        "delta-object",
    )
    with pytest.raises(UnknownFault):
        parse_faults(["nope"])
    assert split_model("mock-tool+cut") == ("mock-tool", ("cut",))
    assert split_model("llama+3b") == ("llama+3b", ())  # not a fault: part of the model name
    table = fault_table_markdown()
    assert all(f"`{name}`" in table for name in FAULTS)


async def test_refusal_as_text_reaches_codex() -> None:
    async with serve(EngineConfig(mock=MockOptions(), refusal="text")) as engine:
        reply = await post(engine.base_url, body("mock-refusal"))
    (message,) = reply.events()[-1]["response"]["output"]
    assert message["content"][0]["type"] == "output_text"
    assert message["content"][0]["text"].startswith("I'm sorry")
    assert judge(reply.body, "codex").checker.prediction().outcome == "ok"
