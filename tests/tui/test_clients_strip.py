"""The client strip beside the Codex line, and ``c``: what each client library does."""

from __future__ import annotations

from textual.widgets import Log, Static

from ssescope.core.clients import CLIENTS
from ssescope.tui.app import SseScopeApp, TextScreen
from tests.tui.conftest import open_app, wait_for


def run_done(app: SseScopeApp) -> bool:
    return app.current_run is not None and app.current_run.state in ("done", "failed")


async def test_the_strip_marks_each_client_and_c_tells_what_it_does() -> None:
    app = open_app("sample_streams/delta-object.sse")
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        line = app.screen.query_one("#codex", Static)
        await wait_for(pilot, lambda: "py✗" in str(line.render()))
        strip = str(line.render())
        # openai-python raises on the object delta, ai-sdk-open-responses loses text to it
        assert "py✗" in strip and "ai-or~" in strip and "node✓" in strip
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, TextScreen))
        log = app.screen.query_one(Log)
        await wait_for(pilot, lambda: log.line_count > 0)
        text = "\n".join(str(line) for line in log.lines)
        assert (
            'openai-python 3.57.0: ERROR\n  TypeError: can only concatenate str (not "dict")'
            in text
        )
        assert all(cid in text for cid in CLIENTS)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TextScreen))


async def test_the_strip_fits_an_80_column_line() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        line = app.screen.query_one("#codex", Static)
        await wait_for(pilot, lambda: "rust✓" in str(line.render()))
        assert len(str(line.render())) <= 80
