"""A model of how Codex CLI consumes a Responses stream (``codex-behaviour.md``), by release.

Codex reads only complete SSE events (comments never reach it and never reset its idle timer),
deserialises each payload into a loose ``ResponsesStreamEvent`` and skips the whole payload when a
known field has the wrong type, takes the answer and every tool call from ``output_item.done``
only, stops at ``response.completed``, ignores ``error`` events, and reports a failed response only
at EOF. From that it predicts an outcome: ``ok`` (an answer shown or a tool run), ``empty`` (exit 0,
nothing shown) or ``error`` (the turn fails), with the message Codex would print.

What one release does is data: a :class:`CodexVersion` holds its table of event handlers and of
item decoders (``CODEX_VERSIONS``; the latest, 0.171.0, is the default), so a new release is a new row that
changes only the handlers that differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .ends import EndReason
from .events import Event

Outcome = Literal["ok", "empty", "error", "pending"]

DEFAULT_IDLE_TIMEOUT = 300.0
DEFAULT_STREAM_MAX_RETRIES = 5
DEFAULT_CODEX_VERSION = "0.171.0"
"""The latest release; 0.169.0 behaved the same on every stream tried (codex-behaviour.md)."""

MSG_CLOSED = "stream disconnected before completion: stream closed before response.completed"
MSG_IDLE = "stream disconnected before completion: idle timeout waiting for SSE"
MSG_TRANSPORT = (
    "stream disconnected before completion: Transport error: network error: "
    "error decoding response body"
)
MSG_500 = "We’re currently experiencing high demand, which may cause temporary errors."

_FAILED_CODES = {
    "context_length_exceeded": (
        "Codex ran out of room in the model's context window. Start a new thread or clear "
        "earlier history before retrying.",
        False,
    ),
    "insufficient_quota": ("quota exceeded (insufficient_quota): {message}", False),
    "usage_not_included": ("usage not included in the plan (usage_not_included): {message}", False),
    "cyber_policy": ("request blocked by policy (cyber_policy): {message}", False),
    "invalid_prompt": ("invalid request (invalid_prompt): {message}", False),
    "server_is_overloaded": ("server overloaded (server_is_overloaded): {message}", True),
    "slow_down": ("server overloaded (slow_down): {message}", True),
    "rate_limit_exceeded": ("rate limited: {message}", True),
}
_STATUS_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# Fields of Codex's ResponsesStreamEvent and the JSON type each must have when present.
_STRING_FIELDS = ("item_id", "call_id", "delta", "text")
_INT_FIELDS = ("summary_index", "content_index")


def _undeclared() -> dict[str, tuple[tuple[str, type], ...]]:
    from .models import EVENT_MODELS, event_field_types

    return {
        etype: tuple(
            (name, str if name in _STRING_FIELDS else int)
            for name in (*_STRING_FIELDS, *_INT_FIELDS)
            if name not in fields or fields[name] is not (str if name in _STRING_FIELDS else int)
        )
        for etype in EVENT_MODELS
        for fields in (event_field_types(etype),)
    }


_UNDECLARED = _undeclared()


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def decode_error(payload: dict[str, Any], fields_valid: bool = False) -> str | None:
    """Why Codex's serde decode of the event envelope fails, or None if it decodes.

    ``fields_valid``: the payload passed its model, so only fields the model does not declare
    need checking (the model already holds its own fields to the same JSON types)."""
    if fields_valid:
        names = _UNDECLARED.get(payload.get("type"))  # type: ignore[arg-type]
        if names is not None:
            for name, want in names:
                v = payload.get(name)
                if v is not None and (type(v) is not want):
                    return f"`{name}` is not {'a string' if want is str else 'an integer'}"
            return None
    for name in _STRING_FIELDS:
        v = payload.get(name)
        if v is not None and not isinstance(v, str):
            return f"`{name}` is not a string"
    for name in _INT_FIELDS:
        v = payload.get(name)
        if v is not None and not _is_int(v):
            return f"`{name}` is not an integer"
    return None


def _message_error(item: dict[str, Any]) -> str | None:
    if not isinstance(item.get("role"), str):
        return "message without a string `role`"
    content = item.get("content")
    if not isinstance(content, list):
        return "message without a `content` array"
    for i, part in enumerate(content):
        if not isinstance(part, dict):
            return f"content[{i}] is not an object"
        ptype = part.get("type")
        if ptype not in ("input_text", "input_image", "output_text"):
            return f"content[{i}] is typed {ptype!r}, not output_text"
        if ptype != "input_image" and not isinstance(part.get("text"), str):
            return f"content[{i}] has no string `text`"
    return None


def _function_call_error(item: dict[str, Any]) -> str | None:
    for name in ("name", "arguments", "call_id"):
        value = item.get(name)
        if not isinstance(value, str):
            what = "missing" if value is None else f"a JSON {type(value).__name__}"
            return f"function_call `{name}` is {what}, not a string"
    return None


def _custom_tool_call_error(item: dict[str, Any]) -> str | None:
    for name in ("call_id", "name", "input"):
        if not isinstance(item.get(name), str):
            return f"custom_tool_call `{name}` is not a string"
    return None


def _reasoning_error(item: dict[str, Any]) -> str | None:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return "reasoning without a `summary` array"
    for i, part in enumerate(summary):
        if not isinstance(part, dict) or not isinstance(part.get("text"), str):
            return f"summary[{i}] has no string `text`"
    return None


ItemDecoder = Callable[[dict[str, Any]], "str | None"]
"""Why an item of one type does not decode as Codex's ``ResponseItem`` (None: it decodes)."""

