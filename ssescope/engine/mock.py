"""A Chat Completions simulator: the backend of ``ssescope engine --mock``. No model, no GPU.

It answers ``POST /chat/completions`` the way an OpenAI-compatible server does (role chunk, one
token per chunk, ``finish_reason``, a usage chunk, ``[DONE]``) with a scenario picked from the
model name or, failing that, the prompt:

=============  ====================================================  ===========================
scenario       model contains / prompt mentions                      answer
=============  ====================================================  ===========================
``answer``     (the last message is a tool result)                   "The tool returned: …"
``parallel``   parallel                                              two tool calls
``reasoning``  reason, think                                         ``reasoning_content``, text
``refusal``    refus                                                 a ``refusal``
``length``     length, truncat                                       text cut by ``length``
``tool``       tool, run, exec, command, weather, call, a backtick   one tool call
``text``       anything else                                         a short text
=============  ====================================================  ===========================

The tool call goes to a tool the request offers: ``exec_command`` (Codex) with the command in
backticks in the prompt (default ``echo ssescope-mock``), ``shell``, else the first function tool
with arguments filled from its JSON schema, else ``get_weather``. Together with the ``answer``
scenario this gives Codex a complete tool round trip.

Chat-side faults (:mod:`.faults`) change what is sent. Planning (:func:`plan_chat`) is pure; the
Starlette app only plays the plan with its delays.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .faults import CHAT_FAULTS, UnknownFault, parse_faults, split_model

MODELS = (
    "mock",
    "mock-text",
    "mock-reasoning",
    "mock-tool",
    "mock-parallel",
    "mock-length",
    "mock-refusal",
)
FAULT_HEADER = "x-ssescope-fault"

_MODEL_KEYS = (
    ("parallel", "parallel"),
    ("reason", "reasoning"),
    ("think", "reasoning"),
    ("refus", "refusal"),
    ("length", "length"),
    ("tool", "tool"),
    ("text", "text"),
)
_PROMPT_KEYS = (
    (("parallel",), "parallel"),
    (("reason", "think"), "reasoning"),
    (("refuse", "refusal"), "refusal"),
    (("length", "truncat"), "length"),
    (("tool", "run ", "exec", "command", "weather", "call", "`"), "tool"),
)
_TOOL_FAULTS = frozenset(
    {"args-before-name", "empty-id-continuation", "one-chunk-call", "interleaved-calls"}
)
_LONG_TEXT = (
    "Here is a long answer that keeps going on purpose, so that the token limit cuts it off "
    "before the end: the mock backend stops at max_tokens and reports finish_reason length, "
    "which the engine turns into response.incomplete with the reason max_output_tokens and "
    "the message item marked incomplete."
)


@dataclass
class MockOptions:
    delay: float = 0.0
    """Seconds between chunks (a token rate; 0 sends as fast as possible)."""
    slow_delay: float = 0.25
    """Seconds between chunks under the ``slow-tokens`` fault."""
    prefill_delay: float = 3.0
    """Seconds before the first chunk under ``slow-first-token``."""
    faults: tuple[str, ...] = ()
    """Chat-side faults applied to every request."""


Step = tuple[Any, ...]
"""``("chunk", dict)``, ``("raw", bytes)``, ``("sleep", s)``, ``("end",)``, ``("reset",)``,
``("hold",)``."""


@dataclass
class Plan:
    scenario: str
    status: int = 200
    error: dict[str, Any] | None = None
    steps: list[Step] = field(default_factory=list)
    completion: dict[str, Any] | None = None
    """The same answer as one JSON completion (``stream: false`` or the ``json-body`` fault)."""
    json_body: bool = False


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def last_user_text(messages: list[Any]) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def pick_scenario(body: dict[str, Any], faults: Iterable[str] = ()) -> str:
    """The scenario for a request: after a tool result, the answer; else from the model name,
    else from the last user message."""
    messages = body.get("messages") or []
    if messages and isinstance(messages[-1], dict) and messages[-1].get("role") == "tool":
        return "answer"
    model = str(body.get("model") or "").lower()
    scenario = next((s for key, s in _MODEL_KEYS if key in model), None)
    if scenario is None:
        prompt = last_user_text(messages).lower()
        scenario = next((s for keys, s in _PROMPT_KEYS if any(k in prompt for k in keys)), "text")
    faults = set(faults)
    if scenario == "text" and faults & _TOOL_FAULTS:
        scenario = "parallel" if "interleaved-calls" in faults else "tool"
    return scenario


def _words(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or [text]


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _example(schema: Any, name: str, command: str) -> Any:
    """A value that fits a JSON schema, for mock tool arguments."""
    if not isinstance(schema, dict):
        return "test"
    stype = schema.get("type")
    if isinstance(stype, list):
        stype = next((t for t in stype if t != "null"), "string")
    if schema.get("enum"):
        return schema["enum"][0]
    if stype == "object":
        props = schema.get("properties") or {}
        required = schema.get("required") or list(props)[:1]
        return {k: _example(props.get(k), k, command) for k in required if isinstance(k, str)}
    if stype == "array":
        return [_example(schema.get("items"), name, command)] if name == "command" else []
    if stype in ("integer", "number"):
        return 1
    if stype == "boolean":
        return True
    if name in ("cmd", "command"):
        return command
    if name in ("city", "location"):
        return "Paris"
    return "test"


def _tool_calls(body: dict[str, Any], count: int) -> list[tuple[str, str]]:
    """(name, arguments JSON) for ``count`` calls to a tool the request offers."""
    tools = [
        t["function"]
        for t in body.get("tools") or []
        if isinstance(t, dict) and isinstance(t.get("function"), dict)
    ]
    by_name = {t.get("name"): t for t in tools}
    prompt = last_user_text(body.get("messages") or [])
    commands = re.findall(r"`([^`]+)`", prompt) or ["echo ssescope-mock"]
    calls = []
    for i in range(count):
        command = commands[i % len(commands)] if i < len(commands) else f"echo ssescope-mock-{i}"
        if "exec_command" in by_name:
            calls.append(("exec_command", json.dumps({"cmd": command})))
        elif "shell" in by_name:
            calls.append(("shell", json.dumps({"command": ["bash", "-lc", command]})))
        elif tools:
            tool = tools[i % len(tools)]
            args = _example(tool.get("parameters") or {"type": "object"}, "", command)
            calls.append((str(tool.get("name")), json.dumps(args)))
        else:
            city = ("Paris", "London", "Tokyo")[i % 3]
            calls.append(("get_weather", json.dumps({"city": city})))
    return calls


def plan_chat(
    body: dict[str, Any], faults: Iterable[str] = (), options: MockOptions | None = None
) -> Plan:
    """What the mock sends for one request (pure)."""
    options = options or MockOptions()
    faults = frozenset(f for f in faults if f in CHAT_FAULTS)
    scenario = pick_scenario(body, faults)
    plan = Plan(scenario)
    for code, status, message in (
        ("http-500", 500, "The mock backend failed (injected fault http-500)."),
        ("http-429", 429, "Rate limit reached for the mock backend (injected fault http-429)."),
        ("http-400", 400, "The mock backend rejected the request (injected fault http-400)."),
    ):
        if code in faults:
            plan.status = status
            plan.error = {
                "error": {
                    "message": message,
                    "type": "invalid_request_error" if status == 400 else "server_error",
                    "param": None,
                    "code": "rate_limit_exceeded" if status == 429 else None,
                }
            }
            return plan

    model = str(body.get("model") or "mock")
    messages = body.get("messages") or []
    prompt = last_user_text(messages)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    limit = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None

    reasoning: list[str] = []
    content: list[str] = []
    refusal: list[str] = []
    calls: list[tuple[str, str]] = []
    finish = "stop"
    if scenario == "answer":
        outputs = []
        for message in reversed(messages):
            if not isinstance(message, dict) or message.get("role") != "tool":
                break
            outputs.insert(0, _text_of(message.get("content")))
        result = " | ".join(o.strip() for o in outputs)
        if len(result) > 400:
            result = result[:399] + "…"
        content = _words(f"The tool returned: {result}")
    elif scenario in ("tool", "parallel"):
        calls = _tool_calls(body, 2 if scenario == "parallel" else 1)
        finish = "tool_calls"
    elif scenario == "refusal":
        refusal = _words("I'm sorry, but I can't help with that request.")
    elif scenario == "length":
        content = _words(_LONG_TEXT)
        limit = min(limit or 12, len(content) - 1)
    else:
        if scenario == "reasoning":
            reasoning = _words(
                "The user wants a short answer. I will think it through step by step, "
                "then reply briefly."
            )
        echo = " ".join(prompt.split())
        if len(echo) > 60:
            echo = echo[:59] + "…"
        content = _words(f"This is the ssescope mock backend. You said: {echo}")
    if limit is not None and len(reasoning) + len(content) + len(refusal) > limit:
        finish = "length"
        reasoning = reasoning[:limit]
        content = content[: max(0, limit - len(reasoning))]
        refusal = refusal[: max(0, limit - len(reasoning))]

    chat_id = f"chatcmpl-mock-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_ssescope_mock",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }

    # -- the token chunks ------------------------------------------------------------------------
    tokens: list[dict[str, Any]] = []
    tokens += [chunk({"content": None, "reasoning_content": t}) for t in reasoning]
    tokens += [chunk({"content": t}) for t in content]
    tokens += [chunk({"content": None, "refusal": t}) for t in refusal]
    tokens += [chunk({"tool_calls": f}) for f in _call_fragments(calls, faults)]
    call_ids = [f"call_{uuid.uuid4().hex[:24]}" for _ in calls]
    for c in tokens:  # stamp the upstream call ids on the fragments that carry one
        for frag in c["choices"][0]["delta"].get("tool_calls") or []:
            if frag.get("id") == "<id>":
                frag["id"] = call_ids[frag["index"]]

    completion_tokens = (
        len(reasoning) + len(content) + len(refusal) + sum(max(1, len(a) // 4) for _, a in calls)
    )
    prompt_tokens = (
        sum(len(_text_of(m.get("content")).split()) for m in messages if isinstance(m, dict)) + 1
    )
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": len(reasoning)},
    }
    first = {"role": "assistant", "content": "" if content else None}
    steps: list[Step] = [("chunk", chunk(first))]
    if "slow-first-token" in faults:
        steps.insert(0, ("sleep", options.prefill_delay))
    gap = options.slow_delay if "slow-tokens" in faults else options.delay
    break_at = max(2, len(tokens) // 2) if len(tokens) > 2 else len(tokens)
    for i, token in enumerate(tokens):
        if i == break_at:
            if "cut" in faults:
                steps.append(("end",))
                break
            if "reset" in faults:
                steps.append(("reset",))
                break
            if "stall" in faults:
                steps.append(("hold",))
                break
            if "error-chunk" in faults:
                error = {
                    "error": {
                        "message": "The mock backend failed mid-stream (injected fault error-chunk).",
                        "type": "server_error",
                        "param": None,
                        "code": "mock_failure",
                    }
                }
                steps.append(("raw", b"data: " + json.dumps(error).encode() + b"\n\n"))
                steps.append(("end",))
                break
            if "malformed-chunk" in faults:
                steps.append(
                    (
                        "raw",
                        b'data: {"id": "'
                        + chat_id.encode()
                        + b'", "choices": [{"delta": {"content": "bro\n\n',
                    )
                )
        if gap:
            steps.append(("sleep", gap))
        if "comments" in faults:
            steps.append(("raw", b": keepalive\n\n"))
        steps.append(("chunk", token))
    else:
        steps.append(("chunk", chunk({}, None if "no-finish-reason" in faults else finish)))
        if body.get("stream_options", {}).get("include_usage") and "no-usage" not in faults:
            usage_chunk = chunk({})
            usage_chunk["choices"] = []
            usage_chunk["usage"] = usage
            steps.append(("chunk", usage_chunk))
        if "no-done" not in faults:
            steps.append(("raw", b"data: [DONE]\n\n"))
        steps.append(("end",))
    plan.steps = steps

    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(content) if content or not (calls or refusal) else None,
        "refusal": "".join(refusal) or None,
    }
    if reasoning:
        message["reasoning_content"] = "".join(reasoning)
    if calls:
        message["tool_calls"] = [
            {"id": call_ids[i], "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(calls)
        ]
    plan.completion = {
        "id": chat_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": usage,
    }
    plan.json_body = "json-body" in faults
    return plan


def _call_fragments(
    calls: list[tuple[str, str]], faults: frozenset[str]
) -> list[list[dict[str, Any]]]:
    """The ``delta.tool_calls`` lists, one per chunk, with the quirks the faults ask for.
    ``"<id>"`` stands for the call's upstream id."""
    per_call: list[list[dict[str, Any]]] = []
    for index, (name, args) in enumerate(calls):
        head = {
            "index": index,
            "id": "<id>",
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        if "one-chunk-call" in faults:
            head["function"]["arguments"] = args
            per_call.append([head])
            continue
        pieces = _pieces(args)
        cont_extra = {"id": "", "type": "function"} if "empty-id-continuation" in faults else {}
        frags = [{"index": index, **cont_extra, "function": {"arguments": p}} for p in pieces]
        if "args-before-name" in faults and len(frags) > 1:
            head["function"]["arguments"] = frags[1]["function"]["arguments"]
            per_call.append([frags[0], head, *frags[2:]])
        else:
            per_call.append([head, *frags])
    if "interleaved-calls" in faults and len(per_call) > 1:
        out = []
        longest = max(len(p) for p in per_call)
        for i in range(longest):
            out += [[p[i]] for p in per_call if i < len(p)]
        return out
    return [[f] for frags in per_call for f in frags]


# -- the ASGI app ----------------------------------------------------------------------------


class MockReset(Exception):
    """Raised inside the response to make the server drop the connection mid-body."""


class _DropMockReset(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, MockReset):
                return False
            exc = getattr(exc, "__cause__", None) or getattr(exc, "__context__", None)
        return True


_log_filter = _DropMockReset()


def request_faults(
    headers: Any, model: str, base: Iterable[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """The faults of a request (configured ones, the header, a ``+fault`` model suffix) and the
    model without the suffix."""
    plain, from_model = split_model(model)
    from_header = parse_faults([headers.get(FAULT_HEADER, "")])
    return plain, parse_faults([*base, *from_header, *from_model])


def create_mock_app(
    options: MockOptions | None = None, stopping: asyncio.Event | None = None
) -> Starlette:
    """The mock backend as an ASGI app (``/chat/completions``, ``/models``); the engine mounts it
    under ``/mock/v1`` in ``--mock`` mode. ``stopping`` ends held streams at shutdown."""
    options = options or MockOptions()
    logging.getLogger("uvicorn.error").addFilter(_log_filter)

    async def chat_completions(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the request body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "`messages` is required")
        try:
            model, faults = request_faults(
                request.headers, str(body.get("model") or "mock"), options.faults
            )
        except UnknownFault as exc:
            return _error(400, str(exc))
        body["model"] = model
        plan = plan_chat(body, faults, options)
        if plan.status != 200:
            return JSONResponse(plan.error, status_code=plan.status)
        if not body.get("stream") or plan.json_body:
            return JSONResponse(plan.completion)
        return StreamingResponse(
            _play(plan.steps, stopping),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"},
        )

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": 0, "owned_by": "ssescope-mock"}
                    for m in MODELS
                ],
            }
        )

    return Starlette(
        routes=[
            Route("/chat/completions", chat_completions, methods=["POST"]),
            Route("/models", models, methods=["GET"]),
        ]
    )


async def _play(steps: list[Step], stopping: asyncio.Event | None) -> AsyncIterator[bytes]:
    for step in steps:
        kind = step[0]
        if kind == "chunk":
            yield b"data: " + json.dumps(step[1], separators=(",", ":")).encode() + b"\n\n"
        elif kind == "raw":
            yield step[1]
        elif kind == "sleep":
            await asyncio.sleep(step[1])
        elif kind == "reset":
            raise MockReset("injected fault: connection dropped mid-body")
        elif kind == "hold":
            # Held until the client goes away (the response is cancelled) or the server stops.
            await (stopping.wait() if stopping is not None else asyncio.Event().wait())
            return
        else:
            return


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
        status_code=status,
    )
