"""`ssescope check URL` against real HTTP servers on 127.0.0.1 (real sockets, real httpx)."""

from __future__ import annotations

import asyncio
import errno
import io
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ssescope.core.capture import CaptureWriter, SourceError, open_source
from ssescope.core.check import check_file, check_url, read_url
from ssescope.core.checker import CheckOptions
from ssescope.core.live import build_request, responses_url
from tests.scripted_server import Reply, ScriptedServer
from tests.support.cli import run_cli
from tests.support.server import FakeServer, Request

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


# -- the stall limit counts complete events, as Codex does ----------------------------------------


def trickle(unit: bytes, count: int = 200, every: float = 1.0) -> list[bytes | float]:
    """``unit`` every ``every`` seconds, ``count`` times (then the socket is held open)."""
    out: list[bytes | float] = []
    for _ in range(count):
        out += [every, unit]
    return out


@pytest.mark.looptime
@pytest.mark.parametrize(
    "unit", [b":", b": keepalive\n\n"], ids=["a byte a second", "comments forever"]
)
async def test_max_wait_counts_complete_events_not_bytes(tmp_path: Path, unit: bytes) -> None:
    chunks = [*frames(EVENTS[:2]), *trickle(unit)]
    async with ScriptedServer(Reply(chunks=chunks, chunked=True, hold=True)) as server:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(120):  # a regression fails, never hangs
            result = await read_url(
                build_request(server.url),
                CheckOptions(),
                max_wait=5.0,
                record=str(tmp_path / "t.jsonl"),
                clock=loop.time,
            )
    assert result["end"]["reason"] == "max-wait"
    assert 5.0 <= result["end"]["t"] < 7.0  # bytes kept arriving: they do not reset the limit
    assert result["events"] == 2 and result["timing"]["bytes"] > len(b"".join(frames(EVENTS[:2])))
    assert check_file(str(tmp_path / "t.jsonl"), CheckOptions())[0]["end"]["reason"] == "max-wait"


@pytest.mark.looptime
async def test_events_arriving_keep_the_read_going_past_max_wait() -> None:
    chunks: list[bytes | float] = []
    for frame in frames(EVENTS):
        chunks += [3.0, frame]  # every 3 s, 30 s in all, with max_wait 5 s
    async with ScriptedServer(Reply(chunks=chunks, chunked=True)) as server:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(120):  # a regression fails, never hangs
            result = await read_url(
                build_request(server.url), CheckOptions(), max_wait=5.0, grace=0.1, clock=loop.time
            )
    assert result["end"]["reason"] in ("eof", "grace") and result["events"] == len(EVENTS)


@pytest.mark.looptime
async def test_a_server_that_never_answers_ends_at_max_wait_with_a_capture(tmp_path: Path) -> None:
    async def silent(request: Request) -> None:
        await request.hold()

    async with FakeServer(silent, base_path="/v1") as server:
        loop = asyncio.get_running_loop()
        record = tmp_path / "silent.jsonl"
        async with asyncio.timeout(120):  # a regression fails, never hangs
            result = await read_url(
                build_request(server.url),
                CheckOptions(),
                max_wait=4.0,
                record=str(record),
                clock=loop.time,
            )
    assert result["end"] == {
        "t": pytest.approx(4.0, abs=0.5),
        "reason": "max-wait",
        "error": "no response head within 4 s",
    }
    assert json.loads(record.read_text().splitlines()[-1])["end"] == "max-wait"


@pytest.mark.looptime
async def test_an_error_body_that_trickles_ends_at_max_wait_with_what_arrived() -> None:
    reply = Reply(
        status=503,
        headers={"Content-Type": "text/plain"},
        chunks=[b"busy", *trickle(b".")],
        hold=True,
    )
    async with ScriptedServer(reply) as server:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(120):  # a regression fails, never hangs
            result = await read_url(
                build_request(server.url), CheckOptions(), max_wait=5.0, clock=loop.time
            )
    assert result["end"]["reason"] == "max-wait"
    [finding] = [f for f in result["findings"] if f["rule"] == "http-status"]
    assert finding["message"].startswith("HTTP 503: busy....")


# -- one poison event over the wire: a finding, and the read goes on ------------------------------


@pytest.mark.parametrize("case", ["retry-5000-digits", "deep-item", "content-index-array"])
def test_a_poison_event_live_is_a_finding_and_the_rest_is_read_and_recorded(
    tmp_path: Path, case: str
) -> None:
    from tests.test_bad_input import POISON_FRAMES

    parts = frames(EVENTS)
    chunks = [*parts[:4], POISON_FRAMES[case], *parts[4:]]
    record = tmp_path / "p.jsonl"
    with ScriptedServer(Reply(chunks=chunks, chunked=True)).running() as server:
        proc = run_cli("check", server.url, "--json", "--record", str(record), "--grace", "0.1")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["end"]["reason"] == "eof" and doc["codex"]["outcome"] == "ok"
    assert doc["response"]["status"] == "completed"
    assert json.loads(record.read_text().splitlines()[-1])["end"] == "eof"
    assert check_file(str(record), CheckOptions())[0]["finding_counts"] == doc["finding_counts"]


