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

The catalogue is this module, top to bottom: each fault is one registered entry with its name,
what it simulates, what it shows (``ssescope engine --list-faults`` prints both, in this order)
and the small function that does it. A chat fault bends the mock's :class:`ChatShape`; a
responses fault rewrites one event at a time (``None`` drops it), or only sets a flag of the
stream (a stall, no ``event:`` lines, no sequence numbers). Adding a fault is adding one entry.
Several faults combine in catalogue order, and where two want the same thing the first wins.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Side = Literal["chat", "responses"]
Event = dict[str, Any]
Step = tuple[Any, ...]
"""What the mock does next: ``("chunk", dict)``, ``("raw", bytes)``, ``("sleep", s)``,
``("prefill", s)`` (a sleep the simulated engine spends prefilling), ``("end",)``,
``("reset",)``, ``("hold",)``."""

log = logging.getLogger("ssescope.engine")

_TERMINALS = frozenset({"response.completed", "response.failed", "response.incomplete"})


TOOL_SCENARIOS = ("tool", "parallel")
TEXT_SCENARIOS = ("text", "reasoning", "length", "answer")
FAILURE_FAULTS = ("cut", "reset", "stall", "error-chunk", "malformed-chunk")
"""The chat faults that make the engine answer ``response.failed``."""


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    side: Side
    does: str
    shows: str
    scenario: str | None = field(default=None, kw_only=True)
    """The mock scenario the fault needs when the request asks for plain text (tool-call quirks
    need a tool call): the mock plays that one instead."""
    shows_on: tuple[str, ...] = field(default=(), kw_only=True)
    """The mock scenarios on which the fault changes anything (empty: every one)."""
    with_faults: tuple[str, ...] = field(default=(), kw_only=True)
    """Chat faults of which at least one must come with it (``fake-completed`` rewrites a
    failure, so it needs one)."""

    def why_not_shown(self, scenario: str, faults: Iterable[str]) -> str | None:
        """Why this fault would change nothing on ``scenario`` with ``faults`` (None: it shows).
        The follow-up answer to a tool result is exempt: a client replays the model name (and
        its faults) on every turn."""
        if scenario == "answer":
            return None
        if self.shows_on and scenario not in self.shows_on:
            on = " or ".join(f"mock-{s}" for s in self.shows_on if s != "answer")
            return (
                f"fault {self.name!r} changes nothing on the {scenario} scenario "
                f"({self.does}): use it on {on}"
            )
        if self.with_faults and not set(self.with_faults) & set(faults):
            pair = " or ".join(f"+{f}" for f in self.with_faults)
            return f"fault {self.name!r} changes nothing alone ({self.does}): pair it with {pair}"
        return None


@dataclass
class ChatShape:
    """The shape of one mock answer stream, as the knobs a chat fault turns. The mock fills in
    the answer; the faults decide how it is sent (or that it is not)."""

    chat_id: str
    prefill_delay: float
    """``MockOptions.prefill_delay``: the wait a slow prefill adds."""
    slow_delay: float
    """``MockOptions.slow_delay``: the gap between slow tokens."""
    gap: float
    """Seconds between token chunks."""
    status: int = 200
    error: dict[str, Any] | None = None
    """The error body when ``status`` is not 200 (then nothing is streamed)."""
    before_first: list[Step] = field(default_factory=list)
    before_each: list[Step] = field(default_factory=list)
    """Steps sent before every token chunk."""
    at_middle: list[Step] = field(default_factory=list)
    """Steps slipped in halfway through the tokens; the stream goes on."""
    ends_early: list[Step] | None = None
    """Steps that replace the second half of the stream (a cut, a reset, a hold…)."""
    finish_reason: bool = True
    usage: bool = True
    """Send the usage chunk (when the request asked for it)."""
    done: bool = True
    """End with ``data: [DONE]``."""
    json_body: bool = False
    """Answer one JSON completion even to ``stream: true``."""
    one_chunk_calls: bool = False
    """Each tool call whole in one fragment."""
    args_before_name: bool = False
    continuation: dict[str, Any] = field(default_factory=dict)
    """Extra fields on every continuation fragment of a tool call."""
    interleave: bool = False
    """Parallel calls' fragments alternate between indexes."""

    def refuse(
        self, status: int, message: str, *, code: str | None = None, kind: str = "server_error"
    ) -> None:
        """Answer ``status`` with an OpenAI error body instead of a stream (the first wins)."""
        if self.status == 200:
            self.status = status
            self.error = {"error": {"message": message, "type": kind, "param": None, "code": code}}

    def end_early(self, *steps: Step) -> None:
        """End the stream halfway through with ``steps`` (the first fault to ask wins)."""
        if self.ends_early is None:
            self.ends_early = list(steps)


