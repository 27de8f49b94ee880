"""From what a real client did to an outcome: the ground truth the client models are checked
against.

The *truth* is what the stream carried, as ssescope itself reconstructs it from the deltas and
items (``check --json``'s ``"response"``: output items from ``output_item.done`` or, without
one, from their deltas; the status from the terminal event). An observation is then

* ``hang`` when the client was still reading at the harness deadline (the server held the
  connection; whatever the abort made the client say is not its own verdict);
* ``error`` when the client raised, reported an error part, finished with ``error``, or
  handed back a Response whose status is ``failed`` (the openai-node SDK resolves with it);
* ``loss`` when it reported success but its text, refusal, tool calls (name, call_id,
  arguments), reasoning or status differ from the truth, or an HTTP error reached it as a
  normal, empty answer;
* ``ok`` otherwise.

Observations are the dicts the runners print (see ``run_clients.mjs`` / ``run_python.py``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "error", "loss", "hang"]
AI_SDK_CLIENTS = frozenset({"ai-sdk", "ai-sdk-open-responses"})
"""Clients with no refusal field (a refusal they deliver arrives as text) that report a
finish reason instead of the Response's status."""
AI_SDK_SUCCESS = frozenset({"stop", "tool-calls"})


@dataclass(frozen=True)
class ToolCall:
    name: str | None
    call_id: str | None
    arguments: str | None


@dataclass(frozen=True)
class Truth:
    """What the stream carried, the way a faithful client would hand it over."""

    text: str = ""
    refusal: str = ""
    content: str = ""
    """Text and refusals in item order (what a client without a refusal field should show)."""
    tool_calls: tuple[ToolCall, ...] = ()
    reasoning: str = ""
    status: str | None = None
    """The Response status: completed, incomplete, failed, in_progress (no terminal event)."""
    incomplete_reason: str | None = None
    http_status: int = 200
    cut: bool = False
    """response.completed came while an item never finished (``completed-while-unfinished``):
    a success is then a truncated answer handed over as complete."""


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    detail: str = ""
    differences: tuple[str, ...] = field(default=())


