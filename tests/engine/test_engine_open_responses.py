"""The engine against the Open Responses compliance suite's HTTP tests, restated here.

The suite (github openresponses/openresponses, ``bin/compliance-test.ts`` and
``src/lib/compliance-tests.ts``) posts a few requests to ``/responses`` and fails a test when the
answer is not a 2xx, when the Response does not parse with the spec's ``ResponseResource`` schema
(``public/openapi/openapi.json``, 2026-04-24), when a streamed event is not one of the spec's
streaming events or lacks their fields, or when the test's own checks fail (output present,
status ``completed``, a ``function_call`` item, the tool-call event sequence, a second turn
through ``previous_response_id``). Its code is not copied: this module states the same
properties in its own words (:data:`RESPONSE_FIELDS`, :data:`ITEM_FIELDS`, :data:`EVENT_FIELDS`)
and asks them of the engine's mock on 127.0.0.1, streamed and not. The optional hosted-tool
tests (file search, web search) need a vector store or a search index and stay out, as does the
WebSocket mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from ssescope.engine.serve import mock_engine
from tests.engine.helpers import Reply, judge, post

# -- the spec's schemas, restated: field → the JSON types it may have ------------------------------

STRING, INTEGER, NUMBER, BOOLEAN, ARRAY, OBJECT, NULL = (
    "string",
    "integer",
    "number",
    "boolean",
    "array",
    "object",
    "null",
)
ANY = "any"

Spec = dict[str, tuple[str, ...]]

RESPONSE_FIELDS: Spec = {
    "id": (STRING,),
    "object": (STRING,),
    "created_at": (INTEGER,),
    "completed_at": (INTEGER, NULL),
    "status": (STRING,),
    "incomplete_details": (OBJECT, NULL),
    "model": (STRING,),
    "previous_response_id": (STRING, NULL),
    "instructions": (STRING, NULL),
    "output": (ARRAY,),
    "error": (OBJECT, NULL),
    "tools": (ARRAY,),
    "tool_choice": (STRING, OBJECT),
    "truncation": (STRING,),
    "parallel_tool_calls": (BOOLEAN,),
    "text": (OBJECT,),
    "top_p": (NUMBER,),
    "presence_penalty": (NUMBER,),
    "frequency_penalty": (NUMBER,),
    "top_logprobs": (INTEGER,),
    "temperature": (NUMBER,),
    "reasoning": (OBJECT, NULL),
    "usage": (OBJECT, NULL),
    "max_output_tokens": (INTEGER, NULL),
    "max_tool_calls": (INTEGER, NULL),
    "store": (BOOLEAN,),
    "background": (BOOLEAN,),
    "service_tier": (STRING,),
    "metadata": (ANY,),
    "safety_identifier": (STRING, NULL),
    "prompt_cache_key": (STRING, NULL),
}
"""``ResponseResource``: every field is required (nullable ones must be present as null)."""

USAGE_FIELDS: Spec = {
    "input_tokens": (INTEGER,),
    "output_tokens": (INTEGER,),
    "total_tokens": (INTEGER,),
    "input_tokens_details": (OBJECT,),
    "output_tokens_details": (OBJECT,),
}
FUNCTION_TOOL_FIELDS: Spec = {
    "type": (STRING,),
    "name": (STRING,),
    "description": (STRING, NULL),
    "parameters": (OBJECT, NULL),
    "strict": (BOOLEAN, NULL),
}
ITEM_STATUS = ("in_progress", "completed", "incomplete")
ITEM_FIELDS: dict[str, Spec] = {
    "message": {
        "id": (STRING,),
        "status": (STRING,),
        "role": (STRING,),
        "content": (ARRAY,),
    },
    "function_call": {
        "id": (STRING,),
        "call_id": (STRING,),
        "name": (STRING,),
        "arguments": (STRING,),
        "status": (STRING,),
    },
    "function_call_output": {
        "id": (STRING,),
        "call_id": (STRING,),
        "output": (STRING, ARRAY),
        "status": (STRING,),
    },
    "reasoning": {"id": (STRING,), "summary": (ARRAY,)},
}
PART_FIELDS: dict[str, Spec] = {
    "output_text": {"text": (STRING,), "annotations": (ARRAY,)},
    "refusal": {"refusal": (STRING,)},
    "reasoning_text": {"text": (STRING,)},
    "summary_text": {"text": (STRING,)},
    "input_text": {"text": (STRING,)},
    "text": {"text": (STRING,)},
}

_ITEM = {"item_id": (STRING,), "output_index": (INTEGER,)}
_PART = {**_ITEM, "content_index": (INTEGER,)}
_SUMMARY = {**_ITEM, "summary_index": (INTEGER,)}
_LIFECYCLE = {"response": (OBJECT,)}
EVENT_FIELDS: dict[str, Spec] = {
    "response.created": _LIFECYCLE,
    "response.queued": _LIFECYCLE,
    "response.in_progress": _LIFECYCLE,
    "response.completed": _LIFECYCLE,
    "response.failed": _LIFECYCLE,
    "response.incomplete": _LIFECYCLE,
    "response.output_item.added": {"output_index": (INTEGER,), "item": (OBJECT, NULL)},
    "response.output_item.done": {"output_index": (INTEGER,), "item": (OBJECT, NULL)},
    "response.content_part.added": {**_PART, "part": (OBJECT,)},
    "response.content_part.done": {**_PART, "part": (OBJECT,)},
    "response.output_text.delta": {**_PART, "delta": (STRING,), "logprobs": (ARRAY,)},
    "response.output_text.done": {**_PART, "text": (STRING,)},
    "response.refusal.delta": {**_PART, "delta": (STRING,)},
    "response.refusal.done": {**_PART, "refusal": (STRING,)},
    "response.reasoning.delta": {**_PART, "delta": (STRING,)},
    "response.reasoning.done": {**_PART, "text": (STRING,)},
    "response.reasoning_summary_part.added": {**_SUMMARY, "part": (OBJECT,)},
    "response.reasoning_summary_part.done": {**_SUMMARY, "part": (OBJECT,)},
    "response.reasoning_summary_text.delta": {**_SUMMARY, "delta": (STRING,)},
    "response.reasoning_summary_text.done": {**_SUMMARY, "text": (STRING,)},
    "response.output_text.annotation.added": {
        **_PART,
        "annotation_index": (INTEGER,),
        "annotation": (OBJECT, NULL),
    },
    "response.function_call_arguments.delta": {**_ITEM, "delta": (STRING,)},
    "response.function_call_arguments.done": {**_ITEM, "arguments": (STRING,)},
    "error": {"error": (OBJECT,)},
}
"""The streaming events the spec has (and so the only ones its suite accepts), with the fields
each requires besides ``type`` and ``sequence_number`` (an integer on every one)."""
ERROR_PAYLOAD_FIELDS: Spec = {
    "type": (STRING,),
    "code": (STRING, NULL),
    "message": (STRING,),
    "param": (STRING, NULL),
}


def json_type(value: Any) -> str:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    return {str: STRING, list: ARRAY, dict: OBJECT}[type(value)]


def fields(obj: Any, spec: Spec, where: str) -> list[str]:
    """What ``obj`` lacks or types wrongly against ``spec`` (an integer is also a number)."""
    if not isinstance(obj, dict):
        return [f"{where}: {json_type(obj)}, expected object"]
    problems = []
    for name, allowed in spec.items():
        if name not in obj:
            problems.append(f"{where}.{name}: missing")
            continue
        got = json_type(obj[name])
        if ANY in allowed or got in allowed or (got == INTEGER and NUMBER in allowed):
            continue
        problems.append(f"{where}.{name}: {got}, expected {' or '.join(allowed)}")
    return problems


def part_problems(part: Any, where: str) -> list[str]:
    ptype = part.get("type") if isinstance(part, dict) else None
    if ptype not in PART_FIELDS:
        return [f"{where}.type: {ptype!r} is not a content part of the spec"]
    return fields(part, PART_FIELDS[ptype], where)


def item_problems(item: Any, where: str) -> list[str]:
    itype = item.get("type") if isinstance(item, dict) else None
    if itype not in ITEM_FIELDS:
        return [f"{where}.type: {itype!r} is not an item of the spec"]
    problems = fields(item, ITEM_FIELDS[itype], where)
    if "status" in ITEM_FIELDS[itype] and item.get("status") not in ITEM_STATUS:
        problems.append(f"{where}.status: {item.get('status')!r}")
    for key in ("content", "summary"):
        for i, part in enumerate(item.get(key) or []):
            problems += part_problems(part, f"{where}.{key}[{i}]")
    return problems


def response_problems(response: Any, where: str = "response") -> list[str]:
    """Everything that keeps ``response`` from parsing as the spec's ``ResponseResource``."""
    problems = fields(response, RESPONSE_FIELDS, where)
    if problems and not isinstance(response, dict):
        return problems
    if response.get("object") != "response":
        problems.append(f"{where}.object: {response.get('object')!r}")
    if response.get("truncation") not in ("auto", "disabled"):
        problems.append(f"{where}.truncation: {response.get('truncation')!r}")
    for i, item in enumerate(response.get("output") or []):
        problems += item_problems(item, f"{where}.output[{i}]")
    for i, tool in enumerate(response.get("tools") or []):
        problems += fields(tool, FUNCTION_TOOL_FIELDS, f"{where}.tools[{i}]")
    if isinstance(response.get("usage"), dict):
        problems += fields(response["usage"], USAGE_FIELDS, f"{where}.usage")
    if isinstance(response.get("error"), dict):
        problems += fields(response["error"], {"code": (STRING,), "message": (STRING,)}, where)
    if isinstance(response.get("text"), dict) and not isinstance(
        response["text"].get("format"), dict
    ):
        problems.append(f"{where}.text.format: missing")
    if isinstance(response.get("incomplete_details"), dict):
        problems += fields(response["incomplete_details"], {"reason": (STRING,)}, where)
    return problems


