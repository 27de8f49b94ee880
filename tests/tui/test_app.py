"""The debugger driven by real key presses (Textual Pilot), asserting on the app's state."""

from __future__ import annotations

import json
from pathlib import Path

from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.tui.app import TICK_EVERY, AppConfig, HelpScreen, SseScopeApp
from ssescope.tui.widgets import DetailPane, EventList, FindingsPanel, ItemTree, StallBar
from tests.scripted_server import Reply, ScriptedServer
from tests.support.clock import FakeClock
from tests.test_live import EVENTS, frames
from tests.tui.conftest import open_app, wait_for

SIZE = (160, 45)


def run_done(app: SseScopeApp) -> bool:
    return app.current_run is not None and app.current_run.state in ("done", "failed")


async def test_open_a_fault_lists_the_finding_and_enter_jumps_to_it() -> None:
    app = open_app("sample_streams/delta-object.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        store = app.current_run.store  # type: ignore[union-attr]
        bad_row = next(f.event_index for f in store.findings if f.rule == "delta-not-string")
        findings = app.screen.query_one(FindingsPanel)
        await wait_for(pilot, lambda: findings.option_count > 1)
        findings.focus()
        await pilot.press("home", "enter")  # the first finding of the first (error) rule
        events = app.screen.query_one(EventList)
        await wait_for(pilot, lambda: events.cursor == bad_row)
        assert app.focused is events
        detail = str(app.screen.query_one("#detail-findings").render())
        assert "delta-not-string" in detail and "Codex drops this delta silently" in detail


async def test_n_and_shift_n_walk_the_findings() -> None:
    app = open_app("sample_streams/no-sequence-numbers.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.press("home")
        marked = [r for r in range(len(app.current_run.store)) if app.current_run.store.marks[r]]  # type: ignore[union-attr]
        await pilot.press("n")
        await wait_for(pilot, lambda: events.cursor == marked[1 if marked[0] == 0 else 0])
        first = events.cursor
        await pilot.press("n")
        await wait_for(pilot, lambda: events.cursor > first)
        await pilot.press("N")
        await wait_for(pilot, lambda: events.cursor == first)


async def test_selecting_an_item_selects_its_events() -> None:
    app = open_app("sample_streams/parallel-calls.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        tree = app.screen.query_one(ItemTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 2)
        tree.focus()
        second = tree.root.children[1]
        tree.select_node(second)
        await pilot.pause()
        events = app.screen.query_one(EventList)
        store = app.current_run.store  # type: ignore[union-attr]
        expected = {r for r in range(len(store)) if store.item[r] == 1}
        await wait_for(pilot, lambda: events.highlight == expected)
        assert events.cursor == min(expected)


async def test_profile_switch_rejudges_without_rerunning() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        assert app.current_run.store.rule_counts == {}  # type: ignore[union-attr]
        await pilot.press("p")  # openai → open-responses: [DONE] is required there
        await wait_for(
            pilot, lambda: run_done(app) and "done-sentinel" in app.current_run.store.rule_counts
        )  # type: ignore[union-attr]
        assert app.options.profile == "open-responses"


async def test_replay_steps_and_plays_with_the_original_timing() -> None:
    """The replay plays by the app's clock, here the test's: each tick of the app sees one
    ``TICK_EVERY`` of wall time pass, as on a real clock, however loaded the machine is."""
    clock = FakeClock()
    app = SseScopeApp(
        AppConfig(
            CheckOptions(),
            "open",
            path="sample_streams/stall-after-created.capture.jsonl",
            replay=True,
            clock=clock,
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.replay is not None)
        replay = app.replay
        assert replay is not None
        await pilot.press("space")  # pause
        assert replay.playing is False
        rows = len(replay.run.store)
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: len(replay.run.store) == rows + 1)
        await pilot.press("plus", "plus", "plus", "plus", "plus", "plus")
        assert replay.speed == 64
        await pilot.press("space")
        while not replay.finished:
            head = replay.clock
            clock.advance(TICK_EVERY)
            await wait_for(pilot, lambda h=head: replay.clock > h or replay.finished)
        assert replay.finished
        assert "stall-after-created" in replay.run.store.rule_counts


async def test_live_stall_turns_the_timer_amber_and_reports_it() -> None:
    """The session's clock is the test's: the 0.3 s of silence pass when the test says so."""
    server = ScriptedServer(Reply(chunks=[*frames(EVENTS[:2]), b": keepalive\n\n"], hold=True))
    clock = FakeClock()
    with server.running():
        config = AppConfig(
            CheckOptions(stall_warn=0.3, codex_idle_timeout=30),
            "connect",
            spec=build_request(server.url),
            record=None,
            clock=clock,
        )
        app = SseScopeApp(config)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot, lambda: app.current_run is not None and len(app.current_run.store) >= 3
            )
            clock.advance(0.35)  # past --stall-warn, far from Codex's idle timeout
            stall = app.screen.query_one(StallBar)
            await wait_for(pilot, lambda: stall.has_class("-amber"))
            await wait_for(
                pilot, lambda: "stall-after-created" in app.current_run.store.rule_counts
            )  # type: ignore[union-attr]
            assert "Codex gives up in" in str(stall.render())
            assert not stall.has_class("-red")
            run = app.current_run
            await pilot.press("p")  # re-judged in place: the live read keeps feeding the same run
            await wait_for(pilot, lambda: app.options.profile == "open-responses")
            assert app.current_run is run and len(run.store) >= 3  # type: ignore[union-attr]
            await wait_for(pilot, lambda: "stall-after-created" in run.store.rule_counts)  # type: ignore[union-attr]
            await pilot.press("q")


async def test_http_500_is_shown_in_the_ui() -> None:
    body = b'{"error": {"message": "engine crashed"}}'
    server = ScriptedServer(
        Reply(status=500, headers={"Content-Type": "application/json"}, chunks=[body])
    )
    with server.running():
        app = SseScopeApp(
            AppConfig(CheckOptions(), "connect", spec=build_request(server.url), record=None)
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: run_done(app))
            header = app.screen.query_one("#header")
            await wait_for(pilot, lambda: "HTTP 500" in str(header.render()))
            findings = app.screen.query_one(FindingsPanel)

            def texts() -> list[str]:
                return [
                    str(findings.get_option_at_index(i).prompt)
                    for i in range(findings.option_count)
                ]

            await wait_for(pilot, lambda: any("http-status" in t for t in texts()))
            assert any("engine crashed" in t for t in texts())
            codex = app.screen.query_one("#codex")
            await wait_for(pilot, lambda: "high demand" in str(codex.render()))


async def test_refused_connection_is_shown_not_raised(tmp_path: Path) -> None:
    server = ScriptedServer(Reply())
    with server.running():
        port = server.port
    record = tmp_path / "refused.jsonl"
    app = SseScopeApp(
        AppConfig(
            CheckOptions(),
            "connect",
            spec=build_request(f"http://127.0.0.1:{port}/v1"),
            record=str(record),
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        assert app.current_run is not None and app.current_run.state == "failed"
        header = app.screen.query_one("#header")
        await wait_for(pilot, lambda: "connection refused" in str(header.render()))
    assert json.loads(record.read_text().splitlines()[-1])["end"] == "connect-error"


async def test_disconnect_mid_stream_keeps_everything_and_resend_opens_a_new_session(
    tmp_path: Path,
) -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS[:5]), chunked=True, cut=True))
    record = tmp_path / "cut.jsonl"
    with server.running():
        app = SseScopeApp(
            AppConfig(CheckOptions(), "connect", spec=build_request(server.url), record=str(record))
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: run_done(app))
            first = app.current_run
            assert first is not None and len(first.store) == 5
            assert "terminal-missing" in first.store.rule_counts
            codex = app.screen.query_one("#codex")
            await wait_for(pilot, lambda: "Transport error" in str(codex.render()))
            await pilot.press("r")
            await wait_for(pilot, lambda: len(app.runs) == 2 and run_done(app))
            assert app.current == 1 and app.runs[0] is first
            await pilot.press("left_square_bracket")
            assert app.current_run is first
    assert len(server.requests) == 2
    assert (tmp_path / "cut-2.jsonl").exists()
    lines = record.read_text().splitlines()
    assert json.loads(lines[-1])["end"] == "transport-error"


async def test_export_writes_the_response_and_a_report(tmp_path: Path) -> None:
    app = SseScopeApp(
        AppConfig(
            CheckOptions(),
            "open",
            path="sample_streams/call-id-changed.sse",
            export_dir=str(tmp_path),
        )
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        await pilot.press("e")
        await wait_for(pilot, lambda: len(list(tmp_path.iterdir())) == 2)
    response = json.loads(next(tmp_path.glob("*.response.json")).read_text())
    assert response["output"][0]["type"] == "function_call"
    report = next(tmp_path.glob("*.report.md")).read_text()
    assert "item-identity-changed" in report and "Codex CLI 0.171.0 would" in report


async def test_help_screen_and_detail_pane() -> None:
    app = open_app("sample_streams/crlf-comments.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.press("home", "down")
        await pilot.pause()
        raw = str(app.screen.query_one(DetailPane).query_one("#detail-raw").render())
        assert "␍" in raw  # CRLF made visible
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_notifications_are_literal_text() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: run_done(app))
        app.notify("cannot listen: [Errno 98] address in use; stream ends with [DONE]")
        await pilot.pause()
        (note,) = list(app._notifications)
        assert "[Errno 98]" in str(note.message) and note.markup is False