def _message_parts(item: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for part in item.get("content") or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "output_text" and isinstance(part.get("text"), str):
            out.append(("text", part["text"]))
        elif part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
            out.append(("refusal", part["refusal"]))
    return out


def _reasoning_text(item: dict[str, Any]) -> str:
    pieces = [p.get("text") for p in item.get("summary") or [] if isinstance(p, dict)]
    pieces += [p.get("text") for p in item.get("content") or [] if isinstance(p, dict)]
    return "".join(p for p in pieces if isinstance(p, str))


def truth_of(result: dict[str, Any]) -> Truth:
    """The truth from a ``check --json`` result (:func:`tests.clients.corpus.judge`)."""
    http_status = int((result.get("http") or {}).get("status") or 200)
    response = result.get("response") or {}
    text = refusal = content = reasoning = ""
    calls: list[ToolCall] = []
    for item in response.get("output") or []:
        kind = item.get("type")
        if kind == "message":
            for what, value in _message_parts(item):
                content += value
                if what == "text":
                    text += value
                else:
                    refusal += value
        elif kind == "function_call":
            calls.append(ToolCall(item.get("name"), item.get("call_id"), item.get("arguments")))
        elif kind == "reasoning":
            reasoning += _reasoning_text(item)
    status = response.get("status") if response else None
    reason = (response.get("incomplete_details") or {}).get("reason") if response else None
    cut = "completed-while-unfinished" in (result.get("finding_counts") or {})
    return Truth(text, refusal, content, tuple(calls), reasoning, status, reason, http_status, cut)


def _same_arguments(seen: Any, carried: Any) -> bool:
    """Equal as JSON values when both parse (an SDK may re-serialise); ``""`` and ``"{}"`` are
    both "no arguments"."""
    if seen == carried:
        return True
    blank = ("", "{}", None)
    if seen in blank and carried in blank:
        return True
    try:
        return bool(json.loads(seen) == json.loads(carried))
    except (TypeError, ValueError):
        return False


def _tool_call_differences(obs: dict[str, Any], truth: Truth) -> list[str]:
    # hosted tools the provider ran (web search, code interpreter, MCP) are not function calls
    seen = [c for c in obs.get("tool_calls") or [] if not c.get("provider_executed")]
    if len(seen) != len(truth.tool_calls):
        return [f"tool calls: {len(seen)} delivered, {len(truth.tool_calls)} carried"]
    out = []
    for n, (got, want) in enumerate(zip(seen, truth.tool_calls, strict=True)):
        if got.get("name") != want.name:
            out.append(f"tool call {n} name {got.get('name')!r} != {want.name!r}")
        if got.get("call_id") != want.call_id:
            out.append(f"tool call {n} call_id {got.get('call_id')!r} != {want.call_id!r}")
        if not _same_arguments(got.get("arguments"), want.arguments):
            out.append(f"tool call {n} arguments {got.get('arguments')!r} != {want.arguments!r}")
    return out


def _expected_finish(truth: Truth) -> set[str]:
    """The AI SDK finish reasons that tell the truth's status."""
    if truth.status == "completed":
        if truth.tool_calls:
            return {"tool-calls"}
        # @ai-sdk/openai delivers a refusal as text and says so with 'content-filter': nothing
        # the stream carried is lost
        return {"stop", "content-filter"} if truth.refusal else {"stop"}
    if truth.status == "incomplete":
        return {"content-filter"} if truth.incomplete_reason == "content_filter" else {"length"}
    return set()  # no terminal event: any finish that does not claim success


def _status_difference(client: str, obs: dict[str, Any], truth: Truth) -> str | None:
    status = obs.get("status")
    if client not in AI_SDK_CLIENTS:
        return None if status == truth.status else f"status {status!r} != {truth.status!r}"
    expected = _expected_finish(truth)
    if expected and status in expected:
        return None
    if not expected and status not in AI_SDK_SUCCESS:
        return None
    return f"finish {status!r} for status {truth.status!r}"


def differences(client: str, obs: dict[str, Any], truth: Truth) -> list[str]:
    """Everything the client delivered otherwise than the stream carried it."""
    out = []
    if client in AI_SDK_CLIENTS:
        if obs.get("text", "") != truth.content:
            out.append(f"text {len(obs.get('text', ''))} chars != {len(truth.content)} carried")
    else:
        if obs.get("text", "") != truth.text:
            out.append(f"text {len(obs.get('text', ''))} chars != {len(truth.text)} carried")
        if obs.get("refusal", "") != truth.refusal:
            out.append(f"refusal {obs.get('refusal', '')!r} != {truth.refusal!r}")
    out += _tool_call_differences(obs, truth)
    if obs.get("reasoning", "") != truth.reasoning:
        out.append(f"reasoning {len(obs.get('reasoning', ''))} chars != {len(truth.reasoning)}")
    status = _status_difference(client, obs, truth)
    if status:
        out.append(status)
    return out


def _error_text(obs: dict[str, Any]) -> str | None:
    """What the caller is shown: the error parts first (what ``fullStream`` and ``onError`` see),
    then what the client raised."""
    shown = [
        f"error part {p.get('type')}: {p.get('message')}" for p in obs.get("error_parts") or []
    ]
    error = obs.get("error")
    if error:
        shown.append(f"{error.get('type')}: {error.get('message')}")
    if shown:
        return "; ".join(shown)
    if obs.get("status") == "error":
        return "finish reason 'error'"
    if obs.get("status") == "failed":  # an SDK that hands back the failed Response as it is
        message = (obs.get("response_error") or {}).get("message")
        return f"the response resolves with status 'failed': {message}"
    return None


def classify(client: str, obs: dict[str, Any], truth: Truth) -> Verdict:
    if obs.get("hung"):
        return Verdict("hang", "still reading when the harness deadline passed")
    error = _error_text(obs)
    if error is not None:
        return Verdict("error", error)
    if not 200 <= truth.http_status < 300:
        return Verdict("loss", f"HTTP {truth.http_status} delivered as a normal answer")
    diffs = differences(client, obs, truth)
    if truth.cut:
        diffs.append("a truncated answer handed over as complete")
    if diffs:
        return Verdict("loss", "; ".join(diffs), tuple(diffs))
    return Verdict("ok")
