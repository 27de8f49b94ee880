"""HTTP and SSE framing: the response head, the frames' wire form, ``[DONE]`` and payloads that
are not events."""

from __future__ import annotations

from ..catalogue import OFF, E, I, W, define
from ..events import Event
from ..sse import Frame
from .base import CheckState, short

define(
    "http",
    "http-status",
    (E, E, E),
    "The HTTP status is not 2xx",
    "No stream follows. Codex shows 400 bodies verbatim, turns a 500 into the misleading "
    '"We\'re currently experiencing high demand", never retries a 429 from a custom provider, '
    "and reports other codes as `unexpected status`.",
)


def http_status(st: CheckState, status: int, headers: dict[str, str], body: str, t: float) -> None:
    if not 200 <= status < 300:
        shown = body.strip()
        shown = shown if len(shown) <= 500 else shown[:500] + "…"
        st.emit(
            "http-status",
            f"HTTP {status}" + (f": {shown}" if shown else " with an empty body"),
            t=t,
        )


define(
    "http",
    "content-type",
    (E, E, W),
    "The response is not text/event-stream",
    "Open Responses requires text/event-stream; SDKs and proxies buffer or reject other types, "
    'and a JSON body on 200 makes Codex fail with "stream closed before response.completed".',
)


def content_type(st: CheckState, status: int, headers: dict[str, str], body: str, t: float) -> None:
    if not 200 <= status < 300:
        return  # no stream to judge: http-status said it
    ctype = headers.get("content-type", "")
    if ctype.split(";")[0].strip().lower() != "text/event-stream":
        st.emit(
            "content-type",
            f"Content-Type is {ctype!r}, not text/event-stream"
            if ctype
            else "no Content-Type header",
            t=t,
        )


define(
    "sse",
    "data-not-json",
    (E, E, W),
    "A data payload is not a JSON object",
    'openai-node throws "malformed server-sent event JSON" and openai-python\'s sse.json() '
    "raises; Codex skips the event silently, so whatever it carried is lost.",
)
define(
    "sse",
    "type-missing",
    (E, E, W),
    "A payload has no string `type`",
    "Every client dispatches on `type`; without it the event is dropped (Codex) or the stream "
    "fails to decode (SDKs). cursor2api broke Codex exactly this way.",
)


def judge_invalid(st: CheckState, ev: Event, frame: Frame) -> None:
    """A dispatched data payload that is not an event: no JSON object, or no string ``type``."""
    after_done(st, ev)
    st.events_seen += 1
    if ev.payload is not None:
        if st.first_error is None and ev.payload.get("error"):
            st.first_error = (ev.index, ev.payload)  # `{"error": …}`: the SDKs raise on it
        st.emit("type-missing", f"payload has {ev.error}", ev)
    else:
        if st.first_invalid_data is None:
            st.first_invalid_data = (frame.data or "")[:4096]
        st.emit("data-not-json", f"data is {ev.error}: {short(frame.data or '', 80)!r}", ev)


define(
    "sse",
    "event-name-mismatch",
    (W, E, OFF),
    "The SSE `event:` line differs from `type`",
    "Open Responses requires `event:` to equal `type`; EventSource-style clients route on "
    "`event:` and would mis-dispatch it. OpenAI SDKs and Codex ignore the line.",
)


def judge_envelope(st: CheckState, ev: Event, etype: str) -> None:
    """Every event: does it come after ``[DONE]``, does its ``event:`` line name it?"""
    if st.done_index is not None:
        after_done(st, ev)
    frame_event = ev.frame.event
    if frame_event is not None and frame_event != etype and st.options.framed:
        st.emit(
            "event-name-mismatch",
            f"`event: {short(frame_event, 40)}` but type is {etype!r}",
            ev,
        )


define(
    "sse",
    "event-line-missing",
    (I, I, OFF),
    "Frames have no `event:` line",
    "Legal, and common from proxies (LiteLLM); clients that route on `event:` (browsers' "
    "EventSource) see every event as `message`.",
)


def event_lines_missing(st: CheckState) -> None:
    if st.options.framed and st.no_event_line:
        st.emit(
            "event-line-missing",
            f"{st.no_event_line} data frame(s) without an `event:` line",
            t=st.timing.t_end,
        )


