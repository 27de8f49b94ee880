"""Running ``ssescope`` the way its tests need: ``main([...])`` in-process (fast, the default),
or a real process for the few end-to-end tests that are about being a process (marked ``slow``)."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

from ssescope.cli import main

__all__ = ["CliResult", "console_script", "run_cli", "run_process"]


@dataclass(frozen=True)
class CliResult:
    """What a run of the command line left: the same three fields as a finished subprocess, so a
    test reads the same whether the command ran in-process or not."""

    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str) -> CliResult:
    """``ssescope ARGS`` in this process, its output captured (environment variables are the
    test's: set them with ``monkeypatch.setenv``)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(list(args))
    return CliResult(status, out.getvalue(), err.getvalue())


def console_script() -> list[str]:
    """The installed ``ssescope`` entry point, or ``python -m ssescope`` where none is installed."""
    script = Path(sys.executable).with_name("ssescope")
    return [str(script)] if script.exists() else [sys.executable, "-m", "ssescope"]


def run_process(
    *args: str,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``ssescope ARGS`` as a real process (``python -m ssescope`` unless ``command`` is given)."""
    argv = [*(command or [sys.executable, "-m", "ssescope"]), *args]
    return subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
