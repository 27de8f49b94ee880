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
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

if TYPE_CHECKING:
    from .simulated import SimulatedServer

from .faults import (
    FAULTS,
    ChatShape,
    Step,
    UnknownFault,
    chat_faults,
    parse_faults,
    split_model,
    unshown_faults,
)

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
    server: SimulatedServer | None = None
    """The simulated engine and GPU told about every streamed request (``ssescope demo``)."""


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
    scenario = _asked_scenario(str(body.get("model") or "").lower(), messages)
    needs = {s for f in faults if f in FAULTS and (s := FAULTS[f].scenario)}
    if scenario == "text" and needs:
        scenario = next(s for s in ("parallel", "tool", "length") if s in needs)
    return scenario


def _asked_scenario(model: str, messages: list[Any]) -> str:
    """The scenario the model name asks for, else the one the last user message mentions."""
    by_model = next((s for key, s in _MODEL_KEYS if key in model), None)
    if by_model is not None:
        return by_model
    prompt = last_user_text(messages).lower()
    return next((s for keys, s in _PROMPT_KEYS if any(k in prompt for k in keys)), "text")


def _words(text: str) -> list[str]:
    return re.findall(r"\s*\S+", text) or [text]


def _pieces(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


# -- tool arguments from a JSON schema -----------------------------------------------------------


def _example(schema: Any, name: str, command: str) -> Any:
    """A value that fits a JSON schema, for mock tool arguments."""
    if not isinstance(schema, dict):
        return "test"
    stype = schema.get("type")
    if isinstance(stype, list):
        stype = next((t for t in stype if t != "null"), "string")
    if schema.get("enum"):
        return schema["enum"][0]
    by_type = _EXAMPLES.get(stype) if isinstance(stype, str) else None
    if by_type is not None:
        return by_type(schema, name, command)
    if name in ("cmd", "command"):
        return command
    return "Paris" if name in ("city", "location") else "test"


def _object_example(schema: dict[str, Any], name: str, command: str) -> Any:
    props = schema.get("properties") or {}
    required = schema.get("required") or list(props)[:1]
    return {k: _example(props.get(k), k, command) for k in required if isinstance(k, str)}


def _array_example(schema: dict[str, Any], name: str, command: str) -> Any:
    return [_example(schema.get("items"), name, command)] if name == "command" else []


_EXAMPLES: dict[str, Callable[[dict[str, Any], str, str], Any]] = {
    "object": _object_example,
    "array": _array_example,
    "integer": lambda schema, name, command: 1,
    "number": lambda schema, name, command: 1,
    "boolean": lambda schema, name, command: True,
}


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


# -- the scenarios: what the mock says -------------------------------------------------------------


@dataclass
class _Answer:
    """What the mock says, one token per list entry, before the faults bend how it is sent."""

    reasoning: list[str] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    refusal: list[str] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    finish: str = "stop"
    limit: int | None = None
    """The token limit (the request's ``max_tokens``, or the ``length`` scenario's own)."""

    @property
    def tokens(self) -> int:
        return len(self.reasoning) + len(self.content) + len(self.refusal)

    def truncate(self) -> None:
        """Cut the answer at its limit, as a server does (``finish_reason: length``)."""
        limit = self.limit
        if limit is not None and self.tokens > limit:
            self.finish = "length"
            self.reasoning = self.reasoning[:limit]
            self.content = self.content[: max(0, limit - len(self.reasoning))]
            self.refusal = self.refusal[: max(0, limit - len(self.reasoning))]


def _tool_result_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    outputs: list[str] = []
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "tool":
            break
        outputs.insert(0, _text_of(message.get("content")))
    result = " | ".join(o.strip() for o in outputs)
    if len(result) > 400:
        result = result[:399] + "…"
    return _Answer(content=_words(f"The tool returned: {result}"), limit=limit)


def _tool_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    return _Answer(calls=_tool_calls(body, 1), finish="tool_calls", limit=limit)


def _parallel_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    return _Answer(calls=_tool_calls(body, 2), finish="tool_calls", limit=limit)


def _refusal_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    return _Answer(refusal=_words("I'm sorry, but I can't help with that request."), limit=limit)


def _length_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    content = _words(_LONG_TEXT)
    return _Answer(content=content, limit=min(limit or 12, len(content) - 1))


def _text_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    echo = " ".join(last_user_text(body.get("messages") or []).split())
    if len(echo) > 60:
        echo = echo[:59] + "…"
    return _Answer(
        content=_words(f"This is the ssescope mock backend. You said: {echo}"), limit=limit
    )


def _reasoning_answer(body: dict[str, Any], limit: int | None) -> _Answer:
    answer = _text_answer(body, limit)
    answer.reasoning = _words(
        "The user wants a short answer. I will think it through step by step, then reply briefly."
    )
    return answer


_SCENARIOS: dict[str, Callable[[dict[str, Any], int | None], _Answer]] = {
    "answer": _tool_result_answer,
    "parallel": _parallel_answer,
    "reasoning": _reasoning_answer,
    "refusal": _refusal_answer,
    "length": _length_answer,
    "tool": _tool_answer,
    "text": _text_answer,
}
"""Each scenario of the module docstring's table: the request (and its token limit) → the answer."""


def _max_tokens(body: dict[str, Any]) -> int | None:
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None


# -- the plan: how the answer is sent ------------------------------------------------------------


def plan_chat(
    body: dict[str, Any], faults: Iterable[str] = (), options: MockOptions | None = None
) -> Plan:
    """What the mock sends for one request (pure): the scenario's answer, in the shape the chat
    faults (:mod:`.faults`, in catalogue order) give the stream."""
    options = options or MockOptions()
    faults = tuple(faults)
    chosen = chat_faults(faults)
    scenario = pick_scenario(body, faults)
    shape = ChatShape(
        chat_id=f"chatcmpl-mock-{uuid.uuid4().hex[:24]}",
        prefill_delay=options.prefill_delay,
        slow_delay=options.slow_delay,
        gap=options.delay,
    )
    for fault in chosen:
        fault.plan(shape)
    if shape.status != 200:
        return Plan(scenario, status=shape.status, error=shape.error)
    answer = _SCENARIOS[scenario](body, _max_tokens(body))
    answer.truncate()
    chunks = _Chunks(shape.chat_id, int(time.time()), str(body.get("model") or "mock"))
    call_ids = [f"call_{uuid.uuid4().hex[:24]}" for _ in answer.calls]
    usage = _usage(body, answer)
    return Plan(
        scenario,
        steps=_steps(
            body, shape, chunks, answer, _token_chunks(answer, chunks, call_ids, shape), usage
        ),
        completion=_completion(chunks, answer, call_ids, usage),
        json_body=shape.json_body,
    )


@dataclass(frozen=True, slots=True)
class _Chunks:
    """Makes the ``chat.completion.chunk`` objects of one answer."""

    chat_id: str
    created: int
    model: str

    def __call__(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            "id": self.chat_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_ssescope_mock",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }


def _token_chunks(
    answer: _Answer, chunks: _Chunks, call_ids: list[str], shape: ChatShape
) -> list[dict[str, Any]]:
    """One chunk per token (reasoning, text, refusal), then the tool-call fragments."""
    tokens = [chunks({"content": None, "reasoning_content": t}) for t in answer.reasoning]
    tokens += [chunks({"content": t}) for t in answer.content]
    tokens += [chunks({"content": None, "refusal": t}) for t in answer.refusal]
    tokens += [chunks({"tool_calls": f}) for f in _call_fragments(answer.calls, call_ids, shape)]
    return tokens


def _usage(body: dict[str, Any], answer: _Answer) -> dict[str, Any]:
    completion_tokens = answer.tokens + sum(max(1, len(a) // 4) for _, a in answer.calls)
    messages = body.get("messages") or []
    prompt_tokens = (
        sum(len(_text_of(m.get("content")).split()) for m in messages if isinstance(m, dict)) + 1
    )
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": len(answer.reasoning)},
    }


def _steps(
    body: dict[str, Any],
    shape: ChatShape,
    chunks: _Chunks,
    answer: _Answer,
    tokens: list[dict[str, Any]],
    usage: dict[str, Any],
) -> list[Step]:
    """The stream: the role chunk, the tokens (bent halfway by the faults that cut or inject),
    the finish chunk, the usage chunk and ``[DONE]``."""
    first = chunks({"role": "assistant", "content": "" if answer.content else None})
    steps: list[Step] = [*shape.before_first, ("chunk", first)]
    middle = max(2, len(tokens) // 2) if len(tokens) > 2 else len(tokens)
    for i, token in enumerate(tokens):
        if i == middle:
            if shape.ends_early is not None:
                return steps + shape.ends_early
            steps += shape.at_middle
        if shape.gap:
            steps.append(("sleep", shape.gap))
        steps += shape.before_each
        steps.append(("chunk", token))
    steps.append(("chunk", chunks({}, answer.finish if shape.finish_reason else None)))
    if body.get("stream_options", {}).get("include_usage") and shape.usage:
        steps.append(("chunk", {**chunks({}), "choices": [], "usage": usage}))
    if shape.done:
        steps.append(("raw", b"data: [DONE]\n\n"))
    steps.append(("end",))
    return steps


def _completion(
    chunks: _Chunks, answer: _Answer, call_ids: list[str], usage: dict[str, Any]
) -> dict[str, Any]:
    """The same answer as one JSON completion."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(answer.content)
        if answer.content or not (answer.calls or answer.refusal)
        else None,
        "refusal": "".join(answer.refusal) or None,
    }
    if answer.reasoning:
        message["reasoning_content"] = "".join(answer.reasoning)
    if answer.calls:
        message["tool_calls"] = [
            {"id": call_ids[i], "type": "function", "function": {"name": n, "arguments": a}}
            for i, (n, a) in enumerate(answer.calls)
        ]
    return {
        "id": chunks.chat_id,
        "object": "chat.completion",
        "created": chunks.created,
        "model": chunks.model,
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": answer.finish}
        ],
        "usage": usage,
    }


def _call_fragments(
    calls: list[tuple[str, str]], call_ids: list[str], shape: ChatShape
) -> list[list[dict[str, Any]]]:
    """The ``delta.tool_calls`` lists, one per chunk, in the shape the faults ask for."""
    per_call = [
        _fragments(index, call_ids[index], name, args, shape)
        for index, (name, args) in enumerate(calls)
    ]
    if shape.interleave and len(per_call) > 1:
        longest = max(len(p) for p in per_call)
        return [[p[i]] for i in range(longest) for p in per_call if i < len(p)]
    return [[f] for frags in per_call for f in frags]


def _fragments(
    index: int, call_id: str, name: str, args: str, shape: ChatShape
) -> list[dict[str, Any]]:
    """One call's fragments: a head with the id and name, then the arguments 8 characters at a
    time."""
    function: dict[str, Any] = {"name": name, "arguments": ""}
    head = {"index": index, "id": call_id, "type": "function", "function": function}
    if shape.one_chunk_calls:
        function["arguments"] = args
        return [head]
    frags = [
        {"index": index, **shape.continuation, "function": {"arguments": p}} for p in _pieces(args)
    ]
    if shape.args_before_name and len(frags) > 1:
        function["arguments"] = frags[1]["function"]["arguments"]
        return [frags[0], head, *frags[2:]]
    return [head, *frags]


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
log = logging.getLogger("ssescope.engine")


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
            log.warning("mock: %s", exc)
            return _error(400, str(exc))
        body["model"] = model
        refused = _faults_refused(body, faults)
        if refused is not None:
            return _error(400, refused)
        plan = plan_chat(body, faults, options)
        if plan.status != 200:
            return JSONResponse(plan.error, status_code=plan.status)
        if not body.get("stream") or plan.json_body:
            return JSONResponse(plan.completion)
        return StreamingResponse(
            _play(plan.steps, stopping, options.server),
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


def _faults_refused(body: dict[str, Any], faults: tuple[str, ...]) -> str | None:
    """Why the request's faults would change nothing on its scenario (None: they all show):
    said in a 400, not silently played without them (the engine passes the 400 on). A scenario
    changed to one a fault needs (text → tool) is logged."""
    scenario = pick_scenario(body, faults)
    if scenario != pick_scenario(body):
        log.info(
            "mock: fault(s) %s need the %s scenario: played instead", ",".join(faults), scenario
        )
    unshown = unshown_faults(scenario, faults)
    if not unshown:
        return None
    log.warning("mock: %s", "; ".join(unshown))
    return "; ".join(unshown)


async def _play(
    steps: list[Step], stopping: asyncio.Event | None, server: SimulatedServer | None = None
) -> AsyncIterator[bytes]:
    """Send the plan; the simulated server (if any) sees the request's every move."""
    rid = server.begin() if server is not None else 0
    try:
        for step in steps:
            kind = step[0]
            if kind == "chunk":
                if server is not None:
                    server.token(rid)
                yield b"data: " + json.dumps(step[1], separators=(",", ":")).encode() + b"\n\n"
            elif kind == "raw":
                yield step[1]
            elif kind in ("sleep", "prefill"):
                if kind == "prefill" and server is not None:
                    server.prefill(rid)
                await asyncio.sleep(step[1])
            elif kind == "reset":
                raise MockReset("injected fault: connection dropped mid-body")
            elif kind == "hold":
                # Held until the client goes away (the response is cancelled) or the server
                # stops; the simulated engine stops generating for it.
                if server is not None:
                    server.hold(rid)
                await (stopping.wait() if stopping is not None else asyncio.Event().wait())
                return
            else:
                return
    finally:
        if server is not None:
            server.end(rid)


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