ChatPlan = Callable[[ChatShape], None]
Rewrite = Callable[["ResponsesFaults", Event], "Event | None"]


@dataclass(frozen=True, slots=True)
class ChatFault(Fault):
    side: Side = field(default="chat", init=False)
    plan: ChatPlan = field(kw_only=True)


@dataclass(frozen=True, slots=True)
class ResponsesFault(Fault):
    side: Side = field(default="responses", init=False)
    rewrite: Rewrite | None = None
    sequence: Literal["keep", "renumber", "strip"] = "keep"
    """``renumber``: the fault drops events, so the rest are renumbered and only its own finding
    shows; ``strip``: no event has a sequence number."""
    stalls: bool = False
    """Stop after ``response.in_progress`` and hold the connection."""
    comments: bool = False
    """While stalled, send ``: keepalive`` comments."""
    event_lines: bool = True
    """Frames carry their ``event:`` line."""


_FAULT_LIST: list[Fault] = []


def _register(fault: Fault) -> None:
    _FAULT_LIST.append(fault)


def _chat(
    name: str, does: str, shows: str, *, scenario: str | None = None
) -> Callable[[ChatPlan], ChatPlan]:
    def register(plan: ChatPlan) -> ChatPlan:
        shows_on = TOOL_SCENARIOS if scenario is not None else ()
        _register(ChatFault(name, does, shows, plan=plan, scenario=scenario, shows_on=shows_on))
        return plan

    return register


def _responses(
    name: str,
    does: str,
    shows: str,
    *,
    sequence: Literal["keep", "renumber", "strip"] = "keep",
    scenario: str | None = None,
    shows_on: tuple[str, ...] = (),
    with_faults: tuple[str, ...] = (),
) -> Callable[[Rewrite], Rewrite]:
    def register(rewrite: Rewrite) -> Rewrite:
        fault = ResponsesFault(name, does, shows, rewrite, sequence=sequence, scenario=scenario)
        _register(replace(fault, shows_on=shows_on, with_faults=with_faults))
        return rewrite

    return register


def _map_calls(event: Event, change: Callable[[Event, bool], Event]) -> Event:
    """``event`` with ``change(copy of item, done)`` applied to its function_call items: the
    item of ``output_item.added``/``.done``, every call in a terminal event's output."""
    etype = event.get("type")
    if etype in ("response.output_item.added", "response.output_item.done"):
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            return {**event, "item": change(dict(item), etype.endswith("done"))}
    elif etype in _TERMINALS:
        response = event["response"]
        if not any(i.get("type") == "function_call" for i in response.get("output") or []):
            return event  # unchanged, so the fault is seen not to have applied here
        output = [
            change(dict(i), True) if i.get("type") == "function_call" else i
            for i in response.get("output") or []
        ]
        return {**event, "response": {**response, "output": output}}
    return event


# -- chat side: the mock backend misbehaves -----------------------------------------------------


@_chat(
    "http-500",
    "the backend answers HTTP 500 with a JSON error",
    "the engine answers 500 with the backend's error body; Codex shows its misleading 'high demand' message",
)
def _http_500(shape: ChatShape) -> None:
    shape.refuse(500, "The mock backend failed (injected fault http-500).")


