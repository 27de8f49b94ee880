"""The byte-level SSE framer: WHATWG rules, chunk-split invariance, and agreement with httpx-sse."""

from __future__ import annotations

import itertools

import pytest
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ssescope.core.sse import Frame, SSEFramer, frame_bytes


def frames_of(data: bytes) -> list[Frame]:
    return frame_bytes([(0.0, data)])


def dispatched(data: bytes) -> list[tuple[str | None, str]]:
    return [(f.event, f.data) for f in frames_of(data) if f.dispatched]  # type: ignore[misc]


def signature(frames: list[Frame]) -> list[tuple]:
    """Everything about a frame that must not depend on how the bytes were chunked."""
    return [
        (
            f.index,
            f.offset,
            f.raw,
            f.event,
            f.data,
            f.id,
            f.retry,
            tuple(f.comments),
            tuple(f.unknown_fields),
            f.terminated,
            f.invalid_utf8,
            f.bom,
            f.line_ending,
            f.has_content,
        )
        for f in frames
    ]


# -- WHATWG rules -------------------------------------------------------------------------------


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_line_endings_lf_crlf_cr(ending: bytes) -> None:
    data = ending.join([b"event: a", b"data: 1", b"", b"data: 2", b"", b""])
    frames = frames_of(data)
    assert [(f.event, f.data) for f in frames] == [("a", "1"), (None, "2")]
    assert frames[0].line_ending == ending.decode()
    assert b"".join(f.raw for f in frames) == data


def test_data_with_and_without_space_and_multiline() -> None:
    assert dispatched(b"data:x\ndata:  two spaces\ndata\n\n") == [(None, "x\n two spaces\n")]


def test_only_one_leading_bom_is_stripped() -> None:
    frames = frames_of(b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n")
    assert frames[0].bom and frames[0].data == "a"
    # A second BOM is data: the line's field name becomes "\ufeffdata", an unknown field.
    assert frames[1].data is None
    assert frames[1].unknown_fields == ("\ufeffdata: b",)


def test_comments_are_kept_and_not_dispatched() -> None:
    frames = frames_of(b": keepalive\n\n: a\ndata: x\n: b\n\n")
    assert [f.comments for f in frames] == [(" keepalive",), (" a", " b")]
    assert [f.dispatched for f in frames] == [False, True]


def test_final_frame_without_blank_line_is_kept_but_not_dispatched() -> None:
    frames = frames_of(b"data: 1\n\ndata: 2")
    assert frames[-1].data == "2"
    assert frames[-1].terminated is False
    assert frames[-1].dispatched is False


def test_unknown_fields_and_case_sensitivity() -> None:
    frames = frames_of(b"Data: lost\ndate: typo\ndata: kept\n\n")
    assert frames[0].data == "kept"
    assert frames[0].unknown_fields == ("Data: lost", "date: typo")


def test_id_with_nul_is_ignored_and_retry_needs_digits() -> None:
    frames = frames_of(b"id: a\x00b\nretry: 10x\ndata: 1\n\nid: 7\nretry: 1500\ndata: 2\n\n")
    assert frames[0].id is None and frames[0].retry is None
    assert frames[0].unknown_fields == ("retry: 10x",)
    assert (frames[1].id, frames[1].retry) == ("7", 1500)


def test_u2028_inside_json_is_not_a_line_break() -> None:
    payload = '{"delta":"a\u2028b\u2029c\x85d"}'.encode()
    assert dispatched(b"data: " + payload + b"\n\n") == [(None, payload.decode())]


def test_invalid_utf8_is_replaced_and_flagged() -> None:
    frames = frames_of(b"data: \xff\xfe ok\n\n")
    assert frames[0].invalid_utf8
    assert frames[0].data == "\ufffd\ufffd ok"


def test_arrival_times_of_first_and_last_byte() -> None:
    framer = SSEFramer()
    assert framer.feed(b"data: hel", 0.5) == []
    assert framer.feed(b"lo\n", 1.0) == []
    (frame,) = framer.feed(b"\ndata: next", 2.0)
    assert (frame.t_first, frame.t_last) == (0.5, 2.0)
    (last,) = framer.finish(3.0)
    assert (last.t_first, last.t_last, last.terminated) == (2.0, 3.0, False)


def test_crlf_split_across_chunks_keeps_raw_whole() -> None:
    framer = SSEFramer()
    out = framer.feed(b"data: a\r\n\r", 1.0)
    assert [f.data for f in out] == ["a"]  # dispatched at once, not delayed for the LF
    out += framer.feed(b"\ndata: b\r\n\r\n", 2.0)
    assert [f.raw for f in out] == [b"data: a\r\n\r\n", b"data: b\r\n\r\n"]
    assert out[1].offset == len(out[0].raw)


def test_large_event_in_small_chunks() -> None:
    big = b"x" * 5_000_000
    data = b'data: {"d":"' + big + b'"}\n\n'
    framer = SSEFramer()
    frames: list[Frame] = []
    for i in range(0, len(data), 4096):
        frames += framer.feed(data[i : i + 4096], float(i))
    assert len(frames) == 1 and len(frames[0].data or "") == len(big) + 8


# -- chunking invariance (property) ------------------------------------------------------------

_LINE = st.one_of(
    st.builds(
        lambda v: b"data:" + v,
        st.binary(max_size=12).filter(lambda b: b"\n" not in b and b"\r" not in b),
    ),
    st.builds(
        lambda v: b"data: " + v.encode(),
        st.text(max_size=10).filter(lambda s: "\n" not in s and "\r" not in s),
    ),
    st.sampled_from(
        [
            b"event: response.created",
            b": keepalive",
            b"id: 3",
            b"retry: 100",
            b"Data: typo",
            b"data",
            b"",
        ]
    ),
    st.just(b"\xef\xbb\xbfdata: bom"),
)
_ENDING = st.sampled_from([b"\n", b"\r\n", b"\r"])


@st.composite
def streams(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.tuples(_LINE, _ENDING), max_size=14))
    data = b"".join(line + end for line, end in lines)
    if draw(st.booleans()):
        data += draw(_LINE)  # no final line ending
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