def test_an_event_ssescope_fails_to_judge_costs_that_event_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever bug a future event finds, the read, the recording and the judgement go on."""
    from ssescope.core import checker

    real = checker.judge_sequence

    def fails_on_the_fifth(st: Any, ev: Any, payload: Any, etype: str) -> None:
        if payload.get("sequence_number") == 4:
            raise RuntimeError("a bug in a check")
        real(st, ev, payload, etype)

    monkeypatch.setattr(checker, "judge_sequence", fails_on_the_fifth)
    record = tmp_path / "b.jsonl"
    with ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True)).running() as server:
        result = check_url(build_request(server.url), CheckOptions(), record=str(record), grace=0.1)
    assert result["end"]["reason"] == "eof" and result["codex"]["outcome"] == "ok"
    assert result["warnings"] == [
        "row 4: not judged (ssescope failed on it: RuntimeError: a bug in a check)"
    ]
    assert json.loads(record.read_text().splitlines()[-1])["end"] == "eof"
    replay = check_file(str(record), CheckOptions())[0]
    assert replay["warnings"] == result["warnings"] and replay["events"] == len(EVENTS)


# -- Ctrl-C, SIGTERM, SIGHUP: the report, and the capture's `interrupted` end ---------------------


@pytest.mark.parametrize("name", ["SIGINT", "SIGTERM", "SIGHUP"])
async def test_a_signal_ends_the_read_as_interrupted_with_its_result_and_capture(
    tmp_path: Path, name: str
) -> None:
    from ssescope.cli.check import read_until_signal

    streaming = asyncio.Event()

    async def stall_after_created(request: Request) -> None:
        await request.start()
        for frame in frames(EVENTS[:2]):
            await request.send(frame)
        streaming.set()
        await request.hold()

    async with FakeServer(stall_after_created, base_path="/v1") as server:
        record = tmp_path / "i.jsonl"
        interrupted: list[int] = []
        reading = asyncio.ensure_future(
            read_until_signal(
                build_request(server.url), CheckOptions(), interrupted, record=str(record)
            )
        )
        await streaming.wait()
        await _until(lambda: len(record.read_text().splitlines()) >= 2)
        os.kill(os.getpid(), getattr(signal, name))
        result = await asyncio.wait_for(reading, 10)
    assert interrupted == [getattr(signal, name)]
    assert result["end"]["reason"] == "interrupted" and result["events"] == 2
    assert json.loads(record.read_text().splitlines()[-1])["end"] == "interrupted"


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a condition on the file system (written by the same loop: a turn at a time)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.slow
def test_ctrl_c_on_a_real_check_prints_the_report_and_exits_130(tmp_path: Path) -> None:
    import subprocess
    import sys

    server = ScriptedServer(Reply(chunks=frames(EVENTS[:2]), chunked=True, hold=True))
    record = tmp_path / "c.jsonl"
    with server.running():
        proc = subprocess.Popen(
            [sys.executable, "-m", "ssescope", "check", server.url, "--record", str(record)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not (record.exists() and len(record.read_text().splitlines()) >= 3):
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.02)  # polling a real process's file: there is nothing to await
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Codex" in out and "terminal-missing" in out  # the report
    assert "interrupted by SIGINT" in err and "Traceback" not in err
    assert json.loads(record.read_text().splitlines()[-1])["end"] == "interrupted"


# -- a capture that cannot be written: one line, and the check goes on ----------------------------


@pytest.mark.parametrize("target", ["full disk", "a directory", "under a file"])
def test_an_unwritable_record_target_is_one_line_and_the_check_goes_on(
    tmp_path: Path, target: str
) -> None:
    if target == "full disk" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full (a device that answers every write with ENOSPC) here")
    (tmp_path / "file").write_text("x")
    path = {
        "full disk": "/dev/full",
        "a directory": str(tmp_path),
        "under a file": str(tmp_path / "file" / "c.jsonl"),
    }[target]
    with ScriptedServer(Reply(chunks=frames(EVENTS), chunked=True)).running() as server:
        proc = run_cli("check", server.url, "--json", "--record", path, "--grace", "0.1")
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("ssescope check: ") and "cannot write the capture" in line
    assert line.endswith("not recording") and "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["events"] == len(EVENTS) and doc["end"]["reason"] in ("eof", "grace")
    assert any("cannot write the capture" in w for w in doc["warnings"])


def test_a_disk_that_fills_mid_stream_keeps_what_was_written_readable(tmp_path: Path) -> None:
    record = tmp_path / "c.jsonl"
    writer = CaptureWriter(record, url="http://h/v1/responses")
    errors: list[str] = []
    writer.report_to(errors.append)
    writer.write_response(200, {"content-type": "text/event-stream"})
    writer.write_chunk(0.1, frames(EVENTS)[0])

    class Full(io.StringIO):
        def flush(self) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    writer._fh.close()  # type: ignore[union-attr]
    writer._fh = Full()  # the disk is full from now on
    writer.write_chunk(0.2, frames(EVENTS)[1])
    writer.write_end(0.3, "eof")
    writer.close()
    assert errors == [
        f"{record}: cannot write the capture (No space left on device); not recording"
    ]
    src = open_source(record)
    assert [c for _, c in src.chunks()] == [frames(EVENTS)[0]]  # type: ignore[misc]
