"""Stalls: a silence longer than ``--stall-warn`` between real events (comments do not count),
judged when the next event closes it or live, while it lasts (``tick``) and at the end."""

from __future__ import annotations

from ..catalogue import W, define
from ..events import Event
from .base import CheckState

define(
    "timing",
    "stall",
    (W, W, W),
    "A gap between events longer than --stall-warn",
    "Users see a frozen answer; clients with idle timeouts (Codex: 300 s by default) give up and "
    "retry the whole turn.",
)
define(
    "timing",
    "stall-after-created",
    (W, W, W),
    "Nothing but comments/keep-alives after response.created for longer than --stall-warn",
    "The commonest field failure: the server accepted the request and stalled (queued, stuck "
    "engine, long prefill). Comments do not reset Codex's idle timer, so Codex gives up after "
    "its timeout and retries, about 30 minutes in all.",
)


def judge_gap(st: CheckState, ev: Event, gap: float | None) -> None:
    """A real event closes a progress gap: was it a stall?"""
    if gap is None or gap <= st.options.stall_warn:
        return
    if st.stall_reported_at is not None:
        st.stall_reported_at = None
        return  # the silence was already reported live by tick()
    longest = st.timing.longest
    after = longest.after if longest and longest.event_index == ev.index else None
    _emit_stall(st, gap, ev, after=after)


def judge_silence(st: CheckState, now: float) -> None:
    """The silence from the last real event up to ``now`` (live tick or the end)."""
    if st.terminal_index is not None or st.stall_reported_at is not None:
        return
    silence = st.timing.since_last_progress(now)
    if silence > st.options.stall_warn:
        st.stall_reported_at = now
        _emit_stall(
            st,
            silence,
            None,
            after=st.timing.last_progress_type,
            t=now,
            ongoing=not st.finished,
        )


def _stalled_after_created(st: CheckState) -> bool:
    return st.timing.t_created is not None and not st.tree.items and st.terminal_index is None


def _emit_stall(
    st: CheckState,
    gap: float,
    ev: Event | None,
    *,
    after: str | None,
    t: float | None = None,
    ongoing: bool = False,
) -> None:
    tail = " (still silent)" if ongoing else ""
    if _stalled_after_created(st):
        timing = st.timing
        note = (
            " with only comments/keep-alives arriving, which do not reset Codex's idle timer"
            if timing.t_last_byte is not None and timing.t_last_byte > (timing.t_last_progress or 0)
            else ""
        )
        st.emit(
            "stall-after-created",
            f"{gap:.1f} s of nothing after response.created{note}{tail}",
            ev,
            t=t,
        )
    else:
        what = after or "the request"
        st.emit("stall", f"{gap:.1f} s without an event after {what}{tail}", ev, t=t)
