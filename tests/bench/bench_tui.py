"""Benchmark of the terminal debugger (not a pytest test).

    python tests/bench/bench_tui.py [--sizes 100000,1000000] [--repeat 3] [--live-rate 5000]
                                    [--live-seconds 10] [--no-live]

Measures, each in a fresh child process running the real Textual app headless, each timed child
started from a warm page cache (:func:`warm`):
* open: time from launch to the first screen with rows, the UI's key-press latency while the
  rest is still being indexed in the background, the time from launch to everything indexed and
  judged, and peak memory (a child imports only what the app needs: the harness's own modules
  load after the first screen is timed);
* check: ``ssescope check --json`` on the same capture (wall and processor time of the whole
  command, launch included), and the ratio of open's launch-to-indexed time to it (target
  1.2x); also ``check`` on the raw SSE the capture was made of (capture vs raw SSE reading);
* quit: ``q`` pressed while the capture (and the raw SSE file) is still being indexed, and the
  time until the app has exited;
* live: a local server on 127.0.0.1 sends N events/s for S seconds; the lag between a row's
  arrival and the refresh that puts it on screen (p50/p99/max), and whether every row arrived.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def make_capture(sse: Path, out: Path, step: float = 0.0002) -> int:
    """An ssescope capture of ``sse``: one chunk record per frame, ``step`` seconds apart."""
    data = sse.read_bytes()
    frames = data.split(b"\n\n")
    n = 0
    with open(out, "w", encoding="utf-8") as fh:
        header = {
            "format": "ssescope-capture",
            "version": 1,
            "request": {"method": "POST", "url": "bench"},
            "response": {
                "status": 200,
                "headers": {"content-type": "text/event-stream"},
                "t": 0.001,
            },
        }
        fh.write(json.dumps(header) + "\n")
        for i, frame in enumerate(frames):
            if not frame:
                continue
            fh.write(
                json.dumps({"t": round(0.002 + i * step, 6), "text": frame.decode() + "\n\n"})
                + "\n"
            )
            n += 1
        fh.write(json.dumps({"t": round(0.002 + n * step, 6), "end": "eof"}) + "\n")
    return n


# -- child: open ----------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's own peak RSS. Not ``ru_maxrss``: Linux carries it over from the forked
    parent across exec, and the parent has just held the whole generated stream in memory (that
    made every figure before this one read 344-660 MB)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count_screen_updates() -> list[Any]:
    """From now on, count the screen's updates (Textual's layout and paint) and their processor
    time: ``[count, seconds]``, kept up to date."""
    from textual.screen import Screen

    updates: list[Any] = [0, 0.0]
    update = Screen._on_timer_update

    def timed_update(self: Screen[object]) -> None:
        start = time.process_time()
        try:
            update(self)
        finally:
            updates[0] += 1
            updates[1] += time.process_time() - start

    Screen._on_timer_update = timed_update  # type: ignore[method-assign]
    return updates


def child_open(path: str, launched: float) -> None:
    from textual.strip import Strip

    from ssescope.core.checker import CheckOptions
    from ssescope.core.run import FileLoader
    from ssescope.tui.app import AppConfig, SseScopeApp
    from ssescope.tui.widgets import EventList

    t0 = time.perf_counter()
    app = SseScopeApp(AppConfig(CheckOptions(keep_per_rule=5000), "open", path=path))
    result: dict[str, object] = {}
    judging = [0.0]
    step = FileLoader.step

    def timed_step(self: FileLoader, budget: float = 0.01) -> bool:
        start = time.process_time()
        try:
            return step(self, budget)
        finally:
            judging[0] += time.process_time() - start

    FileLoader.step = timed_step  # type: ignore[method-assign]
    painted: list[float] = []  # when the event list first drew a row (the paint, not the poll)
    render_line = EventList.render_line

    def timed_render_line(self: EventList, y: int) -> Strip:
        if not painted and self._rows > 0:
            painted.append(time.perf_counter() - t0)
        return render_line(self, y)

    EventList.render_line = timed_render_line  # type: ignore[method-assign]
    updates = count_screen_updates()

    async def pilot_run(pilot) -> None:  # type: ignore[no-untyped-def]
        events = app.screen.query_one(EventList) if app.screen.query(EventList) else None
        while events is None or events._rows <= 0:
            await asyncio.sleep(0.005)
            events = app.screen.query_one(EventList) if app.screen.query(EventList) else None
        result["first_screen_s"] = time.time() - launched  # from the command's launch
        result["first_screen_in_app_s"] = time.perf_counter() - t0
        run = app.current_run
        result["rows_at_first_screen"] = len(run.store) if run else 0
        latencies = []
        events.focus()
        for _ in range(20):
            # What a person feels: from the key arriving to the cursor having moved (Pilot's own
            # press() also waits for the whole app to go idle, which a busy indexer delays).
            before = events.cursor
            start = time.perf_counter()
            app.simulate_key("down")
            give_up = start + 5.0  # at the last row the cursor cannot move: never hang here
            while events.cursor == before and time.perf_counter() < give_up:
                await asyncio.sleep(0.001)
            latencies.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)
        import statistics  # the parent's modules load after the first screen is timed

        result["keypress_ms_p50"] = statistics.median(latencies) * 1000
        result["keypress_ms_max"] = max(latencies) * 1000
        result["rows_during_keypresses"] = len(run.store) if run else 0
        while app.workers or run is None or run.state != "done":
            await asyncio.sleep(0.01)
            run = app.current_run
        result["indexed_s"] = time.perf_counter() - t0
        result["indexed_from_launch_s"] = time.time() - launched
        result["judging_cpu_s"] = judging[0]
        result["cpu_at_indexed_s"] = time.process_time()
        result["rows"] = len(run.store)
        result["first_paint_in_app_s"] = painted[0] if painted else None
        result["screen_updates"], result["screen_updates_cpu_s"] = updates
        app.exit()

    app.run(headless=True, size=(160, 45), auto_pilot=pilot_run)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result["peak_rss_mb"] = peak_rss_mb()
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(result))


# -- child: quit ----------------------------------------------------------------------------------


def child_quit(path: str) -> None:
    """Open ``path``, press ``q`` once the first rows are on screen and the indexer is busy."""
    from ssescope.core.checker import CheckOptions
    from ssescope.tui.app import AppConfig, SseScopeApp
    from ssescope.tui.widgets import EventList

    app = SseScopeApp(AppConfig(CheckOptions(keep_per_rule=5000), "open", path=path))
    pressed: list[float] = []
    rows: list[int] = []

    async def pilot_run(pilot) -> None:  # type: ignore[no-untyped-def]
        while not app.screen.query(EventList) or app.screen.query_one(EventList)._rows <= 0:
            await asyncio.sleep(0.005)
        app.screen.query_one(EventList).focus()
        await asyncio.sleep(0.3)
        run = app.current_run
        rows.append(len(run.store) if run else 0)
        pressed.append(time.perf_counter())
        await pilot.press("q")
        # Quitting: the indexer has stopped (its run ended) and no worker is left.
        while run is not None and (run.state != "done" or app.workers):
            await asyncio.sleep(0.001)
        done.append(time.perf_counter())

    done: list[float] = []
    app.run(headless=True, size=(160, 45), auto_pilot=pilot_run)
    run = app.current_run
    print(
        json.dumps(
            {
                "quit_ms": (done[0] - pressed[0]) * 1000,
                "rows_at_quit": rows[0],
                "state": run.state if run else None,
            }
        )
    )


def warm(path: Path) -> None:
    """Read ``path`` and import the app's and the CLI's modules in a throwaway process, so that
    the next timed child starts from a warm page cache whatever ran before it (this VM pages
    out file pages left idle for about a minute: a cold start read Python's own files from disk
    for 0.15 s more, and ``check`` ran after ``open`` had touched other files than it did)."""
    import subprocess

    with open(path, "rb") as fh:
        while fh.read(1 << 20):
            pass
    subprocess.run(
        [sys.executable, "-c", "import ssescope.tui.app, ssescope.cli, ssescope.core.check"],
        cwd=ROOT,
        check=True,
    )


def check_wall(path: Path) -> float:
    """``ssescope check --json`` on ``path``: the wall time of the whole command."""
    import subprocess

    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "ssescope", "check", "--json", str(path)],
        stdout=subprocess.DEVNULL,
        cwd=ROOT,
        check=False,
    )
    return time.perf_counter() - start


def timed_check(path: Path) -> dict[str, float]:
    """``ssescope check --json`` on ``path``: wall and processor time of the whole command."""
    warm(path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = check_wall(path)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def paired_runs(cap: Path, n: int) -> str:
    """``open`` and ``check`` of ``cap`` started together, each on one of the two cores, ``n``
    times: both run through the same spell of this VM's speed (which drifts by 10-30% over tens
    of seconds, more than the difference measured), so their ratio is the overhead itself."""
    import statistics
    import threading

    def check(walls: list[float]) -> None:
        walls.append(check_wall(cap))

    ratios: list[float] = []
    for _ in range(n):
        warm(cap)
        walls: list[float] = []
        beside = threading.Thread(target=check, args=(walls,))
        beside.start()
        opened = child("--child", "open", str(cap), str(time.time()))
        beside.join()
        ratios.append(float(str(opened["indexed_from_launch_s"])) / walls[0])
    return (
        f"side by side, {n} runs: indexed/check median {statistics.median(ratios):.2f}x "
        f"(per run {', '.join(f'{r:.2f}x' for r in ratios)})"
    )


# -- child: live ----------------------------------------------------------------------------------


def child_live(rate: int, seconds: float) -> None:
    from ssescope.core.checker import CheckOptions
    from ssescope.core.live import build_request
    from ssescope.tui.app import AppConfig, SseScopeApp
    from ssescope.tui.widgets import EventList
    from tests.support.server import FakeServer, Request
    from tests.test_live import EVENTS, frames

    total = int(rate * seconds)
    head = frames(EVENTS[:4])
    delta = EVENTS[4]
    body = [json.dumps({**delta, "sequence_number": 4 + i, "delta": "tok "}) for i in range(total)]
    chunks = head + [f"event: response.output_text.delta\ndata: {b}\n\n".encode() for b in body]

    async def paced(request: Request) -> None:
        # A handler of the shared fake server. (This bench used to subclass ScriptedServer and
        # override its ``_handle``; ScriptedServer became a thin face on FakeServer, the override
        # was never called, the default empty reply ended the run "failed" and the wait for
        # "done" below never returned.)
        writer = request.writer
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
        )
        for c in head:
            writer.write(c)
        await writer.drain()
        start = time.monotonic()
        batch = max(1, rate // 200)  # 200 writes a second
        sent = 0
        while sent < total:
            for c in chunks[len(head) + sent : len(head) + sent + batch]:
                writer.write(c)
            sent += batch
            await writer.drain()
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        request.close()

    server = FakeServer(paced, base_path="/v1/responses")
    lags: list[float] = []
    result: dict[str, object] = {}
    with server.running():
        app = SseScopeApp(
            AppConfig(CheckOptions(), "connect", spec=build_request(server.url), record=None)
        )
        original = EventList.sync

        def timed_sync(self: EventList, *, final: bool = False) -> None:
            # (``final`` came with EventList.sync's batching; without it every redraw raised
            # and the app never ended: the other half of this section's hang.)
            before = self._rows
            original(self, final=final)
            run = app.current_run
            if run is not None and self._rows > max(before, 0):
                now = time.monotonic() - run.started_at
                lags.append(now - run.store.t[self._rows - 1])

        EventList.sync = timed_sync  # type: ignore[method-assign]

        async def pilot_run(pilot) -> None:  # type: ignore[no-untyped-def]
            deadline = time.monotonic() + seconds * 3 + 30  # never hang the whole bench
            while app.current_run is None or app.current_run.state not in ("done", "failed"):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            run = app.current_run
            result["rows"] = len(run.store) if run is not None else 0
            result["state"] = run.state if run is not None else None
            app.exit()

        t0 = time.perf_counter()
        app.run(headless=True, size=(160, 45), auto_pilot=pilot_run)
        result["wall_s"] = time.perf_counter() - t0
    lags.sort()
    result["expected_rows"] = total + len(head)
    result["refreshes"] = len(lags)
    import statistics

    result["lag_ms_p50"] = statistics.median(lags) * 1000
    result["lag_ms_p99"] = lags[int(len(lags) * 0.99) - 1] * 1000
    result["lag_ms_max"] = lags[-1] * 1000
    print(json.dumps(result))


# -- parent ---------------------------------------------------------------------------------------


def child(*args: str) -> dict[str, Any]:
    from benchlib import run_child

    return run_child(__file__, *args)


def _medians(
    runs: list[tuple[dict[str, float], dict[str, object], dict[str, float]]],
) -> tuple[dict[str, float], dict[str, object], dict[str, float]]:
    """Per figure, the median over the repeated (check, open, raw check) runs."""
    import statistics

    def median(rows: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            key: statistics.median(row[key] for row in rows)
            if isinstance(rows[0][key], (int, float))
            else rows[0][key]
            for key in rows[0]
        }

    return (
        median([c for c, _, _ in runs]),
        median([o for _, o, _ in runs]),
        median([w for _, _, w in runs]),
    )


def main() -> int:
    if sys.argv[1:2] == ["--child"]:  # a measured child imports only what the app needs
        kind, *rest = sys.argv[2:]
        if kind == "open":
            child_open(rest[0], float(rest[1]))
        elif kind == "quit":
            child_quit(rest[0])
        else:
            child_live(int(rest[0]), float(rest[1]))
        return 0
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--live-rate", type=int, default=5000)
    parser.add_argument("--live-seconds", type=float, default=10.0)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of open, check and raw-SSE check per size, interleaved; medians reported",
    )
    parser.add_argument("--no-live", action="store_true", help="skip the live section")
    parser.add_argument(
        "--paired",
        type=int,
        default=0,
        metavar="N",
        help="also N runs of open and check side by side, one core each (see paired_runs)",
    )
    args = parser.parse_args()

    from bench_check import gen_text
    from benchlib import compile_package

    print(f"# ssescope TUI benchmark ({os.cpu_count()} cores, Python {sys.version.split()[0]})\n")
    print(f"{compile_package(ROOT)}; load average {os.getloadavg()[0]:.1f} at the start.\n")
    print(
        "| capture | rows | first screen | rows then | key press p50 / max while indexing "
        "| all indexed (from launch) | `check` same file | ratio | peak RSS "
        "| quit while indexing (capture / raw SSE) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            sse = Path(tmp) / f"text-{n}.sse"
            gen_text(sse, n)
            cap = Path(tmp) / f"text-{n}.capture.jsonl"
            make_capture(sse, cap)
            runs = []
            for _ in range(max(args.repeat, 1)):  # interleaved: load on the machine hits all
                check_run = timed_check(cap)
                warm(cap)
                open_run = child("--child", "open", str(cap), str(time.time()))
                runs.append((check_run, open_run, timed_check(sse)))
            check, r, raw = _medians(runs)
            quit_cap = child("--child", "quit", str(cap))
            quit_sse = child("--child", "quit", str(sse))
            ratio = r["indexed_from_launch_s"] / check["wall_s"]
            print(
                f"| {n:,} deltas ({cap.stat().st_size / 1e6:.0f} MB) | {r['rows']:,} "
                f"| {r['first_screen_s']:.2f} s | {r['rows_at_first_screen']:,} "
                f"| {r['keypress_ms_p50']:.1f} / {r['keypress_ms_max']:.1f} ms "
                f"| {r['indexed_from_launch_s']:.1f} s | {check['wall_s']:.1f} s | {ratio:.2f}x "
                f"| {r['peak_rss_mb']:.0f} MB "
                f"| {quit_cap['quit_ms']:.0f} / {quit_sse['quit_ms']:.0f} ms |",
                flush=True,
            )
            notes.append(
                f"{n:,}: start-up before the app {r['first_screen_s'] - r['first_screen_in_app_s']:.2f} s, "
                f"from the app's creation to its first painted row {r['first_paint_in_app_s']:.3f} s; "
                f"{r['screen_updates']:.0f} screen updates costing {r['screen_updates_cpu_s']:.2f} s "
                f"of processor time; processor time open {r['cpu_at_indexed_s']:.1f} s (judging "
                f"{r['judging_cpu_s']:.1f} s) vs check {check['cpu_s']:.1f} s "
                f"({r['cpu_at_indexed_s'] / check['cpu_s']:.2f}x); check of the capture "
                f"{check['wall_s']:.1f} s vs the same stream as raw SSE {raw['wall_s']:.1f} s "
                f"({check['wall_s'] / raw['wall_s']:.2f}x; processor time {check['cpu_s']:.1f} vs "
                f"{raw['cpu_s']:.1f} s, {check['cpu_s'] / raw['cpu_s']:.2f}x)"
                + (
                    f"; medians of {len(runs)} runs, indexed/check per run: "
                    + ", ".join(
                        f"{o['indexed_from_launch_s'] / c['wall_s']:.2f}x" for c, o, _ in runs
                    )
                    + ", first screen per run: "
                    + ", ".join(f"{o['first_screen_s']:.2f} s" for _, o, _ in runs)
                    if len(runs) > 1
                    else ""
                )
            )
            if args.paired:
                notes.append(paired_runs(cap, args.paired))
            sse.unlink()
            cap.unlink()
    print("\n" + "\n".join(f"- {note}" for note in notes))
    if args.no_live:
        return 0
    r = child("--child", "live", str(args.live_rate), str(args.live_seconds))
    print(
        f"\nLive: {args.live_rate:,} events/s for {args.live_seconds:g} s → {r['rows']:,} of "
        f"{r['expected_rows']:,} rows shown; arrival → display lag p50 {r['lag_ms_p50']:.0f} ms, "
        f"p99 {r['lag_ms_p99']:.0f} ms, max {r['lag_ms_max']:.0f} ms over {r['refreshes']} refreshes "
        f"(wall {r['wall_s']:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
