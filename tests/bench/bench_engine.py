"""Benchmark the translating engine on loopback against a fast fake Chat Completions upstream.

Run::

    /work/venv/bin/python tests/bench/bench_engine.py              # the full run (~1 minute)
    /work/venv/bin/python tests/bench/bench_engine.py --quick      # a smoke run
    /work/venv/bin/python tests/bench/bench_engine.py --json out.json

Three processes, all on 127.0.0.1: a fake chat upstream (raw asyncio, chunked transfer encoding,
one HTTP chunk per chat chunk, as servers flush tokens), the engine exactly as users run it
(``python -m ssescope engine --upstream … --quiet``, uvicorn), and this client (a blocking raw
socket, so the client adds as little as possible). The upstream writes its send time
(``time.monotonic_ns``, CLOCK_MONOTONIC, shared by all processes) into each delta's text; the
client takes the receive time right after ``recv`` returns. Measured in the same run:

* **paced**: one chunk every 2 ms. The one-way latency of each ``output_text.delta`` through the
  engine, against the same chunks read directly from the upstream (the loopback floor, same
  client). *Added* = through-engine minus direct, at p50 and p99 (and mean).
* **burst**: 2,000 chunks as fast as the upstream can write them. Responses events per second at
  the client, from the first byte to the terminal event (median of the repeats).
* **terminal**: the time from the last delta to the terminal event at the client, with 500 and
  2,000 deltas (the upstream sends the finish chunk, the usage chunk and ``[DONE]`` right after
  the last delta, as real servers do; the terminal event carries the whole output).

Targets: added p99 < 0.5 ms paced; >= 14k events/s in bursts; terminal within 5 ms of the last
delta. The script prints a Markdown table. It is not a pytest test (pytest ignores tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from benchlib import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]

# -- the fake upstream (runs in its own process) -----------------------------------------------


def _chunk(content: str | None, finish: str | None = None, usage: dict | None = None) -> bytes:
    delta = {} if content is None else {"content": content}
    body = {
        "id": "chatcmpl-bench0000000000000000000",
        "object": "chat.completion.chunk",
        "created": 1727346168,
        "model": "bench-model",
        "system_fingerprint": "fp_bench",
        "choices": []
        if usage
        else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = usage
    data = b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"
    return b"%x\r\n%s\r\n" % (len(data), data)


async def _upstream_handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = json.loads(await reader.readexactly(length))
            # model = "bench:<mode>:<count>:<interval_ms>"
            _, mode, count, interval = str(body.get("model")).split(":")
            count, gap = int(count), float(interval) / 1000
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            writer.write(_chunk(""))
            await writer.drain()
            loop = asyncio.get_running_loop()
            start = loop.time()
            for i in range(count):
                if mode == "paced":
                    delay = start + (i + 1) * gap - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                writer.write(_chunk(f"<{time.monotonic_ns()}> "))
                await writer.drain()
            tail = _chunk(None, "stop") + _chunk(
                None,
                usage={"prompt_tokens": 10, "completion_tokens": count, "total_tokens": 10 + count},
            )
            data = b"data: [DONE]\n\n"
            writer.write(tail + b"%x\r\n%s\r\n" % (len(data), data) + b"0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve_upstream(port_file: str) -> None:
    server = await asyncio.start_server(_upstream_handle, "127.0.0.1", 0)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


# -- the client ----------------------------------------------------------------------------------


def _request(path: str, body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def _stream(port: int, path: str, body: dict) -> Iterator[tuple[int, bytes]]:
    """(receive time ns, SSE frame) for every frame of one response (chunked decoding)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.sendall(_request(path, body))
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, _, buf = buf.partition(b"\r\n\r\n")
        if b" 200 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(head.decode())
        chunked = b"chunked" in head.lower()
        payload = b""
        t = time.monotonic_ns()
        while True:
            if chunked:
                while True:
                    size_end = buf.find(b"\r\n")
                    if size_end < 0:
                        break
                    size = int(buf[:size_end], 16)
                    if len(buf) < size_end + 2 + size + 2:
                        break
                    if size == 0:
                        yield from _frames(payload, t)
                        return
                    payload += buf[size_end + 2 : size_end + 2 + size]
                    buf = buf[size_end + 2 + size + 2 :]
            else:
                payload += buf
                buf = b""
            frames_end = payload.rfind(b"\n\n")
            if frames_end >= 0:
                yield from _frames(payload[: frames_end + 2], t)
                payload = payload[frames_end + 2 :]
            data = sock.recv(262144)
            t = time.monotonic_ns()
            if not data:
                yield from _frames(payload, t)
                return
            buf += data
    finally:
        sock.close()