@st.composite
def stream_and_cuts(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    data = draw(streams())
    cuts = sorted(draw(st.lists(st.integers(0, len(data)), max_size=8)))
    return data, cuts


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream_and_cuts())
def test_every_chunking_yields_the_same_frames(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    whole = frames_of(data)
    bounds = [0, *cuts, len(data)]
    chunks = [(float(i), data[a:b]) for i, (a, b) in enumerate(itertools.pairwise(bounds))]
    split = frame_bytes(chunks)
    assert signature(split) == signature(whole)
    assert b"".join(f.raw for f in split) == data


def test_byte_at_a_time_equals_whole() -> None:
    data = b"\xef\xbb\xbfevent: a\r\ndata: 1\r\n\r\n: c\r\rdata: 2\n\ndata: 3\r"
    one = frame_bytes([(float(i), data[i : i + 1]) for i in range(len(data))])
    assert signature(one) == signature(frames_of(data))


# -- differential against httpx-sse -------------------------------------------------------------

_SAFE_LINE = st.one_of(
    st.builds(
        lambda v: "data: " + v,
        st.text(
            alphabet=st.characters(
                blacklist_categories=("Cs",), blacklist_characters="\r\n\x00\ufeff"
            ),
            max_size=10,
        ),
    ),
    st.builds(lambda v: "data:" + v, st.text(alphabet='ab {}":,\u2028', max_size=6)),
    st.sampled_from(["event: response.created", "event: x", ": comment", "data"]),
)


@st.composite
def dispatchable_streams(draw: st.DrawFn) -> str:
    """Streams where every block has a data line: the subset where httpx-sse follows WHATWG.

    (httpx-sse dispatches blocks with no data and does not strip a BOM, both spec deviations.)"""
    blocks = draw(st.lists(st.lists(_SAFE_LINE, min_size=1, max_size=4), max_size=6))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    out = []
    for block in blocks:
        if not any(line == "data" or line.startswith("data:") for line in block):
            block = [*block, "data: filler"]
        out.append(ending.join(block) + ending + ending)
    return "".join(out)


def httpx_sse_events(text: str, cuts: list[int]) -> list[tuple[str, str]]:
    lines_dec, dec = SSELineDecoder(), SSEDecoder()
    bounds = [0, *cuts, len(text)]
    events = []
    lines: list[str] = []
    for a, b in itertools.pairwise(bounds):
        if text[a:b]:
            lines += lines_dec.decode(text[a:b])
    lines += lines_dec.flush()
    for line in lines:
        sse = dec.decode(line)
        if sse is not None:
            events.append((sse.event, sse.data))
    return events


@settings(max_examples=300, deadline=None)
@given(dispatchable_streams(), st.lists(st.integers(0, 400), max_size=5))
def test_matches_httpx_sse_on_spec_conformant_input(text: str, raw_cuts: list[int]) -> None:
    cuts = sorted({min(c, len(text)) for c in raw_cuts})
    theirs = httpx_sse_events(text, cuts)
    data = text.encode()
    byte_cuts = sorted({len(text[:c].encode()) for c in cuts})
    bounds = [0, *byte_cuts, len(data)]
    ours = [
        (f.event or "message", f.data)
        for f in frame_bytes([(0.0, data[a:b]) for a, b in itertools.pairwise(bounds)])
        if f.dispatched
    ]
    assert ours == theirs
