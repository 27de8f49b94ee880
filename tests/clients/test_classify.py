"""The classifier that turns a real client's observation into an outcome."""

from __future__ import annotations

from typing import Any

import pytest

from tests.clients.classify import ToolCall, Truth, classify, truth_of
from tests.clients.corpus import case, judge
from tests.clients.crafted import ARGS, WORDS, encode, function_call, message, stream

TEXT = Truth(text="Paris.", content="Paris.", status="completed")
CALL = Truth(
    tool_calls=(ToolCall("get_weather", "call_1", '{"city":"Paris"}'),), status="completed"
)


def seen(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "error": None,
        "text": "",
        "refusal": "",
        "tool_calls": [],
        "reasoning": "",
        "status": None,
        "hung": False,
        "error_parts": [],
    }
    return base | fields


def test_truth_is_ssescopes_reconstruction_of_items_and_status() -> None:
    body = encode(stream(message(WORDS), function_call(ARGS, 1)))
    truth = truth_of(judge(case("t", "t", body)))
    assert truth.text == "The capital of France is Paris."
    assert truth.tool_calls == (ToolCall("get_weather", "call_crafted0001", '{"city":"Paris"}'),)
    assert truth.status == "completed"


def test_truth_without_terminal_is_in_progress_and_keeps_the_deltas() -> None:
    truth = truth_of(judge(case("t", "t", encode(stream(message(WORDS), terminal=None)[:6]))))
    assert (truth.text, truth.status) == ("The capital", "in_progress")


@pytest.mark.parametrize(
    ("client", "obs", "truth", "outcome"),
    [
        ("openai-python", seen(text="Paris.", status="completed"), TEXT, "ok"),
        ("openai-node", seen(text="Par", status="completed"), TEXT, "loss"),
        ("openai-node", seen(text="Paris.", status="in_progress"), TEXT, "loss"),
        ("openai-node", seen(status="failed", response_error={"message": "x"}), TEXT, "error"),
        ("openai-python", seen(error={"type": "RuntimeError", "message": "m"}), TEXT, "error"),
        ("openai-python", seen(hung=True, error={"type": "X", "message": "abort"}), TEXT, "hang"),
        ("ai-sdk", seen(text="Paris.", status="stop"), TEXT, "ok"),
        ("ai-sdk", seen(text="Paris.", status="length"), TEXT, "loss"),
        ("ai-sdk", seen(text="Paris.", status="error"), TEXT, "error"),
        ("ai-sdk", seen(text="Paris.", status="stop", error_parts=[{"type": "E"}]), TEXT, "error"),
        (
            "ai-sdk",
            seen(text="Paris.", status="interrupted"),
            Truth(text="Paris.", content="Paris.", status="in_progress"),
            "ok",
        ),
        (
            "ai-sdk",
            seen(text="Paris.", status="stop"),
            Truth(text="Paris.", content="Paris.", status="in_progress"),
            "loss",
        ),
        (
            "ai-sdk",
            seen(text="", status="stop"),
            Truth(refusal="No.", content="No.", status="completed"),
            "loss",
        ),
        (
            "ai-sdk",
            seen(text="No.", status="stop"),
            Truth(refusal="No.", content="No.", status="completed"),
            "ok",
        ),
        (
            "ai-sdk",
            seen(text="No.", status="content-filter"),
            Truth(refusal="No.", content="No.", status="completed"),
            "ok",
        ),
        ("ai-sdk", seen(text="Paris.", status="content-filter"), TEXT, "loss"),
        ("ai-sdk-open-responses", seen(status="stop"), CALL, "loss"),
        (
            "ai-sdk-open-responses",
            seen(
                status="tool-calls",
                tool_calls=[
                    {"name": "get_weather", "call_id": "call_1", "arguments": '{"city": "Paris"}'}
                ],
            ),
            CALL,
            "ok",
        ),
        (
            "openai-node",
            seen(
                status="completed",
                tool_calls=[
                    {"name": "get_weather", "call_id": "call_2", "arguments": '{"city":"Paris"}'}
                ],
            ),
            CALL,
            "loss",
        ),
        (
            "openai-node",
            seen(
                status="completed",
                tool_calls=[
                    {"name": "get_weather", "call_id": "call_1", "arguments": '{"city":"Pa'}
                ],
            ),
            CALL,
            "loss",
        ),
        (
            "openai-python",
            seen(status="completed", reasoning="hm"),
            Truth(status="completed"),
            "loss",
        ),
        ("openai-python", seen(), Truth(http_status=500), "loss"),
    ],
)
def test_outcomes(client: str, obs: dict[str, Any], truth: Truth, outcome: str) -> None:
    verdict = classify(client, obs, truth)
    assert verdict.outcome == outcome, verdict
    if outcome != "ok":
        assert verdict.detail


def test_hosted_tool_calls_the_provider_ran_are_not_function_calls() -> None:
    hosted = {"name": "web_search", "call_id": "ws_1", "arguments": "{}", "provider_executed": True}
    obs = seen(text="Paris.", status="stop", tool_calls=[hosted])
    assert classify("ai-sdk", obs, TEXT).outcome == "ok"


def test_empty_arguments_and_an_empty_object_are_the_same_call() -> None:
    truth = Truth(tool_calls=(ToolCall("ls", "c", ""),), status="completed")
    obs = seen(status="tool-calls", tool_calls=[{"name": "ls", "call_id": "c", "arguments": "{}"}])
    assert classify("ai-sdk", obs, truth).outcome == "ok"
