"""The command line: exit statuses, one-line errors for bad input (never a traceback), formats.

``main([...])`` runs in-process; two ``slow`` tests run the real process (``python -m ssescope``
and the console script)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ssescope.cli import main
from ssescope.core.rules import RULES
from tests.support.cli import CliResult, console_script, run_cli, run_process
from tests.test_live import EVENTS, frames

run = run_cli


def assert_one_line_error(proc: CliResult | subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert needle in lines[0]
    assert proc.stdout == ""


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    p = tmp_path / "clean.sse"
    p.write_bytes(b"".join(frames(EVENTS)))
    return p


def test_clean_file_exits_0_and_reports(clean: Path) -> None:
    proc = run("check", str(clean))
    assert proc.returncode == 0, proc.stderr
    assert "0 error(s)" in proc.stdout and "Codex" in proc.stdout and "Hi there" in proc.stdout


@pytest.mark.slow
@pytest.mark.parametrize("command", ["python -m", "console script"])
def test_the_real_process_checks_a_file_and_refuses_bad_input(
    clean: Path, tmp_path: Path, command: str
) -> None:
    argv = console_script() if command == "console script" else None
    proc = run_process("check", str(clean), command=argv)
    assert proc.returncode == 0, proc.stderr
    assert "0 error(s)" in proc.stdout and "Codex" in proc.stdout and "Hi there" in proc.stdout
    assert_one_line_error(
        run_process("check", str(tmp_path / "nope"), command=argv), "no such file"
    )


def test_error_findings_exit_1_and_json_shape(tmp_path: Path) -> None:
    p = tmp_path / "cut.sse"
    p.write_bytes(b"".join(frames(EVENTS[:6])))
    proc = run("check", str(p), "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert {"source", "profile", "events", "findings", "timing", "codex", "response"} <= set(doc)
    assert doc["events"] == 6 and doc["profile"] == "openai"
    assert doc["codex"] == {
        "outcome": "error",
        "message": "stream disconnected before completion: stream closed before response.completed",
        "detail": ["Codex retries the turn up to 5 times (stream_max_retries) before showing this"],
        "retried": True,
    }
    finding = next(f for f in doc["findings"] if f["rule"] == "terminal-missing")
    assert set(finding) >= {
        "rule",
        "severity",
        "message",
        "event_index",
        "sequence_number",
        "t",
        "why",
    }


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        (b"", "empty file"),
        (bytes(range(256)) * 20, "binary data"),
        (b"<!doctype html><html><body>502 Bad Gateway</body></html>", "HTML"),
        (b'{"hello": "world"}\n', "unknown format"),
        (b"just some words\n", "unknown format"),
    ],
)
def test_unreadable_sources_exit_2_with_one_line(
    tmp_path: Path, content: bytes | None, needle: str
) -> None:
    p = tmp_path / "input"
    if content is not None:
        p.write_bytes(content)
    assert_one_line_error(run("check", str(p)), needle)


def test_directory_and_chat_stream_and_bad_options(tmp_path: Path) -> None:
    assert_one_line_error(run("check", str(tmp_path)), "directory")
    chat = tmp_path / "chat.sse"
    chat.write_text(
        'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\ndata: [DONE]\n\n'
    )
    assert_one_line_error(run("check", str(chat)), "Chat Completions")
    assert_one_line_error(run("check", str(chat), "--profile", "bogus"), "invalid choice")
    assert_one_line_error(
        run("check", "http://127.0.0.1:9/v1", "--body", str(tmp_path / "missing.json")),
        "no such file",
    )
    assert_one_line_error(run("check", "http://127.0.0.1:9/v1", "-H", "no-colon"), "Name: value")
    assert_one_line_error(
        run("check", "http://127.0.0.1:9/v1", "--api-key-env", "SSESCOPE_UNSET_VAR"), "not set"
    )


def test_refused_connection_exits_2_with_one_line() -> None:
    assert_one_line_error(
        run("check", "http://127.0.0.1:9/v1", "--max-wait", "2"), "connection refused"
    )


def test_invalid_utf8_is_reported_not_fatal(tmp_path: Path) -> None:
    data = b"".join(frames(EVENTS)).replace(b'"delta": "Hi"', b'"delta": "H\xffi"')
    p = tmp_path / "bad-utf8.sse"
    p.write_bytes(data)
    doc = json.loads(run("check", str(p), "--json").stdout)
    assert "invalid-utf8" in doc["finding_counts"]
    assert doc["response"]["output"][0]["content"][0]["text"] == "Hi there"  # the .done item wins


def test_json_nested_deeper_than_the_parser_goes_is_one_finding(tmp_path: Path) -> None:
    """One poison event (100,000 nested arrays: beyond both jiter's and Python's recursion
    limits) is a data-not-json finding; the rest of the stream is still read and judged."""
    poison = b"data: " + b"[" * 100_000 + b"]" * 100_000 + b"\n\n"
    p = tmp_path / "deep.sse"
    p.write_bytes(poison + b"".join(frames(EVENTS)))
    proc = run("check", str(p), "--json")
    assert proc.returncode == 1 and proc.stderr == ""
    doc = json.loads(proc.stdout)
    assert doc["finding_counts"].get("data-not-json") == 1
    assert doc["response"]["output"][0]["content"][0]["text"] == "Hi there"


@pytest.mark.slow
def test_fifty_megabyte_event(tmp_path: Path) -> None:
    big = "x" * (50 * 1024 * 1024)
    events = [*EVENTS[:4], {**EVENTS[4], "delta": big}]
    p = tmp_path / "big.sse"
    p.write_bytes(b"".join(frames(events)))
    proc = run("check", str(p), "--json")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["events"] == 5 and doc["timing"]["bytes"] > 50 * 1024 * 1024
    assert len(doc["response"]["output"][0]["content"][0]["text"]) == len(big)


def test_truncated_capture_is_read_up_to_the_cut(tmp_path: Path) -> None:
    header = {
        "format": "ssescope-capture",
        "version": 1,
        "request": {"method": "POST", "url": "u"},
        "response": {"status": 200, "headers": {"content-type": "text/event-stream"}, "t": 0.01},
    }
    lines = [json.dumps(header)] + [
        json.dumps({"t": 0.1 * i, "text": f.decode()}) for i, f in enumerate(frames(EVENTS))
    ]
    text = "\n".join(lines[:6]) + "\n" + lines[6][:25]  # the writer died mid-record
    p = tmp_path / "cut.capture.jsonl"
    p.write_text(text)
    proc = run("check", str(p), "--json")
    doc = json.loads(proc.stdout)
    assert doc["events"] == 5
    assert any("cut off" in w for w in doc["warnings"])
    assert doc["end"]["reason"] == "interrupted"


def test_curl_dash_i_output_with_crlf(tmp_path: Path) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    body = b"".join(frames(EVENTS)).replace(b"\n", b"\r\n")
    p = tmp_path / "curl.txt"
    p.write_bytes(head + body)
    doc = json.loads(run("check", str(p), "--json").stdout)
    assert doc["format"] == "sse" and doc["finding_counts"] == {} and doc["http"]["status"] == 200


def test_json_lines_with_several_responses(tmp_path: Path) -> None:
    lines = [json.dumps({**e, "sequence_number": i}) for i, e in enumerate(EVENTS)]
    p = tmp_path / "two.jsonl"
    p.write_text("\n".join(lines + lines) + "\n")
    doc = json.loads(run("check", str(p), "--json").stdout)
    assert len(doc["streams"]) == 2 and doc["events"] == 2 * len(EVENTS)
    assert doc["finding_counts"] == {}


def test_rules_catalogue_is_generated_from_the_code(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--markdown"]) == 0
    markdown = capsys.readouterr().out
    assert all(f"`{rule_id}`" in markdown for rule_id in RULES)
    assert main(["rules", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in doc] == list(RULES)
    assert all(set(r["severity"]) == {"openai", "open-responses", "codex"} for r in doc)
    assert main(["rules", "--profile", "codex"]) == 0
    assert "codex-idle-timeout" in capsys.readouterr().out


def test_profiles_change_the_verdict(tmp_path: Path) -> None:
    p = tmp_path / "no-done.sse"
    p.write_bytes(b"".join(frames(EVENTS)))
    assert main(["check", str(p), "--profile", "openai"]) == 0
    assert main(["check", str(p), "--profile", "open-responses"]) == 1  # [DONE] is required there


def test_open_refuses_what_it_cannot_show_before_the_ui_starts(tmp_path: Path) -> None:
    chat = tmp_path / "chat.sse"
    chat.write_text(
        'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[]}\n\n'
    )
    assert_one_line_error(run("open", str(chat)), "Chat Completions")
    assert_one_line_error(run("open", str(tmp_path / "missing.jsonl")), "no such file")


# -- pipes: `cat x.sse | ssescope check -`, /dev/stdin, a FIFO -------------------------------------


def test_check_dash_reads_the_stream_piped_in(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(clean.read_bytes())))
    proc = run("check", "-", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["codex"]["message"] == "Hi there"


def test_check_dash_on_a_terminal_says_to_pipe_a_stream_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Terminal(io.TextIOWrapper):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal(io.BytesIO()))
    assert_one_line_error(run("check", "-"), "standard input is a terminal")


@pytest.mark.slow
@pytest.mark.parametrize("source", ["-", "/dev/stdin"])
def test_a_real_pipe_into_check(clean: Path, source: str) -> None:
    argv = [sys.executable, "-m", "ssescope", "check", source, "--json"]
    with subprocess.Popen(["cat", str(clean)], stdout=subprocess.PIPE) as cat:
        proc = subprocess.run(argv, stdin=cat.stdout, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["events"] == len(EVENTS)


def test_a_fifo_with_no_writer_says_so_instead_of_hanging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "stream.fifo"
    os.mkfifo(fifo)
    monkeypatch.setattr("ssescope.core.capture.FIFO_WAIT", 0.2)
    assert_one_line_error(run("check", str(fifo)), "a named pipe that no writer opened")


def test_a_fifo_is_read_once_its_writer_comes(clean: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "stream.fifo"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as out:  # blocks until check opens the pipe for reading
            out.write(clean.read_bytes())

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        proc = run("check", str(fifo), "--json")
    finally:
        thread.join(10)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["events"] == len(EVENTS)


def test_open_refuses_a_pipe_with_one_line() -> None:
    assert_one_line_error(run("open", "-"), "not a regular file")


@pytest.mark.parametrize(
    "interim",
    [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"],
    ids=["100 Continue", "103 Early Hints"],
)
def test_a_curl_i_file_with_an_interim_response_is_judged_by_the_final_one(
    tmp_path: Path, interim: bytes
) -> None:
    from ssescope.core.checker import CheckOptions
    from ssescope.core.run import load_file

    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n"
    path = tmp_path / "curl-i.sse"
    path.write_bytes(interim + head + b"".join(frames(EVENTS)))
    proc = run("check", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["http"]["status"] == 200 and doc["events"] == len(EVENTS)
    assert doc["finding_counts"] == {}
    [loaded] = load_file(str(path), CheckOptions())
    assert len(loaded.store) == len(EVENTS) and loaded.http_status == 200


def test_check_of_a_refused_connection_capture_exits_2_as_the_live_run_did(tmp_path: Path) -> None:
    record = tmp_path / "refused.jsonl"
    live = run("check", "http://127.0.0.1:1/v1", "--record", str(record))
    assert_one_line_error(live, "connection refused")
    assert_one_line_error(run("check", str(record)), "never connected (127.0.0.1:1: connection")
