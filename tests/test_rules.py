"""Every rule in the catalogue, triggered and not triggered.

Each rule in ``ssescope.core.rules.RULES`` has at least one stream that triggers it (``TRIGGERS``)
and one near-identical stream that does not (``NON_TRIGGERS``); ``test_every_rule_has_*`` fails
when a rule is added without both. Streams are built from a complete, valid baseline (a message
and a function call, reference responses-streaming.md) by small mutations, framed as SSE bytes and
fed to a :class:`StreamSession` with explicit arrival times: nothing sleeps.

The last section keeps the checker bugs this suite found as regression tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from ssescope.core.catalogue import GROUPS, define
from ssescope.core.checker import Checker, CheckOptions
from ssescope.core.checks.base import event_dispatch
from ssescope.core.codex import DEFAULT_CODEX_VERSION, MSG_CLOSED, MSG_IDLE, CodexModel
from ssescope.core.findings import Finding
from ssescope.core.models import EVENT_MODELS
from ssescope.core.rules import PROFILES, RULES
from ssescope.core.session import StreamSession

# =============================================================================================
# stream builders
# =============================================================================================

SSE_HEADERS = {"content-type": "text/event-stream"}
RID = "resp_0001"
DROP = object()
"""Put as ``sequence_number`` to send the event without one."""
ANY = object()
"""Expected row of a trigger whose finding may point anywhere."""
DONE = b"data: [DONE]\n\n"
"""The terminal sentinel, data-only as OpenAI's Chat API and Open Responses send it."""

USAGE = {
    "input_tokens": 10,
    "output_tokens": 5,
    "total_tokens": 15,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}


def response(
    status: str = "in_progress",
    output: list[dict[str, Any]] | None = None,
    usage: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A full Response object (reference 4.3)."""
    return {
        "id": RID,
        "object": "response",
        "created_at": 1767225600,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "model": "gpt-test",
        "output": copy.deepcopy(output or []),
        "temperature": 1,
        "top_p": 1,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "usage": copy.deepcopy(usage),
        **OPEN_RESPONSES_FIELDS,
        **extra,
    }


OPEN_RESPONSES_FIELDS: dict[str, Any] = {
    "completed_at": None,
    "previous_response_id": None,
    "truncation": "disabled",
    "text": {"format": {"type": "text"}},
    "presence_penalty": 0,
    "frequency_penalty": 0,
    "top_logprobs": 0,
    "reasoning": None,
    "max_output_tokens": None,
    "max_tool_calls": None,
    "store": True,
    "background": False,
    "service_tier": "default",
    "safety_identifier": None,
    "prompt_cache_key": None,
}
"""What Open Responses requires of a Response beyond OpenAI's schema (every profile ignores
what it does not ask for, so the baselines carry them and stay clean under all three)."""


def text_part(text: str = "", annotations: list[Any] | None = None) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": annotations or [], "logprobs": []}


def message(
    oi: int,
    *,
    item_id: str = "msg_1",
    pieces: tuple[str, ...] = ("Hello", " world"),
    status: str = "completed",
    annotation: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A message item: added → part added → deltas → text done → part done → item done."""
    text = "".join(pieces)
    anns = [annotation] if annotation is not None else []
    done = {
        "type": "message",
        "id": item_id,
        "role": "assistant",
        "status": status,
        "content": [text_part(text, anns)],
    }
    ids = {"item_id": item_id, "output_index": oi, "content_index": 0}
    events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": oi,
            "item": {
                "type": "message",
                "id": item_id,
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            },
        },
        {"type": "response.content_part.added", **ids, "part": text_part()},
    ]
    events += [
        {"type": "response.output_text.delta", **ids, "delta": p, "logprobs": []} for p in pieces
    ]
    if annotation is not None:
        events.append(
            {
                "type": "response.output_text.annotation.added",
                **ids,
                "annotation_index": 0,
                "annotation": annotation,
            }
        )
    events += [
        {"type": "response.output_text.done", **ids, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **ids, "part": text_part(text, anns)},
        {"type": "response.output_item.done", "output_index": oi, "item": done},
    ]
    return events, done


def function_call(
    oi: int,
    *,
    item_id: str | None = "fc_1",
    call_id: str | None = "call_1",
    pieces: tuple[str, ...] = ('{"city":', '"Paris"}'),
    arguments: str | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A function_call item; function_call_arguments.done has no `name` (WIRE 1)."""
    args = "".join(pieces) if arguments is None else arguments
    added: dict[str, Any] = {"type": "function_call", "name": "get_weather", "arguments": ""}
    if item_id is not None:
        added["id"] = item_id
    if call_id is not None:
        added["call_id"] = call_id
    added["status"] = "in_progress"
    done = {**added, "arguments": args, "status": "completed"}
    event_item_id = item_id if item_id is not None else f"fc_{call_id}"
    ids = {"item_id": event_item_id, "output_index": oi}
    events: list[dict[str, Any]] = [
        {"type": "response.output_item.added", "output_index": oi, "item": added}
    ]
    events += [
        {"type": "response.function_call_arguments.delta", **ids, "delta": p} for p in pieces
    ]
    events += [
        {"type": "response.function_call_arguments.done", **ids, "arguments": args},
        {"type": "response.output_item.done", "output_index": oi, "item": done},
    ]
    return events, done


def reasoning(
    oi: int,
    *,
    item_id: str = "rs_1",
    pieces: tuple[str, ...] = ("Think", "ing"),
    enc_added: str = "gAAAA-added",
    enc_done: str = "gAAAA-done",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A reasoning item with one summary part; encrypted_content changes at .done (WIRE 9)."""
    text = "".join(pieces)
    ids = {"item_id": item_id, "output_index": oi, "summary_index": 0}
    done = {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": text}],
        "encrypted_content": enc_done,
        "status": "completed",
    }
    events: list[dict[str, Any]] = [
        {
            "type": "response.output_item.added",
            "output_index": oi,
            "item": {
                "type": "reasoning",
                "id": item_id,
                "summary": [],
                "encrypted_content": enc_added,
                "status": "in_progress",
            },
        },
        {
            "type": "response.reasoning_summary_part.added",
            **ids,
            "part": {"type": "summary_text", "text": ""},
        },
    ]
    events += [{"type": "response.reasoning_summary_text.delta", **ids, "delta": p} for p in pieces]
    events += [
        {"type": "response.reasoning_summary_text.done", **ids, "text": text},
        {
            "type": "response.reasoning_summary_part.done",
            **ids,
            "part": {"type": "summary_text", "text": text},
        },
        {"type": "response.output_item.done", "output_index": oi, "item": done},
    ]
    return events, done


ItemBuilder = Callable[..., tuple[list[dict[str, Any]], dict[str, Any]]]


def terminal_event(kind: str, output: list[dict[str, Any]]) -> dict[str, Any]:
    if kind == "completed":
        return {"type": "response.completed", "response": response("completed", output, USAGE)}
    if kind == "incomplete":
        return {
            "type": "response.incomplete",
            "response": response(
                "incomplete", output, USAGE, incomplete_details={"reason": "max_output_tokens"}
            ),
        }
    assert kind == "failed"
    return {
        "type": "response.failed",
        "response": response(
            "failed", output, None, error={"code": "server_error", "message": "engine crashed"}
        ),
    }


def baseline(
    *items: ItemBuilder, terminal: str | None = "completed", done: bool = False
) -> list[Any]:
    """created, in_progress, the items (default: message then function_call), the terminal."""
    builders = items or (message, function_call)
    events: list[Any] = [
        {"type": "response.created", "response": response()},
        {"type": "response.in_progress", "response": response()},
    ]
    output = []
    for oi, build in enumerate(builders):
        evs, item = build(oi)
        events += evs
        output.append(item)
    if terminal is not None:
        events.append(terminal_event(terminal, output))
    if done:
        events.append(DONE)
    return events


def at(events: list[Any], etype: str, n: int = 0) -> int:
    """The position of the n-th event of ``etype`` (positions are frame indexes)."""
    hits = [i for i, e in enumerate(events) if isinstance(e, dict) and e.get("type") == etype]
    return hits[n]


def last(events: list[Any]) -> int:
    return len(events) - 1


def sse(events: list[Any], *, event_lines: bool = True) -> bytes:
    return b"".join(sse_frames(events, event_lines=event_lines))


def sse_frames(events: list[Any], *, event_lines: bool = True) -> list[bytes]:
    """Frame events as ``event: <type>\\ndata: <json>\\n\\n``.

    ``sequence_number`` counts the dict events (0..n-1) unless an event sets it (``DROP``: none).
    Keys starting with ``_`` control the frame: ``_event`` (the event: value, None for no line),
    ``_extra`` (raw lines before data), ``_field`` (the name of the data field), ``_multiline``
    (the JSON spread over several data lines). ``bytes`` items are raw frames written as they are.
    """
    out: list[bytes] = []
    seq = 0
    for e in events:
        if isinstance(e, bytes):
            out.append(e)
            continue
        e = dict(e)
        event_line = e.pop("_event", e["type"] if event_lines else None)
        extra = e.pop("_extra", [])
        data_field = e.pop("_field", "data")
        multiline = e.pop("_multiline", False)
        if "sequence_number" not in e:
            e["sequence_number"] = seq
        elif e["sequence_number"] is DROP:
            del e["sequence_number"]
        seq += 1
        lines = [*extra]
        if event_line is not None:
            lines.append(f"event: {event_line}")
        text = json.dumps(e, ensure_ascii=False, indent=1 if multiline else None)
        lines += [f"{data_field}: {line}" for line in text.split("\n")]
        out.append(("\n".join(lines) + "\n\n").encode())
    return out


@dataclass
class Stream:
    """Raw chunks with arrival times, the HTTP head, live ticks and the end of the read."""

    chunks: list[tuple[float, bytes]]
    row: Any = ANY
    """The event_index a trigger's finding points at (None: the stream as a whole)."""
    http: tuple[int, dict[str, str], str] | None = (200, SSE_HEADERS, "")
    ticks: tuple[float, ...] = ()
    end: float | None = None
    reason: str = "eof"
    options: dict[str, Any] = field(default_factory=dict)
    """CheckOptions overrides (the defaults are spelled out so a changed default fails loudly)."""
    request: dict[str, Any] | None = None
    """The request body the reader tells the checker (``Checker.on_request``)."""

    def run(self, profile: str = "openai") -> Checker:
        options = {"stall_warn": 10.0, "codex_idle_timeout": 300.0, **self.options}
        s = StreamSession(CheckOptions(profile=profile, **options))
        s.checker.on_request(self.request)
        if self.http is not None:
            status, headers, body = self.http
            s.on_response(status, headers, body=body, url="http://127.0.0.1:8000/v1/responses")
        ticks = sorted(self.ticks)
        for t, chunk in self.chunks:
            while ticks and ticks[0] < t:
                s.tick(ticks.pop(0))
            s.feed(chunk, t)
        for t in ticks:
            s.tick(t)
        t_last = self.chunks[-1][0] if self.chunks else 0.0
        s.finish(self.end if self.end is not None else t_last + 0.01, self.reason)
        return s.checker


def stream(events: list[Any] | bytes, row: Any = ANY, *, t: float = 0.01, **kw: Any) -> Stream:
    data = events if isinstance(events, bytes) else sse(events)
    return Stream([(t, data)], row=row, **kw)


def timed(events: list[Any], times: list[float], row: Any = ANY, **kw: Any) -> Stream:
    """One chunk per frame, frame i arriving at ``times[i]``."""
    assert len(times) == len(events)
    frames = sse_frames(events)
    return Stream(list(zip(times, frames, strict=True)), row=row, **kw)


def rules_of(checker: Checker) -> set[str]:
    return {f.rule for f in checker.findings}


def judged(st: Stream, profile: str) -> tuple[Checker, list[Finding]]:
    """Run ``st``; return the checker and its findings."""
    checker = st.run(profile)
    return checker, list(checker.findings)


def describe(checker: Checker) -> str:
    return "\n".join(
        f"  {f.rule} [{f.severity}] row={f.event_index}: {f.message}" for f in checker.findings
    )


def set_seq(events: list[Any], start: int, value_of: Callable[[int], Any]) -> list[Any]:
    """Renumber the dict events from ``start`` on: sequence_number = value_of(k)."""
    k = 0
    for i, e in enumerate(events):
        if isinstance(e, dict):
            if i >= start:
                e["sequence_number"] = value_of(k)
            k += 1
    return events


def completed_output(events: list[Any]) -> list[dict[str, Any]]:
    return events[at(events, "response.completed")]["response"]["output"]


# =============================================================================================
# the valid baselines
# =============================================================================================


@pytest.mark.parametrize("profile", ["openai", "codex"])
def test_baseline_is_clean(profile: str) -> None:
    checker = stream(baseline()).run(profile)
    assert checker.findings == [], describe(checker)
    assert checker.prediction().outcome == "ok"
    assert checker.prediction().message == "runs tool call(s): get_weather; says: Hello world"


def test_baseline_with_done_is_clean_under_open_responses() -> None:
    checker, findings = judged(stream(baseline(done=True)), "open-responses")
    assert findings == [], describe(checker)


@pytest.mark.parametrize("profile", ["openai", "open-responses"])
def test_done_sentinel_does_not_count_as_a_frame_without_event_line(profile: str) -> None:
    """Open Responses requires a terminal `data: [DONE]` (F5); it has no type, so no `event:`."""
    checker = stream(baseline(done=True)).run(profile)
    assert "event-line-missing" not in rules_of(checker), describe(checker)


def test_baseline_without_done_fails_open_responses_only_on_the_sentinel() -> None:
    checker = stream(baseline()).run("open-responses")
    assert [(f.rule, f.severity) for f in checker.findings] == [("done-sentinel", "error")]


@pytest.mark.parametrize("profile", PROFILES)
def test_reasoning_baseline_is_clean(profile: str) -> None:
    events = baseline(reasoning, message, function_call, done=profile == "open-responses")
    checker, findings = judged(stream(events), profile)
    assert findings == [], describe(checker)


def test_baseline_reconstructs_the_response() -> None:
    events = baseline()
    checker = stream(events).run()
    rebuilt = checker.tree.reconstruct()
    assert rebuilt["status"] == "completed"
    assert rebuilt["output"] == completed_output(events)
    assert checker.tree.output_text() == "Hello world"


# =============================================================================================
# triggers: one stream per rule (some rules have several), each a small mutation of a baseline
# =============================================================================================


@dataclass(frozen=True)
class Case:
    rule: str
    profile: str
    build: Callable[[], Stream]
    name: str
    severity: str | None = None
    """Expected severity when it is a case-specific downgrade of the profile's severity."""
    allowed: frozenset[str] = frozenset()
    """Non-triggers: findings of other rules that this stream legitimately has."""

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.profile}:{self.name}"


