"""A bug inside the debugger (never bad input, which is a finding or one line): the app ends with
status 1 and one line on stderr, the traceback in a file, as the CLI's ``internal error``.
Textual printed a screenful of traceback with every frame's locals (which can hold keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ssescope.tui import render
from ssescope.tui.crash import crash_line
from ssescope.tui.widgets import EventList
from tests.tui.conftest import open_app, wait_for

SECRET_URL = "https://user:hunter2@example.com/v1?key=sk-live-123"


def _broken(*_args: Any, **_kwargs: Any) -> Any:
    raise RuntimeError(f"row header failed\nfor {SECRET_URL}")


def test_a_bug_ends_the_app_with_one_line_and_a_traceback_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("SSESCOPE_DEBUG", raising=False)
    monkeypatch.setattr(render, "row_header", _broken)
    app = open_app("sample_streams/text.sse")

    async def select_a_row(pilot: Pilot[None]) -> None:
        await wait_for(
            pilot, lambda: app.current_run is not None and len(app.current_run.store) > 3
        )
        app.screen.query_one(EventList).focus()
        await pilot.press("home", "down")  # the detail pane draws the row: the bug
        await wait_for(pilot, lambda: app.return_code is not None)

    app.run(headless=True, size=(100, 30), auto_pilot=select_a_row)
    err = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert app.return_code == 1
    assert len(err) == 1, err
    assert err[0].startswith("ssescope: internal error: RuntimeError: row header failed for ")
    assert "hunter2" not in err[0] and "sk-live-123" not in err[0]
    [log] = (tmp_path / "ssescope" / "crashes").iterdir()
    assert str(log) in err[0]
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "_broken" in text and "hunter2" not in text


def test_an_unwritable_crash_directory_still_gives_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    try:
        raise ValueError("x" * 500)
    except ValueError as exc:
        line = crash_line(exc, blocker / "crashes")
    assert "\n" not in line and "could not be written" in line
    assert line.count("x") < 250  # the message is cut
