"""Timing: arrival time and gap per row, the landmark times, and the two stall clocks.

Two clocks matter (codex-behaviour.md §9): time since the last *byte* (comments included) and time
since the last *real event*. A server sending ``: keepalive`` comments looks alive on the first and
dead to Codex, whose idle timer only sees complete events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .events import Event

CONTENT_DELTAS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.reasoning_text.delta",
        "response.reasoning_summary_text.delta",
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.mcp_call_arguments.delta",
        "response.code_interpreter_call_code.delta",
    }
)


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


@dataclass
class Gap:
    seconds: float
    event_index: int | None
    """The row that ended the gap (None: the stream ended silent)."""
    after: str | None
    """The type of the event before the gap (None: the request start)."""

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": _r(self.seconds), "event_index": self.event_index, "after": self.after}


class Timing:
    def __init__(self, *, timed: bool = True) -> None:
        """``timed``: False when the source recorded no arrival times (a raw SSE file, JSON
        lines): every row reads t=0, so the time figures are unknown and reported as None."""
        self.timed = timed
        self.t_headers: float | None = None
        self.t_first_byte: float | None = None
        self.t_created: float | None = None
        self.t_first_content: float | None = None
        self.t_last_byte: float | None = None
        self.t_last_row: float = 0.0
        self.t_last_event: float | None = None
        """Last complete event of any kind (what resets Codex's idle timer)."""
        self.t_last_progress: float | None = None
        """Last real event (keepalive events excluded)."""
        self.last_progress_type: str | None = None
        self.t_end: float | None = None
        self.bytes = 0
        self.events = 0
        self.comments = 0
        self.keepalives = 0
        self.longest: Gap | None = None

    def on_headers(self, t: float) -> None:
        self.t_headers = t

    def on_chunk(self, t: float, size: int) -> None:
        if self.t_first_byte is None:
            self.t_first_byte = t
        self.t_last_byte = t
        self.bytes += size

    def on_event(self, ev: Event) -> float | None:
        """Record a row; returns the progress gap it closes (None for comments/keepalives)."""
        t = ev.t
        ev.gap = t - self.t_last_row
        self.t_last_row = t
        if ev.kind in ("comment", "blank"):
            self.comments += len(ev.frame.comments)
            return None
        self.events += 1
        self.t_last_event = t
        if ev.type == "keepalive":
            self.keepalives += 1
            return None
        start = self.t_last_progress if self.t_last_progress is not None else 0.0
        gap = t - start
        if self.longest is None or gap > self.longest.seconds:
            self.longest = Gap(gap, ev.index, self.last_progress_type)
        self.t_last_progress = t
        self.last_progress_type = ev.type or ev.kind
        if ev.type == "response.created" and self.t_created is None:
            self.t_created = t
        elif self.t_first_content is None and ev.type in CONTENT_DELTAS:
            self.t_first_content = t
        return gap

    def finish(self, t_end: float) -> None:
        """The silence from the last real event to the end counts as a gap too."""
        self.t_end = t_end
        start = self.t_last_progress if self.t_last_progress is not None else 0.0
        trailing = t_end - start
        if trailing > 0 and (self.longest is None or trailing > self.longest.seconds):
            self.longest = Gap(trailing, None, self.last_progress_type)

    def since_last_byte(self, now: float) -> float:
        return now - (self.t_last_byte if self.t_last_byte is not None else 0.0)

    def since_last_event(self, now: float) -> float:
        return now - (self.t_last_event if self.t_last_event is not None else 0.0)

    def since_last_progress(self, now: float) -> float:
        return now - (self.t_last_progress if self.t_last_progress is not None else 0.0)

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        if not self.timed:
            return self._counts()
        end = now if now is not None else self.t_end
        out: dict[str, Any] = {
            "time_to_headers": _r(self.t_headers),
            "time_to_first_byte": _r(self.t_first_byte),
            "time_to_created": _r(self.t_created),
            "time_to_first_content": _r(self.t_first_content),
            "duration": _r(end),
            "longest_gap": self.longest.to_dict() if self.longest else None,
            "bytes": self.bytes,
            "events": self.events,
            "comments": self.comments,
            "keepalives": self.keepalives,
        }
        if end is not None:
            out["since_last_byte"] = _r(self.since_last_byte(end))
            out["since_last_event"] = _r(self.since_last_progress(end))
        return out

    def _counts(self) -> dict[str, Any]:
        """An untimed source: the counts, and None for every time figure (never a fake 0)."""
        out: dict[str, Any] = dict.fromkeys(self.KEYS)
        out.update(bytes=self.bytes, events=self.events, comments=self.comments)
        out.update(keepalives=self.keepalives)
        return out

    KEYS = (
        "time_to_headers",
        "time_to_first_byte",
        "time_to_created",
        "time_to_first_content",
        "duration",
        "longest_gap",
        "bytes",
        "events",
        "comments",
        "keepalives",
        "since_last_byte",
        "since_last_event",
    )
    """The keys of :meth:`to_dict`, in its order."""
