"""A huge event is held once (issue 12: a 200 MB event cost 1.2-1.5 GB of RSS).

A frame of one big ``data`` line becomes a :class:`LargeFrame` (its value's bytes, once; ``raw``
and ``data`` on demand). These tests hold it to the plain frame it replaces, field for field and
for every chunking, and measure the copies alive at once with tracemalloc (a count of bytes, not a
time). ``tests/bench/bench_big_event.py`` gives the RSS figures of the README.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssescope.core import sse
from ssescope.core.check import check_file
from ssescope.core.checker import CheckOptions
from ssescope.core.events import decode_frame
from ssescope.core.run import load_file
from ssescope.core.sse import Frame, LargeFrame, SSEFramer, frame_bytes
from tests.test_live import EVENTS, frames
from tests.test_sse import signature


@contextlib.contextmanager
def large_from(size: int) -> Iterator[None]:
    """Frames from ``size`` bytes on take the large way (so that small examples test it)."""
    saved = sse.LARGE
    sse.LARGE = size
    try:
        yield
    finally:
        sse.LARGE = saved


def chunked(data: bytes, cuts: list[int]) -> list[tuple[float, bytes]]:
    bounds = [0, *sorted(cuts), len(data)]
    return [(float(i), data[a:b]) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


_VALUE = st.one_of(
    st.builds(lambda n: json.dumps({"d": "x" * n}).encode(), st.integers(0, 120)),
    st.builds(lambda s: json.dumps({"d": s}, ensure_ascii=False).encode(), st.text(max_size=60)),
    st.binary(max_size=90).filter(lambda b: b"\n" not in b and b"\r" not in b),
)
_BEFORE = st.lists(
    st.sampled_from([b"event: response.output_text.delta", b"id: 7", b": keep", b"data: first"]),
    max_size=3,
)


@st.composite
def big_streams(draw: st.DrawFn) -> bytes:
    """Streams of frames whose last line is a long data line, with line ends of every kind."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        ending = draw(st.sampled_from([b"\n", b"\n", b"\n", b"\r\n"]))
        lines = [*draw(_BEFORE), b"data: " + draw(_VALUE)]
        out += b"".join(line + ending for line in lines) + ending
    if draw(st.booleans()):
        out += b"data: " + draw(_VALUE)  # cut before its blank line
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(big_streams(), st.lists(st.integers(0, 400), max_size=6))
def test_a_large_frame_is_the_plain_frame_it_replaces(data: bytes, cuts: list[int]) -> None:
    cuts = [c for c in cuts if c <= len(data)]
    plain = frame_bytes(chunked(data, cuts))
    with large_from(24):
        split = frame_bytes(chunked(data, cuts))
        whole = frame_bytes([(0.0, data)])
    assert signature(split) == signature(plain)
    assert [f.t_first for f in split] == [f.t_first for f in plain]
    assert [f.t_last for f in split] == [f.t_last for f in plain]
    assert signature(whole) == signature(frame_bytes([(0.0, data)]))
    assert b"".join(f.raw for f in split) == data
    for large, usual in zip(split, plain, strict=True):
        assert large.nbytes == len(usual.raw)
        assert large.raw_prefix(10) == usual.raw[:10]
        assert decode_frame(large).payload == decode_frame(usual).payload
        assert decode_frame(large).error == decode_frame(usual).error


def test_a_megabytes_event_in_small_chunks_is_a_large_frame() -> None:
    value = json.dumps({"type": "response.output_text.delta", "delta": "é" * 2_000_000})
    data = f"event: response.output_text.delta\ndata: {value}\n\ndata: [DONE]\n\n".encode()
    framer = SSEFramer()
    got: list[Frame] = []
    for i in range(0, len(data), 65536):
        got += framer.feed(data[i : i + 65536], float(i))
    got += framer.finish(1.0)
    big, done = got
    assert isinstance(big, LargeFrame) and not isinstance(done, LargeFrame)
    assert big.event == "response.output_text.delta" and big.data == value
    assert big.raw == data[: big.nbytes] and done.offset == big.nbytes
    assert big.t_first == 0.0 and big.t_last == float(len(data) // 65536 * 65536)
    assert decode_frame(big).payload == json.loads(value)


def test_invalid_utf8_in_a_large_value_is_replaced_and_flagged_as_before() -> None:
    data = b'data: {"d":"' + b"x" * 3_000_000 + b'\xff"}\n\n'
    [frame] = frame_bytes([(0.0, data[:70_000]), (1.0, data[70_000:])])
    assert not isinstance(frame, LargeFrame)
    assert frame.invalid_utf8 and (frame.data or "").endswith('\ufffd"}')
    assert frame.raw == data


def big_stream(size: int) -> list[bytes]:
    """The test stream with its one delta (row 4) of ``size`` characters (the bench's too)."""
    parts = frames(EVENTS)
    big = {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "x" * size,
        "logprobs": [],
        "sequence_number": 4,
    }
    event = f"event: {big['type']}\ndata: {json.dumps(big)}\n\n".encode()
    return [*parts[:4], event, *parts[5:]]


def write_capture(path: Path, chunks: list[bytes]) -> Path:
    """A capture of ``chunks``, one record each, 10 ms apart."""
    header = {"format": "ssescope-capture", "version": 1, "request": None,
              "response": {"status": 200, "headers": {"content-type": "text/event-stream"}}}  # fmt: skip
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header) + "\n")
        for i, chunk in enumerate(chunks):
            fh.write(json.dumps({"t": i / 100, "text": chunk.decode()}) + "\n")
        fh.write(json.dumps({"t": 1.0, "end": "eof"}) + "\n")
    return path


