"""What a key press costs the debugger once a file is open (not a pytest test).

    python tests/bench/bench_keys.py [EVENTS] [PRESSES] [REPEAT]

Opens a capture of EVENTS text deltas (default 20,000) in the real app, headless at 160x45,
waits until it is indexed, then presses ``down`` PRESSES times (default 200), each press waited
for (Pilot's ``press``: until the app is idle again), and prints, per run of a fresh child:
* the screen updates (Textual's layout and paint) the presses caused, and their processor time;
* the processor time of the whole press loop, per press (the key's handling, the detail pane's
  new contents, the updates, Pilot's own waiting).
Every press moves the cursor one row and shows that row's detail, as holding the key does.
While a file is being indexed, each of these milliseconds is one the indexing waits for
(``bench_tui.py`` reports the screen updates' processor time during indexing).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def child(path: str, presses: int) -> None:
    from bench_tui import count_screen_updates

    from ssescope.core.checker import CheckOptions
    from ssescope.tui.app import AppConfig, SseScopeApp
    from ssescope.tui.widgets import EventList

    updates = count_screen_updates()
    app = SseScopeApp(AppConfig(CheckOptions(), "open", path=path))
    result: dict[str, float] = {}

    async def pilot_run(pilot) -> None:  # type: ignore[no-untyped-def]
        while not app.screen.query(EventList) or (
            app.current_run is None or app.current_run.state != "done" or app.workers
        ):
            await asyncio.sleep(0.01)
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.pause()
        updates[0], updates[1] = 0, 0.0
        start = time.process_time()
        for _ in range(presses):
            await pilot.press("down")
        await pilot.pause()
        result["loop_cpu_ms_per_press"] = (time.process_time() - start) * 1000 / presses
        result["updates_per_press"] = updates[0] / presses
        result["update_cpu_ms_per_press"] = updates[1] * 1000 / presses
        result["cursor"] = events.cursor
        app.exit()

    app.run(headless=True, size=(160, 45), auto_pilot=pilot_run)
    print(json.dumps(result))


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]))
        return 0
    from bench_check import gen_text
    from bench_tui import make_capture
    from benchlib import compile_package, run_child

    events = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    presses = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    compile_package(ROOT)
    with tempfile.TemporaryDirectory() as tmp:
        sse, cap = Path(tmp) / "text.sse", Path(tmp) / "text.capture.jsonl"
        gen_text(sse, events)
        make_capture(sse, cap)
        runs = [run_child(__file__, "--child", str(cap), str(presses)) for _ in range(repeat)]
    print(f"{presses} presses of `down` after {events:,} events are indexed, {repeat} runs")
    print(
        "| run | screen updates a press | their processor time a press | the press loop a press |"
    )
    print("|---|---:|---:|---:|")
    for i, r in enumerate(runs, 1):
        print(
            f"| {i} | {r['updates_per_press']:.2f} | {r['update_cpu_ms_per_press']:.1f} ms "
            f"| {r['loop_cpu_ms_per_press']:.1f} ms |"
        )
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    print(
        f"| median | {med['updates_per_press']:.2f} | {med['update_cpu_ms_per_press']:.1f} ms "
        f"| {med['loop_cpu_ms_per_press']:.1f} ms |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
