"""Request translation: a Responses request (Codex's shape included) → a Chat Completions request."""

from __future__ import annotations

from typing import Any

import pytest

from ssescope.engine.request import RequestError, to_chat

EXEC = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a command",
    "strict": False,
    "parameters": {
        "type": "object",
        "properties": {"cmd": {"type": "string"}},
        "required": ["cmd"],
    },
}

# The shape Codex CLI 0.169.0 sends (codex-behaviour.md §2), on its second turn after a tool call.
CODEX_REQUEST: dict[str, Any] = {
    "model": "local-model",
    "stream": True,
    "input": [
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "You are Codex."}],
        },
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Sandbox: read-only."}],
        },
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "<environment_context>cwd=/w</environment_context>"},
                {"type": "input_text", "text": "List the files."},
            ],
        },
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAA"},
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_1",
            "name": "exec_command",
            "arguments": '{"cmd":"ls"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "a.txt\nb.txt"},
    ],
    "tools": [
        EXEC,
        {"type": "namespace", "name": "multi_agent_v1", "tools": []},
        {"type": "web_search"},
    ],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "reasoning": {"effort": "medium", "summary": "auto"},
    "store": False,
    "include": ["reasoning.encrypted_content"],
    "prompt_cache_key": "k",
    "client_metadata": {"x": "y"},
}


def test_codex_request_becomes_a_valid_chat_request() -> None:
    chat = to_chat(CODEX_REQUEST)
    body = chat.body
    assert body["messages"] == [
        {"role": "system", "content": "You are Codex.\n\nSandbox: read-only."},
        {
            "role": "user",
            "content": "<environment_context>cwd=/w</environment_context>\nList the files.",
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "exec_command",
                "description": "Run a command",
                "parameters": EXEC["parameters"],
                "strict": False,
            },
        }
    ]
    assert body["tool_choice"] == "auto" and body["parallel_tool_calls"] is True
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    for key in ("reasoning", "store", "include", "prompt_cache_key", "client_metadata", "input"):
        assert key not in body
    # the tools a chat server cannot take are skipped with a warning, never a 400
    assert any("namespace 'multi_agent_v1'" in w and "web_search" in w for w in chat.warnings)
    assert chat.echo["tools"][0]["name"] == "exec_command" and len(chat.echo["tools"]) == 1
    assert chat.echo["model"] == "local-model" and chat.stream


def test_string_input_and_instructions() -> None:
    body = to_chat({"model": "m", "input": "hi", "instructions": "be brief"}).body
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hi"},
    ]


def test_assistant_history_and_parallel_calls_share_one_message() -> None:
    chat = to_chat(
        {
            "model": "m",
            "input": [
                {"role": "user", "content": "weather?"},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Checking."}],
                },
                {"type": "function_call", "call_id": "a", "name": "w", "arguments": "{}"},
                {"type": "function_call", "call_id": "b", "name": "w", "arguments": "{}"},
                {
                    "type": "function_call_output",
                    "call_id": "a",
                    "output": [{"type": "input_text", "text": "sun"}],
                },
                {"type": "function_call_output", "call_id": "b", "output": "rain"},
            ],
        }
    )
    messages = chat.body["messages"]
    assert messages[1]["role"] == "assistant" and messages[1]["content"] == "Checking."
    assert [c["id"] for c in messages[1]["tool_calls"]] == ["a", "b"]
    assert messages[2:] == [
        {"role": "tool", "tool_call_id": "a", "content": "sun"},
        {"role": "tool", "tool_call_id": "b", "content": "rain"},
    ]
    assert chat.warnings == []


def test_images_keep_a_part_list_and_unknown_parts_are_skipped() -> None:
    chat = to_chat(
        {
            "model": "m",
            "input": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_text", "text": "what is this?"},
                        {
                            "type": "input_image",
                            "image_url": "data:image/png;base64,AAAA",
                            "detail": "low",
                        },
                        {"type": "input_file", "file_id": "f"},
                    ],
                }
            ],
        }
    )
    assert chat.body["messages"][0]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "low"}},
    ]
    assert any("input_file" in w for w in chat.warnings)


def test_unknown_items_are_skipped_with_a_warning() -> None:
    chat = to_chat(
        {
            "model": "m",
            "input": [
                {"role": "user", "content": "hi"},
                {"type": "web_search_call", "id": "ws", "status": "completed"},
                {"type": "item_reference", "id": "x"},
                {"type": "item_reference", "id": "y"},
            ],
        }
    )
    assert chat.body["messages"] == [{"role": "user", "content": "hi"}]
    assert "skipped 2 input item(s) of type 'item_reference' (no chat equivalent)" in chat.warnings
    assert any("web_search_call" in w for w in chat.warnings)


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("required", "required"),
        ("none", "none"),
        (
            {"type": "function", "name": "exec_command"},
            {"type": "function", "function": {"name": "exec_command"}},
        ),
        ({"type": "function", "name": "gone"}, "auto"),
        ({"type": "web_search"}, "auto"),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    assert (
        to_chat({"model": "m", "input": "x", "tools": [EXEC], "tool_choice": choice}).body[
            "tool_choice"
        ]
        == expected
    )


def test_no_function_tool_left_means_no_tools_and_no_tool_choice() -> None:
    body = to_chat(
        {"model": "m", "input": "x", "tools": [{"type": "web_search"}], "tool_choice": "required"}
    ).body
    assert "tools" not in body and "tool_choice" not in body and "parallel_tool_calls" not in body


def test_sampling_limits_and_formats() -> None:
    body = to_chat(
        {
            "model": "m",
            "input": "x",
            "max_output_tokens": 64,
            "temperature": 0.3,
            "top_p": 0.9,
            "top_logprobs": 2,
            "text": {
                "format": {
                    "type": "json_schema",
                    "name": "out",
                    "schema": {"type": "object"},
                    "strict": True,
                }
            },
        }
    ).body
    assert (body["max_tokens"], body["temperature"], body["top_p"]) == (64, 0.3, 0.9)
    assert body["logprobs"] is True and body["top_logprobs"] == 2
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": True},
    }
    other = to_chat(
        {"model": "m", "input": "x", "max_output_tokens": 8},
        max_tokens_field="max_completion_tokens",
    )
    assert other.body["max_completion_tokens"] == 8 and "max_tokens" not in other.body
    assert other.echo["max_output_tokens"] == 8


def test_model_override_keeps_the_client_model_in_the_echo() -> None:
    chat = to_chat({"model": "gpt-5", "input": "x"}, model="qwen3")
    assert chat.body["model"] == "qwen3" and chat.echo["model"] == "gpt-5"


@pytest.mark.parametrize(
    "request_body",
    [
        [],
        {"input": "x"},
        {"model": 5, "input": "x"},
        {"model": "m", "input": 5},
        {"model": "m"},
        {"model": "m", "input": ["x"]},
        {"model": "m", "input": [{"type": "function_call_output", "output": "no call id"}]},
        {"model": "m", "input": [{"role": "user", "content": 3}]},
    ],
    ids=[
        "not-object",
        "no-model",
        "model-number",
        "input-number",
        "no-input",
        "item-string",
        "output-no-call-id",
        "content-number",
    ],
)
def test_requests_that_cannot_be_translated_are_request_errors(request_body: Any) -> None:
    with pytest.raises(RequestError):
        to_chat(request_body)
