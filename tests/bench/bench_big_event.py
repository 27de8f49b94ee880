"""Peak memory of one huge event (issue 12: a 200 MB event cost 1.2-1.5 GB of RSS).

A clean stream whose one text delta carries SIZE megabytes, as a raw SSE file and as a capture;
each reader in a fresh process, its own peak RSS (VmHWM) printed: `ssescope check --json` and the
loader `ssescope open` indexes with, and the real app headless with the big row selected. The bytes of the event are the floor: the lower the ratio
of peak to event, the fewer copies are alive at once. Not run by pytest.

    python tests/bench/bench_big_event.py [SIZE_MB]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.test_large_frames import big_stream, write_capture  # noqa: E402

CHILD = r"""
import sys
kind, path = sys.argv[1], sys.argv[2]

def peak_mb():
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

if kind == "check":
    import contextlib, io, os
    from ssescope.cli import main
    with open(os.devnull, "w") as out, contextlib.redirect_stdout(out):
        status = main(["check", path, "--json"])
    assert status in (0, 1), status
elif kind == "open-loader":
    from ssescope.core.checker import CheckOptions
    from ssescope.core.run import load_file
    [run] = load_file(path, CheckOptions())
    assert len(run.store) == 10, len(run.store)
else:  # the real app, headless: the file loads, the big row is selected (its detail drawn)
    import asyncio
    from ssescope.core.checker import CheckOptions
    from ssescope.tui.app import AppConfig, SseScopeApp
    from ssescope.tui.widgets import EventList

    async def pilot_run(pilot):
        app = pilot.app
        while not (app.current_run is not None and app.current_run.state == "done"
                   and not app.workers):
            await pilot.pause(0.05)
        events = app.screen.query_one(EventList)
        events.focus()
        await pilot.press("home", "down", "down", "down", "down")
        await pilot.pause(0.5)
        await pilot.press("q")

    app = SseScopeApp(AppConfig(CheckOptions(), "open", path=path))
    app.run(headless=True, size=(160, 45), auto_pilot=pilot_run)
    assert app.return_code in (None, 0), app.return_code
print(peak_mb())
"""


def write_files(directory: Path, size_mb: int) -> dict[str, Path]:
    chunks = big_stream(size_mb << 20)
    sse = directory / "big.sse"
    sse.write_bytes(b"".join(chunks))
    capture = write_capture(directory / "big.capture.jsonl", chunks)
    return {"raw SSE": sse, "capture": capture}


def peak(kind: str, path: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    with tempfile.TemporaryDirectory() as tmp:
        files = write_files(Path(tmp), size_mb)
        print(f"| file ({size_mb} MB event) | reader | peak RSS MB | peak / event |")
        print("|---|---|---:|---:|")
        for name, path in files.items():
            for kind in ("check", "open-loader", "open"):
                mb = peak(kind, path)
                print(f"| {name} | {kind} | {mb:,.0f} | {mb / size_mb:.1f}x |")


if __name__ == "__main__":
    main()