@_chat(
    "http-429",
    "the backend answers HTTP 429 (rate limited)",
    "the engine answers 429; Codex never retries a custom provider on 429",
)
def _http_429(shape: ChatShape) -> None:
    shape.refuse(
        429,
        "Rate limit reached for the mock backend (injected fault http-429).",
        code="rate_limit_exceeded",
    )


@_chat(
    "http-400",
    "the backend rejects the request with HTTP 400",
    "the engine answers 400 with the backend's message, which Codex prints verbatim",
)
def _http_400(shape: ChatShape) -> None:
    shape.refuse(
        400,
        "The mock backend rejected the request (injected fault http-400).",
        kind="invalid_request_error",
    )


@_chat(
    "cut",
    "the backend ends the stream mid-answer (no finish_reason, no [DONE])",
    "response.failed (upstream_disconnected), never a fake response.completed",
)
def _cut(shape: ChatShape) -> None:
    shape.end_early(("end",))


@_chat(
    "reset",
    "the backend drops the connection mid-body (no final chunk)",
    "response.failed (upstream_disconnected)",
)
def _reset(shape: ChatShape) -> None:
    shape.end_early(("reset",))


@_chat(
    "stall",
    "the backend stops sending mid-answer and holds the connection",
    "keepalive events keep Codex waiting, then response.failed (upstream_timeout) after --upstream-idle-timeout",
)
def _stall(shape: ChatShape) -> None:
    shape.end_early(("hold",))


@_chat(
    "slow-first-token",
    "a long prefill before the first chunk (3 s; 20 s in `ssescope demo`)",
    "response.created at once, then keepalive events if the wait exceeds --heartbeat",
)
def _slow_first_token(shape: ChatShape) -> None:
    shape.before_first.append(("prefill", shape.prefill_delay))


@_chat(
    "slow-tokens",
    "250 ms between chunks",
    "a slow but healthy stream",
)
def _slow_tokens(shape: ChatShape) -> None:
    shape.gap = shape.slow_delay


@_chat(
    "error-chunk",
    'a `data: {"error": …}` chunk mid-stream',
    "an error event, then response.failed with the backend's code and message",
)
def _error_chunk(shape: ChatShape) -> None:
    error = {
        "error": {
            "message": "The mock backend failed mid-stream (injected fault error-chunk).",
            "type": "server_error",
            "param": None,
            "code": "mock_failure",
        }
    }
    shape.end_early(("raw", b"data: " + json.dumps(error).encode() + b"\n\n"), ("end",))


@_chat(
    "malformed-chunk",
    "a chunk that is not JSON mid-stream",
    "an error event, then response.failed (invalid_upstream_chunk)",
)
def _malformed_chunk(shape: ChatShape) -> None:
    cut_json = (
        b'data: {"id": "'
        + shape.chat_id.encode()
        + b'", "choices": [{"delta": {"content": "bro\n\n'
    )
    shape.at_middle.append(("raw", cut_json))


@_chat(
    "no-usage",
    "no usage chunk (stream_options ignored)",
    "response.completed without usage",
)
def _no_usage(shape: ChatShape) -> None:
    shape.usage = False


@_chat(
    "no-done",
    "no `data: [DONE]`, just EOF after the usage chunk",
    "a normal response.completed",
)
def _no_done(shape: ChatShape) -> None:
    shape.done = False


@_chat(
    "no-finish-reason",
    "no finish_reason at all, then [DONE]",
    "response.completed (the engine logs a warning)",
)
def _no_finish_reason(shape: ChatShape) -> None:
    shape.finish_reason = False


@_chat(
    "comments",
    "`: keepalive` comment lines between chunks (OpenRouter style)",
    "a normal stream: comments are skipped",
)
def _comments(shape: ChatShape) -> None:
    shape.before_each.append(("raw", b": keepalive\n\n"))


@_chat(
    "json-body",
    "the backend ignores stream: true and answers one JSON completion",
    "the engine still streams a complete Responses stream",
)
def _json_body(shape: ChatShape) -> None:
    shape.json_body = True