def event_problems(event: dict[str, Any]) -> list[str]:
    """Everything that keeps one streamed event from parsing as one of the spec's events."""
    etype = event.get("type")
    if etype not in EVENT_FIELDS:
        return [f"event {etype!r} is not a streaming event of the spec"]
    problems = fields(event, {"sequence_number": (INTEGER,), **EVENT_FIELDS[etype]}, str(etype))
    if "response" in EVENT_FIELDS[etype]:
        problems += response_problems(event.get("response"), f"{etype}.response")
    if etype.startswith("response.output_item.") and event.get("item") is not None:
        problems += item_problems(event["item"], f"{etype}.item")
    if isinstance(event.get("part"), dict):
        problems += part_problems(event["part"], f"{etype}.part")
    if etype == "error":
        problems += fields(event.get("error"), ERROR_PAYLOAD_FIELDS, "error.error")
    return problems


# -- the suite's tests, as requests and checks ------------------------------------------------------

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a location",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city and state"}},
        "required": ["location"],
    },
}
RED_DOT_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGA"
    "hKmMIQAAAABJRU5ErkJggg=="
)
TINY_PDF = "data:application/pdf;base64,JVBERi0xLjEKJSVFT0YK"


def message(role: str, content: Any) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": content}


SINGLE_TURN: dict[str, dict[str, Any]] = {
    "basic-response": {"input": [message("user", "Say hello in exactly 3 words.")]},
    "streaming-response": {"input": [message("user", "Count from 1 to 5.")]},
    "system-prompt": {
        "input": [
            message("system", "You are a pirate. Always respond in pirate speak."),
            message("user", "Say hello."),
        ]
    },
    "tool-calling": {
        "input": [message("user", "What's the weather like in San Francisco?")],
        "tools": [WEATHER_TOOL],
    },
    "image-input": {
        "input": [
            message(
                "user",
                [
                    {"type": "input_text", "text": "What do you see in this image? One sentence."},
                    {"type": "input_image", "image_url": RED_DOT_PNG},
                ],
            )
        ]
    },
    "file-input": {
        "input": [
            message(
                "user",
                [
                    {"type": "input_text", "text": "Read the attached file, answer its title."},
                    {"type": "input_file", "filename": "fixture.pdf", "file_data": TINY_PDF},
                ],
            )
        ]
    },
    "multi-turn": {
        "input": [
            message("user", "My name is Alice."),
            message("assistant", "Hello Alice! Nice to meet you. How can I help you today?"),
            message("user", "What is my name?"),
        ]
    },
}
"""The suite's one-request tests (its model is whatever the server serves: here the mock)."""


