"""Injectable faults: the field's failures, reproduced on demand.

Each fault acts on one side of the engine:

* **chat** faults make the mock backend misbehave (HTTP errors, a cut or stalled stream, a bad
  chunk, the quirks of real providers). The engine then shows how a correct translator copes with
  them, so these need ``--mock``.
* **responses** faults make the engine itself emit a broken Responses stream, the way real
  servers and proxies do (a ``delta`` object, a changing ``call_id``, no sequence numbers, a
  stall after ``response.created``, a missing ``response.completed``…), so that ssescope's
  checker, the TUI and Codex can be watched failing on demand. They work with any upstream.

Faults are chosen with ``ssescope engine --fault NAME`` (repeatable), per request with the
``X-Ssescope-Fault: a,b`` header, or in mock mode with a ``+name`` suffix on the model
(``mock-tool+cut``), which is the only knob Codex exposes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

Side = Literal["chat", "responses"]


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    side: Side
    does: str
    shows: str


_FAULT_LIST = [
    # -- chat side: the mock backend misbehaves -----------------------------------------------
    Fault("http-500", "chat", "the backend answers HTTP 500 with a JSON error", "the engine answers 500 with the backend's error body; Codex shows its misleading 'high demand' message"),
    Fault("http-429", "chat", "the backend answers HTTP 429 (rate limited)", "the engine answers 429; Codex never retries a custom provider on 429"),
    Fault("http-400", "chat", "the backend rejects the request with HTTP 400", "the engine answers 400 with the backend's message, which Codex prints verbatim"),
    Fault("cut", "chat", "the backend ends the stream mid-answer (no finish_reason, no [DONE])", "response.failed (upstream_disconnected), never a fake response.completed"),
    Fault("reset", "chat", "the backend drops the connection mid-body (no final chunk)", "response.failed (upstream_disconnected)"),
    Fault("stall", "chat", "the backend stops sending mid-answer and holds the connection", "keepalive events keep Codex waiting, then response.failed (upstream_timeout) after --upstream-idle-timeout"),
    Fault("slow-first-token", "chat", "a long prefill: 3 s before the first chunk", "response.created at once, then keepalive events if the wait exceeds --heartbeat"),
    Fault("slow-tokens", "chat", "250 ms between chunks", "a slow but healthy stream"),
    Fault("error-chunk", "chat", "a `data: {\"error\": …}` chunk mid-stream", "an error event, then response.failed with the backend's code and message"),
    Fault("malformed-chunk", "chat", "a chunk that is not JSON mid-stream", "an error event, then response.failed (invalid_upstream_chunk)"),
    Fault("no-usage", "chat", "no usage chunk (stream_options ignored)", "response.completed without usage"),
    Fault("no-done", "chat", "no `data: [DONE]`, just EOF after the usage chunk", "a normal response.completed"),
    Fault("no-finish-reason", "chat", "no finish_reason at all, then [DONE]", "response.completed (the engine logs a warning)"),
    Fault("comments", "chat", "`: keepalive` comment lines between chunks (OpenRouter style)", "a normal stream: comments are skipped"),
    Fault("json-body", "chat", "the backend ignores stream: true and answers one JSON completion", "the engine still streams a complete Responses stream"),
    Fault("args-before-name", "chat", "tool-call arguments arrive before the call's name", "the arguments are buffered until the name comes; a normal tool call"),
    Fault("empty-id-continuation", "chat", "continuation fragments carry \"id\": \"\" (Qwen)", "one call, not a new call per fragment"),
    Fault("one-chunk-call", "chat", "a whole tool call in one chunk (Groq)", "a normal tool call"),
    Fault("interleaved-calls", "chat", "parallel calls' fragments alternate between indexes", "the calls are streamed one after the other, each complete"),
    # -- responses side: the engine emits a broken Responses stream -------------------------
    Fault("stall-after-created", "responses", "response.created and in_progress, then silence with the connection held", "Codex: 'idle timeout waiting for SSE'; checker: stall-after-created"),
    Fault("keepalive-comments", "responses", "response.created, then only `: keepalive` comments", "alive to curl, dead to Codex (comments never reset its idle timer)"),
    Fault("delta-object", "responses", "the first output_text.delta carries `delta` as an object", "checker: delta-not-string; Codex skips the event"),
    Fault("call-id-changed", "responses", "a function call's call_id differs between output_item.added and .done", "checker: item-identity-changed; strict SDKs throw"),
    Fault("call-id-missing", "responses", "function_call items have no call_id", "checker: call-id-missing; Codex drops the call silently"),
    Fault("empty-arguments", "responses", "function_call arguments are \"\" instead of JSON", "checker: arguments-empty; Codex's tool answers 'failed to parse function arguments'"),
    Fault("no-sequence-numbers", "responses", "no event has a sequence_number (llama.cpp)", "checker: sequence-missing"),
    Fault("thin-created", "responses", "response.created/in_progress carry only {id, object, status} (llama.cpp)", "checker: created-incomplete"),
    Fault("no-event-lines", "responses", "frames have no `event:` line (LiteLLM)", "checker: event-line-missing (info)"),
    Fault("tool-call-delta", "responses", "argument deltas are sent as the invented response.tool_call.delta", "checker: unknown-event-type"),
    Fault("no-item-done", "responses", "no output_item.done events", "Codex loses the answer and every tool call (exit 0, nothing shown)"),
    Fault("missing-completed", "responses", "the terminal event is dropped; EOF instead", "Codex: 'stream closed before response.completed'; checker: terminal-missing"),
    Fault("error-no-failed", "responses", "the terminal event is replaced by an `error` event, then EOF", "Codex hides the message; checker: error-event (and terminal-missing under codex)"),
    Fault("fake-completed", "responses", "a failed response is reported as response.completed (LiteLLM's bug on a cut upstream)", "a cut answer looks complete; pair it with the chat fault `cut`"),
    Fault("incomplete-in-completed", "responses", "a length-limited answer ends response.completed with status incomplete (vLLM)", "checker: terminal-status-mismatch"),
]  # fmt: skip

FAULTS: dict[str, Fault] = {f.name: f for f in _FAULT_LIST}
CHAT_FAULTS = frozenset(f.name for f in _FAULT_LIST if f.side == "chat")
RESPONSES_FAULTS = frozenset(f.name for f in _FAULT_LIST if f.side == "responses")


class UnknownFault(ValueError):
    pass


def parse_faults(values: Iterable[str]) -> tuple[str, ...]:
    """Comma- or plus-separated names, validated, in order, without duplicates."""
    names: list[str] = []
    for value in values:
        for name in value.replace("+", ",").split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in FAULTS:
                raise UnknownFault(
                    f"unknown fault {name!r}; `ssescope engine --list-faults` lists them"
                )
            if name not in names:
                names.append(name)
    return tuple(names)


def split_model(model: str) -> tuple[str, tuple[str, ...]]:
    """``mock-tool+cut+slow-tokens`` → (``mock-tool``, (cut, slow-tokens)). Unknown suffixes
    stay part of the model name."""
    base, *suffixes = model.split("+")
    known = [s for s in suffixes if s.strip().lower() in FAULTS]
    if len(known) != len(suffixes):
        return model, ()
    return base, parse_faults(known)


def fault_table_markdown() -> str:
    """The catalogue as Markdown (``ssescope engine --list-faults --markdown``)."""
    rows = ["| fault | side | what it does | what it shows |", "|---|---|---|---|"]
    rows += [f"| `{f.name}` | {f.side} | {f.does} | {f.shows} |" for f in _FAULT_LIST]
    return "\n".join(rows) + "\n"


STALL = object()
"""Returned by :meth:`ResponsesFaults.apply` where the engine must stop sending and hold the
connection (``stall-after-created``, ``keepalive-comments``)."""


class ResponsesFaults:
    """Rewrites the translator's events into a broken stream. Pure; events are copied before
    they are changed, because the translator keeps references to the items it emitted."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(n for n in names if n in RESPONSES_FAULTS)
        self.event_line = "no-event-lines" not in self.names
        self.comments = "keepalive-comments" in self.names
        self._stall = bool(self.names & {"stall-after-created", "keepalive-comments"})
        self._delta_object_done = False
        self._changed_call_ids: dict[str, str] = {}
        # Faults that drop events renumber the rest, so that they show only their own finding.
        self._renumber = bool(self.names & {"empty-arguments", "no-item-done"})
        self._next_seq = 0

    def __bool__(self) -> bool:
        return bool(self.names)

    def apply(self, events: list[dict[str, Any]]) -> list[Any]:
        """The events to send (dicts), possibly ending with :data:`STALL`."""
        names = self.names
        out: list[Any] = []
        for event in events:
            etype = event.get("type")
            if self._stall and etype == "response.in_progress":
                out.append(self._common(event))
                out.append(STALL)
                return out
            if "no-item-done" in names and etype == "response.output_item.done":
                continue
            if etype in ("response.completed", "response.failed", "response.incomplete"):
                terminal = self._terminal(event)
                if terminal is not None:
                    out.append(self._common(terminal))
                continue
            changed = self._event(event)
            if changed is not None:
                out.append(self._common(changed))
        return out

    # -- per event -----------------------------------------------------------------------------

    def _event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The event as the fault sends it (None: not sent)."""
        names = self.names
        etype = event.get("type")
        if etype == "response.output_text.delta" and "delta-object" in names:
            if not self._delta_object_done:
                self._delta_object_done = True
                event = {**event, "delta": {"text": event["delta"]}}
        elif etype in ("response.created", "response.in_progress") and "thin-created" in names:
            response = event["response"]
            event = {
                **event,
                "response": {k: response[k] for k in ("id", "object", "status")},
            }
        elif etype == "response.function_call_arguments.delta":
            if "empty-arguments" in names:
                return None
            if "tool-call-delta" in names:
                event = {**event, "type": "response.tool_call.delta"}
        elif etype == "response.function_call_arguments.done" and "empty-arguments" in names:
            event = {**event, "arguments": ""}
        elif etype in ("response.output_item.added", "response.output_item.done"):
            item = event.get("item") or {}
            if item.get("type") == "function_call":
                event = {**event, "item": self._call_item(item, done=etype.endswith("done"))}
        return event

    def _call_item(self, item: dict[str, Any], *, done: bool) -> dict[str, Any]:
        item = dict(item)
        names = self.names
        if "call-id-missing" in names:
            item.pop("call_id", None)
        elif "call-id-changed" in names and done:
            item["call_id"] = self._changed_call_ids.setdefault(
                item["call_id"], item["call_id"] + "_changed"
            )
        if "empty-arguments" in names:
            item["arguments"] = ""
        return item

    def _terminal(self, event: dict[str, Any]) -> dict[str, Any] | None:
        names = self.names
        if "missing-completed" in names:
            return None
        etype = event["type"]
        response = copy.deepcopy(event["response"])
        response["output"] = [
            self._call_item(i, done=True) if i.get("type") == "function_call" else i
            for i in response.get("output") or []
        ]
        if "error-no-failed" in names:
            error = response.get("error") or {}
            return {
                "type": "error",
                "sequence_number": event.get("sequence_number"),
                "error": {
                    "type": "server_error",
                    "code": error.get("code") or "server_error",
                    "message": error.get("message") or "The server had an error (injected fault).",
                    "param": None,
                },
            }
        if etype == "response.failed" and "fake-completed" in names:
            response.update(status="completed", error=None)
            return {**event, "type": "response.completed", "response": response}
        if etype == "response.incomplete" and "incomplete-in-completed" in names:
            return {**event, "type": "response.completed", "response": response}
        return {**event, "response": response}

    def _common(self, event: dict[str, Any]) -> dict[str, Any]:
        if "no-sequence-numbers" in self.names:
            return {k: v for k, v in event.items() if k != "sequence_number"}
        if self._renumber:
            event = {**event, "sequence_number": self._next_seq}
            self._next_seq += 1
        return event
