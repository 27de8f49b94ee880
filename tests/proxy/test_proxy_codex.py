"""The real Codex CLI 0.169.0 through the proxy, with ssescope's engine and mock (in-process) as
the upstream: turns succeed, every exchange is recorded and passes ``ssescope check``, and a
broken stream is predicted live exactly as Codex then reports it. Skipped with the reason when
Codex is not installed (see tests/engine/test_engine_codex.py for how it is found)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ssescope.cli import main as cli_main
from ssescope.core.codex import MSG_CLOSED
from ssescope.engine.app import EngineConfig
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve
from tests.engine.test_engine_codex import CODEX, WHY, codex_exec, items
from tests.proxy.helpers import running_proxy

pytestmark = [pytest.mark.skipif(CODEX is None, reason=WHY), pytest.mark.slow]


def _mock() -> EngineConfig:
    return EngineConfig(mock=MockOptions())


async def test_a_text_turn_and_a_tool_round_trip_through_the_proxy(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    async with serve(_mock()) as engine, running_proxy(engine.base_url, tmp_path) as proxy:
        status, events, err = await codex_exec(proxy.url, "Reply with one word.", tmp_path / "a")
        assert status == 0, err
        (message,) = items(events, "agent_message")
        assert (
            message["text"] == "This is the ssescope mock backend. You said: Reply with one word."
        )

        status, events, err = await codex_exec(
            proxy.url, "Run `echo ssescope-roundtrip` and tell me what it printed.", tmp_path / "b"
        )
        assert status == 0, err
        (command,) = items(events, "command_execution")
        assert "ssescope-roundtrip" in command["aggregated_output"]
        (message,) = items(events, "agent_message")
        assert "ssescope-roundtrip" in message["text"]
        exchanges = await proxy.ended(3)

    text, _call, answer = exchanges
    assert [e.path for e in exchanges] == ["/v1/responses"] * 3
    assert all(e.status == 200 and e.end_reason == "eof" for e in exchanges)
    predictions = [e.prediction for e in exchanges]
    assert all(p is not None and p.outcome == "ok" for p in predictions)
    assert predictions[1] is not None and "exec_command" in predictions[1].message
    # the follow-up request carried Codex's tool output back to the server
    assert any(i.get("type") == "function_call_output" for i in answer.request_body["input"])
    assert text.request_headers.get("originator") == "codex_exec"

    captures = sorted(proxy.record_dir.glob("*.jsonl"))
    assert [str(p) for p in captures] == sorted(e.record_path or "" for e in exchanges)
    for capture in captures:
        assert cli_main(["check", str(capture)]) == 0, capture
        assert cli_main(["check", str(capture), "--profile", "codex"]) == 0, capture


async def test_a_broken_stream_is_predicted_as_codex_then_reports_it(tmp_path: Path) -> None:
    """The mock drops response.completed (a fault carried by the model name): the proxy's live
    prediction is the error Codex prints."""
    async with serve(_mock()) as engine, running_proxy(engine.base_url, tmp_path) as proxy:
        status, events, _err = await codex_exec(
            proxy.url, "Reply with one word.", tmp_path, model="mock+missing-completed"
        )
        (exchange,) = await proxy.ended()
    assert status == 1
    failed = [e for e in events if e.get("type") == "turn.failed"]
    assert failed and failed[0]["error"]["message"] == MSG_CLOSED
    prediction = exchange.prediction
    assert prediction is not None and prediction.outcome == "error"
    assert prediction.message == MSG_CLOSED
    assert "terminal-missing" in exchange.rules()
    assert cli_main(["check", exchange.record_path or ""]) == 1


async def test_codex_against_a_chat_only_server_through_translate(tmp_path: Path) -> None:
    """``--translate``: the mock's Chat Completions endpoint is the upstream; Codex completes a
    tool round trip through the bundled engine, and both sides of each exchange are recorded."""
    async with serve(_mock()) as engine:
        chat = engine.base_url.removesuffix("/v1") + "/mock/v1"
        async with running_proxy(chat, tmp_path, translate=True) as proxy:
            status, events, err = await codex_exec(
                proxy.url, "Run `echo translated-trip` and tell me what it printed.", tmp_path
            )
            exchanges = await proxy.ended(2)
    assert status == 0, err
    (message,) = items(events, "agent_message")
    assert "translated-trip" in message["text"]
    for exchange in exchanges:
        assert exchange.upstream is not None and exchange.upstream.status == 200
        assert exchange.upstream.end is not None and exchange.upstream.end[1] == "eof"
        assert exchange.finding_counts["errors"] == 0, exchange.rules()
        assert exchange.upstream.frames and exchange.upstream.frames[-1].data == "[DONE]"
        assert cli_main(["check", exchange.record_path or ""]) == 0
        assert Path(exchange.upstream.record_path or "").is_file()
    assert len(list(proxy.record_dir.glob("*.chat.jsonl"))) == 2