async def answer(base_url: str, body: dict[str, Any], stream: bool) -> tuple[Reply, dict[str, Any]]:
    """Post as the suite does (``stream`` set either way); the final Response, after every
    streamed event passed the spec's event schemas."""
    reply = await post(base_url, {"model": "mock", **body, "stream": stream})
    assert reply.status == 200, reply.body[:300]
    if not stream:
        response = reply.json
    else:
        events = reply.events()
        assert events, "no streaming events"
        assert [p for e in events for p in event_problems(e)] == []
        terminal = [e for e in events if e["type"] in TERMINALS]
        assert len(terminal) == 1
        response = terminal[0]["response"]
    assert response_problems(response) == []
    return reply, response


TERMINALS = ("response.completed", "response.failed", "response.incomplete")


def output_types(response: dict[str, Any]) -> list[str]:
    return [item["type"] for item in response["output"]]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("test_id", sorted(SINGLE_TURN))
async def test_the_suites_single_request_tests_pass(test_id: str, stream: bool) -> None:
    async with mock_engine() as base_url:
        _, response = await answer(base_url, SINGLE_TURN[test_id], stream)
    assert response["output"], "no output items"
    if test_id == "tool-calling":
        assert "function_call" in output_types(response)
    else:
        assert response["status"] == "completed"


