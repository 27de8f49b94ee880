"""Benchmark ``ssescope probe`` against ``ssescope engine --mock``, both as users run them.

Run::

    /work/venv/bin/python tests/bench/bench_probe.py            # five runs
    /work/venv/bin/python tests/bench/bench_probe.py --runs 1

The engine runs as ``python -m ssescope engine --mock --quiet`` on a free loopback port; each
run is ``python -m ssescope probe URL --model mock --json`` as a fresh process. Reported: the
battery's own time (``summary.seconds``: the cases, sent one at a time) and the wall time of the
whole command (interpreter start-up and imports included), min / median / max, and the exit
status of each run (it must be 0: no thread killer, no failed case). Target: under 10 s. The
script prints a Markdown table. It is not a pytest test (pytest ignores tests/bench).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    port = free_port()
    engine = subprocess.Popen(
        [sys.executable, "-m", "ssescope", "engine", "--mock", "--quiet",
         "--listen", f"127.0.0.1:{port}"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    battery, wall, statuses = [], [], []
    try:
        wait_http(port, engine, "the engine")
        for _ in range(args.runs):
            t0 = time.monotonic()
            out = subprocess.run(
                [sys.executable, "-m", "ssescope", "probe", f"http://127.0.0.1:{port}/v1",
                 "--model", "mock", "--json"],
                cwd=ROOT, capture_output=True, text=True, check=False,
            )  # fmt: skip
            wall.append(time.monotonic() - t0)
            statuses.append(out.returncode)
            battery.append(json.loads(out.stdout)["summary"]["seconds"])
    finally:
        engine.terminate()
        engine.wait(10)
    print(f"ssescope probe vs engine --mock, {args.runs} run(s), load {os.getloadavg()[0]:.1f}\n")
    print("| what | min | median | max |\n|---|---|---|---|")
    for name, values in (("battery (12 cases)", battery), ("whole command, wall", wall)):
        print(
            f"| {name} | {min(values):.2f} s | {statistics.median(values):.2f} s "
            f"| {max(values):.2f} s |"
        )
    print(f"\nexit statuses: {statuses} (target: all 0, every run under 10 s)")
    return 0 if all(s == 0 for s in statuses) and max(wall) < 10 else 1


if __name__ == "__main__":
    sys.exit(main())