def T(rule: str, profile: str, severity: str | None = None) -> Callable[..., Any]:
    """Register the decorated builder as a trigger of ``rule`` under ``profile``."""

    def register(build: Callable[[], Stream]) -> Callable[[], Stream]:
        TRIGGERS.append(Case(rule, profile, build, build.__name__, severity))
        return build

    return register


def N(rule: str, profile: str, allowed: tuple[str, ...] = ()) -> Callable[..., Any]:
    """Register the decorated builder as a near-identical stream that must not trigger ``rule``."""

    def register(build: Callable[[], Stream]) -> Callable[[], Stream]:
        NON_TRIGGERS.append(Case(rule, profile, build, build.__name__, allowed=frozenset(allowed)))
        return build

    return register


TRIGGERS: list[Case] = []
NON_TRIGGERS: list[Case] = []


def valid() -> Stream:
    return stream(baseline())


def valid_or() -> Stream:
    return stream(baseline(done=True))


# -- clients (the client models' verdicts) ---------------------------------------------------------


@T("client-error", "openai")
def incomplete_response() -> Stream:
    """A correct response.incomplete: openai-python raises, Codex fails the turn."""
    return stream(baseline(terminal="incomplete"))


@T("client-loss", "openai")
def completed_text_differs_from_deltas() -> Stream:
    """The SDKs return response.completed's text, the AI SDK the deltas: someone loses."""
    events = baseline(message)
    final = events[-1]["response"]["output"][0]["content"][0]
    final["text"] = "Something else entirely."
    return stream(events)


@T("client-loss", "codex")
@T("client-loss", "openai")
def function_call_never_done() -> Stream:
    """No output_item.done for the call: Codex and the AI SDK never run it (Codex exits 0)."""
    events = baseline(function_call)
    del events[at(events, "response.output_item.done")]
    return stream(events)


@T("completed-while-unfinished", "openai")
@T("completed-while-unfinished", "codex")
def cut_under_a_fake_completed() -> Stream:
    """LiteLLM on a cut upstream: no .done of any kind, then response.completed."""
    events = baseline(message)
    kept = [e for e in events if not str(e.get("type", "")).endswith(".done")]
    return stream(kept)


@N(
    "completed-while-unfinished",
    "openai",
    allowed=("client-loss", "item-not-closed", "final-output-mismatch"),
)
def call_done_only_in_completed() -> Stream:
    """The arguments' .done came (only output_item.done is missing): not a cut."""
    events = baseline(function_call)
    del events[at(events, "response.output_item.done")]
    return stream(events)


@T("client-hang", "openai")
def completed_then_held_open() -> Stream:
    """The SDKs read to EOF: a server that holds the socket after response.completed hangs them."""
    return Stream([(0.01, sse(baseline()))], row=None, end=30.0, reason="max-wait")


@N("client-error", "openai")
@N("client-loss", "openai")
@N("client-hang", "openai")
@N("client-error", "codex")
def every_client_delivers() -> Stream:
    return valid()


# -- http ----------------------------------------------------------------------------------------


@T("http-status", "openai")
@T("http-status", "codex")
def http_500() -> Stream:
    body = '{"error": {"message": "model crashed", "type": "server_error"}}'
    return Stream([], row=None, http=(500, {"content-type": "application/json"}, body), end=0.05)


@T("http-status", "open-responses")
def http_404() -> Stream:
    return Stream(
        [], row=None, http=(404, {"content-type": "text/plain"}, "no such model"), end=0.05
    )


@N("http-status", "openai")
@N("content-type", "openai")
@N("content-type", "codex")
def http_200_with_charset() -> Stream:
    return stream(baseline(), http=(200, {"Content-Type": "text/event-stream; charset=utf-8"}, ""))


@T("content-type", "openai")
@T("content-type", "codex")
def http_200_json() -> Stream:
    return stream(baseline(), row=None, http=(200, {"content-type": "application/json"}, ""))


REPLAYED = {
    "model": "qwen3",
    "stream": True,
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "reasoning", "id": "rs_1", "summary": [], "content": None,
         "encrypted_content": "gAAAAB"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go on"}]},
    ],
    "tools": [{"type": "function", "name": "exec_command", "parameters": {"type": "object"}}],
}  # fmt: skip
"""A second turn as Codex sends it: the first turn's reasoning item replayed."""
LLAMA_REJECTS_REASONING = (
    '{"error": {"code": 400, "message": "unsupported input item type: reasoning", '
    '"type": "invalid_request_error"}}'
)


@T("history-rejected", "openai")
@T("history-rejected", "codex")
def http_400_to_replayed_reasoning() -> Stream:
    return Stream(
        [],
        row=None,
        http=(400, {"content-type": "application/json"}, LLAMA_REJECTS_REASONING),
        request=REPLAYED,
        end=0.05,
    )


@N("history-rejected", "openai", allowed=("http-status",))
def http_400_to_a_first_turn() -> Stream:
    """The same 400 to a request with nothing replayed: one failed turn, not a dead thread."""
    first = {**REPLAYED, "input": REPLAYED["input"][:1]}
    return Stream(
        [],
        row=None,
        http=(400, {"content-type": "application/json"}, LLAMA_REJECTS_REASONING),
        request=first,
        end=0.05,
    )


# -- SSE framing ---------------------------------------------------------------------------------


@T("data-not-json", "openai")
@T("data-not-json", "codex")
def not_json() -> Stream:
    events = baseline()
    events.insert(2, b'event: response.output_text.delta\ndata: {"type": "response.out\n\n')
    return stream(events, row=2)


@T("type-missing", "openai")
@T("type-missing", "codex")
def no_type() -> Stream:
    events = baseline()
    events.insert(2, b'data: {"sequence_number": 2, "delta": "x"}\n\n')
    return stream(events, row=2)


@T("event-name-mismatch", "openai")
@T("event-name-mismatch", "open-responses")
def event_line_differs() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.output_text.delta")
    events[i]["_event"] = "response.output_text"
    return stream(events, row=i)


@T("event-line-missing", "openai")
@T("event-line-missing", "open-responses")
def no_event_lines() -> Stream:
    return Stream([(0.01, sse(baseline(done=True), event_lines=False))], row=None)


@T("done-sentinel", "open-responses")
def no_done() -> Stream:
    return stream(baseline(), row=None)


@N("done-sentinel", "open-responses")
@N("event-name-mismatch", "open-responses")
@N("event-line-missing", "open-responses")
@N("sse-id-field", "open-responses")
def with_done() -> Stream:
    return valid_or()


@T("data-after-done", "openai")
def second_done() -> Stream:
    events = [*baseline(done=True), DONE]
    return stream(events, row=last(events))


@T("data-after-done", "openai")
@T("data-after-done", "codex")
def keepalive_after_done() -> Stream:
    events = [*baseline(done=True), {"type": "keepalive"}]
    return stream(events, row=last(events))


@N("data-after-done", "openai")
@N("data-after-done", "codex")
def done_then_eof() -> Stream:
    return stream(baseline(done=True))


@T("sse-id-field", "openai")
@T("sse-id-field", "open-responses")
def id_lines() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.output_text.delta")
    events[i]["_extra"] = [f"id: {i}"]
    return stream(events, row=i)


@T("sse-unknown-field", "openai")
@T("sse-unknown-field", "codex")
def capitalised_data() -> Stream:
    events = baseline()
    i = at(events, "response.in_progress")
    events[i]["_field"] = "Data"
    return stream(events, row=i)


@T("sse-unknown-field", "openai")
def bad_retry() -> Stream:
    events = baseline()
    events[1]["_extra"] = ["retry: soon"]
    return stream(events, row=1)


@T("sse-unterminated-frame", "openai")
@T("sse-unterminated-frame", "codex")
def cut_before_blank_line() -> Stream:
    events = baseline()
    data = sse(events)
    assert data.endswith(b"}\n\n")
    return stream(data[:-1], row=last(events))


