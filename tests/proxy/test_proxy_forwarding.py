"""What passes through the proxy is exactly what the upstream sent (real sockets on 127.0.0.1),
and every exchange is recorded and, for streamed Responses, judged."""

from __future__ import annotations

import base64
import json
import socket
from pathlib import Path

import pytest

from ssescope.cli import main as cli_main
from ssescope.core.capture import open_source
from ssescope.core.codex import MSG_CLOSED
from ssescope.proxy.config import ProxyConfig, Target
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy
from tests.scripted_server import Reply, ScriptedServer

BIG = 5 * 1024 * 1024
TRICKY = [
    b'event: response.created\r\ndata: {"type":"response.created","response":{"id":"r"}}\r\n\r\n',
    b": a comment keep-alive\n\n",
    b"data: invalid utf-8 \xff\xfe here\n\n",
    b'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"'
    + b"x" * BIG
    + b'"}\n\n',
    b"data: a frame split ",
    b"across chunks\r",
    b"\n\r\n",
    b"data: \xe2\x82",  # a UTF-8 sequence split between two chunks
    b"\xac\n\n",
]
BODY = {"model": "m", "input": "hi", "stream": True}


def _headers_without_framing(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    skip = {"transfer-encoding", "connection", "content-length"}
    return sorted((k.lower(), v) for k, v in headers if k.lower() not in skip)


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "close-delimited"])
async def test_bytes_reach_the_client_exactly_as_the_upstream_sent_them(
    chunked: bool, tmp_path: Path
) -> None:
    """CRLF, comments, invalid UTF-8, a 5 MB event, frames and UTF-8 split across chunks: the
    client gets the same bytes through the proxy as directly, and so do the capture and the run."""
    reply = Reply(
        chunks=TRICKY,
        chunked=chunked,
        headers={"Content-Type": "text/event-stream", "X-Upstream": "yes", "Cache-Control": "no-cache"},
    )  # fmt: skip
    with ScriptedServer(reply).running() as server:
        direct = await fetch("POST", server.url, json_body=BODY)
        async with running_proxy(f"http://127.0.0.1:{server.port}/v1", tmp_path) as proxy:
            through = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
            (exchange,) = await proxy.ended()
    expected = b"".join(TRICKY)
    assert direct.body == expected and direct.error is None
    assert through.body == expected and through.error is None
    assert through.status == direct.status == 200
    assert _headers_without_framing(through.headers) == _headers_without_framing(direct.headers)

    assert exchange.run is not None and exchange.end_reason == "eof"
    assert bytes(exchange.run.store.data) == expected  # the judgement saw the exact bytes
    assert exchange.bytes == len(expected)
    assert exchange.record_path is not None
    src = open_source(exchange.record_path)
    recorded = b"".join(chunk for _, chunk in src.chunks())  # type: ignore[misc]
    assert recorded == expected
    assert src.end is not None and src.end[1] == "eof"
    assert src.request is not None and src.request["body"] == BODY


