"""Turning SSE frames into typed events: one :class:`Event` per frame (a row in every view)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import from_json

from .models import FieldIssue, event_issues, validate_event
from .sse import Frame

if TYPE_CHECKING:
    from pydantic import BaseModel

EventKind = Literal["event", "done", "comment", "invalid", "blank"]


@dataclass(slots=True, eq=False)
class Event:
    """A decoded frame. ``index`` is the frame index, the key every finding points at."""

    index: int
    frame: Frame
    kind: EventKind
    payload: dict[str, Any] | None = None
    type: str | None = None
    issues: tuple[FieldIssue, ...] = ()
    error: str | None = None
    """Why the data could not be decoded (kind "invalid")."""
    gap: float = 0.0
    """Seconds since the previous row arrived."""

    @property
    def model(self) -> BaseModel | None:
        """The typed event (None for unknown types or invalid fields), built on demand."""
        if self.kind != "event" or self.payload is None or self.issues:
            return None
        return validate_event(self.payload)[0]

    @property
    def t(self) -> float:
        return self.frame.t_last

    @property
    def sequence_number(self) -> int | None:
        if self.payload is None:
            return None
        seq = self.payload.get("sequence_number")
        return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _loads(data: str) -> Any:
    """jiter (pydantic-core's parser) is about twice as fast as json.loads; json.loads decides
    only when jiter refuses (e.g. a lone surrogate escape, which Python's json accepts)."""
    try:
        return from_json(data, cache_strings="keys")  # values would fill its cache: memory
    except ValueError as refused:
        try:
            return json.loads(data)
        except RecursionError:  # nested deeper than Python's parser goes: jiter's reason stands
            raise ValueError(str(refused)) from None


def decode_frame(frame: Frame) -> Event:
    """Decode one frame: JSON, `type`, and the typed model with its field issues."""
    data = frame.data
    if data is None:
        return Event(frame.index, frame, "comment" if frame.has_content else "blank")
    if data == "[DONE]":
        return Event(frame.index, frame, "done")
    try:
        payload = _loads(data)
    except ValueError as exc:
        msg = str(exc) if data.strip() else "empty data"
        return Event(frame.index, frame, "invalid", error=f"not JSON: {msg}")
    if not isinstance(payload, dict):
        return Event(
            frame.index, frame, "invalid", error=f"JSON {type(payload).__name__}, not an object"
        )
    etype = payload.get("type")
    if not isinstance(etype, str):
        why = "no `type`" if etype is None else f"`type` is not a string ({etype!r})"
        return Event(frame.index, frame, "invalid", payload=payload, error=why)
    return Event(frame.index, frame, "event", payload, etype, event_issues(payload))
