"""The real Codex CLI 0.169.0 through the engine and the mock backend.

Codex is found through ``$SSESCOPE_CODEX`` (the binary), the install directory ``.ci/run`` uses
(``~/.cache/ssescope/codex-0.169.0``, from ``npm install --prefix <dir> @openai/codex@0.169.0``),
or ``codex`` on PATH if it is 0.169.0. Without it the tests are skipped with the reason.
Configuration follows codex-behaviour.md §8.2: a throw-away CODEX_HOME, a new provider id given
with ``-c``, ``--json``, no retries and a short idle timeout.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ssescope.engine.app import EngineConfig
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve
from tests.engine.helpers import judge, post

VERSION = "0.169.0"
INSTALL_DIR = Path.home() / ".cache" / "ssescope" / f"codex-{VERSION}"


def find_codex() -> tuple[str | None, str]:
    candidates = []
    if os.environ.get("SSESCOPE_CODEX"):
        candidates.append(os.environ["SSESCOPE_CODEX"])
    candidates.append(str(INSTALL_DIR / "node_modules" / ".bin" / "codex"))
    on_path = shutil.which("codex")
    if on_path:
        candidates.append(on_path)
    for path in candidates:
        if not Path(path).exists():
            continue
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if VERSION in out.stdout:
            return path, ""
    return None, (
        f"Codex CLI {VERSION} not installed (set SSESCOPE_CODEX or run "
        f"npm install --prefix {INSTALL_DIR} @openai/codex@{VERSION})"
    )


CODEX, WHY = find_codex()
pytestmark = [pytest.mark.skipif(CODEX is None, reason=WHY), pytest.mark.slow]


async def codex_exec(
    base_url: str, prompt: str, tmp_path: Path, *, model: str = "mock", idle_ms: int = 5000
) -> tuple[int, list[dict[str, Any]], str]:
    """Run ``codex exec --json`` against the engine; returns (exit status, JSON events, stderr)."""
    assert CODEX is not None
    home = tmp_path / "codex-home"
    work = tmp_path / "work"
    home.mkdir(exist_ok=True)
    work.mkdir(exist_ok=True)
    provider = "ssescope_test"
    args = [
        CODEX, "exec", "--json", "--skip-git-repo-check", "--ephemeral", "-s", "read-only",
        "-m", model,
        "-c", f'model_provider="{provider}"',
        "-c", f'model_providers.{provider}.name="{provider}"',
        "-c", f'model_providers.{provider}.base_url="{base_url}"',
        "-c", f'model_providers.{provider}.wire_api="responses"',
        "-c", f"model_providers.{provider}.stream_idle_timeout_ms={idle_ms}",
        "-c", f"model_providers.{provider}.stream_max_retries=0",
        "-c", f"model_providers.{provider}.request_max_retries=0",
        prompt,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CODEX_"))}
    env["CODEX_HOME"] = str(home)
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(120):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    events = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    return proc.returncode or 0, events, err.decode(errors="replace")


def items(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [
        e["item"] for e in events if e.get("type") == "item.completed" and e["item"]["type"] == kind
    ]


def mock_config(**kwargs: Any) -> EngineConfig:
    faults = kwargs.pop("faults", ())
    return EngineConfig(mock=MockOptions(), faults=tuple(faults), **kwargs)


async def test_codex_answers_a_prompt(tmp_path: Path) -> None:
    async with serve(mock_config()) as engine:
        status, events, err = await codex_exec(engine.base_url, "Reply with one word.", tmp_path)
    assert status == 0, err
    (message,) = items(events, "agent_message")
    assert message["text"] == "This is the ssescope mock backend. You said: Reply with one word."
    assert events[-1]["type"] == "turn.completed"
    assert events[-1]["usage"]["output_tokens"] > 0  # usage reached Codex through the engine


async def test_codex_completes_a_tool_round_trip(tmp_path: Path) -> None:
    """function_call → Codex runs exec_command → function_call_output in the next request →
    the final answer quotes the command's output."""
    async with serve(mock_config()) as engine:
        status, events, err = await codex_exec(
            engine.base_url, "Run `echo ssescope-roundtrip` and tell me what it printed.", tmp_path
        )
        requests = engine.engine.served
    assert status == 0, err
    (command,) = items(events, "command_execution")
    assert "echo ssescope-roundtrip" in command["command"]
    assert command["exit_code"] == 0 and "ssescope-roundtrip" in command["aggregated_output"]
    (message,) = items(events, "agent_message")
    assert (
        message["text"].startswith("The tool returned:") and "ssescope-roundtrip" in message["text"]
    )
    assert requests == 2  # the tool call, then the answer to the function_call_output
    assert events[-1]["type"] == "turn.completed"


@pytest.mark.parametrize("fault", ["missing-completed", "error-no-failed"])
async def test_codex_fails_exactly_as_ssescope_predicts(fault: str, tmp_path: Path) -> None:
    """A broken stream on demand: Codex's real error message is the one ssescope predicts."""
    async with serve(mock_config(faults=[fault])) as engine:
        reply = await post(engine.base_url, {"model": "mock", "input": "hi", "stream": True})
        prediction = judge(reply.body, "codex").checker.prediction()
        status, events, _err = await codex_exec(engine.base_url, "Reply with one word.", tmp_path)
    assert prediction.outcome == "error"
    assert status == 1
    failed = [e for e in events if e.get("type") == "turn.failed"]
    assert failed and prediction.message in failed[-1]["error"]["message"]


async def test_codex_idle_timeout_on_a_stall_after_created(tmp_path: Path) -> None:
    async with serve(mock_config(faults=["stall-after-created"])) as engine:
        status, events, _err = await codex_exec(engine.base_url, "hi", tmp_path, idle_ms=1000)
    assert status == 1
    failed = [e for e in events if e.get("type") == "turn.failed"]
    assert failed and "idle timeout waiting for SSE" in failed[-1]["error"]["message"]