define(
    "sse",
    "done-sentinel",
    (OFF, E, OFF),
    "The stream does not end with `data: [DONE]`",
    "Open Responses requires a terminal `data: [DONE]`. OpenAI's Responses stream does not "
    "send it and SDKs tolerate either.",
)


def done_sentinel_missing(st: CheckState) -> None:
    if (
        st.profile == "open-responses"
        and st.options.framed
        and st.events_seen
        and st.done_index is None
    ):
        st.emit("done-sentinel", "the stream ended without `data: [DONE]`", t=st.timing.t_end)


define(
    "sse",
    "data-after-done",
    (E, E, W),
    "Something follows `data: [DONE]`",
    "`[DONE]` promises the end of the stream: SDKs stop reading there, so anything after it "
    "is never seen by clients.",
)


def judge_done(st: CheckState, ev: Event) -> None:
    if st.done_index is None:
        st.done_index = ev.index
    else:
        st.emit("data-after-done", "a second `data: [DONE]`", ev)


def after_done(st: CheckState, ev: Event) -> None:
    if st.done_index is not None:
        st.emit("data-after-done", f"this frame arrived after `[DONE]` (row {st.done_index})", ev)


define(
    "sse",
    "sse-id-field",
    (I, W, OFF),
    "Frames carry `id:` lines",
    "OpenAI does not send them and Open Responses says SHOULD NOT; browsers would resend them "
    "as Last-Event-ID on reconnect, which the Responses API does not support.",
)
define(
    "sse",
    "sse-unknown-field",
    (W, W, W),
    "A line is not a known SSE field",
    "Unknown fields are ignored by every SSE parser; a typo such as `Data:` or `date:` silently "
    "loses the payload it was meant to carry.",
)
define(
    "sse",
    "sse-unterminated-frame",
    (W, W, W),
    "The final frame has no terminating blank line",
    "Spec-following SSE parsers (Codex's eventsource-stream, browsers) discard a frame that EOF "
    "cuts before its blank line: if it held the terminal event, clients never see it.",
)
define(
    "sse",
    "invalid-utf8",
    (W, W, W),
    "The stream contains invalid UTF-8",
    "SSE is UTF-8; decoders replace bad bytes with U+FFFD, so text and JSON arrive corrupted "
    "(or fail to parse).",
)
define(
    "sse",
    "sse-bom",
    (I, I, OFF),
    "The stream starts with a byte-order mark",
    "Legal (parsers strip one BOM) but some hand-written clients then fail to recognise the "
    "first field name.",
)


def judge_frame(st: CheckState, ev: Event, frame: Frame) -> None:
    """Every frame, before its event is judged: the line count for event-line-missing, and the
    wire oddities (rare, so tested for in one go)."""
    if (
        frame.event is None
        and frame.data is not None
        and frame.data != "[DONE]"
        and st.options.framed
    ):
        st.no_event_line += 1  # [DONE] is data-only everywhere, even under Open Responses
    if (
        frame.invalid_utf8
        or frame.bom
        or frame.unknown_fields
        or frame.id is not None
        or not frame.terminated
    ):
        _odd_framing(st, ev, frame)


def _odd_framing(st: CheckState, ev: Event, frame: Frame) -> None:
    if frame.invalid_utf8:
        st.emit("invalid-utf8", "bytes that are not UTF-8 (decoded as U+FFFD)", ev)
    if frame.bom:
        st.emit("sse-bom", "the stream starts with a UTF-8 byte-order mark", ev)
    for line in frame.unknown_fields:
        name = line.partition(":")[0]
        hint = (
            " (field names are case-sensitive)"
            if name.lower() in ("data", "event", "id", "retry")
            else ""
        )
        st.emit("sse-unknown-field", f"unknown field {name!r}{hint}: {short(line, 60)!r}", ev)
    if frame.id is not None:
        st.emit("sse-id-field", f"`id: {short(frame.id, 40)}`", ev)
    if not frame.terminated and frame.has_content and frame.data is not None:
        st.emit(
            "sse-unterminated-frame",
            "the stream ended inside this frame (no blank line after it): SSE clients discard it",
            ev,
        )