SIZE = 8 << 20


def _peak(read: object) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        read()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_check_holds_a_huge_event_at_most_twice_and_a_half(tmp_path: Path) -> None:
    """Before: the joined line, ``raw`` and the decoded data alive at once, then the parse: over
    three copies of the event, for a raw file and for a capture alike."""
    chunks = big_stream(SIZE)
    raw = tmp_path / "big.sse"
    raw.write_bytes(b"".join(chunks))
    capture = write_capture(tmp_path / "big.capture.jsonl", chunks)
    results: list[dict[str, object]] = []
    for path in (raw, capture):
        peak = _peak(lambda p=path: results.extend(check_file(str(p), CheckOptions())))
        assert peak < 2.5 * SIZE, f"{path.name}: {peak / SIZE:.2f}x the event"
    by_rule = [sorted(f["rule"] for f in r["findings"]) for r in results]  # type: ignore[attr-defined]
    assert by_rule[0] == by_rule[1]  # the same judgement either way (the done texts differ)
    assert [r["events"] for r in results] == [len(chunks)] * 2


def test_open_reads_a_huge_row_back_as_its_bytes_once(tmp_path: Path) -> None:
    chunks = big_stream(SIZE)
    capture = write_capture(tmp_path / "big.capture.jsonl", chunks)
    raw = tmp_path / "big.sse"
    raw.write_bytes(b"".join(chunks))
    for path in (capture, raw):
        [run] = load_file(str(path), CheckOptions())
        store = run.store
        assert len(store) == len(chunks)
        assert [store.raw(row) for row in range(len(store))] == chunks
        peak = _peak(lambda s=store: decode_frame(s.event(4).frame))
        assert peak < 3.5 * SIZE, f"{path.name}: {peak / SIZE:.2f}x the event"
        ev = store.event(4)
        assert isinstance(ev.frame, LargeFrame) and ev.frame.nbytes == len(chunks[4])
        assert ev.payload is not None and len(ev.payload["delta"]) == SIZE
        assert store.event(5).frame.raw == chunks[5]  # the row after it starts where it should


def test_a_huge_last_row_is_read_back_to_its_end_once(tmp_path: Path) -> None:
    """The last row ends where the run's framer says (no end kept per row): a huge final event
    (response.completed repeats the whole text) reads back exact, without being framed twice."""
    chunks = big_stream(SIZE)
    chunks = [*chunks[:-1], chunks[4].replace(b"output_text.delta", b"output_text.deltb")]
    for path in (write_capture(tmp_path / "last.capture.jsonl", chunks), tmp_path / "last.sse"):
        if path.suffix == ".sse":
            path.write_bytes(b"".join(chunks))
        [run] = load_file(str(path), CheckOptions())
        store = run.store
        last = len(store) - 1
        assert last == len(chunks) - 1
        peak = _peak(lambda s=store, row=last: s.raw(row))
        assert store.raw(last) == chunks[-1]
        limit = 1.5 if path.suffix == ".sse" else 2.5  # a record is decoded to its chunk
        assert peak < limit * SIZE, f"{path.name}: {peak / SIZE:.2f}x the event"


def test_the_last_row_of_a_split_crlf_keeps_its_last_byte() -> None:
    from ssescope.core.run import Run, RunInfo

    run = Run(CheckOptions(), RunInfo("x", "file"))
    for t, chunk in enumerate([b"data: {}\r\n\r", b"\n"]):
        run.feed(chunk, float(t))
    assert run.store.raw(len(run.store) - 1) == b"data: {}\r\n\r\n"
