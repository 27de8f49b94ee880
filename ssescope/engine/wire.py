"""Bytes on the wire: Responses events out as SSE, chat payloads in from SSE or JSON lines.

Kept apart from the translator so that the translator deals only in dicts, and apart from the
app so that tests and the offline ``ssescope engine --translate`` produce the very bytes the
server sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..core.sse import SSEFramer

DONE_FRAME = b"data: [DONE]\n\n"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_event(event: dict[str, Any], *, event_line: bool = True) -> bytes:
    """One SSE frame: ``event: <type>`` (equal to the JSON ``type``, as OpenAI sends it) and one
    ``data:`` line. JSON never contains a raw newline, so one data line is always enough."""
    data = _dumps(event)
    frame = (
        f"event: {event.get('type', 'message')}\ndata: {data}\n\n"
        if event_line
        else f"data: {data}\n\n"
    )
    try:
        return frame.encode()
    except UnicodeEncodeError:
        # A lone surrogate from the upstream (json.loads accepts "\ud800"): escape it instead.
        data = json.dumps(event, separators=(",", ":"))
        frame = (
            f"event: {event.get('type', 'message')}\ndata: {data}\n\n"
            if event_line
            else f"data: {data}\n\n"
        )
        return frame.encode()


def encode_events(events: Iterable[dict[str, Any]], *, event_line: bool = True) -> bytes:
    """Several frames in one write (one upstream chunk often yields several events)."""
    return b"".join(encode_event(e, event_line=event_line) for e in events)


def chat_payloads(raw: bytes) -> Iterator[str]:
    """The ``data`` payloads of a recorded chat stream: raw SSE (``curl -N``) or one JSON chunk
    per line (as recorded fixtures are). Used to replay recordings through the translator."""
    head = raw.lstrip()[:6]
    if head.startswith((b"data:", b":", b"event:", b"id:")):
        framer = SSEFramer()
        frames = framer.feed(raw, 0.0) + framer.finish(0.0)
        for frame in frames:
            if frame.data is not None:
                yield frame.data
        return
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if line.strip():
            yield line.strip()
