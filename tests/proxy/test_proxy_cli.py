"""``ssescope proxy`` as users run it: a real process, SIGINT to stop, one line per exchange (the
``slow`` end-to-end tests); argument errors in-process."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import sys
from pathlib import Path

import pytest

from ssescope.cli import build_parser
from ssescope.cli import main as cli_main
from ssescope.proxy.command import build_config
from tests.proxy.helpers import Request, Upstream, fetch, response_events

ROOT = Path(__file__).resolve().parents[2]
BODY = {"model": "m", "input": "hi", "stream": True}
URL = re.compile(r"(http://127\.0\.0\.1:\d+/v1)")


async def _good(request: Request) -> None:
    if request.method == "GET":
        await request.reply(200, b'{"status": "ok"}')
        return
    await request.start()
    for frame in response_events("hello"):
        await request.send(frame)
    await request.end()


async def _truncated(request: Request) -> None:
    await request.start()
    for frame in response_events("cut short")[:-1]:  # no response.completed
        await request.send(frame)
    await request.end()


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, str, str]:
    """Start ``ssescope proxy``; returns the process, its base URL and what it said on stderr
    up to its banner."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ssescope", "proxy", "--listen", "127.0.0.1:0", *args,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = b""
    async with asyncio.timeout(30):
        while not (match := URL.search(seen.decode())):
            line = await proc.stderr.readline()
            if not line:
                raise AssertionError(f"the proxy exited: {seen.decode()}")
            seen += line
    return proc, match.group(1), seen.decode()


async def _stop(
    proc: asyncio.subprocess.Process, how: signal.Signals = signal.SIGINT
) -> tuple[str, str]:
    proc.send_signal(how)
    async with asyncio.timeout(30):
        out, err = await proc.communicate()
    return out.decode(), err.decode()


@pytest.mark.slow
async def test_headless_prints_one_line_per_exchange(tmp_path: Path) -> None:
    async with Upstream(_good) as upstream:
        proc, url, _ = await _start(
            "--upstream", upstream.url, "--headless", "--record-dir", str(tmp_path)
        )
        assert proc.stdout is not None
        try:
            got = await fetch("POST", f"{url}/responses", json_body=BODY)
            async with asyncio.timeout(10):
                line = (await proc.stdout.readline()).decode()
            await fetch("GET", url.removesuffix("/v1") + "/health")
            async with asyncio.timeout(10):
                second = (await proc.stdout.readline()).decode()
        finally:
            out, err = await _stop(proc)
    assert got.status == 200
    assert re.match(r"#1 \d\d:\d\d:\d\d POST /v1/responses 200 \d+\.\d{3}s 8 events \| clean", line)
    assert line.rstrip().endswith("| codex: ok: hello | clients: 6 ok")
    assert re.match(r"#2 \S+ GET /health 200 \d+\.\d{3}s 16 B$", second.rstrip()), second
    assert out == ""
    assert proc.returncode == 0
    assert "2 exchange(s), 1 stream(s) judged, 0 with errors" in err
    assert len(list(tmp_path.glob("*.jsonl"))) == 2


@pytest.mark.slow
async def test_headless_json_and_exit_status_1_on_error_findings(tmp_path: Path) -> None:
    async with Upstream(_truncated) as upstream:
        proc, url, _ = await _start(
            "--upstream", upstream.url, "--headless", "--json", "--no-record", "--profile", "codex"
        )
        assert proc.stdout is not None
        try:
            await fetch("POST", f"{url}/responses", json_body=BODY)
            async with asyncio.timeout(10):
                line = await proc.stdout.readline()
        finally:
            _out, err = await _stop(proc, signal.SIGTERM)  # as `kill` in a CI script
    doc = json.loads(line)
    assert doc["id"] == 1 and doc["judged"] and doc["status"] == 200 and doc["record"] is None
    assert doc["codex"]["outcome"] == "error"
    assert doc["codex"]["message"].endswith("stream closed before response.completed")
    assert doc["findings"]["errors"] >= 1 and "terminal-missing" in doc["rules"]
    assert proc.returncode == 1
    assert "1 with errors" in err


def test_bad_arguments_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["proxy", "--upstream", "ftp://x/v1", "--headless"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err
    assert cli_main(["proxy", "--upstream", "http://x/v1", "--json"]) == 2
    assert "--json needs --headless" in capsys.readouterr().err
    assert cli_main(["proxy", "--upstream", "http://x/v1", "--listen", "nope:port"]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err


def test_a_taken_port_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        status = cli_main(
            ["proxy", "--upstream", "http://127.0.0.1:9/v1", "--listen", f"127.0.0.1:{port}",
             "--headless", "--no-record"]
        )  # fmt: skip
    assert status == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_captures_default_to_a_new_directory_in_the_user_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    args = build_parser().parse_args(["proxy", "--upstream", "http://h:1/v1", "--headless"])
    config = build_config(args)
    assert config.record_dir is not None
    record = Path(config.record_dir)
    assert record.parent == tmp_path / "ssescope" / "captures"
    assert record.name.startswith("proxy-")
    assert config.redact and not config.translate and config.headless
