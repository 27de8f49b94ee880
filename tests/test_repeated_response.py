"""A stream that repeats its response (a proxy that replays it, logs pasted together) is judged in
time linear in its length. Clients stop reading at the first terminal event, so the items are
judged against that one, and an item against its first ``output_item.done``. What follows is
reported as following (``event-after-terminal``, ``item-event-after-done``) and not judged
again. Judging it again repeated every earlier finding at every repeat: 1,500 copies of a
sample took 18 s."""

from __future__ import annotations

import copy
from typing import Any

from ssescope.core.checker import Checker
from tests.test_rules import baseline, judged, message, stream


def findings_of(events: list[Any]) -> tuple[Checker, dict[str, int]]:
    checker, _ = judged(stream(events), "openai")
    return checker, dict(checker.log.counts)


def repeated(copies: int) -> list[Any]:
    return [copy.deepcopy(ev) for _ in range(copies) for ev in baseline()]


def test_the_findings_grow_with_the_repeats_not_with_their_square() -> None:
    _, ten = findings_of(repeated(10))
    _, forty = findings_of(repeated(40))
    # linear: 4x the copies, about 4x the findings (quadratic was about 16x)
    assert sum(forty.values()) <= 4.5 * sum(ten.values())
    assert forty["event-after-terminal"] > ten["event-after-terminal"]  # still said


def test_an_item_left_open_is_reported_at_the_first_terminal_event_only() -> None:
    events = baseline(message)
    done = next(i for i, ev in enumerate(events) if ev["type"] == "response.output_item.done")
    del events[done]
    terminal = events[-1]
    _, counts = findings_of([*events, copy.deepcopy(terminal), copy.deepcopy(terminal)])
    assert counts["item-not-closed"] == 1
    assert counts["event-after-terminal"] == 2


def test_a_second_done_of_an_item_is_reported_and_not_judged_again() -> None:
    events = baseline(message)
    done = next(i for i, ev in enumerate(events) if ev["type"] == "response.output_item.done")
    wrong = copy.deepcopy(events[done])
    wrong["item"]["content"][0]["text"] = "not what was streamed"
    events[done] = wrong
    _, once = findings_of(events)
    _, twice = findings_of([*events[: done + 1], copy.deepcopy(wrong), *events[done + 1 :]])
    assert once["item-done-mismatch"] == twice["item-done-mismatch"] == 1
    assert twice["item-event-after-done"] == 1 and "item-event-after-done" not in once