def _frames(data: bytes, t: int) -> Iterator[tuple[int, bytes]]:
    for frame in data.split(b"\n\n"):
        if frame.strip():
            yield t, frame


def _sent_at(frame: bytes) -> int | None:
    start = frame.find(b'"<')
    if start < 0:
        return None
    return int(frame[start + 2 : frame.find(b">", start)])


def run_paced(engine_port: int, upstream_port: int, count: int, blocks: int = 1) -> dict:
    """``blocks`` alternating direct/through runs of ``count`` chunks each, so that both paths
    see the same background load."""
    direct: list[int] = []
    through: list[int] = []
    for _ in range(blocks):
        model = f"bench:paced:{count}:2"
        d = [
            t - sent
            for t, frame in _stream(
                upstream_port, "/v1/chat/completions", {"model": model, "stream": True}
            )
            if (sent := _sent_at(frame)) is not None
        ]
        e = [
            t - sent
            for t, frame in _stream(
                engine_port, "/v1/responses", {"model": model, "input": "x", "stream": True}
            )
            if b"output_text.delta" in frame and (sent := _sent_at(frame)) is not None
        ]
        assert len(d) == count and len(e) == count, (len(d), len(e))
        direct += d
        through += e
    return {"direct": direct, "through": through}


def run_burst(engine_port: int, count: int) -> tuple[float, int]:
    body = {"model": f"bench:burst:{count}:0", "input": "x", "stream": True}
    first = last = None
    events = 0
    for t, frame in _stream(engine_port, "/v1/responses", body):
        first = first or t
        last = t
        if frame.startswith(b"event:"):
            events += 1
    assert events >= count + 8, events
    return events / ((last - first) / 1e9), events


def run_terminal(engine_port: int, count: int, mode: str) -> tuple[float, float]:
    """(last delta → terminal at the client, upstream send of the last delta → terminal at the
    client), in ms."""
    body = {"model": f"bench:{mode}:{count}:2", "input": "x", "stream": True}
    last_delta = last_sent = terminal = None
    for t, frame in _stream(engine_port, "/v1/responses", body):
        if b"output_text.delta" in frame:
            last_delta, last_sent = t, _sent_at(frame)
        elif frame.startswith(b"event: response.completed"):
            terminal = t
    assert last_delta is not None and last_sent is not None and terminal is not None
    return (terminal - last_delta) / 1e6, (terminal - last_sent) / 1e6


