"""The event models agree with the reference events.json (generated from OpenAI's openapi.yaml)."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from typing import Any

import pytest

from ssescope.core import models as m

EVENTS_JSON = Path(__file__).resolve().parents[2] / "shared" / "docs" / "events.json"

# Fields the schema requires that the models deliberately relax (WIRE exemptions, reference §7).
WIRE_OPTIONAL = {
    ("error", "message"),
    ("error", "code"),
    ("error", "param"),  # nested form is real
    ("response.function_call_arguments.done", "name"),  # never sent on the HTTP stream
    ("response.output_text.delta", "logprobs"),
    ("response.output_text.done", "logprobs"),
}
JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}


def _spec() -> dict[str, Any]:
    if not EVENTS_JSON.exists():
        pytest.skip(f"reference {EVENTS_JSON} not present beside the checkout")
    return json.loads(EVENTS_JSON.read_text())["events"]


def _json_types(annotation: Any) -> set[str]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, __import__("types").UnionType):
        return set().union(*(_json_types(a) for a in typing.get_args(annotation)))
    if origin is typing.Literal:
        return {"string"}
    if annotation is type(None):
        return {"null"}
    if origin is list:
        return {"array"}
    if origin is dict or (isinstance(annotation, type) and issubclass(annotation, m.BaseModel)):
        return {"object"}
    return {JSON_TYPES.get(annotation, "?")}


def test_every_schema_event_has_a_model() -> None:
    assert sorted(set(_spec()) - set(m.EVENT_MODELS)) == []


def test_required_fields_and_types_match_the_schema() -> None:
    problems = []
    for etype, spec in _spec().items():
        model = m.EVENT_MODELS[etype]
        fields = model.model_fields
        for name, jtype in spec["required"].items():
            if name == "type":
                continue
            if name not in fields:
                problems.append(f"{etype}.{name}: not modelled")
                continue
            info = fields[name]
            if (etype, name) not in WIRE_OPTIONAL and not info.is_required():
                problems.append(f"{etype}.{name}: optional in the model, required by the schema")
            want = {t.split(":")[0].split("<")[0] for t in jtype.split("|")}
            want = {"object" if t == "union" else t for t in want}
            got = (
                _json_types(info.annotation) - {"null"}
                if (etype, name) in WIRE_OPTIONAL
                else _json_types(info.annotation)
            )
            if not want - {"null"} <= got:
                problems.append(f"{etype}.{name}: schema {jtype}, model {sorted(got)}")
    assert problems == []


def test_wrong_json_types_are_named() -> None:
    _, issues = m.validate_event(
        {
            "type": "response.output_text.delta",
            "sequence_number": 1,
            "item_id": "m",
            "output_index": "0",
            "content_index": 1.0,
            "delta": {"text": "hi"},
        }
    )
    assert {(i.path, i.kind, i.expected, i.got) for i in issues} == {
        ("output_index", "type", "integer", "string"),
        ("content_index", "type", "integer", "number"),
        ("delta", "type", "string", "object"),
    }


def test_missing_fields_say_the_expected_type() -> None:
    issues = m.validate_response({"id": "r", "object": "response", "status": "in_progress"})
    by_path = {i.path: i for i in issues}
    assert by_path["response.created_at"].expected == "number"
    assert by_path["response.tools"].expected == "array"
    assert all(i.kind == "missing" for i in issues)


def test_wire_leniency() -> None:
    ok = [
        {
            "type": "response.output_text.delta",
            "sequence_number": 3,
            "item_id": "m",
            "output_index": 0,
            "content_index": 0,
            "delta": "x",
            "obfuscation": "abc",
        },
        {
            "type": "response.function_call_arguments.done",
            "sequence_number": 4,
            "item_id": "fc",
            "output_index": 0,
            "arguments": "{}",
        },
        {
            "type": "error",
            "sequence_number": 5,
            "error": {"type": "server_error", "code": None, "message": "boom", "param": None},
        },
        {"type": "keepalive", "sequence_number": 6},
    ]
    for payload in ok:
        model, issues = m.validate_event(payload)
        assert issues == [] and model is not None, payload


def test_unknown_event_types_are_not_validated() -> None:
    assert m.validate_event({"type": "response.tool_call.delta", "delta": "x"}) == (None, [])
    assert "function_call_arguments" in (m.foreign_name_hint("response.tool_call.delta") or "")


def test_items_parts_and_chat_chunks() -> None:
    issues = m.validate_item({"type": "function_call", "name": "f", "arguments": {"a": 1}})
    assert {(i.path, i.kind) for i in issues} == {
        ("item.call_id", "missing"),
        ("item.arguments", "type"),
    }
    assert m.validate_part({"type": "output_text", "text": "", "annotations": []}) == []
    chunk, issues = m.validate_chat_chunk(
        {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "x",
            "choices": [
                {
                    "index": 0,
                    "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{"}}]},
                    "finish_reason": None,
                }
            ],
        }
    )
    assert issues == [] and chunk is not None
    assert chunk.choices[0].delta.tool_calls[0].function.arguments == "{"  # type: ignore[index,union-attr]


def test_quick_check_never_accepts_what_pydantic_rejects() -> None:
    """The fast path in front of pydantic is conservative: accepted ⇒ valid."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    values = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-2, 2),
        st.floats(allow_nan=False),
        st.text(max_size=3),
        st.just([]),
        st.lists(st.integers(), min_size=1, max_size=2),
        st.just({}),
        st.just({"a": 1}),
    )
    fields = [
        "item_id",
        "output_index",
        "content_index",
        "delta",
        "logprobs",
        "sequence_number",
        "text",
        "arguments",
        "name",
        "response",
        "item",
        "part",
        "summary_index",
        "message",
        "code",
    ]

    @settings(max_examples=2000, deadline=None)
    @given(
        st.sampled_from(sorted(m.EVENT_MODELS)), st.dictionaries(st.sampled_from(fields), values)
    )
    def check(etype: str, payload: dict[str, Any]) -> None:
        payload = {**payload, "type": etype}
        model = m.EVENT_MODELS[etype]
        if m.quick_valid(model, payload):
            assert m.validate_event(payload)[1] == []

    check()
