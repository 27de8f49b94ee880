"""Snapshots of the main screen on a few samples (update with --snapshot-update)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from tests.tui.conftest import open_app, wait_for

SIZE = (150, 42)


def loaded(app_ref: list) -> Callable[[Pilot], object]:  # type: ignore[type-arg]
    async def run_before(pilot: Pilot) -> None:
        app = pilot.app
        await wait_for(
            pilot, lambda: app.current_run is not None and app.current_run.state == "done"
        )  # type: ignore[attr-defined]
        app.screen.query_one("#events").focus()
        await pilot.press("home")
        await pilot.pause()
        # Redraw everything now instead of waiting for the throttled timers: on a busy machine a
        # fixed pause may not be enough, and the picture must not depend on the load.
        app.screen.redraw(force=True)  # type: ignore[attr-defined]
        await pilot.pause()

    return run_before


@pytest.mark.parametrize(
    "sample",
    ["text.sse", "call-id-changed.sse", "stall-after-created.capture.jsonl"],
)
def test_main_screen(snap_compare: Callable[..., bool], sample: str) -> None:
    app = open_app(f"sample_streams/{sample}")
    assert snap_compare(app, terminal_size=SIZE, run_before=loaded([]))


@pytest.mark.parametrize("size", [(100, 30), (80, 24)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen_on_a_small_terminal(
    snap_compare: Callable[..., bool], size: tuple[int, int]
) -> None:
    """The panels stack under the events, the columns give way, the header stays one line."""
    app = open_app("sample_streams/stall-after-created.capture.jsonl")
    assert snap_compare(app, terminal_size=size, run_before=loaded([]))
