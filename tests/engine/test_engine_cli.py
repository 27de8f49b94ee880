"""``ssescope engine``: argument errors in-process, and a real server process end to end (slow)."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ssescope.cli import build_parser, main
from ssescope.engine.command import build_config
from ssescope.engine.faults import FAULTS
from tests.support.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        ([], "give --upstream URL or --mock"),
        (["--upstream", "ftp://x"], "not an http(s) URL"),
        (["--mock", "--fault", "nope"], "unknown fault 'nope'"),
        (["--upstream", "http://127.0.0.1:1/v1", "--fault", "cut"], "chat-side faults need --mock"),
        (["--mock", "--api-key-env", "SSESCOPE_TEST_SURELY_UNSET"], "is not set"),
        (["--mock", "--listen", "127.0.0.1:http"], "expected HOST:PORT"),
        (["--mock", "--heartbeat", "-1"], "must not be negative"),
        (["--mock", "--upstream-header", "no colon"], "expected 'Name: value'"),
        (["--mock", "--upstream", "http://x/v1"], "not allowed with argument"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["engine", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and "\n" not in err and "Traceback" not in err


def test_list_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["engine", "--list-faults"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in FAULTS)
    assert "chat side (need --mock)" in out and "responses side" in out
    assert main(["engine", "--list-faults", "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| fault | side |")


def test_arguments_become_the_engine_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSESCOPE_TEST_KEY", "sk-1")
    args = build_parser().parse_args(
        [
            "engine", "--upstream", "http://h:8000/v1", "--api-key-env", "SSESCOPE_TEST_KEY",
            "-H", "X-A: b", "--done", "--reasoning", "summary", "--fault", "delta-object",
            "--max-tokens-field", "max_completion_tokens", "--model", "served",
        ]
    )  # fmt: skip
    config = build_config(args)
    assert config.api_key == "sk-1" and config.upstream_headers == {"X-A": "b"}
    assert (
        config.done_marker and config.reasoning == "summary" and config.faults == ("delta-object",)
    )
    assert config.chat_url == "http://h:8000/v1/chat/completions"
    assert config.models_url == "http://h:8000/v1/models"
    assert config.max_tokens_field == "max_completion_tokens" and config.model == "served"
    assert config.mock is None


def _read_banner(proc: subprocess.Popen[bytes], timeout: float = 30) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    text = b""
    while b"Codex:" not in text:
        left = deadline - time.monotonic()
        if left <= 0 or proc.poll() is not None:
            raise AssertionError(f"no banner: {text.decode(errors='replace')}")
        ready, _, _ = select.select([proc.stderr], [], [], left)
        if ready:
            text += os.read(proc.stderr.fileno(), 4096)
    return text.decode()


@pytest.mark.slow
def test_the_engine_command_serves_until_interrupted() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ssescope",
            "engine",
            "--mock",
            "--listen",
            "127.0.0.1:0",
            "--mock-delay",
            "0",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    try:
        banner = _read_banner(proc)
        match = re.search(r"Responses API on (http://127\.0\.0\.1:(\d+)/v1)", banner)
        assert match, banner
        base_url, port = match.group(1), int(match.group(2))
        assert f"model_providers.ssescope.base_url='\"{base_url}\"'" in banner
        with httpx.Client(timeout=10) as client:
            assert client.get(f"http://127.0.0.1:{port}/health").json()["mock"] is True
            reply = client.post(
                f"{base_url}/responses", json={"model": "mock", "input": "hi", "stream": True}
            )
        events = [
            json.loads(line[6:]) for line in reply.text.splitlines() if line.startswith("data: ")
        ]
        assert events[-1]["type"] == "response.completed"

        # a second engine on the same port is refused with one line, exit 2
        taken = run_cli("engine", "--mock", "--listen", f"127.0.0.1:{port}")
        assert taken.returncode == 2 and "cannot listen on" in taken.stderr
        assert "Traceback" not in taken.stderr
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the port is released
