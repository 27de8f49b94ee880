"""A key press repaints what it changed, and a redraw lays the screen out only when a height
may have changed: with a million rows being indexed behind it, every millisecond the UI spends
on a key press is one the indexing waits for (bench_tui.py's screen-update figures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.scrollbar import ScrollBar
from textual.strip import Strip

from ssescope.tui import screens
from ssescope.tui.widgets import EventList, FindingsPanel
from tests.tui.conftest import open_app, wait_for
from tests.tui.test_first_minute import long_file

SIZE = (160, 45)


def indexed(app: Any) -> bool:
    run = app.current_run
    return run is not None and run.state == "done" and not app.workers


async def test_a_cursor_step_repaints_only_the_rows_it_left_and_reached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    painted: list[int] = []
    render_line = EventList.render_line

    def recording(self: EventList, y: int) -> Strip:
        painted.append(self.scroll_offset.y + y)
        return render_line(self, y)

    monkeypatch.setattr(EventList, "render_line", recording)
    app = open_app(str(long_file(tmp_path, deltas=200)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: indexed(app))
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.pause()
        await pilot.press("down")  # 0 -> 1
        await wait_for(pilot, lambda: events.cursor == 1)
        await pilot.pause()
        painted.clear()
        await pilot.press("down")  # 1 -> 2, nothing scrolls
        await wait_for(pilot, lambda: events.cursor == 2)
        await pilot.pause()
        assert set(painted) == {1, 2}


async def test_a_layout_leaves_the_scrollbars_of_lists_that_did_not_change_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refreshed: list[str] = []
    refresh = ScrollBar.refresh

    def recording(self: ScrollBar, *args: Any, **kwargs: Any) -> Any:
        refreshed.append(type(self.parent).__name__)
        return refresh(self, *args, **kwargs)

    app = open_app(str(long_file(tmp_path, deltas=200)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: indexed(app))
        events = app.screen.query_one(EventList)
        findings = app.screen.query_one(FindingsPanel)
        assert events.show_vertical_scrollbar  # 200 rows in 40 lines: both have one to leave
        events.focus()
        await pilot.pause()
        monkeypatch.setattr(ScrollBar, "refresh", recording)
        for row in (1, 2, 3):  # each row's detail has another height: a layout each
            await pilot.press("down")
            await wait_for(pilot, lambda row=row: events.cursor == row)  # type: ignore[misc]
            await pilot.pause()
        assert "EventList" not in refreshed and "FindingsPanel" not in refreshed
        # What they show is still right: the list's scrollbar spans all its rows.
        assert events.vertical_scrollbar.window_virtual_size == len(app.current_run.store)
        assert findings.virtual_size.height >= 1


async def test_the_scrollbar_follows_rows_that_arrive_while_a_file_is_indexed(
    tmp_path: Path,
) -> None:
    app = open_app(str(long_file(tmp_path, deltas=5_000)))
    async with app.run_test(size=SIZE) as pilot:
        events = app.screen.query_one(EventList)
        await wait_for(
            pilot,
            lambda: (
                indexed(app)
                and events.vertical_scrollbar.window_virtual_size == len(app.current_run.store)
            ),
            timeout=30,
        )
        assert len(app.current_run.store) > 5_000


class _Recorder:
    """A Static's update, recorded."""

    def __init__(self) -> None:
        self.layouts: list[bool] = []

    def update(self, text: Text, *, layout: bool = True) -> None:
        self.layouts.append(layout)


def test_a_fitted_line_lays_the_screen_out_only_when_its_line_count_changes() -> None:
    header = _Recorder()
    for text in ("one line", "one line", "another line", "two\nlines", "two\nlines, more"):
        screens._update(header, Text(text), fitted=True)  # type: ignore[arg-type]
    # the first text, (the same again: no update), a new text on one line, a second line,
    # the same two lines' count
    assert header.layouts == [True, False, True, False]


def test_text_that_may_wrap_lays_the_screen_out_on_every_change() -> None:
    diagnosis = _Recorder()
    for text in ("stalled", "stalled", "stalled longer"):
        screens._update(diagnosis, Text(text))  # type: ignore[arg-type]
    assert diagnosis.layouts == [True, True]


async def test_a_finished_run_is_redrawn_four_times_a_second_not_twenty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_app(str(long_file(tmp_path, deltas=50)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: indexed(app))
        screen = app.screen
        assert isinstance(screen, screens.DebuggerScreen)
        drawn: list[bool] = []
        monkeypatch.setattr(screen, "redraw", lambda *, force=False: drawn.append(force))
        screen._on_timer()  # the 20-a-second timer: nothing arrives any more
        assert drawn == []
        screen._on_force_timer()  # the 4-a-second one still draws what changes
        assert drawn == [True]
        run = app.current_run
        assert run is not None
        for state, finished in (("waiting", False), ("streaming", False), ("failed", True)):
            run.state = state  # a live run goes through these
            assert screens._finished(run) is finished
