"""What the benchmark scripts share: a free loopback port, waiting for a child server, and the
package compiled to bytecode before anything is timed."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, proc: subprocess.Popen | None = None, what: str = "the server") -> None:
    """Until ``GET /health`` answers 200 on ``port`` (20 s at most; fails early if ``proc`` died)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited early")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1) as s,
        ):
            s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            if b" 200 " in s.recv(4096):
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def compile_package(root: Path) -> str:
    """Compile ssescope's modules to bytecode (``__pycache__``, ignored by git) before measuring,
    as installing a wheel does: a user's ``ssescope`` starts from ``.pyc`` files. Without this a
    checkout on a machine with ``PYTHONDONTWRITEBYTECODE=1`` (this one) compiles every module on
    every start, and start-up figures measure the compiler. Returns a line for the report."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(root / "ssescope")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    setting = os.environ.get("PYTHONDONTWRITEBYTECODE")
    return "ssescope's modules compiled to bytecode first, as an installed wheel has them" + (
        f" (PYTHONDONTWRITEBYTECODE={setting} here)" if setting else ""
    )


def run_child(script: str, *args: str) -> dict[str, Any]:
    """Run ``script`` with ``args`` in a fresh interpreter (from the checkout's root) and return
    the JSON object its last line of output printed: one measured child of a bench."""
    out = subprocess.run(
        [sys.executable, script, *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
        timeout=1800,  # a child that hangs fails the bench instead of hanging it
    )
    if out.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result
