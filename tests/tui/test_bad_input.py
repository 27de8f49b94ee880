"""`ssescope open` on hostile files: the debugger shows what it read (with the file's warnings and
the findings), every row and its detail render, replay steps through; and the command's exit
status says whether the app failed (it said 0 after a traceback)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.tui.app import AppConfig, SseScopeApp
from ssescope.tui.widgets import DetailPane, EventList
from tests.scripted_server import Reply, ScriptedServer
from tests.support.cli import run_cli
from tests.test_bad_input import (
    BAD_HEADERS,
    BAD_RECORDS,
    GOOD_RECORDS,
    POISON_FRAMES,
    capture,
    chunk_lines,
    poisoned,
)
from tests.test_live import EVENTS, frames
from tests.tui.conftest import open_app, wait_for

SIZE = (160, 45)


def _with_record(path: Path, line: str) -> Path:
    chunks = chunk_lines(frames(EVENTS))
    return capture(path, lines=[*chunks[:3], line, *chunks[3:], '{"t": 0.05, "end": "eof"}'])


FILES: dict[str, Callable[[Path], Path]] = {
    "status-string": lambda p: capture(
        p / "c.jsonl", header=BAD_HEADERS["status-string"], lines=GOOD_RECORDS
    ),
    "request-array": lambda p: capture(
        p / "c.jsonl", header=BAD_HEADERS["request-array"], lines=GOOD_RECORDS
    ),
    "response-headers-array": lambda p: capture(
        p / "c.jsonl", header=BAD_HEADERS["response-headers-array"], lines=GOOD_RECORDS
    ),
    "t-huge-int": lambda p: capture(
        p / "c.jsonl", header=BAD_HEADERS["t-huge-int"], lines=GOOD_RECORDS
    ),
    "record-base64-number": lambda p: _with_record(p / "c.jsonl", BAD_RECORDS["base64-number"]),
    "record-t-nan": lambda p: _with_record(p / "c.jsonl", BAD_RECORDS["t-nan"]),
    "record-t-huge": lambda p: _with_record(p / "c.jsonl", BAD_RECORDS["t-huge"]),
    "record-lone-surrogate": lambda p: _with_record(
        p / "c.jsonl", '{"t": 0.03, "text": "data: {\\"type\\": \\"x\\ud800\\"}\\n\\n"}'
    ),
    "deep-json": lambda p: _write(p / "d.sse", poisoned(POISON_FRAMES["deep-100000"])),
    "deep-item": lambda p: _write(p / "d.sse", poisoned(POISON_FRAMES["deep-item"])),
    "retry-5000-digits": lambda p: _write(
        p / "r.sse", poisoned(POISON_FRAMES["retry-5000-digits"])
    ),
    "sequence-4000-digits": lambda p: _write(
        p / "s.sse", poisoned(POISON_FRAMES["sequence-4000-digits"])
    ),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def loaded(app: SseScopeApp) -> bool:
    return app.current_run is not None and app.current_run.state == "done" and not app.workers


async def _walk_every_row(app: SseScopeApp, pilot: Pilot[Any]) -> None:
    """Select each row (its detail pane renders raw bytes, JSON and findings), then replay."""
    events = app.screen.query_one(EventList)
    events.focus()
    await pilot.press("home")
    run = app.current_run
    assert run is not None
    for row in range(1, len(run.store)):
        await pilot.press("down")
        await wait_for(pilot, lambda row=row: events.cursor == row)  # type: ignore[misc]
        await pilot.pause()
    assert app.screen.query_one(DetailPane).is_mounted
    await pilot.press(".", ".", ".")  # replay: step event by event
    await wait_for(pilot, lambda: app.mode.replay is not None)
    await pilot.pause()


@pytest.mark.parametrize("case", sorted(FILES))
async def test_open_shows_a_hostile_file_without_failing(tmp_path: Path, case: str) -> None:
    app = open_app(str(FILES[case](tmp_path)))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app) or app._exception is not None)
        assert app._exception is None
        assert len(app.current_run.store) >= len(EVENTS)  # type: ignore[union-attr]
        await _walk_every_row(app, pilot)
        assert app._exception is None
    assert app.return_code in (None, 0)


def _headless_open(monkeypatch: pytest.MonkeyPatch, seen: dict[str, Any]) -> None:
    """`ssescope open` runs the real app headless: it waits for the file to load, notes what
    it shows, and quits with `q` as a user would."""
    real_run = SseScopeApp.run

    async def auto_pilot(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, SseScopeApp)
        await wait_for(pilot, lambda: loaded(app) or app.return_code is not None)
        if app.current_run is not None:
            seen["rows"] = len(app.current_run.store)
            seen["warnings"] = list(app.current_run.info.warnings)
        await pilot.press("q")

    def run(self: SseScopeApp, **kwargs: Any) -> Any:
        return real_run(self, headless=True, size=SIZE, auto_pilot=auto_pilot)

    monkeypatch.setattr(SseScopeApp, "run", run)


def test_the_open_command_exits_0_on_a_hostile_file_it_showed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    _headless_open(monkeypatch, seen)
    path = FILES["status-string"](tmp_path)
    proc = run_cli("open", str(path))
    assert proc.returncode == 0, proc.stderr
    assert seen["rows"] == len(EVENTS)
    assert any("response status" in w for w in seen["warnings"])


def test_the_open_command_exits_non_zero_when_the_app_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, Any] = {}
    _headless_open(monkeypatch, seen)

    def broken(self: object, budget: float = 0.01) -> bool:
        raise RuntimeError("a bug while indexing")

    monkeypatch.setattr("ssescope.core.run.FileLoader.step", broken)
    path = tmp_path / "ok.sse"
    path.write_bytes(b"".join(frames(EVENTS)))
    proc = run_cli("open", str(path))
    assert proc.returncode == 1


def test_open_of_an_unreadable_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 4)
    proc = run_cli("open", str(path))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "binary data" in proc.stderr


async def test_replay_of_a_capture_with_a_nan_time_plays_to_its_end(tmp_path: Path) -> None:
    path = FILES["record-t-nan"](tmp_path)
    app = open_app(str(path))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: loaded(app))
        await pilot.press("space")
        await wait_for(pilot, lambda: app.mode.replay is not None)
        replay = app.mode.replay
        assert replay is not None
        replay.speed = 1000.0
        await wait_for(pilot, lambda: replay.finished)
        assert app._exception is None
        assert replay.end[0] == 0.05 and max(replay.times) < 1.0


# -- connect: a poison event is a finding, quitting mid-stream ends the capture -------------------


@pytest.mark.parametrize("case", ["retry-5000-digits", "deep-item"])
async def test_connect_judges_past_a_poison_event_and_ends_done(tmp_path: Path, case: str) -> None:
    parts = frames(EVENTS)
    server = ScriptedServer(
        Reply(chunks=[*parts[:4], POISON_FRAMES[case], *parts[4:]], chunked=True)
    )
    record = tmp_path / "p.jsonl"
    with server.running():
        config = AppConfig(
            CheckOptions(), "connect", spec=build_request(server.url), record=str(record), grace=0.1
        )
        app = SseScopeApp(config)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot,
                lambda: app.current_run is not None and app.current_run.state in ("done", "failed"),
            )
            run = app.current_run
            assert run is not None
            assert run.state == "done" and run.error is None  # not "failed", no transport error
            assert len(run.store) == len(EVENTS) + 1
            assert run.prediction().outcome == "ok"
    assert json.loads(record.read_text().splitlines()[-1])["end"] in ("eof", "grace")


async def test_quitting_connect_mid_stream_writes_the_interrupted_end(tmp_path: Path) -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS[:3]), chunked=True, hold=True))
    record = tmp_path / "q.jsonl"
    with server.running():
        config = AppConfig(
            CheckOptions(), "connect", spec=build_request(server.url), record=str(record)
        )
        app = SseScopeApp(config)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(
                pilot, lambda: app.current_run is not None and len(app.current_run.store) == 3
            )
            await pilot.press("q")
    last = json.loads(record.read_text().splitlines()[-1])
    assert last["end"] == "interrupted"
    assert len(record.read_text().splitlines()) == 1 + 3 + 1  # header, the chunks, the end


async def test_connect_to_an_unwritable_capture_streams_on_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    record = tmp_path / "file" / "c.jsonl"  # under a file: cannot be created
    server = ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True))
    with server.running():
        config = AppConfig(
            CheckOptions(), "connect", spec=build_request(server.url), record=str(record), grace=0.1
        )
        app = SseScopeApp(config)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: loaded(app))
            run = app.current_run
            assert run is not None and run.state == "done" and len(run.store) == len(EVENTS)
            assert any("cannot write the capture" in w for w in run.info.warnings)
            header = app.screen.query_one("#header")
            await wait_for(pilot, lambda: "cannot write the capture" in str(header.render()))
