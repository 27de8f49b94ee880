"""Hostile and hand-edited input: every file ``check`` reads, ``open``'s loader reads too, and a
bad header field, record or event costs only itself (a warning or a finding), never the read.

The live side (a poison event over a socket, the stall limit, signals) is in tests/test_live.py;
the debugger on these files (Pilot) in tests/tui/test_bad_input.py.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ssescope.core.capture import open_source
from ssescope.core.check import check_file
from ssescope.core.checker import CheckOptions
from ssescope.core.run import load_file
from ssescope.core.session import StreamSession
from tests.support.cli import run_cli
from tests.test_live import EVENTS, frames

STREAM = b"".join(frames(EVENTS))
HEADER: dict[str, Any] = {
    "format": "ssescope-capture",
    "version": 1,
    "created": "2026-12-01T00:00:00+00:00",
    "tool": "ssescope 0.1.0",
    "request": {"method": "POST", "url": "http://h/v1/responses", "headers": {}, "body": {}},
    "response": {
        "status": 200,
        "reason": "OK",
        "http_version": "HTTP/1.1",
        "headers": {"content-type": "text/event-stream"},
        "t": 0.01,
    },
}


def chunk_lines(chunks: list[bytes], t0: float = 0.02) -> list[str]:
    return [
        json.dumps({"t": round(t0 + i / 1000, 6), "text": c.decode()}) for i, c in enumerate(chunks)
    ]


def capture(path: Path, *, header: dict[str, Any] | None = None, lines: list[str]) -> Path:
    """A capture with ``header`` merged over a good one and the record ``lines`` as given."""
    head = {**HEADER, **(header or {})}
    path.write_text("\n".join([json.dumps(head), *lines]) + "\n", encoding="utf-8")
    return path


def response_with(**fields: Any) -> dict[str, Any]:
    return {"response": {**HEADER["response"], **fields}}


GOOD_RECORDS = [*chunk_lines(frames(EVENTS)), '{"t": 0.05, "end": "eof"}']

BAD_HEADERS = {
    "request-array": {"request": [1, 2]},
    "request-string": {"request": "abc"},
    "request-headers-array": {"request": {**HEADER["request"], "headers": [1]}},
    "request-url-number": {"request": {**HEADER["request"], "url": 5}},
    "response-string": {"response": "abc"},
    "response-array": {"response": [1]},
    "response-headers-array": response_with(headers=[1, 2]),
    "response-headers-string": response_with(headers="x"),
    "status-string": response_with(status="abc"),
    "status-huge": response_with(status=10**30),
    "t-string": response_with(t="abc"),
    "t-huge": response_with(t=1e308),
    "t-huge-int": response_with(t=10**400),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_a_bad_capture_header_field_is_a_warning_and_the_stream_is_judged(
    tmp_path: Path, case: str
) -> None:
    path = capture(tmp_path / "c.jsonl", header=BAD_HEADERS[case], lines=GOOD_RECORDS)
    proc = run_cli("check", str(path), "--json")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["events"] == len(EVENTS)
    assert doc["codex"]["outcome"] == "ok"
    assert any("capture header" in w for w in doc["warnings"]), doc["warnings"]
    runs = load_file(str(path), CheckOptions())  # the loader `ssescope open` indexes with
    assert len(runs[0].store) == len(EVENTS) and runs[0].session.end is not None


def record(t: str, chunk: bytes) -> str:
    """A chunk record whose ``t`` is written verbatim (NaN, 400 digits: what json.dumps refuses)."""
    return f'{{"t": {t}, "text": {json.dumps(chunk.decode())}}}'


BAD_RECORDS = {
    "base64-number": '{"t": 0.03, "base64": 12345}',
    "base64-garbage": '{"t": 0.03, "base64": "!!!"}',
    "t-nan": record("NaN", b": c\n\n"),
    "t-infinity": record("Infinity", b": c\n\n"),
    "t-huge": record("1e308", b": c\n\n"),
    "t-400-digits": record("9" * 400, b": c\n\n"),
    "t-string": record('"x"', b": c\n\n"),
    "t-negative": record("-5", b": c\n\n"),
    "text-number": '{"t": 0.03, "text": 5}',
    "end-error-array": '{"t": 0.03, "end": 5, "error": [1]}',
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_a_bad_record_costs_only_itself(tmp_path: Path, case: str) -> None:
    chunks = chunk_lines(frames(EVENTS))
    lines = [*chunks[:3], BAD_RECORDS[case], *chunks[3:], '{"t": 0.05, "end": "eof"}']
    path = capture(tmp_path / "c.jsonl", lines=lines)
    [result] = check_file(str(path), CheckOptions())
    assert result["events"] == len(EVENTS)
    assert result["codex"]["outcome"] == "ok"
    assert all(f["t"] is None or 0 <= f["t"] < 1e9 for f in result["findings"])
    runs = load_file(str(path), CheckOptions())
    assert len(runs[0].store) >= len(EVENTS)


def test_a_lone_surrogate_in_text_is_read_as_its_bytes_and_flagged(tmp_path: Path) -> None:
    chunks = chunk_lines(frames(EVENTS))
    poison = '{"t": 0.03, "text": "data: {\\"type\\": \\"x\\ud800\\"}\\n\\n"}'
    path = capture(tmp_path / "c.jsonl", lines=[*chunks[:3], poison, *chunks[3:]])
    [result] = check_file(str(path), CheckOptions())
    assert result["events"] == len(EVENTS) + 1
    assert "invalid-utf8" in result["finding_counts"]
    assert any("lone surrogate" in w for w in result["warnings"])
    src = open_source(path)
    assert b"x\xed\xa0\x80" in b"".join(c for _, c in src.chunks())  # type: ignore[misc]
    runs = load_file(str(path), CheckOptions())
    assert len(runs[0].store) == len(EVENTS) + 1
    assert b"\xed\xa0\x80" in runs[0].store.raw(3)  # the row re-reads the same bytes


def test_many_bad_records_are_warned_about_in_a_bounded_list(tmp_path: Path) -> None:
    chunks = chunk_lines(frames(EVENTS))
    path = capture(tmp_path / "c.jsonl", lines=[*(['{"t": 0.03, "base64": 1}'] * 500), *chunks])
    [result] = check_file(str(path), CheckOptions())
    warnings = result["warnings"]
    assert len(warnings) == 52  # 50 kept, their count, and the missing end record
    assert warnings[50] == "… and 450 more warning(s)"
    assert warnings[51] == "the capture has no end record (the recording was interrupted)"


# -- poison events: one bad event is a finding, the rest is judged --------------------------------


def deep(n: int) -> str:
    return "[" * n + "]" * n


def poisoned(frame: bytes) -> bytes:
    """The clean stream with ``frame`` between its fourth and fifth events."""
    parts = frames(EVENTS)
    return b"".join([*parts[:4], frame, *parts[4:]])


POISON_FRAMES = {
    # jiter refuses past 200 levels; Python's json parses up to about 990 and every later
    # deepcopy or comparison of the payload then overflowed the stack
    "deep-100000": b'data: {"type": "x", "v": ' + deep(100_000).encode() + b"}\n\n",
    "deep-900": b'data: {"type": "x", "v": ' + deep(900).encode() + b"}\n\n",
    "deep-900-surrogate": b'data: {"type": "x\\ud800", "v": ' + deep(900).encode() + b"}\n\n",
    "deep-item": b'data: {"type": "response.output_item.added", "output_index": 1, "item": '
    b'{"type": "message", "id": "m2", "content": ' + deep(600).encode() + b"}}\n\n",
    "retry-5000-digits": b"retry: " + b"9" * 5000 + b"\n\n",
    "sequence-4000-digits": b'data: {"type": "response.in_progress", "sequence_number": '
    + b"9" * 4000
    + b', "response": {}}\n\n',
    "number-5000-digits": b'data: {"type": "x", "v": ' + b"9" * 5000 + b"}\n\n",
    "item-type-array": b'data: {"type": "response.output_item.added", "output_index": 1, '
    b'"item": {"type": ["message"], "id": "m2"}}\n\n',
    "content-index-array": b'data: {"type": "response.output_text.delta", "item_id": "msg_1", '
    b'"output_index": 0, "content_index": [0], "delta": "x"}\n\n',
}


@pytest.mark.parametrize("case", sorted(POISON_FRAMES))
def test_one_poison_event_is_a_finding_and_the_rest_is_judged(tmp_path: Path, case: str) -> None:
    path = tmp_path / "p.sse"
    path.write_bytes(poisoned(POISON_FRAMES[case]))
    proc = run_cli("check", str(path), "--json")
    assert proc.returncode in (0, 1), proc.stderr
    doc = json.loads(proc.stdout)
    assert "terminal-missing" not in doc["finding_counts"]  # response.completed was still judged
    assert doc["response"]["status"] == "completed"
    assert doc["codex"]["outcome"] == "ok", doc["codex"]
    runs = load_file(str(path), CheckOptions())
    assert len(runs[0].store) == len(EVENTS) + 1


def test_deep_json_is_data_not_json_naming_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "p.sse"
    path.write_bytes(poisoned(POISON_FRAMES["deep-900"]))
    [result] = check_file(str(path), CheckOptions())
    [finding] = [f for f in result["findings"] if f["rule"] == "data-not-json"]
    assert "recursion limit" in finding["message"] and finding["event_index"] == 4


# -- property: no value anywhere in any event stops the read --------------------------------------

POISON_VALUES = [
    "9" * 5000,
    "-" + "9" * 4400,
    "1e999",
    "NaN",
    "-Infinity",
    '"\\ud800"',
    deep(600),
    '{"a":' * 600 + "1" + "}" * 600,
    "null",
    "true",
    "[]",
    "{}",
    '""',
    "-1",
    "1.5",
    '[1, "x"]',
    '{"type": "message"}',
    str(2**64),
]


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def _with_poison(event: dict[str, Any], path: tuple[Any, ...], poison: str) -> str:
    marker = "\u0001poison\u0001"
    event = copy.deepcopy(event)
    if not path:
        return poison
    node: Any = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = marker
    return json.dumps(event).replace(json.dumps(marker), poison)


@st.composite
def poisoned_streams(draw: st.DrawFn) -> bytes:
    out = []
    for i, event in enumerate(EVENTS):
        event = {**event, "sequence_number": i}
        if draw(st.booleans()):
            path = draw(st.sampled_from(_paths(event)))
            data = _with_poison(event, path, draw(st.sampled_from(POISON_VALUES)))
        else:
            data = json.dumps(event)
        out.append(f"data: {data}\n\n".encode("utf-8", errors="surrogatepass"))
    return b"".join(out)


@settings(max_examples=150, deadline=None)
@given(stream=poisoned_streams(), profile=st.sampled_from(["openai", "codex", "open-responses"]))
def test_no_poisoned_value_anywhere_stops_the_judgement(stream: bytes, profile: str) -> None:
    session = StreamSession(CheckOptions(profile=profile))
    session.feed(stream, 0.0)
    session.finish(1.0)
    assert session.checker.rows == len(EVENTS)
    json.dumps(session.checker.tree.reconstruct())  # the result prints as JSON
    session.checker.prediction().to_dict()
