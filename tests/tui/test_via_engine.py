"""`ssescope connect --via-engine`: the engine in-process in front of a chat server."""

from __future__ import annotations

import pytest

from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.engine.serve import mock_engine
from ssescope.tui.app import AppConfig, SseScopeApp
from ssescope.tui.widgets import EventList, UpstreamPane
from tests.tui.conftest import wait_for


async def test_translated_stream_with_the_raw_upstream_one_key_away() -> None:
    async with mock_engine() as base:
        chat_server = base.replace("/v1", "/mock/v1")  # the mock's Chat Completions endpoint
        spec = build_request("http://127.0.0.1:1/v1", model="mock-tool", input_text="Run `ls`")
        app = SseScopeApp(
            AppConfig(CheckOptions(), "connect", spec=spec, record=None, via_engine=chat_server)
        )
        async with app.run_test(size=(160, 45)) as pilot:
            await wait_for(
                pilot,
                lambda: app.current_run is not None and app.current_run.state == "done",
                timeout=20,
            )
            run = app.current_run
            assert run is not None and run.prediction().outcome == "ok"
            assert not any(f.severity == "error" for f in run.store.findings)
            assert run.upstream and b"chat.completion.chunk" in b"".join(c for _, c in run.upstream)
            await pilot.press("u")  # the chat chunks beside the translated events
            pane = app.screen.query_one(UpstreamPane)
            await wait_for(pilot, lambda: pane.display and pane.line_count > 3)
            shown = "\n".join(pane.lines)  # each chunk's time, then what it adds
            assert "get_weather()" in shown and "finish tool_calls" in shown
            first_time = float(pane.lines[0].split()[0])
            assert first_time == pytest.approx(run.upstream[0][0], abs=1e-3)
            assert app.screen.query_one(EventList).display  # side by side, not instead
            await pilot.press("u")
            assert not pane.display
            await pilot.press("r")  # a second session gets its own upstream chunks
            await wait_for(
                pilot, lambda: len(app.runs) == 2 and app.runs[1].state == "done", timeout=20
            )
            assert app.runs[1].upstream and app.runs[0].upstream is not app.runs[1].upstream
