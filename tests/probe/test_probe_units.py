"""The pure parts: what a request resends every turn (core.replay), which part an error message
points at, the narrowing's suspects and removals, and the cases' bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ssescope.core.replay import error_clues, history_items, non_function_tools, pointed_at
from ssescope.probe.cases import CASES, covering, features
from ssescope.probe.narrow import Suspect, narrow, suspects, without

TURN2 = CASES["history-reasoning-encrypted"].build("m")


def test_history_is_what_a_first_turn_does_not_carry() -> None:
    assert [(s.where, s.type) for s in history_items(TURN2)] == [
        ("input[4]", "reasoning"),
        ("input[5]", "message:assistant"),
    ]
    assert history_items(CASES["codex-first-turn"].build("m")) == []  # developer, user: the prompt
    assert [(s.where, s.type, s.name) for s in non_function_tools(TURN2)] == [
        ("tools[4]", "namespace", "multi_agent_v1"),
        ("tools[8]", "web_search", ""),
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": {"message": "Invalid", "param": "tools.8.type"}}', ["tools[8]"]),
        ('{"error": {"message": "bad item at input[4]"}}', ["input[4]"]),
        ('{"error": {"message": "unsupported item type: reasoning"}}', ["input[4]"]),
        ("'type' of tool must be 'function'", ["tools[4]", "tools[8]"]),
        ('{"error": {"message": "item[\'content\'] is not an array"}}', []),
    ],
)
def test_pointed_at(body: str, expected: list[str]) -> None:
    assert [p.where for p in pointed_at(error_clues(body), TURN2)] == expected


def test_suspects_and_removals() -> None:
    body = CASES["tool-round-trip"].build("m")
    found = suspects(body)
    pair = next(s for s in found if len(s.indexes) == 2)
    assert pair.where == "input[3]+input[4]" and pair.standing
    assert any(s.kind == "input" and s.indexes == (4,) for s in found)  # a replayed last item
    first_turn = suspects(CASES["codex-first-turn"].build("m"))
    assert [s.where for s in first_turn if s.kind == "input"] == [
        "input[0]",
        "input[1]",
        "input[2]",
    ]
    stripped = without(body, [pair, *[s for s in found if s.kind == "tool"]])
    assert [i["type"] for i in stripped["input"]] == ["message"] * 3
    assert "tools" not in stripped and "tool_choice" not in stripped
    assert body["tools"]  # the original is untouched
    key = next(s for s in found if s.kind == "key" and s.name == "prompt_cache_key")
    assert "prompt_cache_key" not in without(body, [key]) and not key.standing


async def test_narrowing_a_server_that_refuses_the_output_names_it_alone() -> None:
    body = CASES["tool-round-trip"].build("m")

    async def accepts(candidate: dict[str, Any]) -> bool:
        return not any(
            isinstance(i, dict) and i.get("type") == "function_call_output"
            for i in candidate["input"]
        )

    cause = await narrow(body, accepts)
    assert [c.where for c in cause.culprits] == ["input[4]"]  # not also the pair
    assert cause.how == "without" and cause.thread_killer


def test_every_case_is_a_streaming_json_body_and_covers_itself() -> None:
    for case in CASES.values():
        body = case.build("m")
        assert body["model"] == "m" and body["stream"] is True
        assert json.loads(json.dumps(body)) == body
        assert case.id in covering(body) and features(body)
    assert Suspect("key", (), "key", "x").describe() == "the `x` key"
