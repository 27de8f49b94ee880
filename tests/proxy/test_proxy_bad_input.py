"""The proxy on odd and hostile requests and answers (real sockets on 127.0.0.1): interim 1xx
answers from the upstream, `OPTIONS *`, and request bodies over the size limit."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from ssescope.proxy.command import format_line
from tests.proxy.helpers import Request, Upstream, fetch, response_events, running_proxy

EVENTS = b"".join(response_events("hi"))


def _final_head(length: int) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Final: yes\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


@pytest.mark.parametrize("apart", [False, True], ids=["one write", "two writes"])
@pytest.mark.parametrize(
    "interim",
    [b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
     b"HTTP/1.1 100 Continue\r\n\r\n"],
    ids=["103", "100"],
)  # fmt: skip
async def test_an_interim_answer_is_not_the_answer(
    tmp_path: Path, interim: bytes, apart: bool
) -> None:
    async def handler(request: Request) -> None:
        if apart:
            await request.write(interim)
            await asyncio.sleep(0)  # the interim head in a socket read of its own
        await request.write((b"" if apart else interim) + _final_head(len(EVENTS)) + EVENTS)

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body={"stream": True})
        (exchange,) = await proxy.ended()
    assert got.status == 200 and got.body == EVENTS
    assert got.header("x-final") == "yes" and got.header("link") is None  # not merged in
    assert exchange.status == 200 and exchange.end_reason == "eof"
    assert exchange.run is not None and exchange.run.prediction().outcome == "ok"


async def _raw(url: str, request: bytes) -> bytes:
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    body = await reader.readexactly(length)
    writer.close()
    return head + body


async def test_options_star_is_answered_by_the_upstream_not_a_500(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.reply(204, b"", ctype="text/plain")

    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        answer = await _raw(
            proxy.url, b"OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"
        )
        (exchange,) = await proxy.ended()
    assert answer.startswith(b"HTTP/1.1 204"), answer
    assert upstream.requests[0].method == "OPTIONS" and upstream.requests[0].path == "*"
    assert exchange.method == "OPTIONS" and exchange.status == 204


# -- request bodies: a size limit (413), and big bodies in the capture, not in memory -------------


async def test_a_body_over_the_limit_is_a_413_in_openai_s_envelope(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.reply(200, b"{}")

    async with (
        Upstream(handler) as upstream,
        running_proxy(upstream.url, tmp_path, max_request_bytes=1000) as proxy,
    ):
        got = await fetch("POST", f"{proxy.url}/responses", content=b"x" * 1001)
        small = await fetch("POST", f"{proxy.url}/responses", content=b"x" * 1000)
    assert got.status == 413
    error = json.loads(got.body)["error"]
    assert error["code"] == "request_too_large" and error["type"] == "invalid_request_error"
    assert "--max-request-bytes (1,000 bytes)" in error["message"]
    assert small.status == 200 and len(upstream.requests) == 1  # the big one never went up


async def test_a_big_body_is_kept_in_the_capture_not_with_the_exchange(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.stream(response_events("ok"))

    big = {"model": "m", "stream": True, "input": "y" * (2 << 20)}
    async with Upstream(handler) as upstream, running_proxy(upstream.url, tmp_path) as proxy:
        got = await fetch("POST", f"{proxy.url}/responses", json_body=big)
        small = await fetch("POST", f"{proxy.url}/responses", json_body={"stream": True})
        first, second = await proxy.ended(2)
    assert got.status == small.status == 200
    assert upstream.requests[0].json == big  # forwarded whole
    assert "not kept in memory" in first.request_body["omitted"]
    assert first.record_path is not None and first.record_path in first.request_body["omitted"]
    assert first.run is not None and first.run.prediction().outcome == "ok"
    header = json.loads(Path(first.record_path).read_text().splitlines()[0])
    assert header["request"]["body"] == big  # on disk, whole
    assert second.request_body == {"stream": True}


def test_max_request_bytes_takes_a_suffix() -> None:
    from ssescope.proxy.command import build_config, register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(), open_ui=lambda config: 0)  # type: ignore[arg-type]
    args = parser.parse_args(["proxy", "--upstream", "http://h/v1", "--max-request-bytes", "512k"])
    assert build_config(args).max_request_bytes == 512 << 10
    with pytest.raises(SystemExit):
        parser.parse_args(["proxy", "--upstream", "http://h/v1", "--max-request-bytes", "lots"])


async def test_an_unwritable_record_dir_still_forwards_and_judges(tmp_path: Path) -> None:
    async def handler(request: Request) -> None:
        await request.stream(response_events("ok"))

    (tmp_path / "file").write_text("x")
    async with (
        Upstream(handler) as upstream,
        running_proxy(upstream.url, tmp_path / "file") as proxy,  # captures under a file
    ):
        got = await fetch("POST", f"{proxy.url}/responses", json_body={"stream": True})
        (exchange,) = await proxy.ended()
    assert got.status == 200 and got.body == b"".join(response_events("ok"))
    assert exchange.end_reason == "eof" and exchange.judge_error is None
    assert exchange.run is not None and exchange.run.prediction().outcome == "ok"
    # ... and says so: on the exchange (its headless line and --json) and in the log
    assert any("cannot write the capture" in note for note in exchange.notes), exchange.notes
    assert "cannot write the capture" in format_line(exchange)
    assert exchange.to_dict()["notes"] == exchange.notes
