"""A fault asked for by name is played, or the request is answered 400 with why (and the engine
logs it): an unknown name in a model suffix, or a fault that would change nothing on the
scenario, is never silently ignored. Through the engine and the mock on real sockets."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from ssescope.engine.faults import FAULTS, UnknownFault, split_model, unshown_faults
from ssescope.engine.serve import mock_engine
from tests.engine.helpers import post

EXEC = {
    "type": "function",
    "name": "exec_command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}


def body(model: str, prompt: str = "hello", **extra: Any) -> dict[str, Any]:
    return {"model": model, "input": prompt, "stream": True, "tools": [EXEC], **extra}


def test_an_unknown_suffix_on_a_mock_model_is_an_error() -> None:
    with pytest.raises(UnknownFault, match=r"unknown fault 'nosuch'"):
        split_model("mock-text+nosuch")
    with pytest.raises(UnknownFault, match=r"did you mean 'cut'"):
        split_model("mock-tool+cutt")
    assert split_model("mock-tool+cut") == ("mock-tool", ("cut",))
    assert split_model("llama+3b") == ("llama+3b", ())  # not a mock model: its own name


async def test_unknown_fault_in_the_model_is_answered_400_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "ssescope.engine")
    async with mock_engine() as base_url:
        reply = await post(base_url, body("mock-text+nosuch"))
    assert reply.status == 400
    message = json.loads(reply.body)["error"]["message"]
    assert "unknown fault 'nosuch'" in message and "--list-faults" in message
    assert any("unknown fault 'nosuch'" in r.getMessage() for r in caplog.records)


async def test_a_tool_fault_on_text_plays_a_tool_call(caplog: pytest.LogCaptureFixture) -> None:
    """As the chat-side tool quirks do, a Responses-side fault that needs a call gets one (and
    the log says the scenario changed)."""
    caplog.set_level(logging.INFO, "ssescope.engine")
    async with mock_engine() as base_url:
        reply = await post(base_url, body("mock-text+call-id-changed"))
    assert any("need the tool scenario" in r.getMessage() for r in caplog.records)
    assert reply.status == 200
    added = next(e for e in reply.events() if e["type"] == "response.output_item.added")
    done = next(e for e in reply.events() if e["type"] == "response.output_item.done")
    assert added["item"]["type"] == "function_call"
    assert done["item"]["call_id"] == added["item"]["call_id"] + "_changed"


@pytest.mark.parametrize(
    ("model", "said"),
    [
        ("mock-reasoning+call-id-changed", "changes nothing on the reasoning scenario"),
        ("mock-tool+delta-object", "changes nothing on the tool scenario"),
        ("mock-refusal+incomplete-in-completed", "use it on mock-length"),
        ("mock-text+fake-completed", "pair it with +cut"),
        ("mock-reasoning+args-before-name", "changes nothing on the reasoning scenario"),
    ],
)
async def test_a_fault_that_would_change_nothing_is_answered_400_and_logged(
    model: str, said: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "ssescope.engine")
    async with mock_engine() as base_url:
        reply = await post(base_url, body(model))
    assert reply.status == 400
    assert said in json.loads(reply.body)["error"]["message"]
    assert any(said in r.getMessage() for r in caplog.records)


def test_the_answer_to_a_tool_result_is_exempt() -> None:
    """Codex replays the model name (and its faults) with the tool's output: that turn must not
    be refused because the tool fault has no call to change in the answer."""
    assert unshown_faults("answer", ["call-id-changed", "fake-completed"]) == []
    assert unshown_faults("tool", ["call-id-changed"]) == []
    assert unshown_faults("text", ["fake-completed", "cut"]) == []


def test_every_fault_that_names_a_scenario_shows_on_it() -> None:
    for fault in FAULTS.values():
        if fault.scenario is not None:
            assert fault.why_not_shown(fault.scenario, fault.with_faults) is None, fault.name


def test_a_responses_fault_that_changed_nothing_is_logged_at_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With a real upstream nothing picks the scenario: a tool fault on a text answer must say
    at the end of the response that it changed nothing."""
    from ssescope.engine.faults import ResponsesFaults

    caplog.set_level(logging.WARNING, "ssescope.engine")
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {"output": []}},
        {"type": "response.output_text.delta", "sequence_number": 1, "delta": "hi"},
        {"type": "response.completed", "sequence_number": 2, "response": {"output": []}},
    ]
    rfaults = ResponsesFaults(["call-id-changed", "delta-object"])
    sent = rfaults.apply(events)
    assert sent[1]["delta"] == {"text": "hi"}  # delta-object did apply
    said = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("fault call-id-changed changed nothing") for m in said)
    assert not any("fault delta-object" in m for m in said)