@N("sse-unterminated-frame", "openai")
@N("sse-unknown-field", "openai")
@N("invalid-utf8", "openai")
def crlf_framing() -> Stream:
    return stream(sse(baseline()).replace(b"\n", b"\r\n"))


@N("sse-unterminated-frame", "codex")
def lone_cr_framing() -> Stream:
    return stream(sse(baseline()).replace(b"\n", b"\r"))


@T("invalid-utf8", "openai")
@T("invalid-utf8", "codex")
def latin1_byte() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    data = sse(events)
    assert data.count(b'"delta": " world"') == 1
    return stream(data.replace(b'"delta": " world"', b'"delta": " w\xf6rld"'), row=i)


@N("invalid-utf8", "codex")
@N("sse-bom", "openai")
def multibyte_split_in_chunks() -> Stream:
    """Non-ASCII text fed one byte per chunk: every code point is split across chunks."""
    pieces = ("Grüße, ", "世界 🌍")
    events = baseline(lambda oi: message(oi, pieces=pieces), function_call)
    data = sse(events)
    assert "🌍".encode() in data
    return Stream([(0.01 + i * 1e-4, data[i : i + 1]) for i in range(len(data))])


@T("sse-bom", "openai")
@T("sse-bom", "open-responses")
def bom() -> Stream:
    return stream(b"\xef\xbb\xbf" + sse(baseline(done=True)), row=0)


# -- sequence numbers ----------------------------------------------------------------------------


@T("sequence-missing", "openai")
@T("sequence-missing", "codex")
def seq_dropped() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events[i]["sequence_number"] = DROP
    return stream(events, row=i)


@T("sequence-missing", "open-responses")
def seq_as_string() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.output_text.delta")
    events[i]["sequence_number"] = str(i)
    return stream(events, row=i)


@N("sequence-missing", "openai")
@N("sequence-not-increasing", "openai")
@N("sequence-gap", "openai")
@N("sequence-start", "openai")
@N("created-not-first", "openai")
def keepalives_consume_sequence_numbers() -> Stream:
    """WIRE 3: keepalive events (one before response.created) take their own sequence numbers."""
    events = baseline()
    for pos in (len(events) - 1, 4, 0):
        events.insert(pos, {"type": "keepalive"})
    return stream(events)


@T("sequence-not-increasing", "openai")
def seq_repeats() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    set_seq(events, i, lambda k: k - 1)
    return stream(events, row=i)


@T("sequence-not-increasing", "codex")
def seq_steps_back() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.done")
    events[i]["sequence_number"] = 1
    return stream(events, row=i)


@T("sequence-gap", "openai")
@T("sequence-gap", "codex")
def seq_skips() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    set_seq(events, i, lambda k: k + 1)
    return stream(events, row=i)


@T("sequence-start", "openai")
@T("sequence-start", "open-responses")
def seq_starts_at_one() -> Stream:
    events = set_seq(baseline(done=True), 0, lambda k: k + 1)
    return stream(events, row=0)


# -- lifecycle -----------------------------------------------------------------------------------


@T("created-not-first", "openai")
@T("created-not-first", "codex")
def no_created() -> Stream:
    events = baseline()
    del events[0]
    return stream(events, row=0)


@T("created-incomplete", "openai")
def thin_created() -> Stream:
    """llama.cpp: response.created carries only {id, object, status}."""
    events = baseline()
    events[0]["response"] = {"id": RID, "object": "response", "status": "in_progress"}
    return stream(events, row=0)


@T("created-incomplete", "codex")
def thin_in_progress() -> Stream:
    events = baseline()
    del events[1]["response"]["model"]
    return stream(events, row=1)


@N("created-incomplete", "openai")
@N("created-duplicate", "openai")
@N("response-id-mismatch", "openai")
@N("lifecycle-order", "openai")
@N("terminal-missing", "openai")
@N("terminal-missing", "codex")
@N("event-after-terminal", "openai")
@N("terminal-status-mismatch", "openai")
@N("error-event", "openai")
@N("error-event", "codex")
@N("unknown-event-type", "openai")
@N("field-missing", "openai")
@N("field-type", "openai")
@N("delta-not-string", "openai")
@N("logprobs-missing", "openai")
def baseline_stream() -> Stream:
    return valid()


@T("created-duplicate", "openai")
def two_created() -> Stream:
    events = baseline()
    events.insert(1, copy.deepcopy(events[0]))
    return stream(events, row=1)


@T("response-id-mismatch", "openai")
@T("response-id-mismatch", "codex")
def terminal_id_changes() -> Stream:
    events = baseline()
    events[-1]["response"]["id"] = "resp_0002"
    return stream(events, row=last(events))


@T("lifecycle-order", "openai")
def queued_after_in_progress() -> Stream:
    events = baseline()
    events.insert(2, {"type": "response.queued", "response": response("queued")})
    return stream(events, row=2)


@N("lifecycle-order", "openai")
@N("lifecycle-order", "open-responses")
def background_mode_queued() -> Stream:
    events = baseline(done=True)
    events.insert(1, {"type": "response.queued", "response": response("queued")})
    return stream(events)


@T("terminal-missing", "openai")
@T("terminal-missing", "codex")
@T("terminal-missing", "open-responses")
def no_terminal() -> Stream:
    events = baseline(terminal=None)
    return stream(events, row=None)


@T("event-after-terminal", "openai")
@T("event-after-terminal", "codex")
def in_progress_after_completed() -> Stream:
    events = [*baseline(), {"type": "response.in_progress", "response": response()}]
    return stream(events, row=last(events))


@N("event-after-terminal", "openai")
@N("event-after-terminal", "codex")
def keepalive_after_completed() -> Stream:
    return stream([*baseline(), {"type": "keepalive"}])


@T("terminal-status-mismatch", "openai")
@T("terminal-status-mismatch", "codex")
def completed_says_incomplete() -> Stream:
    """vLLM: status incomplete inside response.completed."""
    events = baseline()
    events[-1]["response"]["status"] = "incomplete"
    return stream(events, row=last(events))


@T("terminal-status-mismatch", "openai")
def failed_without_error() -> Stream:
    events = baseline(terminal="failed")
    events[-1]["response"]["error"] = None
    return stream(events, row=last(events))


@T("terminal-status-mismatch", "open-responses")
def incomplete_without_reason() -> Stream:
    events = baseline(terminal="incomplete", done=True)
    i = at(events, "response.incomplete")
    events[i]["response"]["incomplete_details"] = None
    return stream(events, row=i)


@T("terminal-status-mismatch", "openai")
def failed_with_completed_at() -> Stream:
    events = baseline(terminal="failed")
    events[-1]["response"]["completed_at"] = 1767225601
    return stream(events, row=last(events))


@N("terminal-status-mismatch", "openai")
@N("usage-missing", "openai")
def proper_failed() -> Stream:
    """response.failed with status failed and an error object, and no usage (L7, L8)."""
    return stream(baseline(terminal="failed"))


@N("terminal-status-mismatch", "open-responses", allowed=("client-error",))
def proper_incomplete() -> Stream:
    return stream(baseline(terminal="incomplete", done=True))


def with_error(
    *, nested: bool = True, then: str | None = "failed", done: bool = False
) -> tuple[list[Any], int]:
    """The baseline's message, then an `error` event instead of the function call and terminal."""
    events = baseline(message, terminal=None)
    if nested:
        error = {
            "type": "error",
            "error": {
                "type": "server_error",
                "code": "server_error",
                "message": "engine crashed",
                "param": None,
            },
        }
    else:
        error = {
            "type": "error",
            "code": "server_error",
            "message": "engine crashed",
            "param": None,
        }
    events.append(error)
    i = len(events) - 1
    if then is not None:
        done_msg = events[at(events, "response.output_item.done")]["item"]
        events.append(terminal_event(then, [done_msg]))
    if done:
        events.append(DONE)
    return events, i


@T("error-event", "openai")
@T("error-event", "codex")
def error_then_failed() -> Stream:
    events, i = with_error()
    return stream(events, row=i)


@T("error-not-followed-by-failed", "openai")
@T("error-not-followed-by-failed", "codex")
def error_then_completed() -> Stream:
    events, _ = with_error(then="completed")
    return stream(events, row=last(events))


@T("error-not-followed-by-failed", "open-responses")
def error_then_eof_or() -> Stream:
    events, i = with_error(then=None, done=True)
    return stream(events, row=i)


@N("error-not-followed-by-failed", "open-responses", allowed=("error-event",))
def error_then_failed_or() -> Stream:
    events, _ = with_error(done=True)
    return stream(events)


@N("error-not-followed-by-failed", "openai", allowed=("error-event",))
@N("terminal-missing", "openai", allowed=("error-event",))
@N("field-missing", "openai", allowed=("error-event",))
def flat_error_then_eof() -> Stream:
    """WIRE 8: OpenAI may end the stream right after `error`, without response.failed."""
    events, _ = with_error(nested=False, then=None)
    return stream(events)


@T("unknown-event-type", "openai")
@T("unknown-event-type", "codex")
def invented_event() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events.insert(i, {**events[i], "type": "response.text.delta"})
    return stream(events, row=i)


@T("unknown-event-type", "openai")
def vendor_event_openai() -> Stream:
    events = baseline()
    events.insert(2, {"type": "acme:progress", "percent": 50})
    return stream(events, row=2)


@T("unknown-event-type", "open-responses", severity="info")
def vendor_event_or() -> Stream:
    events = baseline(done=True)
    events.insert(2, {"type": "acme:progress", "percent": 50})
    return stream(events, row=2)


@N("unknown-event-type", "openai")
@N("unknown-event-type", "open-responses")
def keepalive_event() -> Stream:
    events = baseline(done=True)
    events.insert(5, {"type": "keepalive"})
    return stream(events)


@T("completed-at-token-limit", "openai")
@T("completed-at-token-limit", "codex")
def completed_at_max_output_tokens() -> Stream:
    """llama.cpp's length cut: ``completed`` with usage.output_tokens at the request's limit."""
    events = baseline()
    return stream(
        events,
        row=at(events, "response.completed"),
        request={"model": "gpt-test", "input": "hi", "max_output_tokens": 5},
    )


@N("completed-at-token-limit", "openai")
def completed_below_max_output_tokens() -> Stream:
    return stream(baseline(), request={"model": "gpt-test", "input": "hi", "max_output_tokens": 64})


@N("completed-at-token-limit", "openai", allowed=("client-error",))
def incomplete_at_max_output_tokens() -> Stream:
    """The right way to say it: response.incomplete with reason max_output_tokens."""
    events = baseline(terminal="incomplete")
    return stream(events, request={"model": "gpt-test", "input": "hi", "max_output_tokens": 5})


# -- fields --------------------------------------------------------------------------------------


@T("field-missing", "openai")
@T("field-missing", "codex")
def delta_without_output_index() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    del events[i]["output_index"]
    return stream(events, row=i)


@T("field-missing", "open-responses")
def completed_without_model() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.completed")
    del events[i]["response"]["model"]
    return stream(events, row=i)


@T("field-missing", "openai")
def error_without_message() -> Stream:
    events, i = with_error(nested=False)
    del events[i]["message"]
    return stream(events, row=i)


