"""The debugger at 160x45, 100x30 and 80x24: columns give way in order, event types are
abbreviated from the head so delta and done rows stay apart, the header stays on one line and the
stall line keeps Codex's countdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssescope.core.capture import CaptureWriter
from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.engine.serve import mock_engine
from ssescope.proxy.config import ProxyConfig
from ssescope.tui import render
from ssescope.tui.app import AppConfig, SseScopeApp
from ssescope.tui.proxy_view import ProxyApp
from ssescope.tui.widgets import DetailPane, EventList, StallBar, UpstreamPane
from tests.scripted_server import Reply, ScriptedServer
from tests.support.clock import FakeClock
from tests.test_live import EVENTS, IDS, frames
from tests.tui.conftest import open_app, wait_for

SIZES = [(160, 45), (100, 30), (80, 24)]
WORDS = ["Hello", " there", ", how", " are", " you"]
DELTAS = [
    {"type": "response.output_text.delta", **IDS, "delta": word, "logprobs": []} for word in WORDS
]
STREAM = EVENTS[:4] + DELTAS + EVENTS[6:]


def write_capture(path: Path, events: list[dict] = STREAM) -> Path:  # type: ignore[type-arg]
    """A capture with arrival times, as `connect` records one."""
    writer = CaptureWriter(path, url="http://127.0.0.1:8000/v1/responses")
    writer.write_response(200, {"content-type": "text/event-stream"}, t=0.01)
    t = 0.05
    for frame in frames(events):
        writer.write_chunk(t, frame)
        t += 0.25
    writer.write_end(t, "eof")
    writer.close()
    return path


def test_types_are_abbreviated_from_the_head_and_delta_never_looks_like_done() -> None:
    delta, done = "response.output_text.delta", "response.output_text.done"
    assert render.abbreviate_type(delta, 38) == delta
    assert render.abbreviate_type(delta, 20) == "output_text.delta"
    assert render.abbreviate_type(delta, 11) == "…text.delta"
    args = "response.function_call_arguments.delta"
    assert render.abbreviate_type(args, 16) == "…arguments.delta"
    for width in range(render.TYPE_MIN, 40):
        short_delta, short_done = (render.abbreviate_type(t, width) for t in (delta, done))
        assert len(short_delta) <= width and len(short_done) <= width
        assert short_delta.endswith(".delta") and short_done.endswith(".done")


def test_columns_give_way_least_useful_first() -> None:
    wide = render.row_layout(150, 500, 12.5)
    assert wide.seq and wide.t and wide.gap and wide.type == render.TYPE_FULL
    narrower = [render.row_layout(w, 500, 12.5) for w in range(140, 40, -1)]
    for layout, width in zip(narrower, range(140, 40, -1), strict=True):
        assert width - layout.fixed >= render.SUMMARY_MIN or layout.type == render.TYPE_MIN
        assert layout.gap and layout.index  # the gap and the row number always stay
        assert layout.seq or not layout.t or layout.type >= 29  # seq goes before the time
    dropped_seq = next(
        w for w, lay in zip(range(140, 40, -1), narrower, strict=True) if not lay.seq
    )
    dropped_t = next(w for w, lay in zip(range(140, 40, -1), narrower, strict=True) if not lay.t)
    assert dropped_seq > dropped_t
    untimed = render.row_layout(150, 500, 0.0, timed=False)
    assert not untimed.t and not untimed.gap  # both would read 0 on every row


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_rows_keep_their_type_ending_and_summary_and_the_header_one_line(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = open_app(str(write_capture(tmp_path / "deltas.capture.jsonl")))
    async with app.run_test(size=size) as pilot:
        await wait_for(
            pilot, lambda: app.current_run is not None and app.current_run.state == "done"
        )
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.press("home")
        app.screen.redraw(force=True)  # type: ignore[attr-defined]
        await pilot.pause()
        store = app.current_run.store  # type: ignore[union-attr]
        lines = [events.render_line(y).text for y in range(min(len(store), events.size.height))]
        assert len(lines) >= 5  # a screenful of rows, not two
        for row, line in enumerate(lines):
            assert len(line.rstrip()) <= events.size.width
            etype = store.type_of(row)
            tail = etype.rsplit(".", 1)[-1]
            assert f".{tail} " in line or line.rstrip().endswith(f".{tail}")
            summary = store.summary(row)
            assert summary[:10].strip() in line  # the summary column is still there
        delta_row = next(r for r in range(len(store)) if store.type_of(r).endswith(".delta"))
        assert "Hello" in events.render_line(delta_row).text
        header = app.screen.query_one("#header")
        first_line = str(header.render()).split("\n")[0]
        assert len(first_line.rstrip()) <= size[0] - 2 and "rows" in first_line
        assert header.size.height <= 2


@pytest.mark.parametrize(
    ("size", "events", "ttft_shown"),
    [
        *[(size, 2, True) for size in SIZES],
        # With a first token the clocks are longer: at 80 columns TTFT (it does not tick) goes
        ((80, 24), 5, False),
    ],
    ids=lambda v: f"{v[0]}x{v[1]}" if isinstance(v, tuple) else str(v),
)
async def test_the_stall_line_keeps_codex_countdown(
    size: tuple[int, int], events: int, ttft_shown: bool
) -> None:
    server = ScriptedServer(Reply(chunks=[*frames(EVENTS[:events]), b": keepalive\n\n"], hold=True))
    clock = FakeClock()
    with server.running():
        config = AppConfig(
            CheckOptions(stall_warn=0.3),
            "connect",
            spec=build_request(server.url),
            record=None,
            clock=clock,
        )
        app = SseScopeApp(config)
        async with app.run_test(size=size) as pilot:
            await wait_for(
                pilot,
                lambda: app.current_run is not None and len(app.current_run.store) > events,
            )
            assert app.current_run is not None
            timing = app.current_run.checker.timing
            assert (timing.t_first_content is None) == ttft_shown
            clock.advance(12.0)
            stall = app.screen.query_one(StallBar)
            await wait_for(pilot, lambda: "Codex gives up in 4:4" in str(stall.render()))
            text = str(stall.render())
            assert "\n" not in text and len(text) <= size[0] - 2
            assert ("TTFT" in text) == ttft_shown
            await pilot.press("q")


async def test_the_proxy_header_stays_on_one_line_at_80_columns() -> None:
    config = ProxyConfig(
        upstream="http://127.0.0.1:9/v1", port=0, record_dir=None, options=CheckOptions()
    )
    app = ProxyApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.url is not None)
        header = app.screen.query_one("#proxy-header")
        app.screen.refresh_exchanges()  # type: ignore[attr-defined]
        await pilot.pause()
        assert header.size.height == 1
        assert "0 exchange(s)" in str(header.render())
        await pilot.press("q")


async def test_the_upstream_chunks_take_the_detail_room_on_a_short_terminal() -> None:
    async with mock_engine() as base:
        chat_server = base.replace("/v1", "/mock/v1")
        spec = build_request("http://127.0.0.1:1/v1", model="mock-text", input_text="hi")
        app = SseScopeApp(
            AppConfig(CheckOptions(), "connect", spec=spec, record=None, via_engine=chat_server)
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(
                pilot,
                lambda: app.current_run is not None and app.current_run.state == "done",
                timeout=20,
            )
            await pilot.press("u")
            pane = app.screen.query_one(UpstreamPane)
            await wait_for(pilot, lambda: pane.display and pane.line_count > 3)
            await pilot.pause()
            assert not app.screen.query_one(DetailPane).display
            assert pane.size.height >= 3  # lines to read, beside a screenful of events
            assert app.screen.query_one(EventList).size.height >= 5
            await pilot.press("u")
            await pilot.pause()
            assert app.screen.query_one(DetailPane).display and not pane.display