@_chat(
    "args-before-name",
    "tool-call arguments arrive before the call's name",
    "the arguments are buffered until the name comes; a normal tool call",
    scenario="tool",
)
def _args_before_name(shape: ChatShape) -> None:
    shape.args_before_name = True


@_chat(
    "empty-id-continuation",
    'continuation fragments carry "id": "" (Qwen)',
    "one call, not a new call per fragment",
    scenario="tool",
)
def _empty_id_continuation(shape: ChatShape) -> None:
    shape.continuation = {"id": "", "type": "function"}


@_chat(
    "one-chunk-call",
    "a whole tool call in one chunk (Groq)",
    "a normal tool call",
    scenario="tool",
)
def _one_chunk_call(shape: ChatShape) -> None:
    shape.one_chunk_calls = True


@_chat(
    "interleaved-calls",
    "parallel calls' fragments alternate between indexes",
    "the calls are streamed one after the other, each complete",
    scenario="parallel",
)
def _interleaved_calls(shape: ChatShape) -> None:
    shape.interleave = True


# -- responses side: the engine emits a broken Responses stream -------------------------------


_register(
    ResponsesFault(
        "stall-after-created",
        "response.created and in_progress, then silence with the connection held",
        "Codex: 'idle timeout waiting for SSE'; checker: stall-after-created",
        stalls=True,
    )
)

_register(
    ResponsesFault(
        "keepalive-comments",
        "response.created, then only `: keepalive` comments",
        "alive to curl, dead to Codex (comments never reset its idle timer)",
        stalls=True,
        comments=True,
    )
)


@_responses(
    "delta-object",
    "the first output_text.delta carries `delta` as an object",
    "checker: delta-not-string; Codex skips the event",
    shows_on=TEXT_SCENARIOS,
)
def _delta_object(faults: ResponsesFaults, event: Event) -> Event | None:
    if event.get("type") == "response.output_text.delta" and not faults.delta_object_sent:
        faults.delta_object_sent = True
        return {**event, "delta": {"text": event["delta"]}}
    return event


@_responses(
    "call-id-changed",
    "a function call's call_id differs between output_item.added and .done",
    "checker: item-identity-changed; strict SDKs throw",
    scenario="tool",
    shows_on=TOOL_SCENARIOS,
)
def _call_id_changed(faults: ResponsesFaults, event: Event) -> Event | None:
    def change(item: Event, done: bool) -> Event:
        if done:
            call_id = item["call_id"]
            item["call_id"] = faults.changed_call_ids.setdefault(call_id, call_id + "_changed")
        return item

    return _map_calls(event, change)


@_responses(
    "call-id-missing",
    "function_call items have no call_id",
    "checker: call-id-missing; Codex drops the call silently",
    scenario="tool",
    shows_on=TOOL_SCENARIOS,
)
def _call_id_missing(faults: ResponsesFaults, event: Event) -> Event | None:
    def drop(item: Event, done: bool) -> Event:
        item.pop("call_id", None)
        return item

    return _map_calls(event, drop)


@_responses(
    "empty-arguments",
    'function_call arguments are "" instead of JSON',
    "checker: arguments-empty; Codex's tool answers 'failed to parse function arguments'",
    sequence="renumber",
    scenario="tool",
    shows_on=TOOL_SCENARIOS,
)
def _empty_arguments(faults: ResponsesFaults, event: Event) -> Event | None:
    etype = event.get("type")
    if etype == "response.function_call_arguments.delta":
        return None
    if etype == "response.function_call_arguments.done":
        return {**event, "arguments": ""}
    return _map_calls(event, lambda item, done: {**item, "arguments": ""})


_register(
    ResponsesFault(
        "no-sequence-numbers",
        "no event has a sequence_number (llama.cpp)",
        "checker: sequence-missing",
        sequence="strip",
    )
)


