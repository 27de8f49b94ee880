"""The quick check agrees with pydantic: it never vouches for a payload pydantic rejects, it
vouches for the real payloads of the sample streams, and judging a valid stream needs no
pydantic at all (which is what keeps ``open`` and ``check`` from importing it)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssescope.core import models as m
from ssescope.core.check import check_file
from ssescope.core.checker import CheckOptions

SAMPLES = Path(__file__).resolve().parents[1] / "sample_streams"


def _payloads() -> list[dict[str, Any]]:
    out = []
    for path in sorted(SAMPLES.glob("*.sse")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("data: {"):
                try:
                    out.append(json.loads(line[6:]))
                except ValueError:
                    continue
    return out


def _nested(payloads: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(declaration name, object) for every response, item, part and usage the samples carry."""
    found: list[tuple[str, dict[str, Any]]] = []
    for p in payloads:
        response = p.get("response")
        if isinstance(response, dict):
            found.append(("Response", response))
            if isinstance(response.get("usage"), dict):
                found.append(("Usage", response["usage"]))
        item = p.get("item")
        if isinstance(item, dict) and item.get("type") in m.ITEM_MODELS:
            found.append((m._ITEM_SPECS[item["type"]].__name__, item))
        part = p.get("part")
        if isinstance(part, dict) and part.get("type") in m.PART_MODELS:
            found.append((m._PART_SPECS[part["type"]].__name__, part))
    return found


PAYLOADS = _payloads()
NESTED = _nested(PAYLOADS)


def _pydantic_valid(name: str, payload: dict[str, Any]) -> bool:
    return m._validate(m._DECLARED[name], payload)[1] == []


def test_plans_agree_with_the_pydantic_fields() -> None:
    for name, declaration in m._DECLARED.items():
        model = m.pydantic_model(declaration)
        plan = m._plan(declaration)
        assert plan is not None, name
        assert [f[0] for f in plan] == list(model.model_fields), name
        for field, _kinds, required, _nullable, _deep in plan:
            assert required == model.model_fields[field].is_required(), (name, field)


def test_the_samples_pass_the_quick_check_where_pydantic_accepts_them() -> None:
    assert len(NESTED) > 20
    for name, obj in NESTED:
        assert m.quick_valid(m._DECLARED[name], obj) == _pydantic_valid(name, obj), (name, obj)
    for payload in PAYLOADS:
        declaration = m._EVENT_SPECS.get(payload.get("type"))  # type: ignore[arg-type]
        if declaration is not None and m.validate_event(payload)[1] == []:
            assert m.quick_valid(declaration, payload), payload


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2)
    ),
    max_leaves=4,
)


def _mutate(obj: Any, data: st.DataObject, depth: int = 0) -> Any:
    """Drop, replace or recurse into one key at each level of a (copied) valid object."""
    if not isinstance(obj, dict) or not obj or depth > 3:
        return obj
    key = data.draw(st.sampled_from(sorted(obj)))
    action = data.draw(st.sampled_from(["drop", "replace", "literal", "recurse", "keep"]))
    if action == "drop":
        del obj[key]
    elif action == "replace":
        obj[key] = data.draw(JSON_VALUES)
    elif action == "literal":
        obj[key] = data.draw(st.sampled_from(["", "completed", "x", "response", "message"]))
    elif action == "recurse":
        value = obj[key]
        if isinstance(value, list) and value:
            value[0] = _mutate(value[0], data, depth + 1)
        else:
            obj[key] = _mutate(value, data, depth + 1)
    return obj


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(NESTED), st.data())
def test_the_quick_check_never_vouches_for_what_pydantic_rejects(
    sample: tuple[str, dict[str, Any]], data: st.DataObject
) -> None:
    name, obj = sample
    mutated = copy.deepcopy(obj)
    for _ in range(data.draw(st.integers(1, 3))):
        mutated = _mutate(mutated, data)
    if m.quick_valid(m._DECLARED[name], mutated):
        assert _pydantic_valid(name, mutated), (name, mutated)


def test_a_valid_stream_is_judged_without_pydantic(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(_declaration: object) -> None:
        raise AssertionError("pydantic was asked for a valid stream")

    monkeypatch.setattr(m, "pydantic_model", refuse)
    for name in ("text.sse", "function-call.sse", "reasoning.sse", "parallel-calls.sse"):
        (result,) = check_file(str(SAMPLES / name), CheckOptions())
        assert result["summary"]["events"] > 5