async def test_request_method_path_query_headers_and_body_arrive_unchanged(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.reply(200, b'{"ok": true}')

    body = b'{"model": "m", "input": "caf\xc3\xa9", "extra": [1, 2.50, null]}'  # byte-for-byte
    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch(
            "POST",
            f"{proxy.url}/some/path?x=1&y=%20z",
            content=body,
            headers=[
                ("Authorization", "Bearer sk-secret"),
                ("X-Custom", "one"),
                ("X-Custom", "two"),
                ("Connection", "keep-alive, X-Hop"),
                ("X-Hop", "dropped"),
                ("TE", "trailers"),
                ("Content-Type", "application/json"),
            ],
        )
        (exchange,) = await proxy.ended()
    assert got.status == 200 and got.body == b'{"ok": true}'
    (request,) = upstream.requests
    assert request.method == "POST" and request.path == "/v1/some/path?x=1&y=%20z"
    assert request.body == body
    headers = request.headers()
    assert ("authorization", "Bearer sk-secret") in headers  # forwarded as is…
    assert [v for k, v in headers if k == "x-custom"] == ["one", "two"]
    assert request.header("host") == f"127.0.0.1:{upstream.port}"
    assert request.header("content-length") == str(len(body))
    for hop in ("connection", "x-hop", "te"):
        assert request.header(hop) is None, hop
    # …but redacted in the capture and in the hub
    assert exchange.request_headers["authorization"] == "Bearer [redacted]"
    assert exchange.run is None  # not a Responses stream
    capture = json.loads(Path(exchange.record_path or "").read_text().splitlines()[0])
    assert capture["request"]["headers"]["authorization"] == "Bearer [redacted]"
    assert capture["request"]["url"] == f"{upstream.url}/some/path?x=1&y=%20z"
    assert capture["request"]["body"]["input"] == "café"


async def test_no_redact_keeps_the_secret_in_the_capture(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.reply(200, b"{}")

    async with (
        Upstream(handler) as upstream,
        running_proxy(upstream.url, tmp_path, redact=False) as proxy,
    ):
        await fetch("GET", f"{proxy.url}/models", headers={"api-key": "k-123"})
        (exchange,) = await proxy.ended()
    capture = json.loads(Path(exchange.record_path or "").read_text().splitlines()[0])
    assert capture["request"]["headers"]["api-key"] == "k-123"


async def test_a_non_streaming_exchange_is_recorded_but_not_judged(tmp_path: Path) -> None:
    models = b'{"object":"list","data":[{"id":"m","object":"model"}]}'

    async def handler(request: Request) -> None:
        await request.reply(200, models)

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("GET", f"{proxy.url}/models")
        (exchange,) = await proxy.ended()
    assert got.body == models and got.header("content-length") == str(len(models))
    assert exchange.run is None and exchange.prediction is None
    assert exchange.findings_summary == "-"
    assert (exchange.method, exchange.path, exchange.status) == ("GET", "/v1/models", 200)
    src = open_source(exchange.record_path or "")
    assert src.response is not None and src.response["status"] == 200
    assert b"".join(c for _, c in src.chunks()) == models  # type: ignore[misc]


async def test_an_error_status_passes_through_and_is_judged_as_codex_sees_it(
    tmp_path: Path,
) -> None:
    error = b'{"error":{"message":"slow down","type":"rate_limit"}}'

    async def handler(request: Request) -> None:
        request.writer.write(
            b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            b"Retry-After: 3\r\nContent-Length: %d\r\n\r\n%s" % (len(error), error)
        )
        await request.writer.drain()

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.status == 429 and got.body == error and got.header("retry-after") == "3"
    assert exchange.run is not None  # a stream was asked for: Codex's view of the answer
    assert "http-status" in exchange.rules()
    prediction = exchange.prediction
    assert prediction is not None and prediction.outcome == "error"
    assert prediction.message == "exceeded retry limit, last status: 429 Too Many Requests"
    assert cli_main(["check", exchange.record_path or ""]) == 1  # the capture says the same


async def test_a_json_answer_to_a_stream_request_is_predicted_to_fail_in_codex(
    tmp_path: Path,
) -> None:
    """A server that ignores ``stream: true``: the client gets the JSON as sent, and the
    judgement says what Codex makes of it."""
    answer = b'{"id":"resp_1","object":"response","status":"completed","output":[]}'

    async def handler(request: Request) -> None:
        await request.reply(200, answer)

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.status == 200 and got.body == answer
    assert exchange.run is not None and "content-type" in exchange.rules()
    prediction = exchange.prediction
    assert prediction is not None and prediction.message == MSG_CLOSED


async def test_a_refused_upstream_gets_a_502_naming_it(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    async with running_proxy(f"http://127.0.0.1:{port}/v1", tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        plain = await fetch("GET", f"{proxy.url}/models")
        first, second = await proxy.ended(2)
    assert got.status == 502 and plain.status == 502
    error = json.loads(got.body)["error"]
    assert f"127.0.0.1:{port}" in error["message"] and "cannot" in error["message"]
    assert error["code"] == "upstream_unreachable"
    assert first.end_reason == "connect-error" and first.state == "failed"
    assert first.error is not None and f"127.0.0.1:{port}" in first.error
    prediction = first.prediction
    assert prediction is not None and prediction.message.startswith("unexpected status 502")
    assert second.run is None and second.end_reason == "connect-error"
    src = open_source(first.record_path or "")
    assert json.loads(b"".join(c for _, c in src.chunks())) == json.loads(got.body)  # type: ignore[misc]
    assert src.end is not None and src.end[1] == "connect-error"
    assert src.response is not None and src.response["status"] == 502


async def test_gzip_stream_is_forwarded_compressed_and_judged_decompressed(tmp_path: Path) -> None:
    import zlib

    events = b"".join(response_events("zipped"))
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
    packed = compressor.compress(events) + compressor.flush()

    async def handler(request: Request) -> None:
        await request.start(Content_Encoding="gzip")
        await request.send(packed[:40])
        await request.send(packed[40:])
        await request.end()

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
        (exchange,) = await proxy.ended()
    assert got.body == packed and got.header("content-encoding") == "gzip"
    assert exchange.run is not None and exchange.events == 8
    prediction = exchange.prediction
    assert prediction is not None and prediction.message == "zipped"


async def test_idle_upstream_connections_are_reused(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.start()
        for frame in response_events("again"):
            await request.send(frame)
        await request.end()

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        for _ in range(3):
            got = await fetch("POST", f"{proxy.url}/responses", json_body=BODY)
            assert got.status == 200 and got.error is None
        exchanges = await proxy.ended(3)
        assert proxy.app.client is not None and proxy.app.client.idle_connections() == 1
    assert upstream.connections == 1 and len(upstream.requests) == 3
    assert [e.findings_summary for e in exchanges] == ["clean"] * 3


def test_paths_map_onto_the_upstream_url() -> None:
    v1 = Target("http://h:8000/v1")
    assert v1.url_for("/v1/responses") == "http://h:8000/v1/responses"
    assert v1.url_for("/health") == "http://h:8000/health"
    assert v1.url_for("/v1/models", "a=1") == "http://h:8000/v1/models?a=1"
    assert v1.client_base_path() == "/v1"
    nested = Target("https://api.example.com/openai/v1/")
    assert nested.url_for("/v1/responses") == "https://api.example.com/openai/v1/responses"
    assert nested.url_for("/openai/v1/responses") == "https://api.example.com/openai/v1/responses"
    assert nested.url_for("/metrics") == "https://api.example.com/metrics"
    assert nested.host_header == b"api.example.com"
    bare = Target("http://h:8000")
    assert bare.url_for("/v1/responses") == "http://h:8000/v1/responses"
    assert bare.client_base_path() == ""
    with pytest.raises(ValueError, match="not an http"):
        ProxyConfig(upstream="ftp://h/v1")


def test_body_kept_as_base64_when_not_text() -> None:
    from ssescope.proxy.wire import body_doc as _body_doc

    assert _body_doc(b'{"a": 1}') == {"a": 1}
    assert _body_doc(b"plain text") == "plain text"
    assert _body_doc(b"\xff\x00") == {"base64": base64.b64encode(b"\xff\x00").decode()}
    assert _body_doc(b"") is None


async def test_an_idle_connection_the_upstream_closed_is_not_reused(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.reply(200, b'{"n": %d}' % len(upstream.requests))
        request.writer.close()  # keep-alive announced, then the server hangs up anyway

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        first = await fetch("GET", f"{proxy.url}/models")
        await upstream.wait(lambda: upstream.open_connections == 0)
        second = await fetch("GET", f"{proxy.url}/models")
        await proxy.ended(2)
    assert (first.status, first.body, second.status, second.body) == (
        200, b'{"n": 1}', 200, b'{"n": 2}',
    )  # fmt: skip
    assert upstream.connections == 2


async def test_a_head_request_ends_without_a_body(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        request.writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"
        )
        await request.writer.drain()

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("HEAD", f"{proxy.url}/models")
        (exchange,) = await proxy.ended()
    assert got.status == 200 and got.body == b"" and got.header("content-length") == "10"
    assert exchange.end_reason == "eof" and upstream.requests[0].method == "HEAD"
