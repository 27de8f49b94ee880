"""The stateful checker: fed one frame at a time, it emits findings as soon as they are knowable.

It owns the output-item tree, the timing tracker and the Codex model, so live connect, replay,
proxy and headless check all get the same judgement from the same code. Rules are defined in
:mod:`ssescope.core.rules` (ids, severities per profile, why they matter); this module decides when
each one fires. Rules run against the state *before* the event is applied to the tree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import models as m
from .codex import DEFAULT_IDLE_TIMEOUT, CodexModel, CodexPrediction
from .events import Event, decode_frame
from .findings import Finding, FindingLog
from .rules import PROFILES, RULES, SEVERITY_RANK, Severity
from .sse import Frame
from .timing import Timing
from .tree import ItemNode, PartNode, ResponseTree

DEFAULT_STALL_WARN = 10.0


@dataclass
class CheckOptions:
    profile: str = "openai"
    stall_warn: float = DEFAULT_STALL_WARN
    codex_idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    keep_per_rule: int | None = None
    """Keep at most this many findings per rule (counts stay exact)."""
    track_events: bool = False
    """Keep, per tree node, the index of every event that touched it (the TUI wants it)."""
    framed: bool = True
    """False when the source had no SSE framing (JSON lines): framing rules do not apply."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"unknown profile {self.profile!r} (choose from {', '.join(PROFILES)})"
            )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_difference(a: str, b: str) -> str:
    """Where two texts part ways, for mismatch messages."""
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"lengths {len(a)} vs {len(b)}, first difference at character {n}: {_short(a[n : n + 20], 24)!r} vs {_short(b[n : n + 20], 24)!r}"


_TEXT_DELTAS: dict[str, str] = {
    "response.output_text.delta": "output_text",
    "response.refusal.delta": "refusal",
    "response.reasoning_text.delta": "reasoning_text",
}
_TEXT_DONES: dict[str, tuple[str, str]] = {
    "response.output_text.done": ("output_text", "text"),
    "response.refusal.done": ("refusal", "refusal"),
    "response.reasoning_text.done": ("reasoning_text", "text"),
}
_ARG_DELTAS = frozenset(
    {
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.mcp_call_arguments.delta",
        "response.code_interpreter_call_code.delta",
    }
)
_ARG_DONES: dict[str, str] = {
    "response.function_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
    "response.mcp_call_arguments.done": "arguments",
    "response.code_interpreter_call_code.done": "code",
}
_PART_FITS = {"message": ("output_text", "refusal"), "reasoning": ("reasoning_text",)}


