"""The exchange registry without a network: what a flow list reads, and how it is told."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest

from ssescope.core.checker import CheckOptions
from ssescope.core.run import Run, RunInfo
from ssescope.proxy.command import HeadlessPrinter, format_line
from ssescope.proxy.hub import ChatSide, Exchange, ExchangeHub
from tests.proxy.helpers import response_events


def _open(hub: ExchangeHub, path: str = "/v1/responses") -> Exchange:
    return hub.open(
        started=time.time(),
        t0=time.monotonic(),
        method="POST",
        path=path,
        url=f"http://up{path}",
        request_headers={},
    )


def _judged(exchange: Exchange, frames: list[bytes], *, end: str = "eof") -> Run:
    run = Run(CheckOptions(profile="codex"), RunInfo("x", "live"))
    run.started_at = exchange.t0
    exchange.run = run
    exchange.status = 200
    run.on_response(200, {"content-type": "text/event-stream"})
    for i, frame in enumerate(frames):
        run.feed(frame, 0.01 * i)
    run.finish(0.01 * len(frames), end)
    exchange.end_reason = end
    exchange.t_end = 0.5
    exchange.state = "done"
    return run


def test_entries_keep_arrival_order_and_notify_listeners() -> None:
    hub = ExchangeHub()
    seen: list[tuple[str, int]] = []
    unsubscribe = hub.subscribe(lambda what, e: seen.append((what, e.id)))
    a, b = _open(hub), _open(hub, "/v1/models")
    hub.changed(b, "end")
    unsubscribe()
    hub.changed(a, "end")
    assert [e.id for e in hub] == [1, 2] and hub.get(2) is b and len(hub) == 2
    assert seen == [("new", 1), ("new", 2), ("end", 2)]
    assert hub.version == 4
    assert hub.active() == [a, b]  # neither has ended yet (state is the proxy's to set)


def test_old_finished_exchanges_are_forgotten_beyond_keep_but_open_ones_stay() -> None:
    hub = ExchangeHub(keep=2)
    first = _open(hub)  # still open
    second = _open(hub)
    second.state = "done"
    third = _open(hub)
    third.state = "done"
    assert [e.id for e in hub] == [1, 3]  # 2 was the oldest finished one
    _open(hub)
    assert [e.id for e in hub] == [1, 4]  # then 3; 1 stays while it is open
    assert hub.get(2) is None and hub.get(3) is None and hub.get(1) is first


def test_summary_prediction_and_json_of_a_judged_exchange() -> None:
    hub = ExchangeHub()
    clean = _open(hub)
    _judged(clean, response_events("fine"))
    assert clean.findings_summary == "clean"
    assert clean.events == 8
    assert clean.prediction is not None and clean.prediction.message == "fine"

    broken = _open(hub)
    _judged(broken, response_events("cut")[:-1])  # no response.completed
    assert broken.finding_counts["errors"] >= 1
    assert broken.findings_summary.startswith(f"{broken.finding_counts['errors']} error")
    assert "terminal-missing" in broken.findings_summary
    severities = broken.run.checker.log.severities if broken.run else {}
    ranks = [("error", "warning", "info").index(severities[r]) for r in broken.rules()]
    assert ranks == sorted(ranks)  # most severe first
    doc = json.loads(json.dumps(broken.to_dict()))
    assert doc["codex"]["outcome"] == "error" and doc["judged"] is True
    assert doc["findings"] == broken.finding_counts
    line = format_line(broken)
    assert "| codex: error: stream disconnected before completion" in line
    assert line.endswith("(after retries) | clients: 4 ok; codex error, openai-python error")
    assert {c["client"]: c["outcome"] for c in doc["clients"]}["openai-python"] == "error"

    plain = _open(hub, "/v1/models")
    plain.status, plain.bytes, plain.end_reason, plain.t_end = 200, 42, "eof", 0.25
    assert format_line(plain).endswith("GET /v1/models 200 0.250s 42 B".replace("GET", "POST"))
    assert plain.to_dict()["codex"] is None and plain.findings_summary == "-"


def test_failed_exchanges_show_how_they_ended() -> None:
    hub = ExchangeHub()
    exchange = _open(hub)
    exchange.end_reason, exchange.error, exchange.t_end = "connect-error", "refused", 0.001
    assert "[connect-error: refused]" in format_line(exchange)
    assert format_line(exchange).split()[4] == "---"  # no status from the upstream


async def test_tick_judges_silence_of_open_streams_and_wakes_waiters() -> None:
    hub = ExchangeHub()
    exchange = _open(hub)
    exchange.t0 -= 20  # the request started 20 s ago
    run = Run(CheckOptions(stall_warn=10), RunInfo("x", "live"))
    run.started_at = exchange.t0
    exchange.run = run
    exchange.state = "streaming"
    run.on_response(200, {"content-type": "text/event-stream"})
    run.feed(response_events()[0], 0.001)  # response.created, then nothing

    waiter = asyncio.create_task(
        hub.wait_for(lambda: "stall-after-created" in run.checker.log.counts, 5)
    )
    await asyncio.sleep(0)
    assert not waiter.done()
    hub.tick()
    await asyncio.wait_for(waiter, 5)
    with pytest.raises(TimeoutError):
        await hub.wait_for(lambda: False, 0.05)


def test_headless_printer_counts_and_prints_only_ended_exchanges() -> None:
    hub = ExchangeHub()
    out = io.StringIO()
    printer = HeadlessPrinter(out)
    hub.subscribe(printer)
    good, bad = _open(hub), _open(hub)
    _judged(good, response_events("fine"))
    _judged(bad, response_events("cut")[:-1])
    assert out.getvalue() == ""
    hub.changed(good, "end")
    hub.changed(bad, "end")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("#1 ") and lines[1].startswith("#2 ")
    assert (printer.exchanges, printer.judged, printer.with_errors) == (2, 2, 1)


def test_chat_side_frames_follow_the_chunks() -> None:
    side = ChatSide(url="http://up/v1/chat/completions")
    side.feed(b'data: {"a":', 0.1)
    side.feed(b" 1}\n\ndata: [DONE]\n\n", 0.2)
    side.finish(0.3, "eof")
    side.finish(0.4, "interrupted")  # the first end stands
    assert [f.data for f in side.frames] == ['{"a": 1}', "[DONE]"]
    assert side.frames[0].t_first == 0.1 and side.frames[0].t_last == 0.2
    assert side.bytes == 11 + 19 and side.end == (0.3, "eof", None)
