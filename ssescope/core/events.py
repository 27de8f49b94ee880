"""Turning SSE frames into typed events: one :class:`Event` per frame (a row in every view)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic_core import from_json

from .models import FieldIssue, event_issues, validate_event
from .sse import Frame, LargeFrame

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


MAX_NESTING = 200
"""How deep a payload may nest: jiter's own limit (serde_json, which Codex parses with, stops at
128). Deeper JSON is not decoded: judging, copying and showing it would recurse past Python's
stack, and no client reads it either."""


def _loads(data: str | bytes) -> Any:
    """jiter (pydantic-core's parser) is about twice as fast as json.loads; json.loads decides
    only when jiter refuses something else (e.g. a lone surrogate escape, which Python's json
    accepts), and its result is held to the same nesting limit."""
    try:
        return from_json(data, cache_strings="keys")  # values would fill its cache: memory
    except ValueError as refused:
        if "recursion limit" in str(refused):
            raise
        try:
            value = json.loads(data)
        except RecursionError:  # nested deeper than Python's parser goes: jiter's reason stands
            raise ValueError(str(refused)) from None
        if not _nests_within(value, MAX_NESTING):
            raise ValueError(f"nested deeper than {MAX_NESTING} levels") from None
        return value


def _nests_within(value: Any, limit: int) -> bool:
    """True when no container in ``value`` sits deeper than ``limit`` (iterative: no stack)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = (
            item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        )
        if children is None:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def decode_frame(frame: Frame) -> Event:
    """Decode one frame: JSON, `type`, and the typed model with its field issues."""
    data: str | bytes | None
    if isinstance(frame, LargeFrame):  # a huge value is parsed from its one copy, its bytes
        data = frame.body
    else:
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
