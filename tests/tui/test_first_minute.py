"""What a new user meets in the debugger (issue 12): keys that apply to the mode and its state, a
help screen that fits, toasts that go with their state, `.` one event at a time, files without
arrival times, exports that say where they went, `m` and `u` that say what they show, indexing
progress, and a new session that follows its tail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.strip import Strip

from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.core.run import FIRST_ROWS, FileLoader
from ssescope.health.monitor import HealthConfig
from ssescope.tui import modes, render
from ssescope.tui.app import AppConfig, HelpScreen, SseScopeApp
from ssescope.tui.widgets import DetailPane, EventList, ItemTree, StallBar, UpstreamPane
from tests.health.fake_servers import FakeServer, Route
from tests.scripted_server import Reply, ScriptedServer
from tests.test_live import EVENTS, IDS, frames
from tests.tui.conftest import open_app, wait_for
from tests.tui.test_actions import footer_keys, palette

SIZE = (160, 45)


def done(app: SseScopeApp, count: int = 1) -> bool:
    return (
        len(app.runs) == count
        and app.current_run is not None
        and app.current_run.state in ("done", "failed")
    )


def toasts(app: SseScopeApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


# -- keys that apply -------------------------------------------------------------------------


async def test_session_keys_appear_with_a_second_session_and_m_with_samples() -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True))
    with server.running():
        app = SseScopeApp(
            AppConfig(CheckOptions(), "connect", spec=build_request(server.url), record=None)
        )
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: done(app))
            assert "Next session" not in palette(app) and "Prev session" not in palette(app)
            await pilot.press("right_square_bracket")  # one session: nothing to switch to
            assert app.current == 0
            await pilot.press("r")
            await wait_for(pilot, lambda: done(app, 2))
            assert {"Next session", "Prev session"} <= palette(app)
            await pilot.press("left_square_bracket")
            assert app.current == 0
    plain = open_app("sample_streams/text.sse")  # no server samples in it: m has nothing
    async with plain.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(plain))
        assert "Raw metrics" not in palette(plain)
        assert {"space", "e"} <= footer_keys(plain) and "r" not in footer_keys(plain)


async def test_demo_footer_keeps_its_own_keys_at_80_columns() -> None:
    app = SseScopeApp(AppConfig(CheckOptions(), "demo", demo_delay=0.0))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: done(app), timeout=20)
        keys = [key for key, active in app.screen.active_bindings.items() if active.binding.show]
        assert keys.index("d") < keys.index("f") and "space" not in keys
        footer = app.screen.query_one("Footer")
        shown = " ".join(str(w.render()) for w in footer.query("FooterKey"))
        assert "Pick" in shown and "Resend" in shown
        assert sum(w.size.width for w in footer.query("FooterKey")) <= 80
        await pilot.press("q")


async def test_help_fits_and_says_how_to_scroll_and_close() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        title = str(app.screen.query_one("#help-title").render())
        assert "scroll" in title and "Esc" in title
        body = app.screen.query_one("#help-body")
        assert body.max_scroll_y == 0  # all of it is on screen at 160x45
        assert "play / pause" in app.screen.markdown and "Resend" not in app.screen.markdown
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


# -- toasts ------------------------------------------------------------------------------------


async def test_a_toast_about_a_session_goes_when_another_session_is_shown() -> None:
    server = ScriptedServer(Reply())
    with server.running():
        port = server.port  # nothing listens there once the server stops
    spec = build_request(f"http://127.0.0.1:{port}/v1")
    app = SseScopeApp(AppConfig(CheckOptions(), "connect", spec=spec, record=None))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app) and any("refused" in t for t in toasts(app)))
        await pilot.press("r")
        await wait_for(pilot, lambda: done(app, 2) and any("refused" in t for t in toasts(app)))
        await pilot.pause()
        assert sum("refused" in t for t in toasts(app)) == 1  # the first session's went
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: not any("refused" in t for t in toasts(app)))
        await pilot.press("p", "p")
        await pilot.pause()
        assert sum("re-judging" in t for t in toasts(app)) == 1  # replaced, not stacked


# -- replay, timing ----------------------------------------------------------------------------


async def test_step_feeds_one_event_even_when_one_chunk_holds_them_all() -> None:
    app = open_app("sample_streams/text.sse")  # a raw file: read as one chunk of 15 events
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: app.replay is not None and len(app.replay.run.store) >= 1)
        await pilot.pause()
        replay = app.replay
        assert replay is not None and len(replay.run.store) == 1
        await pilot.press("full_stop")
        await wait_for(pilot, lambda: len(replay.run.store) >= 2)
        await pilot.pause()
        assert len(replay.run.store) == 2
        assert replay.run.store.type_of(1) == "response.in_progress"
        for _ in range(13):
            await pilot.press("full_stop")
        await wait_for(pilot, lambda: replay.finished)
        assert len(replay.run.store) == 15 and not replay.run.store.rule_counts


async def test_a_file_without_arrival_times_says_no_timing() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app))
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.press("home")
        app.screen.redraw(force=True)  # type: ignore[attr-defined]
        await pilot.pause()
        stall = str(app.screen.query_one(StallBar).render())
        assert "no timing" in stall and "TTFT" not in stall
        head = str(app.screen.query_one(DetailPane).query_one("#detail-head").render())
        assert "no timing" in head and "t=0.000" not in head
        assert (
            "0.000" not in events.render_line(0).text and " ms " not in events.render_line(0).text
        )


# -- exports -----------------------------------------------------------------------------------


async def test_export_goes_to_the_user_data_directory_and_says_the_full_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = Path("sample_streams/stall-after-created.capture.jsonl").absolute()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    app = open_app(str(capture))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app))
        await pilot.press("e")
        exports = tmp_path / "data" / "ssescope" / "exports"
        await wait_for(pilot, lambda: exports.is_dir() and len(list(exports.iterdir())) == 2)
        await wait_for(pilot, lambda: any("exported" in n.title for n in app._notifications))
        (note,) = [n for n in app._notifications if n.title == "exported"]
        for path in exports.iterdir():
            assert str(path) in note.message  # the full path, not a bare file name
    assert not list(tmp_path.glob("*.md"))  # nothing in the current directory
    report = next(exports.glob("*.report.md")).read_text()
    assert "after None" not in report
    assert "longest gap 60.0 s after response.in_progress, until the end of the stream" in report


# -- m and u -----------------------------------------------------------------------------------


async def test_m_on_a_live_server_that_answers_404_says_so() -> None:
    metrics = FakeServer({"/health": Route(200, "")})  # /metrics: 404
    stream = ScriptedServer(Reply(chunks=frames(EVENTS[:2]), hold=True))
    with stream.running(), metrics.running():
        config = AppConfig(
            CheckOptions(),
            "connect",
            spec=build_request(stream.url),
            record=None,
            health=HealthConfig(server=metrics.url, interval=0.5),
        )
        app = SseScopeApp(config)

        def answered_404() -> bool:
            run = app.current_run
            sample = run.health.history.latest("server") if run and run.health else None
            return sample is not None and sample.metrics.status == 404

        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, answered_404)
            await pilot.press("m")
            await wait_for(pilot, lambda: any("/metrics" in t for t in toasts(app)))
            (said,) = [t for t in toasts(app) if "/metrics" in t]
            assert "404" in said and "capture" not in said
            await pilot.press("q")


def test_upstream_chunks_say_what_they_add() -> None:
    chunk = {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {"content": "Hi\n"}, "finish_reason": None}],
    }
    assert render.chat_line("data: " + json.dumps(chunk)) == "text Hi\\n"
    call = {"index": 0, "id": "call_1", "function": {"name": "ls", "arguments": '{"a"'}}
    chunk["choices"] = [{"index": 0, "delta": {"tool_calls": [call]}, "finish_reason": "stop"}]
    assert (
        render.chat_line("data: " + json.dumps(chunk))
        == 'tool[0] call_1 ls() args {"a"  finish stop'
    )
    assert render.chat_line("data: [DONE]") == "[DONE]"
    assert render.chat_line(": keepalive") == ": keepalive"


async def test_the_upstream_pane_joins_lines_split_across_reads() -> None:
    app = open_app("sample_streams/text.sse")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app))
        run = app.current_run
        assert run is not None
        line = b'data: {"choices": [{"index": 0, "delta": {"content": "Paris"}}]}\n\n'
        run.upstream += [(0.25, line[:20]), (0.5, line[20:])]
        assert app.screen.toggle_upstream()  # type: ignore[attr-defined]
        pane = app.screen.query_one(UpstreamPane)
        await wait_for(pilot, lambda: pane.line_count == 1)
        assert pane.lines[0].split() == ["0.500", "text", "Paris"]


# -- indexing and following ---------------------------------------------------------------------


async def test_open_shows_its_indexing_progress_in_the_header(tmp_path: Path) -> None:
    app = open_app(str(long_file(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        header = app.screen.query_one("#header")
        progress = re.compile(r"indexing [\d.]+ of [\d.]+ MB \(\d+%\) · [\d,]+ rows · [\d.]+ s$")
        await wait_for(
            pilot, lambda: progress.search(str(header.render()).split("\n")[0]), timeout=30
        )
        await wait_for(pilot, lambda: done(app), timeout=120)
        app.screen.redraw(force=True)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: not progress.search(str(header.render()).split("\n")[0]))


def long_file(tmp_path: Path, deltas: int = 60_000) -> Path:
    path = tmp_path / "long.sse"
    delta = {"type": "response.output_text.delta", **IDS, "delta": "x", "logprobs": []}
    path.write_bytes(b"".join(frames(EVENTS[:4] + [delta] * deltas + EVENTS[6:])))
    return path


async def test_open_draws_its_first_screen_with_rows_before_indexing_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first paint of the event list already holds the file's first rows (no empty frame
    before them), and the indexer's first slice waits until that paint is done."""
    painted: list[int] = []
    first_slice: list[int] = []
    render_line, step = EventList.render_line, FileLoader.step

    def recording_render(self: EventList, y: int) -> Strip:
        painted.append(self._rows)
        return render_line(self, y)

    def recording_step(self: FileLoader, budget: float = 0.01) -> bool:
        if budget > 0 and not first_slice:
            first_slice.append(len(painted))
        return step(self, budget)

    monkeypatch.setattr(EventList, "render_line", recording_render)
    monkeypatch.setattr(FileLoader, "step", recording_step)
    app = open_app(str(long_file(tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), timeout=120)
    assert painted[0] >= FIRST_ROWS
    assert first_slice and first_slice[0] > 0


async def test_indexing_waits_for_the_first_screen_only_so_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A screen that never says it has drawn does not stop the indexing (SHOWN_WAIT)."""
    monkeypatch.setattr(modes, "SHOWN_WAIT", 0.0)
    monkeypatch.setattr(modes.FileMode, "shown", lambda self: None)
    app = open_app(str(long_file(tmp_path, 2_000)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: done(app), timeout=60)
        assert app.runs[0].state == "done" and len(app.runs[0].store) > 2_000


@pytest.mark.parametrize("size", [SIZE, (80, 24)], ids=["160x45", "80x24"])
async def test_a_new_session_follows_its_tail_after_an_item_was_selected(
    size: tuple[int, int],
) -> None:
    """The server sends the whole answer in one write, so the rows arrive in one batch: the
    list must still end on its last row, in view."""
    delta = {"type": "response.output_text.delta", **IDS, "delta": "x", "logprobs": []}
    server = ScriptedServer(
        Reply(chunks=[b"".join(frames(EVENTS[:4] + [delta] * 80 + EVENTS[6:]))])
    )
    with server.running():
        spec = build_request(server.url)
        app = SseScopeApp(AppConfig(CheckOptions(), "connect", spec=spec, record=None, grace=0))
        async with app.run_test(size=size) as pilot:
            await wait_for(pilot, lambda: done(app), timeout=20)
            tree = app.screen.query_one(ItemTree)
            await wait_for(pilot, lambda: len(tree.root.children) == 1)
            tree.focus()
            await pilot.press("down", "enter")  # the message item: its events, from the first
            events = app.screen.query_one(EventList)
            await wait_for(pilot, lambda: bool(events.highlight) and not events.following)
            await pilot.press("r")
            await wait_for(pilot, lambda: done(app, 2), timeout=20)
            rows = len(app.runs[1].store)
            await wait_for(pilot, lambda: events.cursor == rows - 1)
            await pilot.pause()
            assert events.following and not events.highlight
            assert events.scroll_offset.y + events.size.height == rows  # the last row in view
