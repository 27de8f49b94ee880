"""The probe's battery: one registered case per kind of request real clients send.

Each case builds a complete request body for a model name. The bodies follow what the clients
send on the wire: Codex CLI 0.169.0's (recorded through ``ssescope proxy``: developer messages
instead of ``instructions``, its function tools plus a ``namespace`` tool and ``web_search``,
``store: false``, ``include``, ``prompt_cache_key``, ``client_metadata``; every later turn
replays the whole conversation) and the SDKs' (string-content messages, hosted tools). A case is
one :func:`case` entry: the id is stable (``--case ID``), the title is what the table shows and
``means`` is what a rejection of it means for a user.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Body = dict[str, Any]

PROMPT = "Reply with one short sentence."
THREAD = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CALL_ID = "call_probe_0001"
ENCRYPTED = "gAAAAABpZ3N0cmVhbS1wcm9iZS1lbmNyeXB0ZWQtcmVhc29uaW5nLWJsb2I="


@dataclass(frozen=True)
class ProbeCase:
    id: str
    title: str
    means: str
    """What the server must accept here, and what a rejection costs a user."""
    build: Callable[[str], Body]
    """The request body for a model name (``stream: true``)."""
    expected: frozenset[str] = frozenset()
    """Findings that are this case's correct outcome (a length cut that Codex reports as an
    incomplete response), not counted as errors."""
    required: frozenset[str] = frozenset()
    """Rules that are what this case tests: an error here whatever their severity in the
    profile."""


CASES: dict[str, ProbeCase] = {}
"""Every case by id, in the order the probe runs them."""


def case(
    case_id: str,
    title: str,
    means: str,
    *,
    expected: Iterable[str] = (),
    required: Iterable[str] = (),
) -> Callable[[Callable[[str], Body]], Callable[[str], Body]]:
    """Register the decorated body builder as a case."""

    def register(build: Callable[[str], Body]) -> Callable[[str], Body]:
        if case_id in CASES:
            raise ValueError(f"probe case {case_id!r} is defined twice")
        CASES[case_id] = ProbeCase(
            case_id, title, means, build, frozenset(expected), frozenset(required)
        )
        return build

    return register


# -- what Codex sends ------------------------------------------------------------------------------


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _function(name: str, description: str, properties: dict[str, Any], required: list[str]) -> Any:
    return {
        "type": "function",
        "name": name,
        "description": description,
        "strict": False,
        "parameters": _schema(properties, required),
    }


_STRING = {"type": "string"}
_NUMBER = {"type": "number"}

CODEX_TOOLS: list[dict[str, Any]] = [
    _function(
        "exec_command",
        "Runs a command in a PTY, returning output or a session ID for ongoing interaction.",
        {
            "cmd": _STRING,
            "workdir": _STRING,
            "login": {"type": "boolean"},
            "yield_time_ms": _NUMBER,
        },
        ["cmd"],
    ),
    _function(
        "write_stdin",
        "Writes characters to an existing unified exec session and returns recent output.",
        {"session_id": _NUMBER, "chars": _STRING},
        ["session_id"],
    ),
    _function(
        "request_user_input",
        "Request user input for one to three short questions and wait for the response.",
        {"questions": {"type": "array", "items": {"type": "object"}}},
        ["questions"],
    ),
    _function(
        "view_image", "View a local image file from the filesystem.", {"path": _STRING}, ["path"]
    ),
    {
        "type": "namespace",
        "name": "multi_agent_v1",
        "description": "Tools for spawning and managing sub-agents.",
        "tools": [
            _function("spawn_agent", "Spawn a sub-agent.", {"message": _STRING}, ["message"]),
            _function("close_agent", "Close an agent.", {"target": _STRING}, ["target"]),
        ],
    },
    _function("get_goal", "Get the current goal for this thread.", {}, []),
    _function("create_goal", "Create a goal.", {"objective": _STRING}, ["objective"]),
    _function(
        "update_goal",
        "Update the existing goal.",
        {"status": {"type": "string", "enum": ["complete", "blocked", "paused"]}},
        ["status"],
    ),
    {"type": "web_search", "external_web_access": False},
]
"""Codex 0.169.0's tool list (descriptions shortened): function tools, a ``namespace`` tool and
the built-in ``web_search``."""


def _text_message(role: str, text: str, item_id: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": role,
        "content": [{"type": "input_text", "text": text}],
    }


def _assistant(text: str, item_id: str = "msg_probe_assistant") -> dict[str, Any]:
    return {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }


def codex_preamble() -> list[dict[str, Any]]:
    """What opens every Codex request: two developer messages and the environment context."""
    return [
        _text_message(
            "developer",
            "You are a coding agent running in the Codex CLI, a terminal-based coding assistant.",
            "msg_probe_dev_0",
        ),
        _text_message(
            "developer",
            "<permissions instructions>Filesystem sandboxing: read-only.</permissions instructions>",
            "msg_probe_dev_1",
        ),
        _text_message(
            "user",
            "<environment_context>\n  <cwd>/tmp/work</cwd>\n  <shell>bash</shell>\n"
            "</environment_context>",
            "msg_probe_env",
        ),
    ]


def codex_body(model: str, history: list[dict[str, Any]], prompt: str | None = PROMPT) -> Body:
    """A Codex request: the preamble, ``history`` (earlier turns, replayed), then the prompt."""
    items = codex_preamble() + copy.deepcopy(history)
    if prompt is not None:
        items.append(_text_message("user", prompt, "msg_probe_prompt"))
    return {
        "model": model,
        "stream": True,
        "input": items,
        "tools": copy.deepcopy(CODEX_TOOLS),
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "store": False,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": THREAD,
        "client_metadata": {
            "session_id": THREAD,
            "thread_id": THREAD,
            "turn_id": "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a60",
        },
    }


def function_call(call_id: str = CALL_ID, cmd: str = "echo ssescope-probe") -> dict[str, Any]:
    """A ``function_call`` item as Codex replays it: exactly as ``output_item.done`` carried it."""
    return {
        "type": "function_call",
        "status": "completed",
        "id": f"fc_{call_id.removeprefix('call_')}",
        "name": "exec_command",
        "arguments": f'{{"cmd": "{cmd}"}}',
        "call_id": call_id,
    }


def function_call_output(call_id: str = CALL_ID, output: str = "ssescope-probe") -> dict[str, Any]:
    return {
        "type": "function_call_output",
        "id": f"fco_{call_id.removeprefix('call_')}",
        "call_id": call_id,
        "output": f"Process exited with code 0\nOutput:\n{output}\n",
    }


def _first_turn(answer: str = "Done.") -> list[dict[str, Any]]:
    return [
        _text_message("user", "What is in this directory?", "msg_probe_turn1"),
        _assistant(answer),
    ]


# -- the cases -------------------------------------------------------------------------------------


@case(
    "codex-first-turn",
    "Codex's first request",
    "Codex's real first request: developer messages, its function tools plus `web_search` and "
    "a `namespace` tool, store/include/prompt_cache_key/client_metadata. Rejected: Codex cannot "
    "start a thread at all.",
)
def codex_first_turn(model: str) -> Body:
    return codex_body(model, [])


@case(
    "tool-round-trip",
    "function_call + function_call_output",
    "Codex's second request after a tool ran: the `function_call` item as it arrived, then its "
    "`function_call_output`. Rejected: no tool call can ever complete.",
)
def tool_round_trip(model: str) -> Body:
    return codex_body(model, [function_call(), function_call_output()], prompt=None)


@case(
    "history-reasoning-encrypted",
    "replayed reasoning (encrypted_content)",
    "A reasoning item from an earlier turn with `content: null` and `encrypted_content`, as "
    'Codex replays it (`include: ["reasoning.encrypted_content"]`). llama.cpp PR #21174\'s '
    "case: rejected, every turn after a reasoning model's first answer fails.",
)
def history_reasoning_encrypted(model: str) -> Body:
    reasoning: dict[str, Any] = {
        "type": "reasoning",
        "id": "rs_probe_0001",
        "summary": [],
        "content": None,
        "encrypted_content": ENCRYPTED,
    }
    turn = _first_turn()
    return codex_body(model, [turn[0], reasoning, turn[1]])


@case(
    "history-reasoning-text",
    "replayed reasoning (summary and text)",
    "A reasoning item with `summary_text` and `reasoning_text` parts, as servers that stream "
    "readable reasoning send it back. Rejected: every turn after the first fails.",
)
def history_reasoning_text(model: str) -> Body:
    reasoning = {
        "type": "reasoning",
        "id": "rs_probe_0002",
        "summary": [{"type": "summary_text", "text": "Listing the directory."}],
        "content": [{"type": "reasoning_text", "text": "The user wants the files; run ls."}],
    }
    turn = _first_turn()
    return codex_body(model, [turn[0], reasoning, turn[1]])


@case(
    "history-input-image-no-url",
    "replayed input_image with a file_id, no image_url",
    "An earlier user message with an `input_image` part that has a `file_id` and no "
    "`image_url` (an uploaded image). Rejected: the thread dies once an image was attached.",
)
def history_input_image_no_url(model: str) -> Body:
    attached = {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "What does this screenshot show?"},
            {"type": "input_image", "detail": "auto", "file_id": "file-probe0001"},
        ],
    }
    return codex_body(model, [attached, _assistant("A terminal window.")])


@case(
    "history-input-file",
    "replayed input_file",
    "An earlier user message with an `input_file` part (a file sent inline as data). Rejected: "
    "the thread dies once a file was attached.",
)
def history_input_file(model: str) -> Body:
    attached = {
        "type": "message",
        "role": "user",
        "content": [
            {"type": "input_text", "text": "Summarise this file."},
            {
                "type": "input_file",
                "filename": "notes.txt",
                "file_data": "data:text/plain;base64,c3Nlc2NvcGUgcHJvYmUK",
            },
        ],
    }
    return codex_body(model, [attached, _assistant("It says: ssescope probe.")])


@case(
    "history-refusal-part",
    "replayed assistant refusal",
    "An earlier assistant message whose content is a `refusal` part. Rejected: the thread dies "
    "after the model refused once.",
)
def history_refusal_part(model: str) -> Body:
    refusal = {
        "type": "message",
        "id": "msg_probe_refusal",
        "role": "assistant",
        "content": [{"type": "refusal", "refusal": "I can't help with that."}],
    }
    return codex_body(model, [_text_message("user", "Do the thing.", "msg_probe_t1"), refusal])


@case(
    "developer-role",
    "developer message (SDK form)",
    "A `developer` message with string content, as the SDKs send it (Codex's system prompt is "
    "a developer message too). Rejected: no Codex request can succeed.",
)
def developer_role(model: str) -> Body:
    return {
        "model": model,
        "stream": True,
        "input": [
            {"role": "developer", "content": "Answer briefly."},
            {"role": "user", "content": PROMPT},
        ],
    }


HOSTED_TOOLS: list[dict[str, Any]] = [
    {"type": "web_search", "external_web_access": False},
    {"type": "web_search_preview", "search_context_size": "low"},
    {"type": "file_search", "vector_store_ids": ["vs_probe"]},
    {"type": "code_interpreter", "container": {"type": "auto"}},
    {"type": "image_generation"},
    {"type": "mcp", "server_label": "probe", "server_url": "https://mcp.invalid/mcp"},
    {"type": "local_shell"},
    {
        "type": "custom",
        "name": "apply_patch",
        "description": "Apply a patch (freeform).",
        "format": {"type": "grammar", "syntax": "lark", "definition": 'start: "*** Begin Patch"'},
    },
    CODEX_TOOLS[4],  # namespace
]
"""Every non-function tool type Codex and the SDKs send."""


@case(
    "hosted-tools",
    "non-function tools",
    "Each non-function tool type Codex and the SDKs send (`web_search`, `web_search_preview`, "
    "`file_search`, `code_interpreter`, `image_generation`, `mcp`, `local_shell`, `custom`, "
    "`namespace`). LM Studio and older llama.cpp answer `'type' of tool must be 'function'`: "
    "Codex's tool list is the same on every turn, so no turn works.",
)
def hosted_tools(model: str) -> Body:
    body = codex_body(model, [])
    body["tools"] = [CODEX_TOOLS[0], *copy.deepcopy(HOSTED_TOOLS)]
    return body


@case(
    "unknown-keys",
    "keys a server may not know",
    "Top-level and item keys newer clients send (`service_tier`, `truncation`, `text.verbosity`, "
    "`safety_identifier`, `metadata`, `stream_options`, a message `phase`). A strict server "
    "that rejects unknown keys breaks with every client update.",
)
def unknown_keys(model: str) -> Body:
    body = codex_body(model, [])
    body["input"][-1]["phase"] = "final_answer"
    body.update(
        {
            "service_tier": "auto",
            "truncation": "auto",
            "text": {"verbosity": "low"},
            "safety_identifier": "probe-user",
            "metadata": {"probe": "ssescope"},
            "stream_options": {"include_obfuscation": False},
            "top_logprobs": 0,
            "background": False,
        }
    )
    return body


@case(
    "parallel-tool-calls",
    "two calls, then two outputs",
    "A turn where the model called two tools at once: two `function_call` items, then both "
    "outputs, `parallel_tool_calls: true`. Rejected: parallel calls kill the thread.",
)
def parallel_tool_calls(model: str) -> Body:
    a, b = "call_probe_0002", "call_probe_0003"
    history = [
        function_call(a, "echo one"),
        function_call(b, "echo two"),
        function_call_output(a, "one"),
        function_call_output(b, "two"),
    ]
    return codex_body(model, history, prompt=None)


@case(
    "length-cut",
    "a small max_output_tokens",
    "A request with `max_output_tokens: 16` and a prompt that needs more: the answer must end "
    "`response.incomplete` (reason `max_output_tokens`). A length cut labelled `completed` "
    "makes Codex keep a truncated answer as the final one.",
    expected=("client-error", "client-loss", "codex-incomplete"),
    required=("completed-at-token-limit",),
)
def length_cut(model: str) -> Body:
    return {
        "model": model,
        "stream": True,
        "max_output_tokens": 16,
        "input": [
            {
                "role": "user",
                "content": "Write a long answer about the history of the terminal, at least "
                "three paragraphs; keep going past the length limit.",
            }
        ],
    }


def selected(ids: Iterable[str] | None) -> list[ProbeCase]:
    """The cases of ``ids`` in the battery's order (all when None); unknown ids raise KeyError."""
    if not ids:
        return list(CASES.values())
    wanted = set(ids)
    unknown = sorted(wanted - set(CASES))
    if unknown:
        raise KeyError(", ".join(unknown))
    return [c for c in CASES.values() if c.id in wanted]


def _part_features(item: dict[str, Any], itype: str) -> set[str]:
    content = item.get("content")
    out: set[str] = set()
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict):
            ptype = str(part.get("type"))
            out.add(f"part:{itype}:{ptype}")
            out |= {f"part-key:{ptype}:{key}" for key in part}
    return out


def features(body: Body) -> set[str]:
    """What a request is made of, at the level a server's validation looks at: its top-level
    keys, each input item's type, role and keys, each content part's type and keys, each
    tool's type and keys. A request is *covered* by a case whose body has all of them."""
    out = {f"key:{key}" for key in body}
    items = body.get("input")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        itype = str(item.get("type", "message"))
        out.add(f"item:{itype}:{item.get('role', '')}")
        out |= {f"item-key:{itype}:{key}" for key in item}
        out |= _part_features(item, itype)
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            ttype = str(tool.get("type"))
            out.add(f"tool:{ttype}")
            out |= {f"tool-key:{ttype}:{key}" for key in tool}
    return out


def covering(body: Body, model: str = "probe") -> list[str]:
    """The ids of the cases whose request has every feature of ``body`` (a recorded request)."""
    wanted = features(body)
    return [c.id for c in CASES.values() if wanted <= features(c.build(model))]