@T("field-type", "openai")
@T("field-type", "codex")
def output_index_as_string() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events[i]["output_index"] = "0"
    return stream(events, row=i)


@T("field-type", "openai")
def content_index_as_float() -> Stream:
    events = baseline()
    i = at(events, "response.content_part.added")
    events[i]["content_index"] = 0.0
    return stream(events, row=i)


@T("delta-not-string", "openai")
@T("delta-not-string", "codex")
def delta_object() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events[i]["delta"] = {"text": "Hello"}
    return stream(events, row=i)


@T("logprobs-missing", "openai")
def no_logprobs() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    for e in events:
        if isinstance(e, dict) and e["type"].startswith("response.output_text."):
            del e["logprobs"]
    return stream(events, row=i)


@N("logprobs-missing", "open-responses")
@N("logprobs-missing", "codex")
def no_logprobs_elsewhere() -> Stream:
    """WIRE 5: logprobs is optional in Open Responses and Codex never reads it."""
    events = baseline(done=True)
    for e in events:
        if isinstance(e, dict) and e["type"].startswith("response.output_text."):
            del e["logprobs"]
    return stream(events)


# -- output items --------------------------------------------------------------------------------


@T("output-index-not-appended", "openai")
@T("output-index-not-appended", "codex")
def output_index_skips() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.added", 1)
    events[i]["output_index"] = 2
    return stream(events, row=i)


@N("output-index-not-appended", "openai")
@N("item-unknown", "openai")
@N("item-id-mismatch", "openai")
@N("item-type-mismatch", "openai")
@N("item-identity-changed", "openai")
@N("item-id-duplicate", "openai")
@N("call-id-missing", "openai")
@N("call-id-missing", "codex")
@N("item-not-closed", "openai")
@N("item-event-after-done", "openai")
@N("item-status", "openai")
@N("item-added-not-empty", "openai")
@N("content-index-not-appended", "openai")
@N("part-type-mismatch", "openai")
@N("part-order", "openai")
@N("part-added-not-empty", "openai")
@N("text-done-mismatch", "openai")
@N("arguments-done-mismatch", "openai")
@N("part-done-mismatch", "openai")
@N("item-done-mismatch", "openai")
@N("arguments-invalid-json", "openai")
@N("final-output-mismatch", "openai")
@N("usage-missing", "codex")
@N("usage-arithmetic", "openai")
def baseline_items() -> Stream:
    return valid()


@T("item-unknown", "openai")
@T("item-unknown", "codex")
def delta_for_unknown_item() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events.insert(i, {**events[i], "item_id": "msg_zzz", "output_index": 7})
    return stream(events, row=i)


@T("item-id-mismatch", "openai")
@T("item-id-mismatch", "codex")
def rotated_item_id() -> Stream:
    """GitHub Copilot proxy: item_id changes on every event."""
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    events[i]["item_id"] = "msg_rotated"
    return stream(events, row=i)


# The AI SDK's chunk schema requires a function_call's id: its finding is the only one.
@N("item-id-mismatch", "openai", allowed=("client-error",))
@N("item-id-missing", "openai", allowed=("client-error",))
def function_call_without_id() -> Stream:
    """llama.cpp: a function_call item without `id`; its events carry item_id fc_<call_id>."""
    return stream(baseline(message, lambda oi: function_call(oi, item_id=None)))


@T("item-type-mismatch", "openai")
@T("item-type-mismatch", "codex")
def arguments_into_message() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.done")
    events.insert(
        i,
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "delta": "{}",
        },
    )
    return stream(events, row=i)


@T("item-identity-changed", "openai")
@T("item-identity-changed", "codex")
def call_id_changes_at_done() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done", 1)
    events[i]["item"]["call_id"] = "call_2"
    completed_output(events)[1]["call_id"] = "call_2"
    return stream(events, row=i)


@T("item-id-missing", "openai")
@T("item-id-missing", "codex")
def message_without_id() -> Stream:
    events = baseline()
    for e in events[at(events, "response.output_item.added") : at(events, "response.completed")]:
        e.pop("item_id", None)
        if "item" in e:
            del e["item"]["id"]
    del completed_output(events)[0]["id"]
    return stream(events, row=at(events, "response.output_item.added"))


@T("item-id-missing", "openai")
def message_with_empty_id() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.added")
    events[i]["item"]["id"] = ""
    return stream(events, row=i)


@T("item-id-duplicate", "openai")
@T("item-id-duplicate", "codex")
def function_call_reuses_message_id() -> Stream:
    events = baseline(message, lambda oi: function_call(oi, item_id="msg_1"))
    return stream(events, row=at(events, "response.output_item.added", 1))


@T("item-id-duplicate", "openai")
def two_calls_one_call_id() -> Stream:
    events = baseline(
        message,
        function_call,
        lambda oi: function_call(oi, item_id="fc_2", call_id="call_1"),
    )
    return stream(events, row=at(events, "response.output_item.added", 2))


@N("item-id-duplicate", "openai")
def two_calls_two_call_ids() -> Stream:
    return stream(
        baseline(
            message, function_call, lambda oi: function_call(oi, item_id="fc_2", call_id="call_2")
        )
    )


@T("call-id-missing", "openai")
@T("call-id-missing", "codex")
@T("call-id-missing", "open-responses")
def function_call_without_call_id() -> Stream:
    events = baseline(message, lambda oi: function_call(oi, call_id=None), done=True)
    return stream(events, row=at(events, "response.output_item.added", 1))


@T("call-id-missing", "openai")
def function_call_with_empty_call_id() -> Stream:
    events = baseline(message, lambda oi: function_call(oi, call_id=""))
    return stream(events, row=at(events, "response.output_item.added", 1))


@T("item-not-closed", "openai")
@T("item-not-closed", "codex")
@T("item-not-closed", "open-responses")
def message_never_done() -> Stream:
    events = baseline(done=True)
    del events[at(events, "response.output_item.done")]
    return stream(events, row=at(events, "response.completed"))


@T("item-not-closed", "openai")
def open_item_at_eof() -> Stream:
    events = baseline(terminal=None)
    del events[at(events, "response.output_item.done", 1)]
    return stream(events, row=None)


