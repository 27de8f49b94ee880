"""Hand-made streams for each blind-spot class of issue 10 (and the strict-client rules the other
way round), built from one small Responses stream builder so that each case changes one thing.

The builder writes OpenAI's wire format (an ``event:`` line equal to ``type``, sequence numbers
from 0, full Response objects in the lifecycle events), as ``sample_streams/`` does; a case then
drops, adds or bends events. Every case has a stable id (``crafted/<name>``) and one line saying
what it changes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from tests.clients.corpus import Case, case

Event = dict[str, Any]
RESPONSE_ID = "resp_crafted0001"
MSG_ID = "msg_crafted0001"
FC_ID = "fc_crafted0001"
RS_ID = "rs_crafted0001"
CALL_ID = "call_crafted0001"
WORDS = ["The", " capital", " of", " France", " is", " Paris", "."]
ARGS = ['{"', "city", '":"', "Paris", '"}']


def response(status: str = "in_progress", output: list[Any] | None = None, **extra: Any) -> dict:
    """A full Response object, as OpenAI sends it in lifecycle events."""
    out: dict[str, Any] = {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1749561842,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "gpt-4.1-mini-2025-04-14",
        "output": output or [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "auto",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }
    out.update(extra)
    return out


USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 7,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 19,
}


def message(
    pieces: list[str], index: int = 0, *, part: str = "output_text", item_id: str = MSG_ID
) -> tuple[list[Event], dict[str, Any]]:
    """The events of one assistant message with one content part, and its done item."""
    key = "refusal" if part == "refusal" else "text"
    added_part: dict[str, Any] = {"type": part, key: ""}
    if part == "output_text":
        added_part |= {"annotations": [], "logprobs": []}
    text = "".join(pieces)
    done_part = {**added_part, key: text}
    where = {"item_id": item_id, "output_index": index, "content_index": 0}
    delta_type = "response.refusal.delta" if part == "refusal" else "response.output_text.delta"
    done_type = "response.refusal.done" if part == "refusal" else "response.output_text.done"
    item = {
        "id": item_id,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    done_item = {**item, "status": "completed", "content": [done_part]}
    events: list[Event] = [
        {"type": "response.output_item.added", "output_index": index, "item": item},
        {"type": "response.content_part.added", **where, "part": added_part},
        *({"type": delta_type, **where, "delta": p} for p in pieces),
        {"type": done_type, **where, key: text},
        {"type": "response.content_part.done", **where, "part": done_part},
        {"type": "response.output_item.done", "output_index": index, "item": done_item},
    ]
    if part == "output_text":
        for e in events:
            if e["type"] in (delta_type, done_type):
                e["logprobs"] = []
    return events, done_item


def function_call(
    pieces: list[str], index: int = 0, *, name: str = "get_weather", call_id: str = CALL_ID
) -> tuple[list[Event], dict[str, Any]]:
    arguments = "".join(pieces)
    item = {
        "id": FC_ID,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
        "name": name,
    }
    done_item = {**item, "status": "completed", "arguments": arguments}
    where = {"item_id": FC_ID, "output_index": index}
    events: list[Event] = [
        {"type": "response.output_item.added", "output_index": index, "item": item},
        *({"type": "response.function_call_arguments.delta", **where, "delta": p} for p in pieces),
        {"type": "response.function_call_arguments.done", **where, "arguments": arguments},
        {"type": "response.output_item.done", "output_index": index, "item": done_item},
    ]
    return events, done_item


def reasoning(pieces: list[str], index: int = 0, *, raw: bool) -> tuple[list[Event], dict]:
    """A reasoning item: raw ``reasoning_text`` content, or a ``summary_text`` summary."""
    text = "".join(pieces)
    item = {"id": RS_ID, "type": "reasoning", "summary": [], "encrypted_content": None}
    base = {"item_id": RS_ID, "output_index": index}
    if raw:
        part = {"type": "reasoning_text", "text": ""}
        where = {**base, "content_index": 0}
        body: list[Event] = [
            {"type": "response.content_part.added", **where, "part": part},
            *({"type": "response.reasoning_text.delta", **where, "delta": p} for p in pieces),
            {"type": "response.reasoning_text.done", **where, "text": text},
            {"type": "response.content_part.done", **where, "part": {**part, "text": text}},
        ]
        done_item = {**item, "content": [{"type": "reasoning_text", "text": text}]}
    else:
        part = {"type": "summary_text", "text": ""}
        where = {**base, "summary_index": 0}
        body = [
            {"type": "response.reasoning_summary_part.added", **where, "part": part},
            *(
                {"type": "response.reasoning_summary_text.delta", **where, "delta": p}
                for p in pieces
            ),
            {"type": "response.reasoning_summary_text.done", **where, "text": text},
            {
                "type": "response.reasoning_summary_part.done",
                **where,
                "part": {**part, "text": text},
            },
        ]
        done_item = {**item, "summary": [{"type": "summary_text", "text": text}]}
    events = [
        {"type": "response.output_item.added", "output_index": index, "item": item},
        *body,
        {"type": "response.output_item.done", "output_index": index, "item": done_item},
    ]
    return events, done_item


def stream(
    *parts: tuple[list[Event], dict[str, Any]],
    terminal: str | None = "response.completed",
    **terminal_fields: Any,
) -> list[Event]:
    """created, in_progress, the parts' events, and the terminal event (None: no terminal)."""
    events: list[Event] = [
        {"type": "response.created", "response": response()},
        {"type": "response.in_progress", "response": response()},
    ]
    for part_events, _ in parts:
        events += part_events
    if terminal is not None:
        status = terminal.removeprefix("response.")
        output = [copy.deepcopy(done) for _, done in parts]  # edited apart from the .done items
        fields = {"usage": USAGE, **terminal_fields}
        events.append({"type": terminal, "response": response(status, output, **fields)})
    return events