@_responses(
    "thin-created",
    "response.created/in_progress carry only {id, object, status} (llama.cpp)",
    "checker: created-incomplete",
)
def _thin_created(faults: ResponsesFaults, event: Event) -> Event | None:
    if event.get("type") in ("response.created", "response.in_progress"):
        response = event["response"]
        return {**event, "response": {k: response[k] for k in ("id", "object", "status")}}
    return event


_register(
    ResponsesFault(
        "no-event-lines",
        "frames have no `event:` line (LiteLLM)",
        "checker: event-line-missing (info)",
        event_lines=False,
    )
)


@_responses(
    "tool-call-delta",
    "argument deltas are sent as the invented response.tool_call.delta",
    "checker: unknown-event-type",
    scenario="tool",
    shows_on=TOOL_SCENARIOS,
)
def _tool_call_delta(faults: ResponsesFaults, event: Event) -> Event | None:
    if event.get("type") == "response.function_call_arguments.delta":
        return {**event, "type": "response.tool_call.delta"}
    return event


@_responses(
    "no-item-done",
    "no output_item.done events",
    "Codex loses the answer and every tool call (exit 0, nothing shown)",
    sequence="renumber",
)
def _no_item_done(faults: ResponsesFaults, event: Event) -> Event | None:
    return None if event.get("type") == "response.output_item.done" else event


@_responses(
    "missing-completed",
    "the terminal event is dropped; EOF instead",
    "Codex: 'stream closed before response.completed'; checker: terminal-missing",
)
def _missing_completed(faults: ResponsesFaults, event: Event) -> Event | None:
    return None if event.get("type") in _TERMINALS else event


@_responses(
    "error-no-failed",
    "the terminal event is replaced by an `error` event, then EOF",
    "Codex hides the message; checker: error-event (and terminal-missing under codex)",
)
def _error_no_failed(faults: ResponsesFaults, event: Event) -> Event | None:
    if event.get("type") not in _TERMINALS:
        return event
    error = event["response"].get("error") or {}
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


@_responses(
    "fake-completed",
    "a failed response is reported as response.completed (LiteLLM's bug on a cut upstream)",
    "a cut answer looks complete; pair it with the chat fault `cut`",
    with_faults=FAILURE_FAULTS,
)
def _fake_completed(faults: ResponsesFaults, event: Event) -> Event | None:
    if event.get("type") != "response.failed":
        return event
    response = {**event["response"], "status": "completed", "error": None}
    return {**event, "type": "response.completed", "response": response}


@_responses(
    "incomplete-in-completed",
    "a length-limited answer ends response.completed with status incomplete (vLLM)",
    "checker: terminal-status-mismatch",
    scenario="length",
    shows_on=("length",),
)
def _incomplete_in_completed(faults: ResponsesFaults, event: Event) -> Event | None:
    if event.get("type") != "response.incomplete":
        return event
    return {**event, "type": "response.completed"}


FAULTS: dict[str, Fault] = {f.name: f for f in _FAULT_LIST}
CHAT_FAULTS = frozenset(f.name for f in _FAULT_LIST if f.side == "chat")
RESPONSES_FAULTS = frozenset(f.name for f in _FAULT_LIST if f.side == "responses")
_CHAT_LIST = [f for f in _FAULT_LIST if isinstance(f, ChatFault)]
_RESPONSES_LIST = [f for f in _FAULT_LIST if isinstance(f, ResponsesFault)]


def chat_faults(names: Iterable[str]) -> list[ChatFault]:
    """The chat faults among ``names``, in catalogue order (the order they combine in)."""
    wanted = set(names)
    return [f for f in _CHAT_LIST if f.name in wanted]


def unshown_faults(scenario: str, names: Iterable[str]) -> list[str]:
    """Why each of ``names`` would change nothing on ``scenario`` (empty: every one shows)."""
    chosen = [n for n in names if n in FAULTS]
    return [why for n in chosen if (why := FAULTS[n].why_not_shown(scenario, chosen))]


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
                raise UnknownFault(_unknown(name))
            if name not in names:
                names.append(name)
    return tuple(names)


