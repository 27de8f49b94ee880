"""Capture writing: flushed per chunk, exact bytes, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path

from ssescope.core.capture import CaptureWriter, open_source, redact_headers, redact_url


def test_each_record_is_on_disk_before_the_writer_closes(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    writer = CaptureWriter(
        path, url="http://h/v1/responses", headers={"Authorization": "Bearer sk-1"}, body={"a": 1}
    )
    writer.write_response(200, {"content-type": "text/event-stream"}, reason="OK", t=0.01)
    writer.write_chunk(0.02, b"data: {}\n\n")
    lines = path.read_text().splitlines()  # read while still open: nothing is buffered
    assert len(lines) == 2 and json.loads(lines[1]) == {"t": 0.02, "text": "data: {}\n\n"}
    writer.write_chunk(0.03, b"data: \xff\n\n")
    writer.write_end(0.04, "eof")
    writer.close()
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert records[0]["format"] == "ssescope-capture" and records[0]["version"] == 1
    assert records[0]["request"]["headers"]["Authorization"] == "Bearer [redacted]"
    assert "base64" in records[2]
    src = open_source(path)
    assert [c for _, c in src.chunks()] == [b"data: {}\n\n", b"data: \xff\n\n"]  # type: ignore[misc]
    assert src.end == (0.04, "eof", None)


def test_refused_before_any_response_still_writes_a_readable_capture(tmp_path: Path) -> None:
    path = tmp_path / "refused.jsonl"
    with CaptureWriter(path, url="http://h") as writer:
        writer.write_end(0.5, "connect-error", "h: connection refused")
    header, end = (json.loads(line) for line in path.read_text().splitlines())
    assert header["response"] is None and end["error"] == "h: connection refused"


def test_redaction() -> None:
    headers = redact_headers(
        {"Authorization": "Bearer abc", "api-key": "k", "X-Api-Key": "k2", "Accept": "x"}
    )
    assert headers == {
        "Authorization": "Bearer [redacted]",
        "api-key": "[redacted]",
        "X-Api-Key": "[redacted]",
        "Accept": "x",
    }
    assert redact_url("http://h/v1?api-key=abc&x=1") == "http://h/v1?api-key=[redacted]&x=1"


def test_no_redact_keeps_secrets(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    with CaptureWriter(path, headers={"Authorization": "Bearer abc"}, redact=False) as writer:
        writer.write_response(200, {"set-cookie": "s=1"})
    header = json.loads(path.read_text().splitlines()[0])
    assert header["request"]["headers"]["Authorization"] == "Bearer abc"
    assert header["response"]["headers"]["set-cookie"] == "s=1"