def cut_off_message(oi: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A message cut by max_output_tokens: its text streams but output_item.done never comes."""
    events, done = message(oi)
    return events[:-1], {**done, "status": "in_progress"}


@N("item-not-closed", "openai", allowed=("client-error",))
@N("item-not-closed", "open-responses", allowed=("client-error",))
def incomplete_leaves_last_item_open() -> Stream:
    """I5: response.incomplete (or failed) may leave the last item open."""
    return stream(baseline(function_call, cut_off_message, terminal="incomplete", done=True))


@T("item-event-after-done", "openai")
@T("item-event-after-done", "open-responses")
def delta_after_item_done() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.output_item.done") + 1
    events.insert(i, {**events[at(events, "response.output_text.delta", 1)]})
    return stream(events, row=i)


@T("item-event-after-done", "openai")
def item_done_twice() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done") + 1
    events.insert(i, copy.deepcopy(events[i - 1]))
    return stream(events, row=i)


@T("item-status", "openai")
@T("item-status", "open-responses")
def message_added_completed() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.output_item.added")
    events[i]["item"]["status"] = "completed"
    return stream(events, row=i)


@T("item-status", "openai")
def message_done_in_progress() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done")
    events[i]["item"]["status"] = "in_progress"
    completed_output(events)[0]["status"] = "in_progress"
    return stream(events, row=i)


@T("item-status", "openai")
def incomplete_item_in_completed_response() -> Stream:
    events = baseline(function_call, lambda oi: message(oi, status="incomplete"))
    return stream(events, row=at(events, "response.completed"))


@N("item-status", "openai", allowed=("client-error",))
@N("item-status", "open-responses", allowed=("client-error",))
def incomplete_last_item_in_incomplete_response() -> Stream:
    return stream(
        baseline(
            function_call,
            lambda oi: message(oi, status="incomplete"),
            terminal="incomplete",
            done=True,
        )
    )


@T("item-added-not-empty", "openai")
@T("item-added-not-empty", "codex")
def message_added_with_content() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.added")
    events[i]["item"]["content"] = [text_part("Hello world")]
    return stream(events, row=i)


@T("item-added-not-empty", "openai")
def function_call_added_with_arguments() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.added", 1)
    events[i]["item"]["arguments"] = "{}"
    return stream(events, row=i)


def overlapping(*, overlap: bool) -> tuple[list[Any], int]:
    """A message and a function call; with ``overlap`` the call opens before the message ends."""
    msg, msg_done = message(0)
    fc, fc_done = function_call(1)
    head = [
        {"type": "response.created", "response": response()},
        {"type": "response.in_progress", "response": response()},
    ]
    tail = [terminal_event("completed", [msg_done, fc_done])]
    if not overlap:
        return head + msg + fc + tail, -1
    events = head + msg[:2] + fc[:1] + msg[2:] + fc[1:] + tail
    return events, len(head) + 3


@T("items-overlap", "openai")
@T("items-overlap", "open-responses")
def message_text_while_call_open() -> Stream:
    events, i = overlapping(overlap=True)
    return stream([*events, DONE], row=i)


@N("items-overlap", "openai")
@N("items-overlap", "open-responses")
def items_in_sequence() -> Stream:
    events, _ = overlapping(overlap=False)
    return stream([*events, DONE])


# -- content and summary parts -------------------------------------------------------------------


@T("content-index-not-appended", "openai")
@T("content-index-not-appended", "codex")
def part_added_at_one() -> Stream:
    events = baseline()
    i = at(events, "response.content_part.added")
    events[i]["content_index"] = 1
    return stream(events, row=i)


@T("part-type-mismatch", "openai")
@T("part-type-mismatch", "codex")
def reasoning_part_in_message() -> Stream:
    events = baseline()
    i = at(events, "response.content_part.added")
    events[i]["part"] = {"type": "reasoning_text", "text": ""}
    return stream(events, row=i)


@T("part-type-mismatch", "openai")
def refusal_delta_into_text_part() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events.insert(i, {**events[i], "type": "response.refusal.delta", "delta": "No"})
    del events[i]["logprobs"]
    return stream(events, row=i)


@T("part-type-mismatch", "openai")
def delta_for_part_never_added() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta")
    events[i]["content_index"] = 1
    return stream(events, row=i)


@T("part-order", "openai")
@T("part-order", "open-responses")
def part_done_before_text_done() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.output_text.done")
    events[i], events[i + 1] = events[i + 1], events[i]
    return stream(events, row=i)


@T("part-order", "openai")
def delta_after_text_done() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.done") + 1
    events.insert(i, {**events[at(events, "response.output_text.delta")], "delta": ""})
    return stream(events, row=i)


@N("part-order", "open-responses")
@N("part-added-not-empty", "open-responses")
def parts_in_order_or() -> Stream:
    return valid_or()


@T("part-added-not-empty", "openai")
@T("part-added-not-empty", "codex")
def part_added_with_text() -> Stream:
    events = baseline()
    i = at(events, "response.content_part.added")
    events[i]["part"] = text_part("Hello")
    return stream(events, row=i)


@T("summary-index-not-appended", "openai")
@T("summary-index-not-appended", "codex")
def summary_part_at_one() -> Stream:
    events = baseline(reasoning, message)
    i = at(events, "response.reasoning_summary_part.added")
    for e in events:
        if isinstance(e, dict) and "summary_index" in e:
            e["summary_index"] = 1
    return stream(events, row=i)


@T("summary-index-not-appended", "openai")
def summary_text_for_unopened_index() -> Stream:
    events = baseline(reasoning, message)
    i = at(events, "response.reasoning_summary_text.delta")
    events[i]["summary_index"] = 3
    return stream(events, row=i)


@N("summary-index-not-appended", "openai")
@N("summary-index-not-appended", "codex")
def reasoning_summary_in_order() -> Stream:
    return stream(baseline(reasoning, message))


ANNOTATION = {
    "type": "url_citation",
    "url": "https://example.com",
    "title": "Example",
    "start_index": 0,
    "end_index": 5,
}


@T("annotation-index", "openai")
@T("annotation-index", "codex")
def annotation_index_skips() -> Stream:
    events = baseline(lambda oi: message(oi, annotation=ANNOTATION), function_call)
    i = at(events, "response.output_text.annotation.added")
    events[i]["annotation_index"] = 1
    return stream(events, row=i)


@N("annotation-index", "openai")
@N("annotation-index", "codex")
def annotation_index_zero() -> Stream:
    return stream(baseline(lambda oi: message(oi, annotation=ANNOTATION), function_call))


# -- consistency ---------------------------------------------------------------------------------


@T("text-done-mismatch", "openai")
@T("text-done-mismatch", "codex")
def text_done_differs() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.done")
    events[i]["text"] = "Hello World"
    return stream(events, row=i)


@T("text-done-mismatch", "openai")
def summary_text_done_differs() -> Stream:
    events = baseline(reasoning, message)
    i = at(events, "response.reasoning_summary_text.done")
    events[i]["text"] = "Thought"
    return stream(events, row=i)


@T("arguments-done-mismatch", "openai")
@T("arguments-done-mismatch", "codex")
def arguments_done_differs() -> Stream:
    events = baseline()
    i = at(events, "response.function_call_arguments.done")
    events[i]["arguments"] = '{"city":"Lyon"}'
    return stream(events, row=i)


@T("part-done-mismatch", "openai")
@T("part-done-mismatch", "codex")
def part_done_differs() -> Stream:
    events = baseline()
    i = at(events, "response.content_part.done")
    events[i]["part"]["text"] = "Hello"
    return stream(events, row=i)


@T("part-done-mismatch", "openai")
def summary_part_done_differs() -> Stream:
    events = baseline(reasoning, message)
    i = at(events, "response.reasoning_summary_part.done")
    events[i]["part"]["text"] = "Think"
    return stream(events, row=i)


@T("item-done-mismatch", "openai")
@T("item-done-mismatch", "codex")
def message_done_differs() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done")
    events[i]["item"]["content"][0]["text"] = "Goodbye"
    completed_output(events)[0]["content"][0]["text"] = "Goodbye"
    return stream(events, row=i)


@T("item-done-mismatch", "openai")
def call_done_differs() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done", 1)
    events[i]["item"]["arguments"] = '{"city":"Lyon"}'
    completed_output(events)[1]["arguments"] = '{"city":"Lyon"}'
    return stream(events, row=i)


@T("item-done-mismatch", "openai")
def reasoning_done_differs() -> Stream:
    events = baseline(reasoning, message)
    i = at(events, "response.output_item.done")
    events[i]["item"]["summary"][0]["text"] = "Thought"
    completed_output(events)[0]["summary"][0]["text"] = "Thought"
    return stream(events, row=i)


def no_argument_call(arguments: str) -> Callable[[int], Any]:
    """A function call whose arguments arrive only in .done (no deltas)."""
    return lambda oi: function_call(oi, pieces=(), arguments=arguments)


@T("arguments-empty", "openai")
@T("arguments-empty", "codex")
def empty_arguments() -> Stream:
    events = baseline(message, no_argument_call(""))
    return stream(events, row=at(events, "response.output_item.done", 1))


@N("arguments-empty", "openai")
@N("arguments-empty", "codex")
def empty_object_arguments() -> Stream:
    return stream(baseline(message, no_argument_call("{}")))


@T("arguments-invalid-json", "openai")
@T("arguments-invalid-json", "codex")
def truncated_arguments() -> Stream:
    events = baseline(message, lambda oi: function_call(oi, pieces=('{"city":', '"Par')))
    return stream(events, row=at(events, "response.output_item.done", 1))


@N("arguments-invalid-json", "codex")
def custom_tool_input_is_not_json() -> Stream:
    """T6: custom_tool_call.input is free text and is never JSON-validated."""
    added = {"type": "custom_tool_call", "call_id": "call_9", "name": "apply_patch", "input": ""}
    done = {**added, "input": "*** Begin Patch"}
    events: list[Any] = [
        {"type": "response.created", "response": response()},
        {"type": "response.in_progress", "response": response()},
        {"type": "response.output_item.added", "output_index": 0, "item": added},
        {
            "type": "response.custom_tool_call_input.delta",
            "item_id": "ctc_1",
            "output_index": 0,
            "delta": "*** Begin Patch",
        },
        {
            "type": "response.custom_tool_call_input.done",
            "item_id": "ctc_1",
            "output_index": 0,
            "input": "*** Begin Patch",
        },
        {"type": "response.output_item.done", "output_index": 0, "item": done},
        terminal_event("completed", [done]),
    ]
    return stream(events)


@T("final-output-mismatch", "openai")
@T("final-output-mismatch", "codex")
def completed_lists_fewer_items() -> Stream:
    events = baseline()
    del completed_output(events)[1]
    return stream(events, row=last(events))


@T("final-output-mismatch", "openai")
def completed_output_differs() -> Stream:
    """vLLM PR #56285: the final output carries other ids than the streamed items."""
    events = baseline()
    completed_output(events)[1]["call_id"] = "call_other"
    return stream(events, row=last(events))


@N("final-output-mismatch", "openai")
@N("item-identity-changed", "openai")
@N("item-done-mismatch", "openai")
def final_output_in_other_key_order() -> Stream:
    """T7: key order does not matter; encrypted_content may differ in every copy (WIRE 9)."""
    events = baseline(reasoning, message)
    output = completed_output(events)
    output[0] = dict(reversed(list(output[0].items())))
    output[0]["encrypted_content"] = "gAAAA-final"
    return stream(events)


@T("usage-missing", "openai")
@T("usage-missing", "open-responses")
@T("usage-missing", "codex")
def completed_without_usage() -> Stream:
    events = baseline(done=True)
    i = at(events, "response.completed")
    events[i]["response"]["usage"] = None
    return stream(events, row=i)


@T("usage-arithmetic", "openai")
@T("usage-arithmetic", "codex")
def total_does_not_add_up() -> Stream:
    events = baseline()
    events[-1]["response"]["usage"]["total_tokens"] = 16
    return stream(events, row=last(events))


@T("usage-arithmetic", "openai", severity="info")
def more_reasoning_than_output() -> Stream:
    """T8 is info, below the rule's warning."""
    events = baseline()
    events[-1]["response"]["usage"]["output_tokens_details"]["reasoning_tokens"] = 6
    return stream(events, row=last(events))


@N("usage-arithmetic", "codex")
@N("field-missing", "codex")
def usage_with_cache_write_tokens() -> Stream:
    """WIRE 6: cache_write_tokens arrived in July 2026; both with and without are fine."""
    events = baseline()
    usage = events[-1]["response"]["usage"]
    usage["input_tokens_details"]["cache_write_tokens"] = 0
    usage["output_tokens_details"]["reasoning_tokens"] = 5
    return stream(events)


# -- timing --------------------------------------------------------------------------------------


def paced(events: list[Any], slow: int, gap: float, *, step: float = 0.01) -> list[float]:
    """Arrival times ``step`` apart, with ``gap`` seconds of silence before frame ``slow``."""
    times, t = [], 0.0
    for i in range(len(events)):
        t += gap if i == slow else step
        times.append(round(t, 6))
    return times


@T("stall", "openai")
@T("stall", "codex")
def fifteen_seconds_mid_answer() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    return timed(events, paced(events, i, 15.0), row=i)


@N("stall", "openai")
@N("stall", "codex")
def nine_seconds_mid_answer() -> Stream:
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    return timed(events, paced(events, i, 9.0))


@N("stall", "openai")
def fifteen_seconds_with_stall_warn_20() -> Stream:
    st = fifteen_seconds_mid_answer()
    st.options["stall_warn"] = 20.0
    return st


@T("stall", "openai")
def stall_seen_live() -> Stream:
    """tick() reports the silence while it lasts (no row); the event ending it is not re-reported."""
    events = baseline()
    i = at(events, "response.output_text.delta", 1)
    times = paced(events, i, 15.0)
    return timed(events, times, row=None, ticks=(times[i - 1] + 5.0, times[i - 1] + 12.0))


def after_created(filler: bytes, every: float, until: float) -> list[tuple[float, bytes]]:
    """response.created at 0.1, then ``filler`` every ``every`` s before ``until``."""
    chunks = [(0.1, sse([{"type": "response.created", "response": response()}]))]
    t = every
    while t < until:
        chunks.append((t, filler))
        t += every
    return chunks


def rest_of_baseline(*, skip: int = 0) -> bytes:
    """Everything after response.created, numbered on past ``skip`` events sent in between."""
    events = set_seq(baseline(), 0, lambda k: k + skip if k else 0)
    return sse(events[1:])


@T("stall-after-created", "openai")
@T("stall-after-created", "codex")
def comments_only_after_created() -> Stream:
    """A long prefill: comment keep-alives every 5 s, the next event 20 s after created."""
    chunks = after_created(b": keepalive\n\n", 5.0, 20.0)
    row = len(chunks)
    return Stream([*chunks, (20.0, rest_of_baseline())], row=row)


@N("stall-after-created", "openai")
@N("stall-after-created", "codex")
def prefill_within_stall_warn() -> Stream:
    chunks = after_created(b": keepalive\n\n", 3.0, 9.0)
    return Stream([*chunks, (9.0, rest_of_baseline())])


@T("stall-after-created", "openai")
def silent_after_created_until_max_wait() -> Stream:
    chunks = after_created(b": keepalive\n\n", 5.0, 30.0)
    return Stream(chunks, row=None, end=30.0, reason="max-wait")


@T("codex-idle-timeout", "codex")
def comments_do_not_reset_codex() -> Stream:
    """Rapid-MLX: `: keepalive` comments for 400 s; Codex's idle timer (300 s) runs out."""
    chunks = after_created(b": keepalive\n\n", 60.0, 400.0)
    row = len(chunks)
    return Stream([*chunks, (400.0, rest_of_baseline())], row=row)


@T("codex-idle-timeout", "codex")
def codex_idle_seen_live() -> Stream:
    chunks = after_created(b": keepalive\n\n", 60.0, 400.0)
    return Stream([*chunks, (400.0, rest_of_baseline())], row=None, ticks=(301.0,))


@N("codex-idle-timeout", "codex", allowed=("stall-after-created",))
def keepalive_events_reset_codex() -> Stream:
    """The Rapid-MLX fix: complete events (here keepalive events) reset Codex's idle timer."""
    chunks = [(0.1, sse([{"type": "response.created", "response": response()}]))]
    n = 0
    for t in (60.0, 120.0, 180.0, 240.0, 300.0, 360.0):
        n += 1
        chunks.append((t, sse([{"type": "keepalive", "sequence_number": n}])))
    return Stream([*chunks, (400.0, rest_of_baseline(skip=n))], ticks=(330.0, 390.0))


# -- what Codex does -----------------------------------------------------------------------------


@T("codex-event-dropped", "codex")
def codex_delta_object() -> Stream:
    return delta_object()


@T("codex-event-dropped", "codex")
def codex_summary_index_string() -> Stream:
    events = baseline(reasoning, message)
    i = at(events, "response.reasoning_summary_text.delta")
    events[i]["summary_index"] = "0"
    return stream(events, row=i)


@T("codex-event-dropped", "codex")
def codex_bad_json() -> Stream:
    return not_json()


@N("codex-event-dropped", "codex")
@N("codex-item-dropped", "codex")
@N("codex-text-lost", "codex")
@N("codex-delta-without-item", "codex")
@N("codex-error-hidden", "codex")
@N("codex-completed-invalid", "codex")
@N("codex-turn-fails", "codex")
@N("codex-idle-timeout", "codex")
def codex_baseline() -> Stream:
    return valid()


@T("codex-item-dropped", "codex")
def codex_call_without_call_id() -> Stream:
    events = baseline(message, lambda oi: function_call(oi, call_id=None))
    return stream(events, row=at(events, "response.output_item.done", 1))


@T("codex-item-dropped", "codex")
def codex_object_arguments() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done", 1)
    events[i]["item"]["arguments"] = {"city": "Paris"}
    return stream(events, row=i)


@T("codex-item-dropped", "codex")
def codex_part_typed_text() -> Stream:
    events = baseline()
    i = at(events, "response.output_item.done")
    events[i]["item"]["content"][0]["type"] = "text"
    return stream(events, row=i)


@T("codex-text-lost", "codex")
def codex_message_never_done() -> Stream:
    events = baseline(message)
    del events[at(events, "response.output_item.done")]
    return stream(events, row=None)


@T("codex-delta-without-item", "codex")
def codex_delta_before_added() -> Stream:
    events = baseline()
    del events[at(events, "response.output_item.added")]
    return stream(events, row=at(events, "response.output_text.delta"))


@T("codex-error-hidden", "codex")
def codex_error_then_eof() -> Stream:
    events, _ = with_error(then=None)
    return stream(events, row=None)


@T("codex-error-hidden", "codex")
def codex_error_then_completed() -> Stream:
    events, _ = with_error(then="completed")
    return stream(events, row=last(events))


@N("codex-error-hidden", "codex", allowed=("error-event", "codex-turn-fails"))
def codex_error_then_failed() -> Stream:
    events, _ = with_error()
    return stream(events)


@T("codex-completed-invalid", "codex")
def codex_completed_without_id() -> Stream:
    events = baseline()
    del events[-1]["response"]["id"]
    return stream(events, row=last(events))


@T("codex-completed-invalid", "codex")
def codex_usage_as_strings() -> Stream:
    events = baseline()
    events[-1]["response"]["usage"]["total_tokens"] = "15"
    return stream(events, row=last(events))


@N("codex-completed-invalid", "codex", allowed=("usage-missing",))
def codex_completed_with_null_usage() -> Stream:
    events = baseline()
    events[-1]["response"]["usage"] = None
    return stream(events)


@T("codex-turn-fails", "codex")
def codex_failed() -> Stream:
    events = baseline(terminal="failed")
    return stream(events, row=last(events))


@T("codex-turn-fails", "codex")
def codex_incomplete() -> Stream:
    events = baseline(terminal="incomplete")
    return stream(events, row=last(events))


@N("codex-idle-timeout", "codex")
@N("stall-after-created", "openai")
@N("lifecycle-order", "openai")
def in_progress_heartbeats() -> Stream:
    """Rapid-MLX PR #1061: response.in_progress every 8 s during a 400 s prefill."""
    chunks = [(0.1, sse([{"type": "response.created", "response": response()}]))]
    n = 0
    t = 8.0
    while t < 400.0:
        n += 1
        heartbeat = {"type": "response.in_progress", "response": response(), "sequence_number": n}
        chunks.append((t, sse([heartbeat])))
        t += 8.0
    return Stream([*chunks, (400.0, rest_of_baseline(skip=n))], ticks=(150.0, 350.0))


@T("codex-idle-timeout", "codex")
def failed_then_socket_left_open() -> Stream:
    """codex-behaviour 6.2: 0.169.0 reports response.failed only at EOF; an open socket times out."""
    return Stream(
        [(0.01, sse(baseline(terminal="failed")))], row=None, end=400.0, reason="max-wait"
    )


@T("codex-idle-timeout", "codex")
def silent_until_eof() -> Stream:
    """A server that goes silent after response.created and closes 400 s later: Codex gave up at
    300 s, whatever ended the read (headless replay never ticks)."""
    chunks = after_created(b": keepalive\n\n", 60.0, 400.0)
    return Stream(chunks, row=None, end=400.0)


@N("data-not-json", "openai")
@N("data-not-json", "codex")
@N("type-missing", "openai")
@N("type-missing", "codex")
@N("codex-event-dropped", "codex")
def multi_line_data() -> Stream:
    """A payload split over several `data:` lines (joined with LF) is one JSON object (F2)."""
    events = baseline()
    i = at(events, "response.output_text.delta")
    events[i]["_multiline"] = True
    assert b'\ndata:  "delta": "Hello",\n' in sse(events)
    return stream(events)


def strict_tools(events: list[Any]) -> list[Any]:
    tool = {"type": "function", "name": "get_weather", "strict": True, "parameters": {}}
    for e in events:
        if isinstance(e, dict) and "response" in e:
            e["response"]["tools"] = [tool]
    return events


@T("arguments-empty", "openai", severity="error")
@T("arguments-empty", "open-responses", severity="error")
def empty_arguments_strict_tool() -> Stream:
    """T5: error for strict tools (openai-python's get_final_response() raises)."""
    events = strict_tools(baseline(message, no_argument_call("")))
    return stream(events, row=at(events, "response.output_item.done", 1))


@T("arguments-invalid-json", "openai", severity="error")
def invalid_arguments_strict_tool() -> Stream:
    events = strict_tools(
        baseline(message, lambda oi: function_call(oi, pieces=('{"city":', '"Par')))
    )
    return stream(events, row=at(events, "response.output_item.done", 1))


@N("arguments-empty", "openai")
@N("arguments-invalid-json", "openai")
def valid_arguments_strict_tool() -> Stream:
    return stream(strict_tools(baseline()))


# -- open-responses: the spec's event names and Response fields ---------------------------------

CLIENT_VERDICTS = ("client-error", "client-loss")
OPENAI_RAW_REASONING = ("response.reasoning_text.delta", "response.reasoning_text.done")
OPEN_RESPONSES_RAW_REASONING = ("response.reasoning.delta", "response.reasoning.done")


def raw_reasoning(names: tuple[str, str] = OPENAI_RAW_REASONING) -> ItemBuilder:
    """A reasoning item whose raw text streams as a reasoning_text part, under ``names``
    (OpenAI's ``reasoning_text.*`` or Open Responses' ``reasoning.*``)."""
    delta_type, done_type = names

    def build(oi: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        ids = {"item_id": "rs_raw", "output_index": oi, "content_index": 0}
        part = {"type": "reasoning_text", "text": "Thinking"}
        done = {
            "type": "reasoning",
            "id": "rs_raw",
            "summary": [],
            "content": [part],
            "status": "completed",
        }
        added = {**done, "content": [], "status": "in_progress"}
        events: list[dict[str, Any]] = [
            {"type": "response.output_item.added", "output_index": oi, "item": added},
            {"type": "response.content_part.added", **ids, "part": {**part, "text": ""}},
            {"type": delta_type, **ids, "delta": "Think"},
            {"type": delta_type, **ids, "delta": "ing"},
            {"type": done_type, **ids, "text": "Thinking"},
            {"type": "response.content_part.done", **ids, "part": part},
            {"type": "response.output_item.done", "output_index": oi, "item": done},
        ]
        return events, done

    return build


@T("open-responses-event-name", "open-responses")
def openai_raw_reasoning_names_under_open_responses() -> Stream:
    events = baseline(raw_reasoning(), message, done=True)
    return stream(events, row=at(events, "response.reasoning_text.delta"))


@N("open-responses-event-name", "open-responses", CLIENT_VERDICTS)
@N("unknown-event-type", "open-responses", CLIENT_VERDICTS)
def open_responses_raw_reasoning_names() -> Stream:
    """The client verdicts stand (strict clients reject the names, the AI SDK provider drops
    raw reasoning); the profile itself has nothing to say."""
    return stream(baseline(raw_reasoning(OPEN_RESPONSES_RAW_REASONING), message, done=True))


@N("open-responses-event-name", "openai", CLIENT_VERDICTS)
@N("open-responses-event-name", "codex", CLIENT_VERDICTS)
def openai_raw_reasoning_names() -> Stream:
    return stream(baseline(raw_reasoning(), message))


@T("unknown-event-type", "openai")
def open_responses_raw_reasoning_names_under_openai() -> Stream:
    """The openai profile keeps today's reading: OpenAI retired these names."""
    events = baseline(raw_reasoning(OPEN_RESPONSES_RAW_REASONING), message)
    return stream(events, row=at(events, "response.reasoning.delta"))


@T("field-missing", "open-responses")
def open_responses_reasoning_delta_without_its_delta() -> Stream:
    events = baseline(raw_reasoning(OPEN_RESPONSES_RAW_REASONING), message, done=True)
    i = at(events, "response.reasoning.delta")
    del events[i]["delta"]
    return stream(events, row=i)


@T("open-responses-field", "open-responses")
def null_sampling_values_under_open_responses() -> Stream:
    """The engine's old Response: temperature and top_p null, no penalties."""
    events = baseline(done=True)
    for e in [*events[:2], events[at(events, "response.completed")]]:
        e["response"].update(temperature=None, top_p=None)
        del e["response"]["presence_penalty"], e["response"]["frequency_penalty"]
    return stream(events, row=0)


@T("open-responses-field", "open-responses")
def incomplete_without_completed_at_under_open_responses() -> Stream:
    """completed_at is required on every Response: null until it completed."""
    events = baseline(terminal="incomplete", done=True)
    i = at(events, "response.incomplete")
    del events[i]["response"]["completed_at"]
    return stream(events, row=i)


@T("open-responses-field", "open-responses")
def float_created_at_under_open_responses() -> Stream:
    """OpenAI's schema takes any number; Open Responses' created_at is an integer."""
    events = baseline(done=True)
    events[1]["response"]["created_at"] = 1767225600.5
    return stream(events, row=1)


@N("open-responses-field", "open-responses")
def complete_responses_under_open_responses() -> Stream:
    return stream(baseline(done=True))


@N("open-responses-field", "openai")
@N("open-responses-field", "codex")
def openai_shaped_responses() -> Stream:
    """OpenAI's own Response shape: null sampling values, none of the Open Responses fields."""
    events = baseline()
    for e in events:
        if isinstance(e, dict) and "response" in e:
            e["response"].update(temperature=None, top_p=None)
            for key in OPEN_RESPONSES_FIELDS:
                e["response"].pop(key, None)
    return stream(events)


def function_call_without_status(oi: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    events, done = function_call(oi)
    for e in events:
        if e["type"].startswith("response.output_item."):
            del e["item"]["status"]
    done.pop("status", None)
    return events, done


@T("open-responses-field", "open-responses")
def function_call_without_status_under_open_responses() -> Stream:
    """OpenAI's schema lets a function_call omit its status; the spec's FunctionCall does not."""
    events = baseline(message, function_call_without_status, done=True)
    return stream(events, row=at(events, "response.output_item.added", 1))


@N("open-responses-field", "openai", CLIENT_VERDICTS)
def function_call_without_status_under_openai() -> Stream:
    return stream(baseline(message, function_call_without_status))


@T("open-responses-field", "open-responses")
def flat_error_event_under_open_responses() -> Stream:
    """The flat error form of OpenAI's schema: the spec's ErrorStreamingEvent nests it."""
    events, i = with_error(nested=False, done=True)
    return stream(events, row=i)


@T("open-responses-field", "open-responses")
def error_payload_without_param_under_open_responses() -> Stream:
    events, i = with_error(done=True)
    del events[i]["error"]["param"]
    return stream(events, row=i)


@N("open-responses-field", "open-responses", ("error-event",))
def nested_error_event_under_open_responses() -> Stream:
    return stream(with_error(done=True)[0])


def test_open_responses_raw_reasoning_is_read_into_the_reasoning_item() -> None:
    """Under open-responses the spec's names carry the reasoning text into the tree."""
    events = baseline(raw_reasoning(OPEN_RESPONSES_RAW_REASONING), message, done=True)
    checker = stream(events).run("open-responses")
    reasoning_item = checker.tree.reconstruct()["output"][0]
    assert reasoning_item["content"] == [{"type": "reasoning_text", "text": "Thinking"}]


def test_open_responses_names_leave_the_client_predictions_alone() -> None:
    """The profile changes findings, not what a client does: openai-node still meets an event
    it does not know when a server sends the Open Responses names."""
    events = baseline(raw_reasoning(OPEN_RESPONSES_RAW_REASONING), message, done=True)
    outcomes = {
        profile: {p.client: p.outcome for p in stream(events).run(profile).client_predictions()}
        for profile in ("openai", "open-responses")
    }
    assert outcomes["openai"] == outcomes["open-responses"]
    assert outcomes["openai"]["openai-node"] == "error"


def test_open_responses_response_fields_are_one_finding_per_event() -> None:
    checker = null_sampling_values_under_open_responses().run("open-responses")
    hits = [f for f in checker.findings if f.rule == "open-responses-field"]
    assert [f.event_index for f in hits] == [0, 1, len(baseline()) - 1]
    assert hits[0].message == (
        "response.created's response lacks presence_penalty, frequency_penalty; "
        "`response.top_p` is null, expected number; `response.temperature` is null, expected number"
    )


# =============================================================================================
# the tables
# =============================================================================================


@pytest.mark.parametrize("case", TRIGGERS, ids=lambda c: c.id)
def test_trigger(case: Case) -> None:
    expected = case.severity or RULES[case.rule].severity_in(case.profile)
    assert expected is not None, f"{case.rule} is off under {case.profile}: pick another profile"
    st = case.build()
    checker = st.run(case.profile)
    hits = [f for f in checker.findings if f.rule == case.rule]
    assert hits, f"{case.rule} not reported; findings:\n{describe(checker)}"
    assert {f.severity for f in hits} == {expected}, describe(checker)
    if st.row is not ANY:
        assert st.row in {f.event_index for f in hits}, describe(checker)


@pytest.mark.parametrize("case", NON_TRIGGERS, ids=lambda c: c.id)
def test_non_trigger(case: Case) -> None:
    checker, findings = judged(case.build(), case.profile)
    found = {f.rule for f in findings}
    assert case.rule not in found, describe(checker)
    assert found <= case.allowed, f"unexpected findings:\n{describe(checker)}"


def test_every_rule_has_a_trigger() -> None:
    assert set(RULES) - {c.rule for c in TRIGGERS} == set()
    assert {c.rule for c in TRIGGERS} <= set(RULES)


def test_every_rule_has_a_non_trigger() -> None:
    assert set(RULES) - {c.rule for c in NON_TRIGGERS} == set()
    assert {c.rule for c in NON_TRIGGERS} <= set(RULES)


def test_every_trigger_runs_where_its_rule_is_on() -> None:
    off = [c.id for c in TRIGGERS if RULES[c.rule].severity_in(c.profile) is None]
    assert off == []


def test_case_ids_are_unique() -> None:
    for table in (TRIGGERS, NON_TRIGGERS):
        ids = [c.id for c in table]
        assert len(ids) == len(set(ids))


# =============================================================================================
# WIRE exemptions (reference section 7): real OpenAI traffic that no profile may flag
# =============================================================================================


def wire_obfuscation() -> Stream:
    """WIRE 4: the undeclared `obfuscation` key on every delta."""
    events = baseline()
    for n, e in enumerate(events):
        if e["type"].endswith(".delta"):
            e["obfuscation"] = f"x{n:03d}"
    return stream(events)


def wire_keepalives() -> Stream:
    """WIRE 3 / 3.5: keepalive events, each consuming a sequence number."""
    return keepalives_consume_sequence_numbers()


def wire_nested_error() -> Stream:
    """WIRE 2: `{"type": "error", "error": {type, code, message, param}}`, then response.failed."""
    events, _ = with_error(nested=True)
    return stream(events)


def wire_nested_error_null_code() -> Stream:
    events, i = with_error(nested=True)
    events[i]["error"]["code"] = None
    return stream(events)


def wire_arguments_done_without_name() -> Stream:
    """WIRE 1: function_call_arguments.done never carries `name` on the HTTP stream."""
    events = baseline()
    assert "name" not in events[at(events, "response.function_call_arguments.done")]
    return stream(events)


def wire_encrypted_content_changes() -> Stream:
    """WIRE 9 / I10: a reasoning item's encrypted_content differs between added and done."""
    events = baseline(reasoning, message, function_call)
    added = events[at(events, "response.output_item.added")]["item"]
    done = events[at(events, "response.output_item.done")]["item"]
    assert added["encrypted_content"] != done["encrypted_content"]
    return stream(events)


def wire_bare_uuid_ids() -> Stream:
    """WIRE 10: id prefixes are never validated (xAI, vLLM use bare UUIDs)."""
    uuid = "3f2c9a64-8d1e-4b7a-9c55-0e6f1d2b7a10"
    events = baseline(
        lambda oi: message(oi, item_id=uuid),
        lambda oi: function_call(oi, item_id="b6e1", call_id="c7f2"),
    )
    for e in events:
        if "response" in e:
            e["response"]["id"] = "0b1c2d3e"
    return stream(events)


def wire_extra_keys() -> Stream:
    """WIRE 4 and P3: stream_id, Azure's content_filters, LiteLLM's top-level `model`."""
    events = baseline()
    for e in events:
        e["model"] = "gpt-test"
        e["stream_id"] = "s-1"
        if "response" in e:
            e["response"]["content_filters"] = [{"blocked": False}]
    return stream(events)


def wire_cache_write_tokens() -> Stream:
    """WIRE 6: input_tokens_details.cache_write_tokens present (it is optional)."""
    events = baseline()
    events[-1]["response"]["usage"]["input_tokens_details"]["cache_write_tokens"] = 3
    return stream(events)


def wire_done_sentinel() -> Stream:
    """WIRE 7: `data: [DONE]` may be present."""
    return stream(baseline(done=True))


def wire_error_then_eof() -> Stream:
    """WIRE 8: the stream ends right after `error`, without response.failed."""
    events, _ = with_error(then=None)
    return stream(events)


def wire_logprobs_missing() -> Stream:
    """WIRE 5: no logprobs on deltas, .done or parts: a warning at most."""
    events = baseline()
    for e in events:
        e.pop("logprobs", None)
        if "part" in e:
            e["part"].pop("logprobs", None)
    for item in [
        *completed_output(events),
        events[at(events, "response.output_item.done")]["item"],
    ]:
        for part in item.get("content", []):
            part.pop("logprobs", None)
    return stream(events)


@dataclass(frozen=True)
class Wire:
    build: Callable[[], Stream]
    exempt: frozenset[str]
    """Rules this exemption is about: never reported, in any profile."""
    allowed: frozenset[str] = frozenset()
    """Other findings the stream legitimately has (e.g. error-event for an error)."""
    max_severity: str = "info"
    """The worst severity any of ``allowed`` may have under openai."""
    profiles: tuple[str, ...] = ("openai", "open-responses")


_ITEM_RULES = frozenset(
    {"item-identity-changed", "item-done-mismatch", "final-output-mismatch", "field-missing"}
)
WIRE = {
    "obfuscation": Wire(
        wire_obfuscation, frozenset({"field-type", "unknown-event-type", "text-done-mismatch"})
    ),
    "keepalive": Wire(
        wire_keepalives,
        frozenset({"unknown-event-type", "sequence-gap", "created-not-first", "sequence-start"}),
    ),
    "nested-error": Wire(
        wire_nested_error,
        frozenset({"field-missing", "field-type", "unknown-event-type"}),
        frozenset({"error-event", "codex-turn-fails"}),
        "warning",
    ),
    "nested-error-null-code": Wire(
        wire_nested_error_null_code,
        frozenset({"field-missing", "field-type"}),
        frozenset({"error-event", "codex-turn-fails"}),
        "warning",
    ),
    "arguments-done-without-name": Wire(
        wire_arguments_done_without_name, frozenset({"field-missing", "field-type"})
    ),
    "encrypted-content-changes": Wire(wire_encrypted_content_changes, _ITEM_RULES),
    "bare-uuid-ids": Wire(wire_bare_uuid_ids, frozenset({"field-type", "item-id-missing"})),
    "extra-keys": Wire(wire_extra_keys, frozenset({"field-type", "field-missing"})),
    "cache-write-tokens": Wire(wire_cache_write_tokens, frozenset({"field-type"})),
    "done-sentinel-present": Wire(wire_done_sentinel, frozenset({"data-after-done"})),
    "error-then-eof": Wire(
        wire_error_then_eof,
        frozenset({"terminal-missing", "error-not-followed-by-failed"}),
        frozenset({"error-event"}),
        "warning",
        ("openai",),  # Open Responses requires response.failed: see the test below
    ),
    "logprobs-missing": Wire(
        wire_logprobs_missing,
        frozenset({"field-missing", "field-type", "part-done-mismatch"}),
        frozenset({"logprobs-missing"}),
        "warning",
    ),
}


@pytest.mark.parametrize(
    ("name", "profile"), [(name, p) for name, w in WIRE.items() for p in w.profiles]
)
def test_wire_exemption_is_not_flagged(name: str, profile: str) -> None:
    wire = WIRE[name]
    st = wire.build()
    if profile == "open-responses" and DONE not in b"".join(c for _, c in st.chunks):
        st.chunks.append((st.chunks[-1][0] + 0.001, DONE))
    checker, findings = judged(st, profile)
    found = {f.rule for f in findings}
    assert not found & wire.exempt, describe(checker)
    assert found <= wire.allowed, describe(checker)
    if profile == "openai":
        worst = {"error": 0, "warning": 1, "info": 2}
        assert all(worst[f.severity] >= worst[wire.max_severity] for f in findings)


def test_error_then_eof_under_open_responses_is_only_the_missing_failed() -> None:
    """OR requires response.failed after an error (L6); that, not truncation, is the finding."""
    st = wire_error_then_eof()
    st.chunks.append((st.chunks[-1][0] + 0.001, DONE))
    checker, findings = judged(st, "open-responses")
    assert {(f.rule, f.severity) for f in findings} == {
        ("error-event", "warning"),
        ("error-not-followed-by-failed", "error"),
    }, describe(checker)


@pytest.mark.parametrize("name", WIRE)
def test_wire_exemption_under_codex(name: str) -> None:
    """Codex ignores every exempted detail; only the error cases change what it does."""
    wire = WIRE[name]
    checker = wire.build().run("codex")
    assert not rules_of(checker) & (wire.exempt - {"terminal-missing"}), describe(checker)
    prediction = checker.prediction()
    if name.startswith("nested-error"):
        assert prediction.outcome == "error"
        assert prediction.message == "stream disconnected before completion: engine crashed"
    elif name == "error-then-eof":
        assert rules_of(checker) == {"error-event", "codex-error-hidden", "terminal-missing"}
        assert prediction.message == MSG_CLOSED
    else:
        assert checker.findings == [], describe(checker)
        assert prediction.outcome == "ok"


# =============================================================================================
# behaviour around the rules: rows, live ticks, predictions, chunking
# =============================================================================================


def test_stall_seen_live_is_reported_once() -> None:
    checker = stall_seen_live().run()
    stalls = [f for f in checker.findings if f.rule == "stall"]
    assert len(stalls) == 1, describe(checker)
    assert stalls[0].event_index is None
    assert stalls[0].message.endswith("(still silent)")


def test_stall_names_the_event_before_the_gap() -> None:
    checker = fifteen_seconds_mid_answer().run()
    (stall,) = [f for f in checker.findings if f.rule == "stall"]
    assert "after response.output_text.delta" in stall.message


def test_codex_idle_timeout_prediction() -> None:
    checker = comments_do_not_reset_codex().run("codex")
    prediction = checker.prediction()
    assert (prediction.outcome, prediction.message, prediction.retried) == ("error", MSG_IDLE, True)
    (idle,) = [f for f in checker.findings if f.rule == "codex-idle-timeout"]
    assert idle.t == pytest.approx(400.0)


def test_codex_idle_timeout_live_tick_points_at_the_tick() -> None:
    checker = codex_idle_seen_live().run("codex")
    (idle,) = [f for f in checker.findings if f.rule == "codex-idle-timeout"]
    assert idle.t == pytest.approx(301.0)
    assert checker.prediction().message == MSG_IDLE


def test_unterminated_terminal_frame_never_reaches_codex() -> None:
    """The checker sees response.completed, but Codex's SSE parser discards the cut frame."""
    checker = cut_before_blank_line().run("codex")
    assert checker.tree.terminal_type == "response.completed"
    assert "terminal-missing" not in rules_of(checker)
    assert checker.prediction().message == MSG_CLOSED


def test_http_500_prediction_and_no_stream_rules() -> None:
    checker = http_500().run("codex")
    assert [f.rule for f in checker.findings] == ["http-status"]
    assert "model crashed" in checker.findings[0].message
    assert checker.prediction().message.startswith("We’re currently experiencing high demand")


def test_json_body_on_200_fails_codex_with_stream_closed() -> None:
    checker = Stream(
        [(0.01, b'{"id": "resp_1", "object": "response", "output": []}')],
        http=(200, {"content-type": "application/json"}, ""),
    ).run("codex")
    assert "content-type" in rules_of(checker)
    assert checker.prediction().message == MSG_CLOSED


@pytest.mark.parametrize("size", [1, 7, 300])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
@pytest.mark.parametrize("profile", PROFILES)
def test_chunking_does_not_change_findings(profile: str, ending: bytes, size: int) -> None:
    """The same bytes, whole or in chunks of ``size``, give the same findings (framing is exact)."""
    events = baseline(reasoning, message, function_call, done=True)
    i = at(events, "response.output_text.delta")
    events[i]["sequence_number"] = DROP  # something to find
    data = sse(events).replace(b"\n", ending)
    whole = Stream([(0.01, data)]).run(profile)
    split = Stream([(0.01, data[k : k + size]) for k in range(0, len(data), size)]).run(profile)
    assert [(f.rule, f.event_index) for f in whole.findings] == [
        (f.rule, f.event_index) for f in split.findings
    ]
    assert ("sequence-missing", i) in {(f.rule, f.event_index) for f in whole.findings}


def test_bom_is_stripped_before_the_first_field() -> None:
    checker, findings = judged(bom(), "openai")
    assert [(f.rule, f.event_index) for f in findings] == [("sse-bom", 0)], describe(checker)
    assert checker.tree.created is not None


def test_capitalised_data_loses_the_event() -> None:
    checker = capitalised_data().run()
    (typo,) = [f for f in checker.findings if f.rule == "sse-unknown-field"]
    assert "case-sensitive" in typo.message
    assert "sequence-gap" in rules_of(checker)


# =============================================================================================
# regressions: checker bugs found by this suite, now fixed
# =============================================================================================


@pytest.mark.parametrize(
    ("profile", "which", "rule"),
    [
        ("openai", "call_id", "call-id-missing"),
        ("codex", "call_id", "call-id-missing"),
        ("openai", "id", "item-id-missing"),
    ],
)
def test_null_identity_is_a_missing_identity(profile: str, which: str, rule: str) -> None:
    """I2: non-empty `id` and `call_id`; null is no call_id at all (Codex drops the call)."""
    events = baseline(message, function_call) if which == "call_id" else baseline()
    n = 1 if which == "call_id" else 0
    i = at(events, "response.output_item.added", n)
    events[i]["item"][which] = None
    checker = stream(events).run(profile)
    hits = [f for f in checker.findings if f.rule == rule and f.event_index == i]
    assert hits, describe(checker)
    assert hits[0].severity == RULES[rule].severity_in(profile)


@pytest.mark.parametrize("profile", ["openai", "open-responses"])
def test_incomplete_item_must_be_last(profile: str) -> None:
    """I7 / Open Responses MUST: an incomplete item must be the last one."""
    events = baseline(
        lambda oi: message(oi, status="incomplete"),
        function_call,
        terminal="incomplete",
        done=True,
    )
    checker = stream(events).run(profile)
    assert "item-status" in rules_of(checker), describe(checker)


@pytest.mark.parametrize("profile", ["openai", "open-responses"])
def test_only_the_last_item_may_stay_open(profile: str) -> None:
    """I5: exactly one output_item.done per item (failed/incomplete may leave the last open)."""
    events = baseline(cut_off_message, function_call, terminal="incomplete", done=True)
    checker = stream(events).run(profile)
    hits = [f for f in checker.findings if f.rule == "item-not-closed"]
    assert hits, describe(checker)
    assert hits[0].event_index == at(events, "response.incomplete")


def test_keepalive_between_error_and_failed_hides_nothing() -> None:
    events, _ = with_error(then=None)
    done_msg = events[at(events, "response.output_item.done")]["item"]
    events += [{"type": "keepalive"}, terminal_event("failed", [done_msg])]
    checker = stream(events).run("codex")
    assert "codex-error-hidden" not in rules_of(checker), describe(checker)
    assert checker.prediction().message == "stream disconnected before completion: engine crashed"


def future_item(oi: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    item = {"type": "future_call", "id": "fut_1", "status": "completed"}
    return [
        {
            "type": "response.output_item.added",
            "output_index": oi,
            "item": {**item, "status": "in_progress"},
        },
        {"type": "response.output_item.done", "output_index": oi, "item": item},
    ], item


def test_unknown_item_type_is_a_field_type_warning() -> None:
    events = baseline(message, future_item)
    checker = stream(events).run("openai")
    assert {(f.rule, f.severity, f.event_index) for f in checker.findings} == {
        ("field-type", "warning", at(events, "response.output_item.added", 1)),
        ("field-type", "warning", at(events, "response.output_item.done", 1)),
    }


def test_unknown_item_type_under_codex_is_info() -> None:
    """codex-behaviour 5: unknown item types fall into Codex's `Other` and are tolerated."""
    checker = stream(baseline(message, future_item)).run("codex")
    assert {f.severity for f in checker.findings if f.rule == "field-type"} == {"info"}
    assert checker.prediction().outcome == "ok"


# =============================================================================================
# the rule units: registration and the catalogue
# =============================================================================================


def test_checks_of_one_event_type_run_in_registration_order() -> None:
    """A new rule for an event type a family already judges is one more ``@on`` function."""
    calls: list[str] = []

    def first(st: Any, ev: Any, payload: dict[str, Any]) -> None:
        calls.append("first")

    def second(st: Any, ev: Any, payload: dict[str, Any]) -> None:
        calls.append("second")

    dispatch = event_dispatch({"response.completed": [first, second], "error": [first]})
    assert dispatch["error"] is first  # alone: no chain on the hot path
    dispatch["response.completed"](Checker(), None, {})
    assert calls == ["first", "second"]


def test_every_event_check_is_registered_for_a_known_event_type() -> None:
    assert set(event_dispatch()) - set(EVENT_MODELS) == set()


def test_catalogue_lists_rules_by_group_and_refuses_a_second_definition() -> None:
    groups = [r.group for r in RULES.values()]
    assert groups == sorted(groups, key=GROUPS.index)
    with pytest.raises(ValueError, match="defined twice"):
        define("items", "item-unknown", ("error", "error", "info"), "again", "again")


def test_codex_model_knows_its_release() -> None:
    assert CodexModel().version.name == DEFAULT_CODEX_VERSION == "0.171.0"
    assert CodexModel(version="0.169.0").version.on_event is CodexModel().version.on_event
    with pytest.raises(ValueError, match="unknown Codex version"):
        CodexModel(version="0.0.1")


def test_codex_prints_serde_wording_behind_the_disconnect_prefix() -> None:
    """codex-behaviour §3: a malformed response.completed is fatal, worded by serde and shown
    behind Codex's `stream disconnected before completion: ` prefix."""
    events = baseline(message)
    events[-1]["response"]["usage"] = {"input_tokens": "10", "output_tokens": 1, "total_tokens": 11}
    checker = stream(events).run("codex")
    assert checker.prediction().message == (
        "stream disconnected before completion: failed to parse ResponseCompleted: "
        'invalid type: string "10", expected i64'
    )
    events[-1]["response"]["id"] = 5
    assert (
        stream(events)
        .run("codex")
        .prediction()
        .message.endswith("invalid type: integer `5`, expected a string")
    )


def test_the_checker_keeps_only_the_shape_of_a_big_request() -> None:
    """A request with a 2 MB image is held by the checker as its shape (strings cut), which is
    all the request rules read."""
    image = "data:image/png;base64," + "A" * 2_000_000
    body = {
        "max_output_tokens": 16,
        "input": [
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_image", "image_url": image}],
            }
        ],
    }
    checker = Checker()
    checker.on_request(body)
    kept = checker.request
    assert kept is not None and kept["max_output_tokens"] == 16
    part = kept["input"][0]["content"][0]
    assert part["type"] == "input_image" and len(part["image_url"]) <= 201
