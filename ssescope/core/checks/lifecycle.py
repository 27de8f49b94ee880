"""The response's lifecycle: created first and once, one response id, created → in_progress →
terminal, nothing after the terminal event, and the ``error`` event."""

from __future__ import annotations

from typing import Any

from .. import models as m
from ..catalogue import E, I, W, define
from ..ends import EndReason
from ..events import Event
from . import consistency, deltas, items, open_responses
from .base import CheckState, on, short
from .fields import report_issues

TERMINAL_TYPES = ("response.completed", "response.failed", "response.incomplete")

define(
    "lifecycle",
    "created-not-first",
    (E, E, I),
    "The first event is not `response.created`",
    'openai-python raises "Expected to have received `response.created` before …" and '
    "openai-node \"expected 'response.created' event\": the SDK stream dies at the first event.",
)


def judge_order(st: CheckState, ev: Event, etype: str) -> None:
    """Every event: after the terminal one, after an unanswered error, or first but not created."""
    if st.terminal_index is not None and etype != "keepalive":
        st.emit(
            "event-after-terminal",
            f"{etype} after the terminal event (row {st.terminal_index})",
            ev,
        )
    if st.pending_error is not None and etype not in ("response.failed", "keepalive"):
        st.emit(
            "error-not-followed-by-failed",
            f"{etype} follows the error event at row {st.pending_error.index}",
            ev,
        )
        st.pending_error = None
    if st.first_event_type is None and etype != "keepalive":
        st.first_event_type = etype
        if etype != "response.created":
            st.emit("created-not-first", f"the first event is {etype}", ev)


define(
    "lifecycle",
    "created-incomplete",
    (W, W, I),
    "response.created/in_progress carries a Response without its required fields",
    "The llama.cpp bug (only {id, object, status}). SDK snapshots start from this object, so "
    "code reading `model`, `tools` or `created_at` from the first event gets nothing.",
)


def _thin_response(st: CheckState, ev: Event, response: dict[str, Any]) -> None:
    issues = m.validate_response(response)
    missing = [i.path.removeprefix("response.") for i in issues if i.kind == "missing"]
    wrong = [i for i in issues if i.kind != "missing"]
    if missing:
        st.emit(
            "created-incomplete",
            f"{ev.type}'s response lacks {len(missing)} required field(s): {', '.join(missing)}",
            ev,
        )
    for issue in wrong:
        st.emit("field-type", f"{ev.type}: {issue.describe()}", ev)
    open_responses.response_fields(st, ev, response, issues)


define(
    "lifecycle",
    "created-duplicate",
    (W, W, I),
    "More than one `response.created`",
    "SDKs reset their snapshot on each created event, throwing away what was accumulated.",
)


