"""The debugger's loader against ``check``, in one process, without the UI (not a pytest test).

    python tests/bench/bench_loader.py [EVENTS] [REPEAT]

A capture of EVENTS text deltas (default 200,000) is judged REPEAT times (default 5) each way,
interleaved, and the processor time of each is printed (minimum and median):
* ``check``: :func:`ssescope.core.check.check_file`, what ``ssescope check`` does;
* ``loader``: :class:`ssescope.core.run.FileLoader` stepped to the end, what ``ssescope open``
  indexes with (its row store included);
* ``loader without rows``: the same with the row store's event sink taken off, so that the
  difference to ``loader`` is what the rows cost.
``bench_tui.py`` measures the same in the real app, UI and start-up included.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from bench_check import gen_text  # noqa: E402
from bench_tui import make_capture  # noqa: E402

from ssescope.core.check import check_file  # noqa: E402
from ssescope.core.checker import CheckOptions  # noqa: E402
from ssescope.core.run import FileLoader  # noqa: E402


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    repeat = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory() as tmp:
        sse, cap = Path(tmp) / "text.sse", Path(tmp) / "text.capture.jsonl"
        gen_text(sse, events)
        make_capture(sse, cap)
        options = CheckOptions(keep_per_rule=5000)

        def load(rows: bool) -> None:
            loader = FileLoader(str(cap), options)
            if not rows:
                loader.run.session.on_event = None
            while not loader.step(0.03):
                pass

        cases: dict[str, Callable[[], object]] = {
            "check": lambda: check_file(str(cap), options),
            "loader": lambda: load(True),
            "loader without rows": lambda: load(False),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(repeat):
            for name, run in cases.items():
                start = time.process_time()
                run()
                times[name].append(time.process_time() - start)
    base = min(times["check"])
    print(f"{events:,} events, processor time, {repeat} interleaved runs")
    print("| way | min | median | min / check's |")
    print("|---|---:|---:|---:|")
    for name, got in times.items():
        print(
            f"| {name} | {min(got):.3f} s | {statistics.median(got):.3f} s | {min(got) / base:.3f}x |"
        )
    rows = min(times["loader"]) - min(times["loader without rows"])
    print(f"\nthe row store: {rows / events * 1e6:.2f} µs a row (difference of the minima)")


if __name__ == "__main__":
    main()
