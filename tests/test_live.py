"""`ssescope check URL` against real HTTP servers on 127.0.0.1 (real sockets, real httpx)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ssescope.core.capture import SourceError, open_source
from ssescope.core.check import check_file, check_url, read_url
from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request, responses_url
from tests.scripted_server import Reply, ScriptedServer
from tests.support.cli import run_cli

RESP = {
    "id": "resp_1",
    "object": "response",
    "created_at": 1,
    "status": "in_progress",
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "metadata": {},
    "model": "m",
    "output": [],
    "temperature": 1,
    "top_p": 1,
    "tools": [],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "usage": None,
}
MSG = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "status": "in_progress",
    "content": [],
}
PART = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
DONE_PART = {**PART, "text": "Hi there"}
DONE_MSG = {**MSG, "status": "completed", "content": [DONE_PART]}
USAGE = {
    "input_tokens": 3,
    "output_tokens": 2,
    "total_tokens": 5,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}
IDS = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
EVENTS = [
    {"type": "response.created", "response": RESP},
    {"type": "response.in_progress", "response": RESP},
    {"type": "response.output_item.added", "output_index": 0, "item": MSG},
    {"type": "response.content_part.added", **IDS, "part": PART},
    {"type": "response.output_text.delta", **IDS, "delta": "Hi", "logprobs": []},
    {"type": "response.output_text.delta", **IDS, "delta": " there", "logprobs": []},
    {"type": "response.output_text.done", **IDS, "text": "Hi there", "logprobs": []},
    {"type": "response.content_part.done", **IDS, "part": DONE_PART},
    {"type": "response.output_item.done", "output_index": 0, "item": DONE_MSG},
    {
        "type": "response.completed",
        "response": {**RESP, "status": "completed", "output": [DONE_MSG], "usage": USAGE},
    },
]


def frames(events: list[dict], start: int = 0) -> list[bytes]:
    return [
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': start + i})}\n\n".encode()
        for i, e in enumerate(events)
    ]


def rules(result: dict) -> set[str]:
    return set(result["finding_counts"])


def test_clean_stream_over_a_real_socket_and_its_capture(tmp_path: Path) -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True))
    record = tmp_path / "live.capture.jsonl"
    with server.running():
        spec = build_request(server.url, model="local", input_text="hello")
        result = check_url(spec, CheckOptions(), record=str(record), grace=0.2)
    assert rules(result) == set()
    assert result["codex"]["outcome"] == "ok" and result["codex"]["message"] == "Hi there"
    assert result["response"]["output"][0]["content"][0]["text"] == "Hi there"
    assert result["end"]["reason"] == "eof"
    request = server.requests[0]
    assert b"POST /v1/responses" in request and b"text/event-stream" in request
    assert json.loads(request.split(b"\r\n\r\n", 1)[1]) == {
        "model": "local",
        "input": "hello",
        "stream": True,
    }
    # the capture replays to the same judgement, bytes and all
    src = open_source(record)
    assert src.format == "capture" and src.response["status"] == 200
    replay = check_file(str(record), CheckOptions())[0]
    assert replay["finding_counts"] == result["finding_counts"]
    assert replay["response"] == result["response"]
    text = "".join(json.loads(line).get("text", "") for line in record.read_text().splitlines()[1:])
    assert text.encode() == b"".join(frames(EVENTS))


@pytest.mark.looptime  # the 0.6 s of silence on virtual loop time, the server in the same loop
async def test_stall_after_created_is_found_and_codex_times_out(tmp_path: Path) -> None:
    server = ScriptedServer(Reply(chunks=[*frames(EVENTS[:2]), b": keepalive\n\n"], hold=True))
    async with server:
        spec = build_request(server.url)
        options = CheckOptions(stall_warn=0.2, codex_idle_timeout=0.4)
        result = await read_url(
            spec,
            options,
            max_wait=0.6,
            record=str(tmp_path / "stall.jsonl"),
            clock=asyncio.get_running_loop().time,
        )
    assert result["end"]["reason"] == "max-wait"
    assert "stall-after-created" in rules(result)
    assert "terminal-missing" in rules(result)
    assert result["codex"]["outcome"] == "error"
    assert (
        result["codex"]["message"]
        == "stream disconnected before completion: idle timeout waiting for SSE"
    )
    # the capture keeps what arrived and says how the read ended
    replay = check_file(str(tmp_path / "stall.jsonl"), options)[0]
    assert {"stall-after-created", "terminal-missing"} <= rules(replay)
    assert replay["end"]["reason"] == "max-wait"


def test_http_500_is_a_finding_with_its_body() -> None:
    body = b'{"error": {"message": "model crashed", "type": "server_error"}}'
    server = ScriptedServer(
        Reply(status=500, headers={"Content-Type": "application/json"}, chunks=[body])
    )
    with server.running():
        result = check_url(build_request(server.url), CheckOptions())
    (finding,) = [f for f in result["findings"] if f["rule"] == "http-status"]
    assert (
        finding["severity"] == "error"
        and "HTTP 500" in finding["message"]
        and "model crashed" in finding["message"]
    )
    assert rules(result) == {"http-status"}
    assert result["codex"]["message"].startswith("We’re currently experiencing high demand")


def test_html_on_200_is_not_an_event_stream() -> None:
    server = ScriptedServer(
        Reply(headers={"Content-Type": "text/html"}, chunks=[b"<html><body>Login</body></html>"])
    )
    with server.running():
        result = check_url(build_request(server.url), CheckOptions())
    assert {"content-type", "terminal-missing"} <= rules(result)
    assert result["codex"]["message"].endswith("stream closed before response.completed")


def test_cut_mid_body_is_a_transport_error_and_the_capture_keeps_what_arrived(
    tmp_path: Path,
) -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS[:5]), chunked=True, cut=True))
    record = tmp_path / "cut.jsonl"
    with server.running():
        result = check_url(build_request(server.url), CheckOptions(), record=str(record))
    assert result["end"]["reason"] == "transport-error"
    assert "terminal-missing" in rules(result)
    assert "Transport error" in result["codex"]["message"]
    assert result["events"] == 5
    assert check_file(str(record), CheckOptions())[0]["events"] == 5


def test_connection_refused_is_a_source_error() -> None:
    server = ScriptedServer(Reply())
    with server.running():
        port = server.port
    with pytest.raises(SourceError, match="connection refused"):
        check_url(build_request(f"http://127.0.0.1:{port}/v1"), CheckOptions())


def test_base_url_gets_responses_appended() -> None:
    assert responses_url("http://h:1/v1") == "http://h:1/v1/responses"
    assert responses_url("http://h:1/v1/") == "http://h:1/v1/responses"
    assert responses_url("http://h:1/custom/path") == "http://h:1/custom/path"
    with pytest.raises(SourceError):
        responses_url("ftp://h/x")


def test_cli_against_a_live_server_records_and_redacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True))
    record = tmp_path / "cli.jsonl"
    monkeypatch.setenv("MY_KEY", "sk-secret-123")
    with server.running():
        proc = run_cli(
            "check",
            server.url,
            "--json",
            "--record",
            str(record),
            "--api-key-env",
            "MY_KEY",
            "-H",
            "X-Trace: 1",
            "--grace",
            "0.2",
        )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["events"] == len(EVENTS) and doc["codex"]["outcome"] == "ok"
    assert b"Bearer sk-secret-123" in server.requests[0] and b"X-Trace: 1" in server.requests[0]
    header = json.loads(record.read_text().splitlines()[0])
    assert header["request"]["headers"]["Authorization"] == "Bearer [redacted]"
    assert "sk-secret" not in record.read_text()
