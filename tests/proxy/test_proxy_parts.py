"""The proxy's parts (record, judge, show) and the pipeline that feeds them, with no sockets:
flows from :mod:`tests.proxy.factories` driven as the forwarding core drives them."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from ssescope.asgi import Message
from ssescope.core.capture import open_source
from ssescope.core.ends import EndReason
from ssescope.http1 import (
    Client,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    ProtocolError,
    UnsupportedEncoding,
    UpstreamError,
    decoder_for,
)
from ssescope.proxy.events import Part, ResponseHead
from ssescope.proxy.forward import unreachable
from ssescope.proxy.hub import ExchangeHub
from ssescope.proxy.pipeline import SLICE_BYTES
from tests.proxy.factories import play, tflow, trequest
from tests.proxy.helpers import response_events


async def test_a_clean_stream_is_judged_clean_and_predicted_ok() -> None:
    flow = await play(tflow(), response_events("hello"))
    exchange = flow.exchange
    assert exchange.state == "done" and exchange.end_reason == EndReason.EOF
    assert exchange.run is not None and exchange.finding_counts["errors"] == 0, exchange.rules()
    prediction = exchange.prediction
    assert prediction is not None and prediction.outcome == "ok"
    assert exchange.response is not None and exchange.response.ok
    assert exchange.end is not None and exchange.end.reason is EndReason.EOF


async def test_a_cut_stream_is_judged_as_cut() -> None:
    events = response_events("hello")
    flow = await play(tflow(), events[:3], end=EndReason.TRANSPORT_ERROR, error="reset")
    exchange = flow.exchange
    assert exchange.state == "failed" and exchange.error == "reset"
    assert exchange.finding_counts["errors"] > 0


async def test_an_error_head_is_judged_with_its_whole_body() -> None:
    body = b'{"error": {"message": "model overloaded"}}'
    flow = await play(tflow(), [body[:10], body[10:]], status=503, headers={})
    exchange = flow.exchange
    assert "http-status" in exchange.rules()
    run = exchange.run
    assert run is not None
    messages = [f.message for f in run.checker.log.kept if f.rule == "http-status"]
    assert any("model overloaded" in m for m in messages), messages


async def test_what_is_not_a_responses_stream_is_recorded_but_not_judged(tmp_path: Path) -> None:
    request = trequest("GET", "/v1/models")
    flow = await play(
        tflow(request, record_dir=tmp_path),
        [b'{"data": []}'],
        headers={"content-type": "application/json"},
    )
    assert flow.exchange.run is None
    capture = open_source(flow.exchange.record_path or "")
    assert b"".join(c for _, c in capture.chunks()) == b'{"data": []}'  # type: ignore[misc]
    assert capture.end is not None and capture.end[1] == "eof"


async def test_the_recorder_writes_request_response_chunks_and_end(tmp_path: Path) -> None:
    events = response_events("hi")
    request = trequest(headers={"authorization": "Bearer sk-secret"})
    flow = await play(tflow(request, record_dir=tmp_path), events)
    capture = open_source(flow.exchange.record_path or "")
    assert b"".join(c for _, c in capture.chunks()) == b"".join(events)  # type: ignore[misc]
    assert capture.request is not None
    assert capture.request["headers"]["authorization"] == "Bearer [redacted]"
    assert capture.end is not None and capture.end[1] == "eof"
    run = flow.exchange.run
    assert run is not None and run.info.request == capture.request


async def test_a_compressed_stream_is_recorded_and_judged_decoded(tmp_path: Path) -> None:
    events = b"".join(response_events("zipped"))
    packed = gzip.compress(events)
    headers = {"content-type": "text/event-stream", "content-encoding": "gzip"}
    flow = await play(tflow(record_dir=tmp_path), [packed[:20], packed[20:]], headers=headers)
    exchange = flow.exchange
    assert any("recorded decoded" in n for n in exchange.notes)
    prediction = exchange.prediction
    assert prediction is not None and prediction.message == "zipped"
    capture = open_source(exchange.record_path or "")
    assert b"".join(c for _, c in capture.chunks()) == events  # type: ignore[misc]


class _Boom(Part):
    chunks = "whole"

    def on_chunk(self, t: float, data: bytes) -> None:
        raise RuntimeError("boom")


async def test_a_part_that_raises_is_dropped_and_the_others_go_on(tmp_path: Path) -> None:
    flow = tflow(record_dir=tmp_path)
    boom = _Boom(flow.exchange)
    flow.pipeline.parts.insert(0, boom)
    await play(flow, response_events("still judged"))
    exchange = flow.exchange
    assert boom not in flow.pipeline.parts
    prediction = exchange.prediction
    assert prediction is not None and prediction.message == "still judged"
    capture = open_source(exchange.record_path or "")
    assert b"".join(c for _, c in capture.chunks())  # type: ignore[misc]
    assert capture.end is not None and capture.end[1] == "eof"


async def test_a_judging_failure_is_reported_and_forwarding_state_stays_sane() -> None:
    flow = tflow()
    judge = flow.pipeline.parts[0]

    def broken(t: float, data: bytes) -> None:
        raise ValueError("judge bug")

    judge.on_chunk = broken  # type: ignore[method-assign]
    await play(flow, response_events())
    assert flow.exchange.judge_error == "ValueError: judge bug"
    assert flow.exchange.state == "done"


async def test_a_huge_read_reaches_sliced_parts_in_slices_and_whole_parts_whole() -> None:
    class Whole(Part):
        chunks = "whole"

        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.sizes: list[int] = []

        def on_chunk(self, t: float, data: bytes) -> None:
            self.sizes.append(len(data))

    class Sliced(Whole):
        chunks = "sliced"

    flow = tflow(judge=False)
    whole, sliced = Whole(flow.exchange), Sliced(flow.exchange)
    flow.pipeline.parts[:0] = [whole, sliced]
    big = b": " + b"x" * (3 * SLICE_BYTES) + b"\n\n"
    await play(flow, [big])
    assert whole.sizes == [len(big)]
    assert sum(sliced.sizes) == len(big) and max(sliced.sizes) == SLICE_BYTES


async def test_the_hub_hears_of_the_response_after_the_judge_made_the_run() -> None:
    hub = ExchangeHub()
    heard: list[tuple[str, bool]] = []
    flow = tflow(hub=hub)
    hub.subscribe(lambda what, e: heard.append((what, e.run is not None)))
    await play(flow, response_events())
    assert heard == [("response", True), ("end", True)]


async def test_a_part_can_leave_an_exchange_at_its_response() -> None:
    class OnlyErrors(Part):
        chunks = "whole"
        seen = 0

        def on_response(self, response: ResponseHead) -> bool:
            return not response.ok

        def on_chunk(self, t: float, data: bytes) -> None:
            self.seen += 1

    flow = tflow()
    part = OnlyErrors(flow.exchange)
    flow.pipeline.parts.insert(0, part)
    await play(flow, response_events())
    assert part.seen == 0 and part not in flow.pipeline.parts


# -- the forwarding core's answer when the upstream fails, without a network ---------------------


async def _answer(exc: UpstreamError) -> tuple[list[Message], Any]:
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    flow = tflow()
    flow.start()
    await unreachable(flow, send, exc)
    return sent, flow.exchange


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (ConnectTimeout("connecting to up:8000 timed out"), 504, "upstream_unreachable"),
        (ConnectError("cannot connect to up:8000: refused"), 502, "upstream_unreachable"),
        (ProtocolError("the upstream sent invalid HTTP"), 502, "upstream_error"),
    ],
)
async def test_an_unreachable_upstream_is_answered_by_type_not_by_message(
    exc: UpstreamError, status: int, code: str
) -> None:
    sent, exchange = await _answer(exc)
    assert sent[0]["status"] == status
    error = json.loads(sent[1]["body"])["error"]
    assert error["code"] == code and error["type"] == "upstream_error"
    assert set(error) == {"message", "type", "param", "code"}
    assert exchange.end_reason == EndReason.CONNECT_ERROR and exchange.status == status
    assert "http-status" in exchange.rules()  # judged as the client sees it


# -- http1 without a network ---------------------------------------------------------------------


def test_the_error_tree_is_typed() -> None:
    assert issubclass(ConnectTimeout, ConnectError) and issubclass(ConnectError, UpstreamError)
    assert issubclass(ProtocolError, UpstreamError) and issubclass(ConnectionClosed, UpstreamError)
    assert not issubclass(ProtocolError, ConnectError)


async def test_a_url_that_is_not_http_is_a_connect_error() -> None:
    with pytest.raises(ConnectError, match="not an http"):
        await Client().request("GET", "ftp://h/x", [])


def test_one_set_of_content_decoders() -> None:
    text = b"data: hello\n\n" * 50
    assert decoder_for("") is None and decoder_for("identity") is None
    gz = decoder_for("gzip")
    assert gz is not None and gz(gzip.compress(text)) == text
    import zlib

    deflate = decoder_for("Deflate")
    assert deflate is not None and deflate(zlib.compress(text)) == text
    with pytest.raises(UnsupportedEncoding):
        decoder_for("zstd-unheard-of")