@on("response.created")
def created(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    if "response.created" in st.lifecycle:
        st.emit("created-duplicate", "a second response.created", ev)
    st.lifecycle.append("response.created")
    response = _response_of(st, ev, payload)
    if response is None:
        return
    _thin_response(st, ev, response)
    if st.tree.created is None:
        st.tree.created = response
    st.tree.snapshot = response


define(
    "lifecycle",
    "response-id-mismatch",
    (W, W, W),
    "Lifecycle events carry different response ids",
    "Clients key the conversation on `response.id` (previous_response_id, logs, Codex's "
    "completed handling); an id that changes mid-stream points at two different responses.",
)


def _response_of(st: CheckState, ev: Event, payload: dict[str, Any]) -> dict[str, Any] | None:
    """The lifecycle event's Response (None if it has none), its id held to the first one's."""
    response = payload.get("response")
    if not isinstance(response, dict):
        return None
    rid = response.get("id")
    if isinstance(rid, str):
        if st.response_id is None:
            st.response_id = rid
        elif rid != st.response_id:
            st.emit(
                "response-id-mismatch",
                f"{ev.type} carries response id {short(rid, 40)!r}, earlier {short(st.response_id, 40)!r}",
                ev,
            )
    return response


define(
    "lifecycle",
    "lifecycle-order",
    (W, W, I),
    "Lifecycle events are out of order",
    "The order is created → (queued) → in_progress → … → terminal; status-driven UIs move "
    "backwards when it is broken.",
)


@on("response.queued", "response.in_progress")
def in_progress(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    etype = ev.type or ""
    if st.lifecycle and st.lifecycle[-1] == "response.in_progress" and etype == "response.queued":
        st.emit("lifecycle-order", "response.queued after response.in_progress", ev)
    elif not st.lifecycle and st.first_event_type != etype:
        st.emit("lifecycle-order", f"{etype} before response.created", ev)
    st.lifecycle.append(etype)
    response = _response_of(st, ev, payload)
    if response is None:
        return
    _thin_response(st, ev, response)
    st.tree.snapshot = response


define(
    "lifecycle",
    "terminal-missing",
    (E, E, E),
    "The stream ends without a terminal event",
    "openai-python's get_final_response() raises \"Didn't receive a `response.completed` "
    'event"; Codex fails the turn with "stream closed before response.completed" even if '
    "the whole answer was shown, and retries it up to 5 times.",
)

_HOW_IT_ENDED: dict[str, str] = {
    EndReason.EOF: "the stream ended",
    EndReason.TRANSPORT_ERROR: "the connection broke",
    EndReason.MAX_WAIT: "the stream went silent (read stopped at --max-wait)",
    EndReason.INTERRUPTED: "the read was interrupted",
}


def stream_without_terminal(st: CheckState) -> None:
    """At the end: no terminal event (after an error event, only Codex still cares), and the
    items it would have closed."""
    if st.terminal_index is not None:
        return
    if not st.error_seen or st.profile == "codex":
        how = _HOW_IT_ENDED.get(st.end_reason or "", "the stream ended")
        st.emit(
            "terminal-missing",
            f"{how} without response.completed/failed/incomplete",
            t=st.timing.t_end,
        )
    items.unclosed_at_end(st)


define(
    "lifecycle",
    "event-after-terminal",
    (E, E, I),
    "Events follow the terminal event",
    "Clients stop reading at the terminal event (Codex stops at response.completed): anything "
    "after it is silently lost.",
)
define(
    "lifecycle",
    "terminal-status-mismatch",
    (W, W, W),
    "The terminal event and its response status disagree",
    "completed must say `completed`, failed `failed` with an error, incomplete `incomplete` "
    "with a reason. vLLM's `incomplete` inside response.completed makes clients treat a cut-off "
    "answer as whole.",
)


@on(*TERMINAL_TYPES)
def terminal(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    etype = ev.type or ""
    first = st.terminal_index is None
    if first:
        st.terminal_index = ev.index
    st.pending_error = None
    st.lifecycle.append(etype)
    response = _response_of(st, ev, payload)
    st.tree.terminal_type = etype
    if response is None:
        return
    st.tree.terminal = response
    # usage is judged by the usage rules
    issues = [i for i in m.validate_response(response) if not i.path.startswith("response.usage")]
    report_issues(st, ev, etype, issues)
    open_responses.response_fields(st, ev, response, issues)
    _terminal_status(st, ev, etype, response)
    consistency.judge_usage(st, ev, etype, response)
    if not first:
        # Clients stopped reading at the first terminal event (event-after-terminal says so):
        # the items were judged against it, and judging them at every later one would repeat
        # those findings, in time quadratic in a stream that repeats a whole response.
        return
    if etype == "response.completed":
        items.incomplete_items_at_completed(st, ev)
    consistency.judge_final_output(st, ev, response)
    items.unclosed_at_terminal(st, ev, etype)


def _terminal_status(st: CheckState, ev: Event, etype: str, response: dict[str, Any]) -> None:
    status = response.get("status")
    if status is not None and status != etype.removeprefix("response."):
        st.emit("terminal-status-mismatch", f"{etype} carries status {status!r}", ev)
    if etype == "response.failed" and not isinstance(response.get("error"), dict):
        st.emit("terminal-status-mismatch", "response.failed without an `error` object", ev)
    if etype == "response.incomplete":
        details = response.get("incomplete_details")
        reason = details.get("reason") if isinstance(details, dict) else None
        if reason not in ("max_output_tokens", "content_filter"):
            st.emit(
                "terminal-status-mismatch",
                f"response.incomplete with incomplete_details.reason {reason!r}",
                ev,
            )
    if response.get("completed_at") is not None and etype != "response.completed":
        st.emit("terminal-status-mismatch", f"{etype} sets completed_at", ev)


define(
    "lifecycle",
    "error-event",
    (W, W, E),
    "The server sent an `error` event",
    "The response failed mid-stream. SDKs raise APIError; Codex 0.169.0 ignores the event "
    "entirely, so its message is never shown and the user sees only a disconnect or a timeout.",
)


@on("error")
def error(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    st.error_seen = True
    st.pending_error = ev
    if st.first_error is None:
        st.first_error = (ev.index, payload)
    nested = payload.get("error")
    src = nested if isinstance(nested, dict) else payload
    code, message = src.get("code"), src.get("message")
    form = "nested" if isinstance(nested, dict) else "flat"
    st.emit("error-event", f"error ({form} form): {code or 'no code'}: {short(message, 120)}", ev)


define(
    "lifecycle",
    "error-not-followed-by-failed",
    (W, E, W),
    "An `error` event is followed by something other than response.failed",
    "Open Responses requires response.failed after a streaming error; clients waiting for a "
    "terminal event otherwise read on or report a truncated stream.",
)


def error_left_unanswered(st: CheckState) -> None:
    """At the end (the event-time half is in :func:`judge_order`)."""
    if st.pending_error is not None and st.profile == "open-responses":
        st.emit(
            "error-not-followed-by-failed",
            "the stream ended after the error event without response.failed",
            st.pending_error,
        )


define(
    "lifecycle",
    "unknown-event-type",
    (E, E, I),
    "An event type that is not in the Responses API",
    'openai-node throws "Unhandled response stream event", Java with validation rejects it '
    "and the Open Responses compliance suite fails; Codex and openai-python drop it, so "
    "whatever it carried is lost.",
)


def unknown_event(st: CheckState, ev: Event, etype: str) -> None:
    payload = ev.payload
    if st.profile == "open-responses" and etype in m.OPEN_RESPONSES_EVENT_MODELS and payload:
        # the spec's name of raw reasoning: read as OpenAI's twin, into the reasoning item
        open_responses.spec_named_event(st, ev, etype, payload)
        read = deltas.text_delta if etype.endswith(".delta") else deltas.text_done
        read(st, ev, payload)
        return
    hint = m.foreign_name_hint(etype)
    if hint is not None:
        st.emit("unknown-event-type", f"{etype!r} is not a Responses event: {hint}", ev)
    elif ":" in etype and not etype.startswith("response."):
        st.emit(
            "unknown-event-type",
            f"{etype!r} is a vendor-prefixed extension event",
            ev,
            severity="info" if st.profile == "open-responses" else None,
        )
    else:
        st.emit("unknown-event-type", f"{etype!r} is not a Responses API event type", ev)
    node = st.tree.find(payload.get("output_index"), payload.get("item_id")) if payload else None
    if node is not None:
        st.tree.touch(node, ev.index)