def encode(events: list[Event], *, sequence: bool = True, done: bool = False) -> bytes:
    """SSE frames (``event:`` + ``data:``), numbered in order unless an event has its own."""
    out = []
    for n, event in enumerate(events):
        if sequence and "sequence_number" not in event:
            event = {"type": event["type"], "sequence_number": n, **event}
        out.append(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
    if done:
        out.append(b"data: [DONE]\n\n")
    return b"".join(out)


def _drop(events: list[Event], drop: Callable[[Event], bool]) -> list[Event]:
    return [e for e in events if not drop(e)]


def _text() -> list[Event]:
    return stream(message(WORDS))


def _call() -> list[Event]:
    return stream(function_call(ARGS))


# -- the cases -------------------------------------------------------------------------------------


def _refusal() -> bytes:
    return encode(stream(message(["I can", "not help", " with that."], part="refusal")))


def _reasoning_raw() -> bytes:
    return encode(stream(reasoning(["Think", "ing..."], raw=True), message(WORDS, 1)))


def _reasoning_summary() -> bytes:
    return encode(stream(reasoning(["Sum", "mary."], raw=False), message(WORDS, 1)))


def _incomplete() -> bytes:
    events, done = message(WORDS[:4])
    done = {**done, "status": "incomplete"}
    events[-1] = {**events[-1], "item": done}
    return encode(
        stream(
            (events, done),
            terminal="response.incomplete",
            incomplete_details={"reason": "max_output_tokens"},
        )
    )


def _minimal_lifecycle() -> bytes:
    """Every lifecycle event carries only {id, object, status} (+ output at the end)."""
    events = _text()
    for e in events:
        if "response" in e:
            r = e["response"]
            e["response"] = {"id": r["id"], "object": "response", "status": r["status"]}
            if e["type"] == "response.completed":
                e["response"]["output"] = r["output"]
    return encode(events)


def _minimal_created() -> bytes:
    events = _text()
    for e in events[:2]:
        e["response"] = {"id": RESPONSE_ID, "object": "response", "status": "in_progress"}
    return encode(events)


def _no_item_done(kind: str) -> Callable[[], bytes]:
    def build() -> bytes:
        events = _call() if kind == "call" else _text()
        return encode(_drop(events, lambda e: e["type"] == "response.output_item.done"))

    return build


def _no_item_done_empty_completed() -> bytes:
    events = _drop(_call(), lambda e: e["type"] == "response.output_item.done")
    events[-1]["response"]["output"] = []
    return encode(events)


def _cut_fake_completed(kind: str) -> Callable[[], bytes]:
    """The upstream was cut halfway; a proxy then reports what it had as completed."""

    def build() -> bytes:
        if kind == "call":
            events, done = function_call(ARGS[:3])
        else:
            events, done = message(WORDS[:3])
        cut = [e for e in events if not e["type"].endswith(".done")]
        partial = copy.deepcopy(done)
        return encode(stream((cut, partial)))

    return build


def _completed_disagrees(kind: str) -> Callable[[], bytes]:
    """response.completed.output says something other than the deltas and the done item."""

    def build() -> bytes:
        events = _call() if kind == "call" else _text()
        final = events[-1]["response"]["output"][0]
        if kind == "call":
            final["arguments"] = '{"city":"Berlin"}'
        else:
            final["content"][0]["text"] = "The capital of Germany is Berlin."
        return encode(events)

    return build


def _sequence(kind: str) -> Callable[[], bytes]:
    def build() -> bytes:
        events = _text()
        if kind == "missing":
            return encode(events, sequence=False)
        for n, e in enumerate(events):
            e["sequence_number"] = 0 if kind == "zero" else (n if n < 5 else n - 3)
        return encode(events)

    return build


def _index_not_appended(kind: str) -> Callable[[], bytes]:
    def build() -> bytes:
        if kind == "gap":  # the only item says output_index 1
            return encode(stream(message(WORDS, 1)))
        # a reasoning item at output_index 1 before a message at 0
        return encode(stream(reasoning(["Hm."], 1, raw=False), message(WORDS, 0)))

    return build


def _call_id_changed() -> bytes:
    events = _call()
    done = next(e for e in events if e["type"] == "response.output_item.done")
    done["item"] = {**done["item"], "call_id": "call_other0002"}
    events[-1]["response"]["output"][0]["call_id"] = "call_other0002"
    return encode(events)


def _delta_object() -> bytes:
    events = _text()
    delta = next(e for e in events if e["type"] == "response.output_text.delta")
    delta["delta"] = {"text": delta["delta"]}
    return encode(events)


def _unknown_events() -> bytes:
    events = _text()
    events.insert(4, {"type": "response.vendor.thing", "output_index": 0, "delta": "x"})
    events.insert(6, {"type": "response.output_text.annotation.future", "item_id": MSG_ID})
    return encode(events)


def _error_mid_stream() -> bytes:
    events = _text()
    error = {
        "type": "error",
        "error": {
            "type": "server_error",
            "code": "server_error",
            "message": "The server had an error.",
            "param": None,
        },
    }
    events.insert(6, error)
    return encode(events)


def _error_then_failed() -> bytes:
    events, done = message(WORDS[:3])
    cut = [e for e in events if not e["type"].endswith(".done")]
    error = {
        "type": "error",
        "code": "server_error",
        "message": "The model crashed.",
        "param": None,
    }
    failed = stream(
        (cut, done),
        terminal="response.failed",
        error={"code": "server_error", "message": "The model crashed."},
    )
    failed.insert(len(failed) - 1, error)
    return encode(failed)


def _failed() -> bytes:
    events, done = message(WORDS[:3])
    cut = [e for e in events if not e["type"].endswith(".done")]
    return encode(
        stream(
            (cut, {**done, "status": "incomplete"}),
            terminal="response.failed",
            error={"code": "server_error", "message": "The model crashed."},
        )
    )


def _eof_mid_answer() -> bytes:
    return encode(_text()[:9])


def _done_plain() -> bytes:
    return encode(_text())


def _done_sentinel() -> bytes:
    return encode(_text(), done=True)


def _two_messages() -> bytes:
    return encode(stream(message(WORDS[:3], 0), message(WORDS[3:], 1, item_id="msg_crafted0002")))


def _text_and_call() -> bytes:
    return encode(stream(message(["Let me check."], 0), function_call(ARGS, 1)))


def _invalid_arguments() -> bytes:
    return encode(stream(function_call(["{'city': ", "'Paris'}"])))


BUILDERS: dict[str, tuple[str, Callable[[], bytes], bool]] = {
    # name: (description, build, held)
    "refusal-part": ("a refusal content part (response.refusal.delta/.done)", _refusal, False),
    "reasoning-raw": (
        "raw response.reasoning_text.delta reasoning, then text",
        _reasoning_raw,
        False,
    ),
    "reasoning-summary": ("reasoning as summary_text parts, then text", _reasoning_summary, False),
    "incomplete": ("a correct response.incomplete (max_output_tokens)", _incomplete, False),
    "minimal-created": (
        "response.created/in_progress carry only {id, object, status}",
        _minimal_created,
        False,
    ),
    "minimal-lifecycle": (
        "every lifecycle Response carries only {id, object, status}",
        _minimal_lifecycle,
        False,
    ),
    "call-no-item-done": (
        "a function call with no output_item.done (completed has it)",
        _no_item_done("call"),
        False,
    ),
    "call-no-item-done-empty-completed": (
        "a function call with no output_item.done, completed.output []",
        _no_item_done_empty_completed,
        False,
    ),
    "text-no-item-done": (
        "a message with no output_item.done (completed has it)",
        _no_item_done("text"),
        False,
    ),
    "cut-fake-completed-text": (
        "a cut answer (no .done events) reported as response.completed",
        _cut_fake_completed("text"),
        False,
    ),
    "cut-fake-completed-call": (
        "cut arguments (no .done events) reported as response.completed",
        _cut_fake_completed("call"),
        False,
    ),
    "completed-disagrees-text": (
        "response.completed.output text differs from deltas and done item",
        _completed_disagrees("text"),
        False,
    ),
    "completed-disagrees-call": (
        "response.completed.output arguments differ from deltas and done item",
        _completed_disagrees("call"),
        False,
    ),
    "sequence-missing": ("no event has a sequence_number", _sequence("missing"), False),
    "sequence-not-increasing": (
        "sequence numbers go back by three midway",
        _sequence("back"),
        False,
    ),
    "sequence-all-zero": ("every sequence_number is 0", _sequence("zero"), False),
    "output-index-gap": (
        "the only item has output_index 1 (not appended)",
        _index_not_appended("gap"),
        False,
    ),
    "output-index-swapped": (
        "a reasoning item at output_index 1 before a message at 0",
        _index_not_appended("swap"),
        False,
    ),
    "call-id-changed": (
        "call_id differs between output_item.added and .done",
        _call_id_changed,
        False,
    ),
    "delta-object": ("one output_text.delta carries delta as an object", _delta_object, False),
    "unknown-events": ("two unknown event types between text deltas", _unknown_events, False),
    "error-mid-stream": (
        "an error event between text deltas, then the stream goes on to completed",
        _error_mid_stream,
        False,
    ),
    "error-then-failed": (
        "a cut answer, an error event, then response.failed",
        _error_then_failed,
        False,
    ),
    "failed": ("a cut answer ended by response.failed (server_error)", _failed, False),
    "eof-mid-answer": (
        "EOF after five deltas: no .done, no terminal event",
        _eof_mid_answer,
        False,
    ),
    "stall-mid-answer": ("five deltas, then silence on a held connection", _eof_mid_answer, True),
    "completed-then-held": (
        "a clean text stream, then the connection held open after response.completed",
        _done_plain,
        True,
    ),
    "done-then-held": (
        "a clean text stream and data: [DONE], then the connection held open",
        _done_sentinel,
        True,
    ),
    "done-sentinel": ("a clean text stream ending with data: [DONE]", _done_sentinel, False),
    "two-messages": ("two message items", _two_messages, False),
    "text-and-call": ("a message then a function call", _text_and_call, False),
    "invalid-arguments": (
        "function arguments that are not JSON (a Python dict literal)",
        _invalid_arguments,
        False,
    ),
}


def crafted_cases() -> list[Case]:
    return [
        case(f"crafted/{name}", description, build(), hold=held)
        for name, (description, build, held) in BUILDERS.items()
    ]
