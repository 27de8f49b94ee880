"""Sequence numbers: present, strictly increasing, consecutive, starting at 0."""

from __future__ import annotations

from typing import Any

from .. import models as m
from ..catalogue import OFF, E, I, W, define
from ..events import Event
from .base import CheckState, is_int, on, short

define(
    "sequence",
    "sequence-missing",
    (E, E, I),
    "An event has no integer `sequence_number`",
    "Required on every event. SDKs resume with `starting_after` and order events by it; "
    "strict decoders (openai-java with validation, async-openai) reject the event. Codex "
    "does not read it.",
)
define(
    "sequence",
    "sequence-not-increasing",
    (E, E, I),
    "`sequence_number` goes backwards or repeats",
    "Both SDKs rely on strictly increasing numbers to resume (`starting_after`) and to drop "
    "duplicates: a repeat or a step back loses or replays events.",
)
define(
    "sequence",
    "sequence-gap",
    (W, W, I),
    "`sequence_number` skips values",
    "OpenAI numbers every event (keepalives included) consecutively; a gap usually means the "
    "server or a proxy dropped events.",
)
define(
    "sequence",
    "sequence-start",
    (W, W, OFF),
    "A fresh stream does not start at sequence 0",
    "OpenAI starts at 0 (`response.created`). A stream that starts elsewhere looks like a "
    "resumed one to tools that reconcile by sequence number.",
)


def judge_sequence(st: CheckState, ev: Event, payload: dict[str, Any], etype: str) -> None:
    """Every event (keepalives too: they consume sequence numbers)."""
    seq = payload.get("sequence_number")
    if not is_int(seq):
        if seq is None:
            st.emit("sequence-missing", f"{etype} has no sequence_number", ev)
        else:
            st.emit(
                "sequence-missing",
                f"{etype}: sequence_number is {short(seq, 20)} ({m.json_type(seq)}), not an integer",
                ev,
            )
        return
    last = st.last_seq
    if last is None:
        if seq != 0 and etype in ("response.created", "keepalive"):
            st.emit("sequence-start", f"the stream starts at sequence_number {seq}, not 0", ev)
    elif seq <= last:
        st.emit("sequence-not-increasing", f"sequence_number {seq} after {last}", ev)
    elif seq != last + 1:
        st.emit(
            "sequence-gap",
            f"sequence_number jumps from {last} to {seq} ({seq - last - 1} missing)",
            ev,
        )
    if last is None or seq > last:
        st.last_seq = seq


@on("keepalive")
def keepalive(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    """A keepalive event is judged by the envelope rules only (it consumes a sequence number)."""