_ITEM_DECODERS_0169: dict[str, ItemDecoder] = {
    "message": _message_error,
    "function_call": _function_call_error,
    "custom_tool_call": _custom_tool_call_error,
    "reasoning": _reasoning_error,
}
"""Other item types decode (web_search_call, …) or fall into Codex's ``Other``."""


def item_decode_error(
    item: Any, decoders: Mapping[str, ItemDecoder] = _ITEM_DECODERS_0169
) -> str | None:
    """Why ``item`` does not decode as Codex's ``ResponseItem`` (None: it decodes)."""
    if not isinstance(item, dict):
        return "the item is not an object"
    itype = item.get("type")
    if not isinstance(itype, str):
        return "the item has no `type`"
    decoder = decoders.get(itype)
    return decoder(item) if decoder is not None else None


@dataclass
class CodexPrediction:
    outcome: Outcome
    message: str
    """What Codex prints: the answer's first line for ok, the error text for error."""
    detail: list[str] = field(default_factory=list)
    retried: bool = False
    """Codex would retry the whole turn (stream_max_retries) before giving up."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "message": self.message,
            "detail": list(self.detail),
            "retried": self.retried,
        }


class CodexModel:
    """Fed the same events as the checker; yields Codex-specific findings and a prediction."""

    def __init__(
        self, idle_timeout: float = DEFAULT_IDLE_TIMEOUT, version: str = DEFAULT_CODEX_VERSION
    ) -> None:
        if version not in CODEX_VERSIONS:
            raise ValueError(
                f"unknown Codex version {version!r} (known: {', '.join(CODEX_VERSIONS)})"
            )
        self.version = CODEX_VERSIONS[version]
        self._on_event = self.version.on_event
        self.idle_timeout = idle_timeout
        self.http_error: tuple[str, bool] | None = None
        self.stopped = False  # read response.completed: nothing after it matters
        self.fatal: tuple[str, bool] | None = None  # (message, retried)
        self.failed: tuple[str, bool] | None = None  # reported at EOF
        self.completed = False
        self.last_event_t = 0.0
        self.active_item = False
        self.answer: list[str] = []
        self.tool_calls: list[str] = []
        self.items_dropped = 0
        self.events_dropped = 0
        self.delta_chars = 0
        self.pending_error: str | None = None
        self.idle_reported = False
        self.ended = False
        self.end_reason: str | None = None

    # -- input -------------------------------------------------------------------------------

    def on_http(self, status: int, body: str, url: str, t: float) -> list[tuple[str, str]]:
        self.last_event_t = t
        if 200 <= status < 300:
            return []
        reason = _STATUS_REASONS.get(status, "")
        if status == 400:
            msg, retried = body.strip() or "400 Bad Request", False
        elif status == 500:
            msg, retried = MSG_500, True
        elif status == 429:
            msg, retried = "exceeded retry limit, last status: 429 Too Many Requests", False
        else:
            msg = f"unexpected status {status} {reason}: {body.strip()}, url: {url}".replace(
                "  ", " "
            )
            retried = status >= 500
        self.http_error = (msg, retried)
        return []

    def on_event(self, ev: Event) -> list[tuple[str, str]]:
        """A dispatched frame (any data). Returns ``(rule_id, message)`` pairs."""
        out: list[tuple[str, str]] = []
        if self.stopped or self.fatal is not None or self.http_error is not None:
            return out
        t = ev.t
        gap = t - self.last_event_t
        if gap >= self.idle_timeout:
            self._idle(out, gap)
            return out
        self.last_event_t = t
        if ev.kind == "done":
            return out
        if ev.kind != "event" or ev.payload is None:
            self.events_dropped += 1
            out.append(("codex-event-dropped", f"Codex skips this payload ({ev.error})"))
            return out
        payload = ev.payload
        why = decode_error(payload, fields_valid=not ev.issues)
        if why is not None:
            self.events_dropped += 1
            out.append(("codex-event-dropped", f"Codex skips {ev.type}: {why}"))
            return out
        etype = ev.type or ""
        if self.pending_error is not None and etype not in ("response.failed", "keepalive"):
            out.append(("codex-error-hidden", self._hidden_message()))
            self.pending_error = None
        handler = self._on_event.get(etype)
        if handler is not None:
            handler(self, payload, out)
        return out

    def item_decode_error(self, item: Any) -> str | None:
        """Why this Codex version cannot decode ``item`` (None: it decodes)."""
        return item_decode_error(item, self.version.item_decoders)

    def tick(self, now: float) -> list[tuple[str, str]]:
        """Live: the idle timer runs while nothing arrives."""
        out: list[tuple[str, str]] = []
        if self.stopped or self.fatal is not None or self.http_error is not None or self.ended:
            return out
        gap = now - self.last_event_t
        if gap >= self.idle_timeout:
            self._idle(out, gap)
        return out

    def finish(self, t_end: float, end_reason: str) -> list[tuple[str, str]]:
        """The read ended; ``end_reason`` is an :class:`EndReason`."""
        out: list[tuple[str, str]] = []
        if self.ended:
            return out
        # Whatever ended the read, Codex gave up first if the silence reached its idle timeout.
        out.extend(self.tick(t_end))
        self.ended = True
        self.end_reason = end_reason
        if self.pending_error is not None and not self.stopped:
            out.append(("codex-error-hidden", self._hidden_message()))
            self.pending_error = None
        if self.delta_chars and not self.answer and self.http_error is None:
            out.append(
                (
                    "codex-text-lost",
                    f"{self.delta_chars} characters of text streamed as deltas, but no decodable "
                    "message item reached output_item.done: Codex shows none of it",
                )
            )
        return out

    # -- prediction --------------------------------------------------------------------------

    def seconds_until_timeout(self, now: float) -> float | None:
        """Live countdown: seconds before Codex gives up waiting (None if it no longer waits)."""
        if self.stopped or self.fatal is not None or self.http_error is not None or self.ended:
            return None
        return max(0.0, self.idle_timeout - (now - self.last_event_t))

    def prediction(self) -> CodexPrediction:
        detail: list[str] = []
        if self.items_dropped:
            detail.append(f"{self.items_dropped} output item(s) dropped silently")
        if self.events_dropped:
            detail.append(f"{self.events_dropped} event(s) skipped (undecodable)")
        if self.http_error is not None:
            return self._error(*self.http_error, detail)
        if self.fatal is not None:
            return self._error(*self.fatal, detail)
        if self.completed:
            if self.tool_calls:
                detail.insert(0, "runs " + ", ".join(self.tool_calls))
                first = "".join(self.answer).strip().splitlines()
                msg = f"runs tool call(s): {', '.join(self.tool_calls)}"
                if first:
                    msg += f"; says: {first[0][:80]}"
                return CodexPrediction("ok", msg, detail)
            text = "".join(self.answer).strip()
            if text:
                return CodexPrediction("ok", text.splitlines()[0][:120], detail)
            return CodexPrediction(
                "empty", "exit 0 with nothing shown: no message or tool call survived", detail
            )
        if not self.ended:
            return CodexPrediction("pending", "waiting for response.completed", detail)
        if self.failed is not None:
            if self.end_reason in (EndReason.EOF, EndReason.TRANSPORT_ERROR):
                return self._error(*self.failed, detail)
            detail.append("response.failed arrived but the socket stayed open: Codex waits for EOF")
            return self._error(MSG_IDLE, True, detail)
        if self.end_reason == EndReason.TRANSPORT_ERROR:
            return self._error(MSG_TRANSPORT, True, detail)
        if self.end_reason in (EndReason.MAX_WAIT, EndReason.INTERRUPTED):
            detail.append(
                f"the stream was still open; Codex would wait {self.idle_timeout:g} s of silence"
            )
            return self._error(MSG_IDLE, True, detail)
        return self._error(MSG_CLOSED, True, detail)

    # -- helpers -----------------------------------------------------------------------------

    def _error(self, message: str, retried: bool, detail: list[str]) -> CodexPrediction:
        if retried:
            detail = [
                *detail,
                f"Codex retries the turn up to {self.version.stream_max_retries} times "
                "(stream_max_retries) before showing this",
            ]
        return CodexPrediction("error", message, detail, retried)

    def _idle(self, out: list[tuple[str, str]], gap: float) -> None:
        self.fatal = (MSG_IDLE, True)
        if not self.idle_reported:
            self.idle_reported = True
            out.append(
                (
                    "codex-idle-timeout",
                    f"{gap:.1f} s without a complete event (Codex's idle timeout is "
                    f"{self.idle_timeout:g} s; comments do not reset it): {MSG_IDLE}",
                )
            )

    def _hidden_message(self) -> str:
        return (
            f"Codex ignores this error event ({self.pending_error}); with no response.failed after "
            "it the user never sees the message"
        )

    def take_item(self, item: dict[str, Any]) -> None:
        itype = item.get("type")
        if itype == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    self.answer.append(part.get("text") or "")
        elif itype in ("function_call", "custom_tool_call"):
            self.tool_calls.append(str(item.get("name")))
        elif itype == "local_shell_call":
            self.tool_calls.append("local_shell")


def serde_unexpected(value: Any) -> str:
    """How serde_json names a JSON value it did not expect (``string "10"``, ``integer `5```)."""
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if value is None:
        return "null"
    return "map" if isinstance(value, dict) else "sequence"


def _completed_problem(response: Any) -> str | None:
    if not isinstance(response, dict):
        return "missing field `response`"
    rid = response.get("id")
    if rid is None:
        return "missing field `id`"
    if not isinstance(rid, str):
        return f"invalid type: {serde_unexpected(rid)}, expected a string"
    usage = response.get("usage")
    if usage is None:
        return None
    if not isinstance(usage, dict):
        return f"invalid type: {serde_unexpected(usage)}, expected struct ResponseCompletedUsage"
    for name in ("input_tokens", "output_tokens", "total_tokens"):
        v = usage.get(name)
        if v is None:
            return f"missing field `{name}`"
        if not _is_int(v):
            return f"invalid type: {serde_unexpected(v)}, expected i64"
    return None


def _failed_message(response: Any) -> tuple[str, bool]:
    error = response.get("error") if isinstance(response, dict) else None
    if not isinstance(error, dict):
        return ("response.failed event received", True)
    code = error.get("code")
    message = str(error.get("message") or "")
    if code in _FAILED_CODES:
        template, retried = _FAILED_CODES[code]
        return (template.format(message=message), retried)
    return (f"stream disconnected before completion: {message}", True)


def _error_text(payload: dict[str, Any]) -> str:
    nested = payload.get("error")
    if isinstance(nested, dict):
        code, message = nested.get("code"), nested.get("message")
    else:
        code, message = payload.get("code"), payload.get("message")
    return f"{code}: {message}" if code else str(message)


# -- what Codex does with each event type ---------------------------------------------------------
# ``(model, payload, out)``: the payload decoded as Codex's ResponsesStreamEvent; findings go to
# ``out`` as ``(rule_id, message)`` pairs. Event types without a handler change nothing.

Findings = list[tuple[str, str]]
EventHandler = Callable[[CodexModel, dict[str, Any], Findings], None]


def _text_delta(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    model.delta_chars += len(payload.get("delta") or "")
    if not model.active_item:
        out.append(
            (
                "codex-delta-without-item",
                "OutputTextDelta without active item: Codex loses this delta from its live view",
            )
        )


def _item_added(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    model.active_item = model.item_decode_error(payload.get("item")) is None


def _item_done(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    model.active_item = False
    item = payload.get("item")
    why = model.item_decode_error(item)
    if why is not None:
        model.items_dropped += 1
        out.append(("codex-item-dropped", f"Codex drops this item silently: {why}"))
    elif isinstance(item, dict):  # always, once it decodes
        model.take_item(item)


def _completed(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    model.stopped = True
    problem = _completed_problem(payload.get("response"))
    if problem is not None:
        # Codex wraps it like every other stream error (codex-rs protocol/src/error.rs)
        model.fatal = (
            f"stream disconnected before completion: failed to parse ResponseCompleted: {problem}",
            True,
        )
        out.append(("codex-completed-invalid", f"Codex fails the turn: {model.fatal[0]}"))
    else:
        model.completed = True


def _failed(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    model.pending_error = None
    model.failed = _failed_message(payload.get("response"))
    out.append(("codex-turn-fails", f"Codex reports at EOF: {model.failed[0]}"))


def _incomplete(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    response = payload.get("response")
    details = response.get("incomplete_details") if isinstance(response, dict) else None
    reason = details.get("reason") if isinstance(details, dict) else None
    model.fatal = (f"Incomplete response returned, reason: {reason}", False)
    out.append(("codex-turn-fails", f"Codex fails the turn: {model.fatal[0]}"))


def _error_event(model: CodexModel, payload: dict[str, Any], out: Findings) -> None:
    model.pending_error = _error_text(payload)  # ignored: shown only if nothing follows (0.169.0)


_EVENT_HANDLERS_0169: dict[str, EventHandler] = {
    "response.output_text.delta": _text_delta,
    "response.output_item.added": _item_added,
    "response.output_item.done": _item_done,
    "response.completed": _completed,
    "response.failed": _failed,
    "response.incomplete": _incomplete,
    "error": _error_event,
}


@dataclass(frozen=True, slots=True)
class CodexVersion:
    """What one Codex CLI release does with a stream: the model's behaviour is these tables."""

    name: str
    stream_max_retries: int
    """How often Codex retries a turn whose stream failed (``stream_max_retries``)."""
    on_event: Mapping[str, EventHandler]
    item_decoders: Mapping[str, ItemDecoder]


CODEX_VERSIONS: dict[str, CodexVersion] = {
    "0.169.0": CodexVersion(
        "0.169.0", DEFAULT_STREAM_MAX_RETRIES, _EVENT_HANDLERS_0169, _ITEM_DECODERS_0169
    ),
    # The same 42 scripted streams gave the same outcomes and messages, word for word.
    "0.171.0": CodexVersion(
        "0.171.0", DEFAULT_STREAM_MAX_RETRIES, _EVENT_HANDLERS_0169, _ITEM_DECODERS_0169
    ),
}
"""The Codex releases the model knows, by version (``DEFAULT_CODEX_VERSION`` is the default)."""
