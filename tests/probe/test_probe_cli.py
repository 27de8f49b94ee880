"""``ssescope probe`` on the command line: --list, --case, --json's shape, the table and the exit
statuses (0 against the engine, 1 with a thread killer, 2 unreachable or bad arguments)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve as serve_engine
from ssescope.probe.cases import CASES
from tests.probe.servers import llamacpp_error, responses_server
from tests.support.cli import CliResult
from tests.support.net import free_port
from tests.support.server import FakeServer

Cli = Callable[..., CliResult]

CASE_KEYS = {
    "id", "title", "status", "accepted", "thread_killer", "error", "findings", "clients",
    "codex", "cause", "failed",
}  # fmt: skip


@contextmanager
def engine_in_a_thread() -> Iterator[str]:
    """``ssescope engine --mock`` in its own loop (the CLI runs its own with asyncio.run)."""
    ready = threading.Event()
    urls: list[str] = []
    stops: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def main() -> None:
        stop = asyncio.Event()
        stops.append((asyncio.get_running_loop(), stop))
        async with serve_engine(EngineConfig(mock=MockOptions())) as engine:
            urls.append(engine.base_url)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the engine did not start"
    try:
        yield urls[0]
    finally:
        loop, stop = stops[0]
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


@pytest.fixture
def llamacpp() -> Iterator[str]:
    handler = responses_server(partial(llamacpp_error, tools=False))
    with FakeServer(routes={"/v1/responses": handler}, base_path="/v1").running() as server:
        yield server.url


def test_list_prints_every_case(cli: Cli) -> None:
    out = cli("probe", "--list")
    assert out.returncode == 0
    assert all(case_id in out.stdout for case_id in CASES)
    doc = json.loads(cli("probe", "--list", "--json").stdout)
    assert [c["id"] for c in doc] == list(CASES) and all(c["means"] for c in doc)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give the server's URL"),
        (["http://127.0.0.1:1/v1", "--case", "no-such-case"], "unknown case no-such-case"),
        (["ftp://host/v1"], "not an http(s) URL"),
        (["http://127.0.0.1:1/v1", "--api-key-env", "SSESCOPE_TEST_UNSET"], "is not set"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(cli: Cli, args: list[str], message: str) -> None:
    out = cli("probe", *args)
    assert out.returncode == 2
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_an_unreachable_target_exits_2(cli: Cli) -> None:
    out = cli("probe", f"http://127.0.0.1:{free_port()}/v1", "--model", "mock")
    assert out.returncode == 2
    assert "connection refused" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_the_engine_survives_a_codex_thread(cli: Cli) -> None:
    with engine_in_a_thread() as url:
        out = cli("probe", url, "--model", "mock")
    assert out.returncode == 0, out.stdout + out.stderr
    for column in ("case", "HTTP", "answer", "stream", "clients", "thread killer"):
        assert column in out.stdout
    assert "✓ no thread killer, no failed case" in out.stdout
    assert all(case_id in out.stdout for case_id in CASES)


def test_json_has_the_issue_shape_and_a_thread_killer_exits_1(cli: Cli, llamacpp: str) -> None:
    out = cli(
        "probe", llamacpp, "--model", "qwen3", "--json",
        "--case", "history-reasoning-encrypted", "--case", "codex-first-turn",
    )  # fmt: skip
    assert out.returncode == 1
    report = json.loads(out.stdout)
    assert set(report) == {"target", "model", "cases", "summary"}
    assert report["target"] == f"{llamacpp}/responses" and report["model"] == "qwen3"
    first, replayed = report["cases"]  # in the battery's order, not the command line's
    assert first["id"] == "codex-first-turn" and first["accepted"]
    assert set(replayed) == CASE_KEYS
    assert replayed["thread_killer"] is True
    assert replayed["cause"]["culprits"][0]["where"] == "input[4]"
    assert all(set(f) == {"rule", "severity", "message"} for f in replayed["findings"])
    assert report["summary"]["thread_killers"] == ["history-reasoning-encrypted"]


def test_the_table_flags_the_thread_killer(cli: Cli, llamacpp: str) -> None:
    out = cli("probe", llamacpp, "--case", "history-reasoning-encrypted")
    assert out.returncode == 1
    assert "thread killer, caused by input[4] (reasoning)" in out.stdout
    assert "history-reasoning-encrypted: HTTP 400 item['content'] is not an array" in out.stdout
    assert "1 thread killer(s): history-reasoning-encrypted" in out.stdout


def test_a_key_in_the_url_is_redacted_in_the_report(cli: Cli, llamacpp: str) -> None:
    out = cli("probe", f"{llamacpp}/responses?api-key=sekrit", "--case", "developer-role", "--json")
    assert out.returncode == 0, out.stderr
    assert "sekrit" not in out.stdout and "[redacted]" in json.loads(out.stdout)["target"]
