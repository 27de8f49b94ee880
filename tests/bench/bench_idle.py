"""What the debugger costs while it sits open on a finished file (not a pytest test).

    python tests/bench/bench_idle.py [FILE] [SECONDS] [REPEAT]

Opens FILE (default ``sample_streams/text.sse``) in the real app, headless at 160x45, in a fresh
child per run; once the file is loaded and the screen has settled, nobody touches it for SECONDS
(default 10) and the child's processor time over them is printed, as a share of one core.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))


def child(path: str, seconds: float) -> None:
    from ssescope.core.checker import CheckOptions
    from ssescope.tui.app import AppConfig, SseScopeApp

    app = SseScopeApp(AppConfig(CheckOptions(), "open", path=path))
    result: dict[str, float] = {}

    async def pilot_run(pilot) -> None:  # type: ignore[no-untyped-def]
        while app.current_run is None or app.current_run.state != "done" or app.workers:
            await asyncio.sleep(0.01)
        await pilot.pause()
        await asyncio.sleep(1.0)  # the screen settles (the first redraws after loading)
        start, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        result["core_share"] = (time.process_time() - start) / (time.perf_counter() - wall)
        app.exit()

    app.run(headless=True, size=(160, 45), auto_pilot=pilot_run)
    print(json.dumps(result))


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], float(sys.argv[3]))
        return 0
    path = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "sample_streams" / "text.sse")
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    from benchlib import run_child

    shares = [
        run_child(__file__, "--child", path, str(seconds))["core_share"] for _ in range(repeat)
    ]
    runs = ", ".join(f"{s:.1%}" for s in shares)
    print(f"open {Path(path).name}, idle {seconds:g} s after loading: {runs} of a core")
    print(f"median {statistics.median(shares):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