async def test_tool_calling_streaming_has_the_function_call_events() -> None:
    async with mock_engine() as base_url:
        reply, _ = await answer(base_url, SINGLE_TURN["tool-calling"], stream=True)
    events = reply.events()
    calls = [
        e
        for e in events
        if e["type"].startswith("response.output_item.") and e["item"]["type"] == "function_call"
    ]
    assert [e["type"] for e in calls] == ["response.output_item.added", "response.output_item.done"]
    types = reply.types()
    assert "response.function_call_arguments.delta" in types
    assert "response.function_call_arguments.done" in types


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_function_call_round_trip_through_previous_response_id(stream: bool) -> None:
    """The suite's ``function-call-roundtrip``: a forced call, then only its output, sent with
    ``previous_response_id`` (the engine must already know the first response when the client
    answers, however fast it does)."""
    first_body = {
        "input": "Use the weather tool to get the temperature in San Francisco.",
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
    }
    async with mock_engine() as base_url:
        _, first = await answer(base_url, first_body, stream)
        call = next(i for i in first["output"] if i["type"] == "function_call")
        assert first["tool_choice"] == {"type": "function", "name": "get_weather"}
        output = {"type": "function_call_output", "call_id": call["call_id"], "output": "64F"}
        _, second = await answer(
            base_url, {"previous_response_id": first["id"], "input": [output]}, stream
        )
    assert second["status"] == "completed" and second["output"]
    assert second["previous_response_id"] == first["id"]
    assert "64F" in second["output"][-1]["content"][0]["text"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_previous_response_id_carries_the_conversation(stream: bool) -> None:
    async with mock_engine() as base_url:
        _, first = await answer(
            base_url, {"input": "Remember this code word: papaya. Reply with only OK."}, stream
        )
        _, second = await answer(
            base_url,
            {
                "previous_response_id": first["id"],
                "input": "What code word did I ask you to remember?",
            },
            stream,
        )
    assert second["status"] == "completed" and second["output"]


# -- beyond the suite's prompts: every Response the engine writes parses ----------------------------

ECHOED = {
    "temperature": 0.25,
    "top_p": 0.5,
    "presence_penalty": 0.5,
    "frequency_penalty": -0.5,
    "top_logprobs": 2,
    "max_output_tokens": 64,
    "max_tool_calls": 3,
    "safety_identifier": "user-1234",
    "prompt_cache_key": "thread-7",
    "truncation": "auto",
    "metadata": {"team": "a"},
    "instructions": "Be brief.",
    "parallel_tool_calls": False,
    "store": False,
}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_request_parameters_are_echoed_with_their_types(stream: bool) -> None:
    async with mock_engine() as base_url:
        reply, response = await answer(base_url, {"input": "hello", **ECHOED}, stream)
    assert {k: response[k] for k in ECHOED} == ECHOED
    if stream:  # the snapshots of created and in_progress say the same
        for event in reply.events()[:2]:
            assert {k: event["response"][k] for k in ECHOED} == ECHOED


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_defaults_are_numbers_not_nulls(stream: bool) -> None:
    """A request that sets no sampling parameter still gets the values that were used."""
    async with mock_engine() as base_url:
        _, response = await answer(base_url, {"input": "hello"}, stream)
    assert (response["temperature"], response["top_p"]) == (1.0, 1.0)
    assert (response["presence_penalty"], response["frequency_penalty"]) == (0.0, 0.0)
    assert (response["top_logprobs"], response["service_tier"]) == (0, "default")
    assert response["completed_at"] >= response["created_at"]
    assert response["max_tool_calls"] is None and response["prompt_cache_key"] is None


@pytest.mark.parametrize(
    ("model", "terminal"),
    [
        ("mock-length", "response.incomplete"),
        ("mock-reasoning", "response.completed"),
        ("mock-parallel", "response.completed"),
        ("mock-refusal", "response.completed"),
        ("mock-text+cut", "response.failed"),
    ],
)
async def test_every_terminal_response_parses(model: str, terminal: str) -> None:
    """Incomplete and failed answers too: ``completed_at`` present and null, ``error`` typed."""
    async with mock_engine() as base_url:
        reply = await post(base_url, {"model": model, "input": "hello", "stream": True})
    events = reply.events()
    last = events[-1]
    assert last["type"] == terminal
    assert response_problems(last["response"]) == []
    for event in events[:2]:
        assert response_problems(event["response"]) == []
    if terminal != "response.completed":
        assert last["response"]["completed_at"] is None


def test_the_restated_schemas_catch_what_the_suite_rejects() -> None:
    """The checks above can fail: the engine's old Response shape (null sampling values, no
    penalties, no ``completed_at`` on incomplete) and OpenAI's raw-reasoning event name."""
    old = {k: None for k in ("temperature", "top_p")} | {
        "id": "resp_1",
        "object": "response",
        "created_at": 1,
        "status": "incomplete",
    }
    problems = response_problems(old)
    for name in ("temperature", "top_p", "presence_penalty", "completed_at", "service_tier"):
        assert any(p.startswith(f"response.{name}:") for p in problems), name
    assert event_problems({"type": "response.reasoning_text.delta", "sequence_number": 3}) == [
        "event 'response.reasoning_text.delta' is not a streaming event of the spec"
    ]


def test_the_checkers_open_responses_profile_agrees() -> None:
    """ssescope's own judge under ``--profile open-responses`` finds nothing to say about a
    Response the restated schemas accept, and flags the field the engine used to send null."""
    good = complete_response()
    assert response_problems(good) == []
    assert rules_under_open_responses(good) == set()
    bad = {**good, "temperature": None}
    assert response_problems(bad) == ["response.temperature: null, expected number"]
    assert rules_under_open_responses(bad) == {"open-responses-field"}


def complete_response() -> dict[str, Any]:
    base: dict[str, Any] = {name: None for name in RESPONSE_FIELDS}
    base.update(
        id="resp_1",
        object="response",
        created_at=1767225600,
        completed_at=1767225601,
        status="completed",
        model="m",
        output=[],
        tools=[],
        tool_choice="auto",
        truncation="disabled",
        parallel_tool_calls=True,
        text={"format": {"type": "text"}},
        top_p=1.0,
        presence_penalty=0.0,
        frequency_penalty=0.0,
        top_logprobs=0,
        temperature=1.0,
        store=True,
        background=False,
        service_tier="default",
        metadata={},
        usage={
            "input_tokens": 1,
            "output_tokens": 1,
            "total_tokens": 2,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    )
    return base


def rules_under_open_responses(response: dict[str, Any]) -> set[str]:
    from json import dumps

    def frame(event: dict[str, Any]) -> bytes:
        return f"event: {event['type']}\ndata: {dumps(event)}\n\n".encode()

    created = {**response, "status": "in_progress", "completed_at": None}
    events = [
        {"type": "response.created", "sequence_number": 0, "response": created},
        {"type": "response.completed", "sequence_number": 1, "response": response},
    ]
    data = b"".join(frame(e) for e in events) + b"data: [DONE]\n\n"
    session = judge(data, profile="open-responses")
    return {f.rule for f in session.checker.findings if not f.rule.startswith("client-")}


def test_reasoning_open_responses_renames_only_the_raw_reasoning_events() -> None:
    """``--reasoning open-responses`` streams what ``text`` does, under the spec's names."""
    from ssescope.engine.translate import ChatToResponses, counting_ids

    def translate(mode: str) -> list[dict[str, Any]]:
        tr = ChatToResponses({"model": "m"}, ids=counting_ids(), reasoning=mode, clock=lambda: 7)
        events = tr.start()
        for delta in ({"reasoning_content": "Thinking"}, {"content": "Hi"}):
            events += tr.feed_chunk({"choices": [{"index": 0, "delta": delta}]})
        events += tr.feed_chunk({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        return events + tr.upstream_done()

    openai, spec = translate("text"), translate("open-responses")
    renamed = {
        "response.reasoning_text.delta": "response.reasoning.delta",
        "response.reasoning_text.done": "response.reasoning.done",
    }
    assert spec == [{**e, "type": renamed.get(e["type"], e["type"])} for e in openai]
    assert {"response.reasoning.delta", "response.reasoning.done"} <= {e["type"] for e in spec}
    assert [p for e in spec for p in event_problems(e)] == []


async def test_a_reasoning_answer_passes_the_streaming_test_with_the_spec_names() -> None:
    async with mock_engine(reasoning="open-responses") as base_url:
        _, response = await answer(base_url, {"model": "mock-reasoning", "input": "hi"}, True)
    assert output_types(response) == ["reasoning", "message"]