def _pct(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def _wait_port(path: Path, proc: subprocess.Popen) -> int:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        if proc.poll() is not None:
            raise RuntimeError("a benchmark process exited early")
        time.sleep(0.02)
    raise RuntimeError("a benchmark process did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer chunks and repeats")
    parser.add_argument("--repeats", type=int, default=5, help="burst and terminal repeats")
    parser.add_argument("--paced-chunks", type=int, default=500, help="chunks per paced block")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--serve-upstream", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        asyncio.run(_serve_upstream(args.serve_upstream))
        return 0
    repeats = 2 if args.quick else args.repeats
    paced_chunks = 250 if args.quick else args.paced_chunks

    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_engine_{os.getpid()}.port"
    tmp.unlink(missing_ok=True)
    upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(tmp)])
    engine = None
    try:
        up_port = _wait_port(tmp, upstream)
        eng_port = free_port()
        engine = subprocess.Popen(
            [
                sys.executable, "-m", "ssescope", "engine",
                "--upstream", f"http://127.0.0.1:{up_port}/v1",
                "--listen", f"127.0.0.1:{eng_port}", "--quiet", "--heartbeat", "0",
            ],
            cwd=ROOT,
        )  # fmt: skip
        wait_http(eng_port, what="the engine")
        run_burst(eng_port, 200)  # warm up both processes
        run_paced(eng_port, up_port, 50)

        blocks = 2 if args.quick else 6
        print(f"paced: {blocks} × {paced_chunks} chunks at 2 ms …", file=sys.stderr)
        paced = run_paced(eng_port, up_port, paced_chunks, blocks)
        print(f"burst: 2,000 chunks × {repeats} …", file=sys.stderr)
        bursts = [run_burst(eng_port, 2000) for _ in range(repeats)]
        print("terminal …", file=sys.stderr)
        terminal = {
            (mode, n): [run_terminal(eng_port, n, mode) for _ in range(repeats)]
            for mode in ("paced", "burst")
            for n in (500, 2000)
        }
    finally:
        for proc in (engine, upstream):
            if proc is not None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(5)
        tmp.unlink(missing_ok=True)

    direct, through = paced["direct"], paced["through"]
    added = {q: _pct(through, q) - _pct(direct, q) for q in (0.5, 0.99)}
    added_mean = (statistics.fmean(through) - statistics.fmean(direct)) / 1e6
    rates = sorted(r for r, _ in bursts)
    rate = statistics.median(rates)
    term = {k: statistics.median(a for a, _ in v) for k, v in terminal.items()}
    term_sent = {k: statistics.median(b for _, b in v) for k, v in terminal.items()}
    worst_term = max(max(a for a, _ in v) for v in terminal.values())

    def ok(flag: bool) -> str:
        return "yes" if flag else "**no**"

    print(f"\nssescope engine benchmark ({platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, loopback)\n")  # fmt: skip
    print("| measurement | figure | target | met |")
    print("|---|---|---|---|")
    print(f"| paced 2 ms, {len(through)} deltas: one-way latency direct p50 / p99 | "
          f"{_pct(direct, 0.5):.3f} / {_pct(direct, 0.99):.3f} ms | (loopback floor) | |")  # fmt: skip
    print(f"| paced 2 ms: one-way latency through the engine p50 / p99 | "
          f"{_pct(through, 0.5):.3f} / {_pct(through, 0.99):.3f} ms | | |")  # fmt: skip
    print(f"| paced 2 ms: **added** by the engine p50 / p99 (mean) | "
          f"**{added[0.5]:.3f} / {added[0.99]:.3f} ms** ({added_mean:.3f}) | p99 < 0.5 ms | {ok(added[0.99] < 0.5)} |")  # fmt: skip
    print(f"| burst 2,000 chunks ({bursts[0][1]} events): events/s, median of {repeats} (min–max) | "
          f"**{rate:,.0f}** ({rates[0]:,.0f}–{rates[-1]:,.0f}) | >= 14,000 | {ok(rate >= 14000)} |")  # fmt: skip
    for (mode, n), v in term.items():
        worst = max(a for a, _ in terminal[(mode, n)])
        print(f"| last delta → terminal event at the client, {n} deltas, {mode}: median (max) | "
              f"{v:.3f} ms ({worst:.3f}) | < 5 ms | {ok(worst < 5)} |")  # fmt: skip
    for (mode, n), v in term_sent.items():
        print(f"| upstream sends the last delta → client has the terminal event, {n} deltas, {mode}: median | "
              f"{v:.3f} ms | | |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "paced": {"direct_p50": _pct(direct, 0.5), "direct_p99": _pct(direct, 0.99),
                              "through_p50": _pct(through, 0.5), "through_p99": _pct(through, 0.99),
                              "added_p50": added[0.5], "added_p99": added[0.99], "added_mean": added_mean},
                    "burst_events_per_s": rates,
                    "terminal_ms": {f"{m}-{n}": [a for a, _ in v] for (m, n), v in terminal.items()},
                    "terminal_from_send_ms": {f"{m}-{n}": [b for _, b in v] for (m, n), v in terminal.items()},
                },
                indent=2,
            )
        )  # fmt: skip
    met = added[0.99] < 0.5 and rate >= 14000 and worst_term < 5
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