class Checker:
    """Feed frames (``feed_frame``), HTTP facts (``on_http``), clock ticks (``tick``) and the end
    (``finish``); read ``findings``, ``tree``, ``timing`` and ``codex``."""

    def __init__(self, options: CheckOptions | None = None) -> None:
        self.options = options or CheckOptions()
        self.profile = self.options.profile
        self.log = FindingLog(self.options.keep_per_rule)
        self.tree = ResponseTree(track_events=self.options.track_events)
        self.timing = Timing()
        self.codex = CodexModel(self.options.codex_idle_timeout)
        self.events_seen = 0
        self._rows = 0
        self._first_event_type: str | None = None
        self._last_seq: int | None = None
        self._response_id: str | None = None
        self._lifecycle: list[str] = []
        self._done_index: int | None = None
        self._terminal_index: int | None = None
        self._error_seen = False
        self._pending_error: Event | None = None
        self._no_event_line = 0
        self._stall_reported_at: float | None = None
        self._missing_part_reported: set[tuple[int, Any]] = set()
        self._overlap_reported: set[int] = set()
        self._ids: dict[str, int] = {}
        self._call_ids: dict[tuple[str, str], int] = {}
        self._args_checked: set[int] = set()
        self._incomplete_items: list[int] = []  # positions of items that ended incomplete
        self.http_status: int | None = None
        self.finished = False
        self.end_reason: str | None = None
        self._handlers: dict[str, Callable[[Event, dict[str, Any]], None]] = {
            "response.created": self._on_created,
            "response.queued": self._on_progress_lifecycle,
            "response.in_progress": self._on_progress_lifecycle,
            "response.completed": self._on_terminal,
            "response.failed": self._on_terminal,
            "response.incomplete": self._on_terminal,
            "error": self._on_error,
            "keepalive": lambda ev, p: None,
            "response.output_item.added": self._on_item_added,
            "response.output_item.done": self._on_item_done,
            "response.content_part.added": self._on_part_added,
            "response.content_part.done": self._on_part_done,
            "response.output_text.annotation.added": self._on_annotation,
            "response.reasoning_summary_part.added": self._on_summary_part_added,
            "response.reasoning_summary_part.done": self._on_summary_part_done,
            "response.reasoning_summary_text.delta": self._on_summary_text,
            "response.reasoning_summary_text.done": self._on_summary_text,
        }
        for t in _TEXT_DELTAS:
            self._handlers[t] = self._on_text_delta
        for t in _TEXT_DONES:
            self._handlers[t] = self._on_text_done
        for t in _ARG_DELTAS:
            self._handlers[t] = self._on_arg_delta
        for t in _ARG_DONES:
            self._handlers[t] = self._on_arg_done

    # =========================================================================================
    # public API
    # =========================================================================================

    @property
    def findings(self) -> list[Finding]:
        return self.log.kept

    def emit(
        self,
        rule_id: str,
        message: str,
        ev: Event | None = None,
        *,
        t: float | None = None,
        severity: Severity | None = None,
        escalate: bool = False,
    ) -> Finding | None:
        """Record a finding under the active profile (rules that are off there are dropped)."""
        rule = RULES[rule_id]
        sev = rule.severity_in(self.profile)
        if sev is None:
            return None
        if severity is not None and (escalate or SEVERITY_RANK[severity] > SEVERITY_RANK[sev]):
            # A case-specific severity: a downgrade (vendor-prefixed types, …), or an explicit
            # escalation where the case is worse than the rule's usual one (strict tools).
            sev = severity
        finding = Finding(
            rule_id,
            sev,
            message,
            ev.index if ev is not None else None,
            ev.sequence_number if ev is not None else None,
            ev.t if ev is not None else t,
        )
        self.log.add(finding)
        self._new.append(finding)
        return finding

    def on_http(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        body: str = "",
        url: str = "",
        t: float = 0.0,
    ) -> list[Finding]:
        """The response status line and headers (and, for errors, the body)."""
        self._new: list[Finding] = []
        self.http_status = status
        self.timing.on_headers(t)
        lower = {k.lower(): v for k, v in (headers or {}).items()}
        if not 200 <= status < 300:
            shown = body.strip()
            shown = shown if len(shown) <= 500 else shown[:500] + "…"
            self.emit(
                "http-status",
                f"HTTP {status}" + (f": {shown}" if shown else " with an empty body"),
                t=t,
            )
        else:
            ctype = lower.get("content-type", "")
            if ctype.split(";")[0].strip().lower() != "text/event-stream":
                self.emit(
                    "content-type",
                    f"Content-Type is {ctype!r}, not text/event-stream"
                    if ctype
                    else "no Content-Type header",
                    t=t,
                )
        for rule_id, message in self.codex.on_http(status, body, url, t):
            self.emit(rule_id, message, t=t)
        return self._new

    def feed_frame(self, frame: Frame) -> tuple[Event, list[Finding]]:
        """Judge one frame; returns its event and the findings it caused."""
        self._new = []
        ev = decode_frame(frame)
        self._rows += 1
        progress_gap = self.timing.on_event(ev)
        self._frame_rules(ev, frame)
        kind = ev.kind
        if kind == "event":
            self._check_stall_gap(ev, progress_gap)
            self._on_event(ev)
        elif kind == "done":
            self._check_stall_gap(ev, progress_gap)
            if self._done_index is None:
                self._done_index = ev.index
            else:
                self.emit("data-after-done", "a second `data: [DONE]`", ev)
        elif kind == "invalid":
            self._check_stall_gap(ev, progress_gap)
            self._after_done(ev)
            self.events_seen += 1
            if ev.payload is not None:
                self.emit("type-missing", f"payload has {ev.error}", ev)
            else:
                self.emit(
                    "data-not-json", f"data is {ev.error}: {_short(frame.data or '', 80)!r}", ev
                )
        if frame.dispatched or (
            kind in ("event", "done", "invalid") and self.options.framed is False
        ):
            for rule_id, message in self.codex.on_event(ev):
                self.emit(rule_id, message, ev)
        return ev, self._new

    def tick(self, now: float) -> list[Finding]:
        """Live: judge the silence up to ``now`` (stall timers, Codex's idle timeout)."""
        self._new = []
        if self.finished or (self.http_status is not None and not 200 <= self.http_status < 300):
            return self._new
        self._check_silence(now)
        for rule_id, message in self.codex.tick(now):
            self.emit(rule_id, message, t=now)
        return self._new

    def finish(self, t_end: float, end_reason: str = "eof") -> list[Finding]:
        """The stream ended at ``t_end``: eof, transport-error, max-wait or interrupted."""
        self._new = []
        if self.finished:
            return self._new
        self.finished = True
        self.end_reason = end_reason
        self.timing.finish(t_end)
        http_ok = self.http_status is None or 200 <= self.http_status < 300
        if http_ok and end_reason != "connect-error":
            self._check_silence(t_end)
            self._end_rules(end_reason)
        for rule_id, message in self.codex.finish(t_end, end_reason):
            self.emit(rule_id, message, t=t_end)
        return self._new

    def prediction(self) -> CodexPrediction:
        return self.codex.prediction()

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events_seen,
            "rows": self._rows,
            "errors": self.log.count("error"),
            "warnings": self.log.count("warning"),
            "infos": self.log.count("info"),
        }

    # =========================================================================================
    # framing
    # =========================================================================================

    def _frame_rules(self, ev: Event, frame: Frame) -> None:
        if (
            frame.event is None
            and frame.data is not None
            and frame.data != "[DONE]"
            and self.options.framed
        ):
            self._no_event_line += 1  # [DONE] is data-only everywhere, even under Open Responses
        if not (
            frame.invalid_utf8
            or frame.bom
            or frame.unknown_fields
            or frame.id is not None
            or not frame.terminated
        ):
            return  # the common case: nothing odd about the framing
        if frame.invalid_utf8:
            self.emit("invalid-utf8", "bytes that are not UTF-8 (decoded as U+FFFD)", ev)
        if frame.bom:
            self.emit("sse-bom", "the stream starts with a UTF-8 byte-order mark", ev)
        for line in frame.unknown_fields:
            name = line.partition(":")[0]
            hint = (
                " (field names are case-sensitive)"
                if name.lower() in ("data", "event", "id", "retry")
                else ""
            )
            self.emit(
                "sse-unknown-field", f"unknown field {name!r}{hint}: {_short(line, 60)!r}", ev
            )
        if frame.id is not None:
            self.emit("sse-id-field", f"`id: {_short(frame.id, 40)}`", ev)
        if not frame.terminated and frame.has_content and frame.data is not None:
            self.emit(
                "sse-unterminated-frame",
                "the stream ended inside this frame (no blank line after it): SSE clients discard it",
                ev,
            )

    def _after_done(self, ev: Event) -> None:
        if self._done_index is not None:
            self.emit(
                "data-after-done", f"this frame arrived after `[DONE]` (row {self._done_index})", ev
            )

    # =========================================================================================
    # events
    # =========================================================================================

    def _on_event(self, ev: Event) -> None:
        payload = ev.payload
        assert payload is not None
        etype = ev.type or ""
        self.events_seen += 1
        self._after_done(ev)
        frame_event = ev.frame.event
        if frame_event is not None and frame_event != etype and self.options.framed:
            self.emit(
                "event-name-mismatch",
                f"`event: {_short(frame_event, 40)}` but type is {etype!r}",
                ev,
            )
        self._sequence_rules(ev, payload, etype)

        if self._terminal_index is not None and etype != "keepalive":
            self.emit(
                "event-after-terminal",
                f"{etype} after the terminal event (row {self._terminal_index})",
                ev,
            )
        if self._pending_error is not None and etype not in ("response.failed", "keepalive"):
            self.emit(
                "error-not-followed-by-failed",
                f"{etype} follows the error event at row {self._pending_error.index}",
                ev,
            )
            self._pending_error = None
        if self._first_event_type is None and etype != "keepalive":
            self._first_event_type = etype
            if etype != "response.created":
                self.emit("created-not-first", f"the first event is {etype}", ev)

        if etype not in m.EVENT_MODELS:
            self._unknown_event(ev, etype)
            return
        self._field_issues(ev, etype)
        if (
            etype in ("response.output_text.delta", "response.output_text.done")
            and "logprobs" not in payload
        ):
            self.emit("logprobs-missing", f"{etype} has no `logprobs`", ev)

        handler = self._handlers.get(etype)
        if handler is not None:
            handler(ev, payload)
        else:
            self._on_item_scoped(ev, payload, etype)

    def _unknown_event(self, ev: Event, etype: str) -> None:
        hint = m.foreign_name_hint(etype)
        if hint is not None:
            self.emit("unknown-event-type", f"{etype!r} is not a Responses event: {hint}", ev)
        elif ":" in etype and not etype.startswith("response."):
            self.emit(
                "unknown-event-type",
                f"{etype!r} is a vendor-prefixed extension event",
                ev,
                severity="info" if self.profile == "open-responses" else None,
            )
        else:
            self.emit("unknown-event-type", f"{etype!r} is not a Responses API event type", ev)
        node = (
            self.tree.find(ev.payload.get("output_index"), ev.payload.get("item_id"))
            if ev.payload
            else None
        )
        if node is not None:
            self.tree.touch(node, ev.index)

    def _field_issues(self, ev: Event, etype: str) -> None:
        for issue in ev.issues:
            if issue.path == "sequence_number" or issue.path == "type":
                continue
            if issue.path == "delta":
                self.emit("delta-not-string", f"{etype}: {issue.describe()}", ev)
            elif issue.kind == "missing":
                self.emit("field-missing", f"{etype}: {issue.describe()}", ev)
            else:
                self.emit("field-type", f"{etype}: {issue.describe()}", ev)
        if etype == "error":
            payload = ev.payload or {}
            nested = payload.get("error")
            if not isinstance(payload.get("message"), str) and not (
                isinstance(nested, dict) and isinstance(nested.get("message"), str)
            ):
                self.emit(
                    "field-missing", "error: no `message` (flat) or `error.message` (nested)", ev
                )

    def _sequence_rules(self, ev: Event, payload: dict[str, Any], etype: str) -> None:
        seq = payload.get("sequence_number")
        if not _is_int(seq):
            if seq is None:
                self.emit("sequence-missing", f"{etype} has no sequence_number", ev)
            else:
                self.emit(
                    "sequence-missing",
                    f"{etype}: sequence_number is {_short(seq, 20)} ({m.json_type(seq)}), not an integer",
                    ev,
                )
            return
        last = self._last_seq
        if last is None:
            if seq != 0 and etype in ("response.created", "keepalive"):
                self.emit(
                    "sequence-start", f"the stream starts at sequence_number {seq}, not 0", ev
                )
        elif seq <= last:
            self.emit("sequence-not-increasing", f"sequence_number {seq} after {last}", ev)
        elif seq != last + 1:
            self.emit(
                "sequence-gap",
                f"sequence_number jumps from {last} to {seq} ({seq - last - 1} missing)",
                ev,
            )
        if last is None or seq > last:
            self._last_seq = seq

    # -- lifecycle ------------------------------------------------------------------------------

    def _response_of(self, ev: Event, payload: dict[str, Any]) -> dict[str, Any] | None:
        response = payload.get("response")
        if not isinstance(response, dict):
            return None
        rid = response.get("id")
        if isinstance(rid, str):
            if self._response_id is None:
                self._response_id = rid
            elif rid != self._response_id:
                self.emit(
                    "response-id-mismatch",
                    f"{ev.type} carries response id {_short(rid, 40)!r}, earlier {_short(self._response_id, 40)!r}",
                    ev,
                )
        return response

    def _on_created(self, ev: Event, payload: dict[str, Any]) -> None:
        if "response.created" in self._lifecycle:
            self.emit("created-duplicate", "a second response.created", ev)
        self._lifecycle.append("response.created")
        response = self._response_of(ev, payload)
        if response is None:
            return
        self._thin_response(ev, response)
        if self.tree.created is None:
            self.tree.created = response
        self.tree.snapshot = response

    def _thin_response(self, ev: Event, response: dict[str, Any]) -> None:
        issues = m.validate_response(response)
        missing = [i.path.removeprefix("response.") for i in issues if i.kind == "missing"]
        wrong = [i for i in issues if i.kind != "missing"]
        if missing:
            self.emit(
                "created-incomplete",
                f"{ev.type}'s response lacks {len(missing)} required field(s): {', '.join(missing)}",
                ev,
            )
        for issue in wrong:
            self.emit("field-type", f"{ev.type}: {issue.describe()}", ev)

    def _on_progress_lifecycle(self, ev: Event, payload: dict[str, Any]) -> None:
        etype = ev.type or ""
        if (
            self._lifecycle
            and self._lifecycle[-1] == "response.in_progress"
            and etype == "response.queued"
        ):
            self.emit("lifecycle-order", "response.queued after response.in_progress", ev)
        elif not self._lifecycle and self._first_event_type != etype:
            self.emit("lifecycle-order", f"{etype} before response.created", ev)
        self._lifecycle.append(etype)
        response = self._response_of(ev, payload)
        if response is None:
            return
        self._thin_response(ev, response)
        self.tree.snapshot = response

    def _on_terminal(self, ev: Event, payload: dict[str, Any]) -> None:
        etype = ev.type or ""
        if self._terminal_index is None:
            self._terminal_index = ev.index
        self._pending_error = None
        self._lifecycle.append(etype)
        response = self._response_of(ev, payload)
        self.tree.terminal_type = etype
        if response is None:
            return
        self.tree.terminal = response
        for issue in m.validate_response(response):
            if issue.path.startswith("response.usage"):
                continue  # judged by the usage rules below
            rule = "field-missing" if issue.kind == "missing" else "field-type"
            self.emit(rule, f"{etype}: {issue.describe()}", ev)
        self._terminal_status(ev, etype, response)
        self._usage(ev, etype, response)
        self._final_output(ev, response)
        # completed closes every item; failed/incomplete may leave only the last one open (I5)
        items = self.tree.items if etype == "response.completed" else self.tree.items[:-1]
        for node in items:
            if not node.closed:
                self.emit(
                    "item-not-closed",
                    f"{node.type} item {node.position} ({node.id or node.call_id}) was never closed with output_item.done",
                    ev,
                )

    def _terminal_status(self, ev: Event, etype: str, response: dict[str, Any]) -> None:
        status = response.get("status")
        expected = etype.removeprefix("response.")
        if status is not None and status != expected:
            self.emit("terminal-status-mismatch", f"{etype} carries status {status!r}", ev)
        if etype == "response.failed" and not isinstance(response.get("error"), dict):
            self.emit("terminal-status-mismatch", "response.failed without an `error` object", ev)
        if etype == "response.incomplete":
            details = response.get("incomplete_details")
            reason = details.get("reason") if isinstance(details, dict) else None
            if reason not in ("max_output_tokens", "content_filter"):
                self.emit(
                    "terminal-status-mismatch",
                    f"response.incomplete with incomplete_details.reason {reason!r}",
                    ev,
                )
        if response.get("completed_at") is not None and etype != "response.completed":
            self.emit("terminal-status-mismatch", f"{etype} sets completed_at", ev)
        if etype == "response.completed":
            for node in self.tree.items:
                if node.closed and node.status == "incomplete":
                    self.emit(
                        "item-status",
                        f"item {node.position} is incomplete but the response ends completed",
                        ev,
                    )

    def _usage(self, ev: Event, etype: str, response: dict[str, Any]) -> None:
        usage = response.get("usage")
        if usage is None:
            if etype != "response.failed":
                self.emit("usage-missing", f"{etype} has no usage", ev)
            return
        issues = m.validate_usage(usage)
        for issue in issues:
            rule = "field-missing" if issue.kind == "missing" else "field-type"
            self.emit(rule, f"{etype}: {issue.describe()}", ev)
        if not isinstance(usage, dict):
            return
        inp, out, total = (
            usage.get("input_tokens"),
            usage.get("output_tokens"),
            usage.get("total_tokens"),
        )
        if _is_int(inp) and _is_int(out) and _is_int(total) and inp + out != total:
            self.emit("usage-arithmetic", f"total_tokens {total} != input {inp} + output {out}", ev)
        details = usage.get("output_tokens_details")
        if isinstance(details, dict):
            reasoning = details.get("reasoning_tokens")
            if _is_int(reasoning) and _is_int(out) and reasoning > out:
                self.emit(
                    "usage-arithmetic",
                    f"reasoning_tokens {reasoning} > output_tokens {out}",
                    ev,
                    severity="info",
                )

    def _final_output(self, ev: Event, response: dict[str, Any]) -> None:
        output = response.get("output")
        if not isinstance(output, list):
            return
        streamed = [n for n in self.tree.items]
        if len(output) != len(streamed):
            self.emit(
                "final-output-mismatch",
                f"{ev.type} lists {len(output)} output item(s); {len(streamed)} were streamed",
                ev,
            )
            return
        for node, final in zip(streamed, output, strict=True):
            expected = node.to_dict()
            diff = _item_difference(expected, final)
            if diff:
                self.emit(
                    "final-output-mismatch",
                    f"output[{node.position}] differs from the streamed {node.type}: {diff}",
                    ev,
                )

    def _on_error(self, ev: Event, payload: dict[str, Any]) -> None:
        self._error_seen = True
        self._pending_error = ev
        nested = payload.get("error")
        src = nested if isinstance(nested, dict) else payload
        code, message = src.get("code"), src.get("message")
        form = "nested" if isinstance(nested, dict) else "flat"
        self.emit(
            "error-event", f"error ({form} form): {code or 'no code'}: {_short(message, 120)}", ev
        )

    # -- items ----------------------------------------------------------------------------------

    def _item_field_issues(self, ev: Event, item: dict[str, Any], where: str) -> None:
        itype = item.get("type")
        for issue in m.validate_item(item):
            absent = issue.kind == "missing" or issue.got == "null"
            if issue.path == "item.call_id" and absent:
                self.emit("call-id-missing", f"{itype} item in {where} has no call_id", ev)
            elif issue.path == "item.id" and absent:
                self.emit("item-id-missing", f"{itype} item in {where} has no id", ev)
            elif issue.kind == "missing":
                self.emit("field-missing", f"{where}: {issue.describe()}", ev)
            else:
                self.emit("field-type", f"{where}: {issue.describe()}", ev)
        if itype in m.CALL_ID_ITEMS and item.get("call_id") == "":
            self.emit("call-id-missing", f"{itype} item in {where} has an empty call_id", ev)
        if item.get("id") == "" and itype not in m.ID_OPTIONAL_ITEMS:
            self.emit("item-id-missing", f"{itype} item in {where} has an empty id", ev)
        if (
            isinstance(itype, str)
            and itype not in m.ITEM_MODELS
            and itype not in m.OTHER_ITEM_TYPES
        ):
            self.emit(
                "field-type",
                f"{where}: unknown item type {itype!r} (kept as is)",
                ev,
                severity="warning",
            )

    def _on_item_added(self, ev: Event, payload: dict[str, Any]) -> None:
        item = payload.get("item")
        if not isinstance(item, dict):
            return  # reported as a field issue
        oi = payload.get("output_index")
        expected = len(self.tree.items)
        if _is_int(oi) and oi != expected:
            self.emit("output-index-not-appended", f"output_index {oi}, expected {expected}", ev)
        self._item_field_issues(ev, item, "output_item.added")
        for position in self._incomplete_items:
            self.emit(
                "item-status",
                f"item {position} ended incomplete, but item {expected} follows it "
                "(an incomplete item must be the last one)",
                ev,
            )
        itype = item.get("type")
        iid = item.get("id")
        if isinstance(iid, str) and iid:
            if iid in self._ids:
                self.emit(
                    "item-id-duplicate", f"id {iid!r} was already used by item {self._ids[iid]}", ev
                )
            else:
                self._ids[iid] = expected
        call_id = item.get("call_id")
        if isinstance(call_id, str) and call_id and isinstance(itype, str):
            key = (itype, call_id)
            if key in self._call_ids:
                self.emit(
                    "item-id-duplicate",
                    f"call_id {call_id!r} was already used by item {self._call_ids[key]}",
                    ev,
                )
            else:
                self._call_ids[key] = expected
        status = item.get("status")
        if itype in (
            "message",
            "function_call",
            "reasoning",
            "custom_tool_call",
        ) and status not in (None, "in_progress"):
            self.emit("item-status", f"{itype} added with status {status!r}, not in_progress", ev)
        if itype == "message" and item.get("content"):
            self.emit("item-added-not-empty", "message added with non-empty content", ev)
        elif itype == "function_call" and item.get("arguments") not in ("", None):
            self.emit(
                "item-added-not-empty",
                f"function_call added with arguments {_short(item.get('arguments'), 40)!r}",
                ev,
            )
        elif itype == "reasoning" and item.get("summary"):
            self.emit("item-added-not-empty", "reasoning added with a non-empty summary", ev)
        self.tree.add_item(oi, item, ev.index)

    def _on_item_done(self, ev: Event, payload: dict[str, Any]) -> None:
        item = payload.get("item")
        if not isinstance(item, dict):
            return
        node = self._resolve(ev, payload, check_type=False, item_id=item.get("id"))
        if node is None:
            return
        if node.closed:
            self.emit(
                "item-event-after-done", f"a second output_item.done for item {node.position}", ev
            )
        for key in ("type", "id", "call_id"):
            before, after = node.added_item.get(key), item.get(key)
            if before != after and (before is not None or key == "type"):
                self.emit(
                    "item-identity-changed",
                    f"{key} {_short(before, 40)!r} at output_item.added, {_short(after, 40)!r} at .done",
                    ev,
                )
        self._item_field_issues(ev, item, "output_item.done")
        status = item.get("status")
        if status == "in_progress":
            self.emit("item-status", f"{node.type} done with status 'in_progress'", ev)
        if status == "incomplete" and node.position < len(self.tree.items) - 1:
            # a later item was already added
            self.emit(
                "item-status", f"item {node.position} is incomplete but not the last item", ev
            )
        self._done_mismatch(ev, node, item)
        self._check_arguments(ev, node, item)
        node.done_item = item
        if item.get("status") == "incomplete":
            self._incomplete_items.append(node.position)

    def _done_mismatch(self, ev: Event, node: ItemNode, item: dict[str, Any]) -> None:
        """T4: the .done item against what was streamed into the item."""
        if node.type == "message" and isinstance(item.get("content"), list):
            for part in node.parts:
                if part.index >= len(item["content"]):
                    self.emit(
                        "item-done-mismatch",
                        f"content[{part.index}] was streamed but is missing from output_item.done",
                        ev,
                    )
                    continue
                final = item["content"][part.index]
                if not isinstance(final, dict):
                    continue
                key = "refusal" if part.type == "refusal" else "text"
                streamed = part.text
                got = final.get(key)
                if (
                    isinstance(got, str)
                    and got != streamed
                    and (part.delta_count or part.done_text is not None)
                ):
                    self.emit(
                        "item-done-mismatch",
                        f"content[{part.index}].{key}: {_first_difference(streamed, got)}",
                        ev,
                    )
        elif node.type in ("function_call", "mcp_call", "custom_tool_call"):
            key = "input" if node.type == "custom_tool_call" else "arguments"
            streamed = node.streamed_arguments
            got = item.get(key)
            if streamed is not None and isinstance(got, str) and got != streamed:
                self.emit("item-done-mismatch", f"{key}: {_first_difference(streamed, got)}", ev)
        elif node.type == "reasoning" and isinstance(item.get("summary"), list):
            for part in node.summary:
                if part.index < len(item["summary"]):
                    final = item["summary"][part.index]
                    got = final.get("text") if isinstance(final, dict) else None
                    if isinstance(got, str) and got != part.text:
                        self.emit(
                            "item-done-mismatch",
                            f"summary[{part.index}].text: {_first_difference(part.text, got)}",
                            ev,
                        )

    def _check_arguments(self, ev: Event, node: ItemNode, item: dict[str, Any]) -> None:
        if node.type not in ("function_call", "mcp_call") or node.position in self._args_checked:
            return
        args = item.get("arguments")
        if not isinstance(args, str):
            return
        self._args_checked.add(node.position)
        name = item.get("name") or node.name
        strict = self._strict_tool(name)
        severity: Severity | None = "error" if strict and self.profile != "codex" else None
        note = " (a strict tool: openai-python's get_final_response() raises)" if severity else ""
        if args.strip() == "":
            self.emit(
                "arguments-empty",
                f'{node.type} {name!r} has arguments {args!r} (use "{{}}" for no arguments){note}',
                ev,
                severity=severity,
                escalate=True,
            )
            return
        try:
            json.loads(args)
        except ValueError as exc:
            self.emit(
                "arguments-invalid-json",
                f"{node.type} {name!r}: {exc}: {_short(args, 60)!r}{note}",
                ev,
                severity=severity,
                escalate=True,
            )

    def _strict_tool(self, name: Any) -> bool:
        """Whether the response's tools declare ``name`` as a strict function tool."""
        for source in (self.tree.snapshot, self.tree.created):
            tools = source.get("tools") if isinstance(source, dict) else None
            if isinstance(tools, list):
                for tool in tools:
                    if (
                        isinstance(tool, dict)
                        and tool.get("name") == name
                        and tool.get("type") == "function"
                    ):
                        return tool.get("strict") is True
        return False

    def _resolve(
        self,
        ev: Event,
        payload: dict[str, Any],
        *,
        check_type: bool = True,
        item_id: Any = None,
    ) -> ItemNode | None:
        """The item an item-scoped event targets, with the I3 checks (exists, id, type, open)."""
        oi = payload.get("output_index")
        iid = payload.get("item_id", item_id)
        node = self.tree.find(oi if _is_int(oi) else None, iid)
        etype = ev.type or ""
        if node is None:
            where = f"output_index {oi}" if oi is not None else f"item_id {_short(iid, 40)!r}"
            self.emit(
                "item-unknown", f"{etype} targets {where}, which no output_item.added opened", ev
            )
            return None
        self.tree.touch(node, ev.index)
        if "item_id" in payload and isinstance(iid, str) and node.id is not None and iid != node.id:
            self.emit(
                "item-id-mismatch",
                f"item_id {_short(iid, 40)!r}, but item {node.position} is {_short(node.id, 40)!r}",
                ev,
            )
        if check_type:
            allowed = m.expected_item_types(etype)
            if allowed is not None and node.type not in allowed:
                self.emit("item-type-mismatch", f"{etype} targets a {node.type} item", ev)
            if node.closed:
                self.emit(
                    "item-event-after-done",
                    f"{etype} for item {node.position} after its output_item.done",
                    ev,
                )
            last = self.tree.items[-1]
            if node is not last and not last.closed and node.position not in self._overlap_reported:
                self._overlap_reported.add(node.position)
                self.emit(
                    "items-overlap",
                    f"{etype} for item {node.position} while item {last.position} is open",
                    ev,
                )
        return node

    def _on_item_scoped(self, ev: Event, payload: dict[str, Any], etype: str) -> None:
        """Hosted-tool progress, audio, shell and other events that only need to find their item."""
        if etype.startswith("response.audio"):
            return
        if etype.startswith("response.shell_call_command."):
            node = self.tree.find(payload.get("output_index"), None)
            if node is None:
                self.emit(
                    "item-unknown",
                    f"{etype} targets output_index {payload.get('output_index')}",
                    ev,
                )
            elif node.type != "shell_call":
                self.emit("item-type-mismatch", f"{etype} targets a {node.type} item", ev)
            else:
                self.tree.touch(node, ev.index)
            return
        node = self._resolve(ev, payload)
        if node is not None:
            step = etype.rsplit(".", 1)[-1]
            node.progress.append(step)

    # -- parts ----------------------------------------------------------------------------------

    def _on_part_added(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        part = payload.get("part")
        if node is None or not isinstance(part, dict):
            return
        ci = payload.get("content_index")
        if _is_int(ci) and ci != len(node.parts):
            self.emit(
                "content-index-not-appended", f"content_index {ci}, expected {len(node.parts)}", ev
            )
        ptype = part.get("type")
        fits = _PART_FITS.get(node.type)
        if fits is not None and ptype not in fits:
            self.emit("part-type-mismatch", f"a {ptype!r} part in a {node.type} item", ev)
        for issue in m.validate_part(part):
            if issue.path != "part.type":
                rule = "field-missing" if issue.kind == "missing" else "field-type"
                self.emit(rule, f"content_part.added: {issue.describe()}", ev)
        if part.get("text") or part.get("refusal") or part.get("annotations"):
            self.emit("part-added-not-empty", f"the added {ptype} part already has content", ev)
        self.tree.add_part(node, str(ptype), part)

    def _part_for(self, ev: Event, node: ItemNode, payload: dict[str, Any], want: str) -> PartNode:
        ci = payload.get("content_index")
        part = node.part(ci)
        if part is None and ci is None and node.parts:
            part = node.parts[-1]  # servers without content_index (llama.cpp): the open part
        if part is None:
            key = (node.position, ci)
            if key not in self._missing_part_reported:
                self._missing_part_reported.add(key)
                self.emit(
                    "part-type-mismatch",
                    f"{ev.type} needs a {want} part at content_index {ci}, but content_part.added never opened it",
                    ev,
                )
            part = self.tree.add_part(node, want, None, implicit=True)
        elif part.type != want and not part.implicit:
            self.emit("part-type-mismatch", f"{ev.type} targets a {part.type!r} part", ev)
        return part

    def _on_text_delta(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        part = self._part_for(ev, node, payload, _TEXT_DELTAS[ev.type or ""])
        if part.done_text is not None or part.done_part is not None:
            self.emit("part-order", f"{ev.type} after the part's .done", ev)
        delta = payload.get("delta")
        if isinstance(delta, str):
            part.streamed.append(delta)
            part.delta_count += 1

    def _on_text_done(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        want, key = _TEXT_DONES[ev.type or ""]
        part = self._part_for(ev, node, payload, want)
        text = payload.get(key)
        if part.done_text is not None:
            self.emit("part-order", f"a second {ev.type} for content_index {part.index}", ev)
        if isinstance(text, str):
            streamed = part.streamed.value
            if part.delta_count and text != streamed:
                self.emit(
                    "text-done-mismatch", f"{ev.type}: {_first_difference(streamed, text)}", ev
                )
            part.done_text = text

    def _on_part_done(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        part_obj = payload.get("part")
        if node is None or not isinstance(part_obj, dict):
            return
        ci = payload.get("content_index")
        part = node.part(ci)
        if part is None:
            self.emit(
                "part-order", f"content_part.done for content_index {ci}, which was never added", ev
            )
            return
        if part.done_part is not None:
            self.emit("part-order", f"a second content_part.done for content_index {ci}", ev)
        if part.done_text is None and part.type in ("output_text", "refusal", "reasoning_text"):
            self.emit("part-order", f"content_part.done before the part's {part.type}.done", ev)
        if part_obj.get("type") != part.type and not part.implicit:
            self.emit(
                "part-type-mismatch",
                f"content_part.done has a {part_obj.get('type')!r} part, added as {part.type!r}",
                ev,
            )
        key = "refusal" if part.type == "refusal" else "text"
        final = part_obj.get(key)
        if isinstance(final, str) and final != part.text:
            self.emit(
                "part-done-mismatch",
                f"content_part.done {key}: {_first_difference(part.text, final)}",
                ev,
            )
        part.done_part = part_obj

    def _on_annotation(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        part = self._part_for(ev, node, payload, "output_text")
        ai = payload.get("annotation_index")
        if _is_int(ai) and ai > len(part.annotations):
            self.emit(
                "annotation-index",
                f"annotation_index {ai} with {len(part.annotations)} annotation(s) so far",
                ev,
            )
        part.annotations.append(payload.get("annotation"))

    def _on_summary_part_added(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        si = payload.get("summary_index")
        if _is_int(si) and si != len(node.summary):
            self.emit(
                "summary-index-not-appended",
                f"summary_index {si}, expected {len(node.summary)}",
                ev,
            )
        part = payload.get("part")
        self.tree.add_summary(node, part if isinstance(part, dict) else None)

    def _summary_part(self, ev: Event, node: ItemNode, payload: dict[str, Any]) -> PartNode:
        si = payload.get("summary_index")
        if _is_int(si) and 0 <= si < len(node.summary):
            return node.summary[si]
        if si is None and node.summary:
            return node.summary[-1]
        key = (node.position, f"s{si}")
        if key not in self._missing_part_reported:
            self._missing_part_reported.add(key)
            self.emit(
                "summary-index-not-appended",
                f"{ev.type} uses summary_index {si}, which reasoning_summary_part.added never opened",
                ev,
            )
        return self.tree.add_summary(node, None, implicit=True)

    def _on_summary_text(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        part = self._summary_part(ev, node, payload)
        if ev.type == "response.reasoning_summary_text.delta":
            delta = payload.get("delta")
            if part.done_text is not None:
                self.emit("part-order", "reasoning_summary_text.delta after its .done", ev)
            if isinstance(delta, str):
                part.streamed.append(delta)
                part.delta_count += 1
        else:
            text = payload.get("text")
            if isinstance(text, str):
                if part.delta_count and text != part.streamed.value:
                    self.emit(
                        "text-done-mismatch",
                        f"reasoning_summary_text.done: {_first_difference(part.streamed.value, text)}",
                        ev,
                    )
                part.done_text = text

    def _on_summary_part_done(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        part = self._summary_part(ev, node, payload)
        part_obj = payload.get("part")
        if isinstance(part_obj, dict):
            final = part_obj.get("text")
            if isinstance(final, str) and final != part.text:
                self.emit(
                    "part-done-mismatch",
                    f"reasoning_summary_part.done text: {_first_difference(part.text, final)}",
                    ev,
                )
            part.done_part = part_obj

    # -- arguments --------------------------------------------------------------------------------

    def _on_arg_delta(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        if node.arguments_done is not None:
            self.emit("part-order", f"{ev.type} after the arguments' .done", ev)
        delta = payload.get("delta")
        if isinstance(delta, str):
            node.arguments.append(delta)
            node.argument_deltas += 1

    def _on_arg_done(self, ev: Event, payload: dict[str, Any]) -> None:
        node = self._resolve(ev, payload)
        if node is None:
            return
        value = payload.get(_ARG_DONES[ev.type or ""])
        if not isinstance(value, str):
            return
        if node.argument_deltas and value != node.arguments.value:
            self.emit(
                "arguments-done-mismatch",
                f"{ev.type}: {_first_difference(node.arguments.value, value)}",
                ev,
            )
        node.arguments_done = value

    # =========================================================================================
    # time
    # =========================================================================================

    def _stalled_after_created(self) -> bool:
        return (
            self.timing.t_created is not None
            and not self.tree.items
            and self._terminal_index is None
        )

    def _check_stall_gap(self, ev: Event, gap: float | None) -> None:
        """A real event closes a progress gap: was it a stall?"""
        if gap is None or gap <= self.options.stall_warn:
            return
        if self._stall_reported_at is not None:
            self._stall_reported_at = None
            return  # the silence was already reported live by tick()
        prev = (
            self.timing.longest.after
            if self.timing.longest and self.timing.longest.event_index == ev.index
            else None
        )
        self._emit_stall(gap, ev, after=prev)

    def _emit_stall(
        self,
        gap: float,
        ev: Event | None,
        *,
        after: str | None,
        t: float | None = None,
        ongoing: bool = False,
    ) -> None:
        tail = " (still silent)" if ongoing else ""
        if self._stalled_after_created():
            note = (
                " with only comments/keep-alives arriving, which do not reset Codex's idle timer"
                if self.timing.t_last_byte is not None
                and self.timing.t_last_byte > (self.timing.t_last_progress or 0)
                else ""
            )
            self.emit(
                "stall-after-created",
                f"{gap:.1f} s of nothing after response.created{note}{tail}",
                ev,
                t=t,
            )
        else:
            what = after or "the request"
            self.emit("stall", f"{gap:.1f} s without an event after {what}{tail}", ev, t=t)

    def _check_silence(self, now: float) -> None:
        """The silence from the last real event up to ``now`` (live tick or the end)."""
        if self._terminal_index is not None or self._stall_reported_at is not None:
            return
        silence = self.timing.since_last_progress(now)
        if silence > self.options.stall_warn:
            self._stall_reported_at = now
            self._emit_stall(
                silence,
                None,
                after=self.timing.last_progress_type,
                t=now,
                ongoing=not self.finished,
            )

    # =========================================================================================
    # end of stream
    # =========================================================================================

    def _end_rules(self, end_reason: str) -> None:
        if self._terminal_index is None:
            if not self._error_seen or self.profile == "codex":
                how = {
                    "eof": "the stream ended",
                    "transport-error": "the connection broke",
                    "max-wait": "the stream went silent (read stopped at --max-wait)",
                    "interrupted": "the read was interrupted",
                }.get(end_reason, "the stream ended")
                self.emit(
                    "terminal-missing",
                    f"{how} without response.completed/failed/incomplete",
                    t=self.timing.t_end,
                )
            for node in self.tree.items:
                if not node.closed:
                    self.emit(
                        "item-not-closed",
                        f"{node.type} item {node.position} was never closed",
                        t=self.timing.t_end,
                        severity="info" if self._error_seen else None,
                    )
        if self._pending_error is not None and self.profile == "open-responses":
            self.emit(
                "error-not-followed-by-failed",
                "the stream ended after the error event without response.failed",
                self._pending_error,
            )
        if (
            self.profile == "open-responses"
            and self.options.framed
            and self.events_seen
            and self._done_index is None
        ):
            self.emit(
                "done-sentinel", "the stream ended without `data: [DONE]`", t=self.timing.t_end
            )
        if self.options.framed and self._no_event_line:
            self.emit(
                "event-line-missing",
                f"{self._no_event_line} data frame(s) without an `event:` line",
                t=self.timing.t_end,
            )
        for node in self.tree.items:
            if (
                node.type in ("function_call", "mcp_call")
                and node.position not in self._args_checked
            ):
                args = node.streamed_arguments
                if args is not None:
                    self._check_arguments(None, node, {"arguments": args, "name": node.name})  # type: ignore[arg-type]


def _normalise(value: Any) -> Any:
    """Drop keys that legitimately differ between copies of an item (reference T7)."""
    if isinstance(value, dict):
        return {
            k: _normalise(v)
            for k, v in value.items()
            if k not in ("encrypted_content", "obfuscation")
        }
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _item_difference(expected: dict[str, Any], final: Any) -> str | None:
    if not isinstance(final, dict):
        return f"not an object ({m.json_type(final)})"
    a, b = _normalise(expected), _normalise(final)
    if a == b:
        return None
    keys = sorted(set(a) | set(b))
    for k in keys:
        if a.get(k) != b.get(k):
            return f"`{k}` is {_short(b.get(k), 50)} in the final output, {_short(a.get(k), 50)} streamed"
    return "differs"