def _unknown(name: str) -> str:
    close = difflib.get_close_matches(name, list(FAULTS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown fault {name!r}{hint}; `ssescope engine --list-faults` lists them"


def split_model(model: str) -> tuple[str, tuple[str, ...]]:
    """``mock-tool+cut+slow-tokens`` → (``mock-tool``, (cut, slow-tokens)).

    On a ``mock…`` model every suffix is a fault, and an unknown one raises
    :class:`UnknownFault` (the request is answered 400, as the header form is: a typo must not
    play the scenario without its fault). Other models keep their suffixes (``llama+3b``)."""
    base, *suffixes = model.split("+")
    if not suffixes:
        return model, ()
    if not base.strip().lower().startswith("mock"):
        known = [s for s in suffixes if s.strip().lower() in FAULTS]
        if len(known) != len(suffixes):
            return model, ()
    return base, parse_faults(suffixes)


def fault_table_markdown() -> str:
    """The catalogue as Markdown (``ssescope engine --list-faults --markdown``)."""
    rows = ["| fault | side | what it does | what it shows |", "|---|---|---|---|"]
    rows += [f"| `{f.name}` | {f.side} | {f.does} | {f.shows} |" for f in _FAULT_LIST]
    return "\n".join(rows) + "\n"


STALL = object()
"""Returned by :meth:`ResponsesFaults.apply` where the engine must stop sending and hold the
connection (``stall-after-created``, ``keepalive-comments``)."""


class ResponsesFaults:
    """Rewrites the translator's events into a broken stream: every event through the chosen
    faults' rewrites in catalogue order, then numbered. Pure; an event is copied before it is
    changed, because the translator keeps references to the items it emitted."""

    def __init__(self, names: Iterable[str]) -> None:
        wanted = set(names)
        faults = [f for f in _RESPONSES_LIST if f.name in wanted]
        self.names = frozenset(f.name for f in faults)
        self.event_line = all(f.event_lines for f in faults)
        self.comments = any(f.comments for f in faults)
        self._stall = any(f.stalls for f in faults)
        self._rewrites = [(f, f.rewrite) for f in faults if f.rewrite is not None]
        self._fired: set[str] = set()
        """The rewrite faults that changed or dropped an event so far."""
        self._strip_sequence = any(f.sequence == "strip" for f in faults)
        self._renumber = any(f.sequence == "renumber" for f in faults)
        self._next_seq = 0
        # what the rewrites remember between events
        self.delta_object_sent = False
        self.changed_call_ids: dict[str, str] = {}

    def __bool__(self) -> bool:
        return bool(self.names)

    def apply(self, events: list[Event]) -> list[Any]:
        """The events to send (dicts), possibly ending with :data:`STALL`."""
        out: list[Any] = []
        for event in events:
            if self._stall and event.get("type") == "response.in_progress":
                out.append(self._number(event))
                out.append(STALL)
                return out
            sent = self._rewritten(event)
            if sent is not None:
                out.append(self._number(sent))
            if event.get("type") in _TERMINALS:
                self._report_unfired()
        return out

    def _report_unfired(self) -> None:
        """At the end of a response: say which faults changed nothing in it (a tool fault on a
        text answer from a real upstream), rather than leave a silent no-op."""
        for fault, _ in self._rewrites:
            if fault.name not in self._fired:
                log.warning(
                    "fault %s changed nothing in this response (%s)", fault.name, fault.does
                )

    def _rewritten(self, event: Event) -> Event | None:
        """The event after every chosen rewrite (None: one of them dropped it)."""
        changed: Event | None = event
        for fault, rewrite in self._rewrites:
            if changed is None:
                break
            before, changed = changed, rewrite(self, changed)
            if changed is not before:
                self._fired.add(fault.name)
        return changed

    def _number(self, event: Event) -> Event:
        if self._strip_sequence:
            return {k: v for k, v in event.items() if k != "sequence_number"}
        if self._renumber:
            event = {**event, "sequence_number": self._next_seq}
            self._next_seq += 1
        return event
