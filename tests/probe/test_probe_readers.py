"""The request reaches the checker wherever a reader knows it: ``check URL`` (its ``--body``), a
capture's ``request`` record (``check FILE``, ``open``), and ``connect``'s runs; so
``history-rejected`` and ``completed-at-token-limit`` fire there as in the proxy and the probe."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from ssescope.core.capture import open_source
from ssescope.core.check import check_file, read_url
from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request
from ssescope.core.run import Run, RunInfo
from ssescope.probe.cases import CASES
from tests.probe.servers import answer_frames, llamacpp_error, responses_server
from tests.support.server import FakeServer, Request


def rules(result: dict[str, object]) -> set[str]:
    findings = result["findings"]
    assert isinstance(findings, list)
    return {f["rule"] for f in findings}


async def test_check_url_with_a_replayed_body_reports_history_rejected(tmp_path: Path) -> None:
    body_file = tmp_path / "turn2.json"
    body_file.write_text(json.dumps(CASES["history-reasoning-encrypted"].build("qwen3")))
    handler = responses_server(partial(llamacpp_error, tools=False))
    capture = tmp_path / "turn2.jsonl"
    async with FakeServer(routes={"/v1/responses": handler}, base_path="/v1") as server:
        spec = build_request(server.url, body_file=str(body_file))
        result = await read_url(spec, CheckOptions(), record=str(capture))
    assert {"http-status", "history-rejected"} <= rules(result)
    # the capture keeps the request: checking it again finds the same
    (again,) = check_file(str(capture), CheckOptions())
    assert "history-rejected" in rules(again)


async def test_check_url_with_a_first_turn_body_is_not_history_rejected(tmp_path: Path) -> None:
    async def refuse(request: Request) -> None:
        await request.reply(400, b'{"error": {"message": "model not loaded"}}')

    async with FakeServer(routes={"/v1/responses": refuse}, base_path="/v1") as server:
        result = await read_url(build_request(server.url, model="qwen3"), CheckOptions())
    assert rules(result) == {"http-status"}


def test_a_run_knows_its_request(tmp_path: Path) -> None:
    """connect, open and the proxy judge through a Run: its RunInfo's request reaches the
    checker, also after a profile switch (rejudge)."""
    body = {"model": "m", "input": "hi", "max_output_tokens": 5, "stream": True}
    run = Run(CheckOptions(), RunInfo("live", "live", request={"body": body}))
    run.on_response(200, {"content-type": "text/event-stream"})
    frames = answer_frames(body, length_label="completed")
    for i, frame in enumerate(frames):
        run.feed(frame, 0.01 * (i + 1))
    run.finish(0.5)
    assert {f.rule for f in run.checker.findings} == {"completed-at-token-limit"}
    run.rejudge(CheckOptions(profile="codex"))
    found = {f.rule: f.severity for f in run.checker.findings}
    assert found["completed-at-token-limit"] == "error"


def test_a_capture_without_a_request_is_judged_without_the_request_rules(tmp_path: Path) -> None:
    body = {"model": "m", "input": "hi", "max_output_tokens": 5}
    raw = tmp_path / "cut.sse"
    raw.write_bytes(b"".join(answer_frames(body, length_label="completed")))
    src = open_source(str(raw))
    assert src.request is None
    (result,) = check_file(str(raw), CheckOptions())
    assert "completed-at-token-limit" not in rules(result)
