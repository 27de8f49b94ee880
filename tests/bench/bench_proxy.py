"""Benchmark ``ssescope proxy`` on loopback against a fast fake Responses upstream.

Run::

    /work/venv/bin/python tests/bench/bench_proxy.py              # the full run (~30 s)
    /work/venv/bin/python tests/bench/bench_proxy.py --quick      # a smoke run
    /work/venv/bin/python tests/bench/bench_proxy.py --json out.json
    /work/venv/bin/python tests/bench/bench_proxy.py --metrics      # metrics on vs off

Three processes, all on 127.0.0.1: a fake Responses upstream (raw asyncio, chunked transfer
encoding, one HTTP chunk per SSE event, as servers flush tokens; a valid, clean stream so that
the judgement does its normal work), the proxy exactly as users run it in CI
(``python -m ssescope proxy --upstream … --headless --record-dir TMP``: every exchange recorded
and judged live), and this client (blocking or selector-driven raw sockets, so the client adds
as little as possible). The upstream writes its send time (``time.monotonic_ns``,
CLOCK_MONOTONIC, shared by all processes) into each delta; the client takes the receive time
right after ``recv`` returns. Every figure is measured in the same run against the same upstream
read directly (the loopback floor, same client):

* **paced**: one event every 2 ms. One-way latency of each ``output_text.delta``, through the
  proxy and direct, in alternating blocks; *added* = through minus direct at p50 and p99.
* **burst**: 2,000 deltas as fast as the upstream can write them. Events per second at the
  client from the request to the last byte; the proxy's rate as a fraction of the direct rate
  (median of the repeats, alternating), and the proxy's CPU time per event (from /proc). The
  ratio can exceed 1: the upstream writes one HTTP chunk per event, the proxy forwards each
  socket read as one chunk (same bytes, fewer chunk headers), which this Python client parses
  faster. The CPU figure is the proxy's own cost.
* **concurrent**: 50 streams at once, in lockstep (one event every 20 ms each, all 50 written
  at the same instant): every stream complete and unmixed, added latency p50/p99 after each
  stream's first delta, and the first deltas separately (they also wait for the set-up of the
  other 49 exchanges: capture files, runs); then 50 concurrent bursts: aggregate events/s as a
  fraction of direct.

With ``--metrics``: two proxies in the same run, one plain and one with ``--metrics`` (the
Prometheus part counting every exchange), measured in alternating blocks against the same
upstream: the paced latency each adds over direct (p50/p99) and each one's CPU per event in
bursts; then one scrape of ``/metrics`` checks that the counting proxy counted every exchange.
Targets: p99 within 0.05 ms of metrics off; CPU per event at most +10%.

Targets: added p99 <= 0.2 ms paced; >= 0.4x direct throughput in bursts. For comparison
(measured elsewhere): mitmproxy 11 with a streaming addon +0.11/+0.21 ms, 0.18x; a 40-line
asyncio byte pipe +0.07/+0.08 ms, 0.88x. Prints a Markdown table; not a pytest test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import free_port, wait_http

ROOT = Path(__file__).resolve().parents[2]

# -- the fake upstream (its own process) ----------------------------------------------------------


def _event(etype: str, seq: int, **fields: object) -> bytes:
    data = json.dumps({"type": etype, "sequence_number": seq, **fields}, separators=(",", ":"))
    frame = f"event: {etype}\ndata: {data}\n\n".encode()
    return b"%x\r\n%s\r\n" % (len(frame), frame)


def _response(rid: str, status: str, output: list | None = None) -> dict:
    """A complete Response object, as OpenAI sends it (the judge's fast path)."""
    out: dict = {
        "id": rid,
        "object": "response",
        "created_at": 1727346168,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "model": "bench-model",
        "output": output or [],
        "parallel_tool_calls": True,
        "temperature": 1.0,
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1.0,
    }
    if status == "completed":
        out["usage"] = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 1,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 11,
        }
    return out


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
            raw = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
                continue
            # model = "bench:<mode>:<count>:<interval_ms>:<stream tag>"
            _, mode, count_s, interval, tag = str(json.loads(raw)["model"]).split(":")
            count, gap = int(count_s), float(interval) / 1000
            rid = f"resp_{tag}"
            mid = f"msg_{tag}"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n"
            )
            item = {"id": mid, "type": "message", "status": "in_progress", "role": "assistant"}
            part = {"type": "output_text", "text": "", "annotations": []}
            writer.write(
                _event("response.created", 0, response=_response(rid, "in_progress"))
                + _event("response.in_progress", 1, response=_response(rid, "in_progress"))
                + _event("response.output_item.added", 2, output_index=0, item={**item, "content": []})
                + _event("response.content_part.added", 3, item_id=mid, output_index=0, content_index=0, part=part)
            )  # fmt: skip
            await writer.drain()
            loop = asyncio.get_running_loop()
            start = loop.time()
            text: list[str] = []
            seq = 4
            for i in range(count):
                if mode == "paced":
                    delay = start + (i + 1) * gap - loop.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                delta = f"<{time.monotonic_ns()}|{tag}> "
                text.append(delta)
                writer.write(
                    _event(
                        "response.output_text.delta", seq,
                        item_id=mid, output_index=0, content_index=0, delta=delta, logprobs=[],
                    )
                )  # fmt: skip
                seq += 1
                await writer.drain()
            full = "".join(text)
            done_part = {**part, "text": full}
            done_item = {**item, "status": "completed", "content": [done_part]}
            writer.write(
                _event("response.output_text.done", seq, item_id=mid, output_index=0, content_index=0, text=full, logprobs=[])
                + _event("response.content_part.done", seq + 1, item_id=mid, output_index=0, content_index=0, part=done_part)
                + _event("response.output_item.done", seq + 2, output_index=0, item=done_item)
                + _event("response.completed", seq + 3, response=_response(rid, "completed", [done_item]))
                + b"0\r\n\r\n"
            )  # fmt: skip
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _serve_upstream(port_file: str) -> None:
    server = await asyncio.start_server(_upstream_handle, "127.0.0.1", 0, backlog=256)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


# -- the client ------------------------------------------------------------------------------------


def _request(body: dict) -> bytes:
    data = json.dumps(body).encode()
    return (
        "POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(data)}\r\n\r\n"
    ).encode() + data


class _Decoder:
    """Incremental HTTP response reader: (receive time ns, SSE frame) per complete frame."""

    def __init__(self) -> None:
        self.buf = b""
        self.head: bytes | None = None
        self.payload = b""
        self.done = False
        self.frames: list[tuple[int, bytes]] = []
        self.t_start = time.monotonic_ns()

    def feed(self, data: bytes, t: int) -> None:
        self.buf += data
        if self.head is None:
            if b"\r\n\r\n" not in self.buf:
                return
            self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            if b" 200 " not in self.head.split(b"\r\n", 1)[0]:
                raise RuntimeError(self.head.decode())
        buf = self.buf
        pos = 0
        while True:
            size_end = buf.find(b"\r\n", pos)
            if size_end < 0:
                break
            size = int(buf[pos:size_end], 16)
            if len(buf) < size_end + 2 + size + 2:
                break
            if size == 0:
                self.done = True
                pos = size_end + 4
                break
            self.payload += buf[size_end + 2 : size_end + 2 + size]
            pos = size_end + 2 + size + 2
        self.buf = buf[pos:]
        end = self.payload.rfind(b"\n\n")
        if end >= 0:
            for frame in self.payload[: end + 2].split(b"\n\n"):
                if frame.strip():
                    self.frames.append((t, frame))
            self.payload = self.payload[end + 2 :]


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _stream(port: int, body: dict) -> _Decoder:
    sock = _connect(port)
    dec = _Decoder()
    try:
        dec.t_start = time.monotonic_ns()
        sock.sendall(_request(body))
        while not dec.done:
            data = sock.recv(262144)
            t = time.monotonic_ns()
            if not data:
                raise RuntimeError("the connection closed mid-stream")
            dec.feed(data, t)
    finally:
        sock.close()
    return dec


def _streams(port: int, bodies: list[dict]) -> list[list[tuple[int, bytes]]]:
    """Many streams at once, one thread, a selector: each list of frames in request order."""
    sel = selectors.DefaultSelector()
    decoders = []
    socks = []
    for i, body in enumerate(bodies):
        sock = _connect(port)
        sock.sendall(_request(body))
        sock.setblocking(False)
        dec = _Decoder()
        decoders.append(dec)
        socks.append(sock)
        sel.register(sock, selectors.EVENT_READ, i)
    open_ = len(bodies)
    try:
        while open_:
            for key, _ in sel.select(timeout=30):
                i = key.data
                data = socks[i].recv(262144)
                t = time.monotonic_ns()
                if not data:
                    raise RuntimeError("a connection closed mid-stream")
                decoders[i].feed(data, t)
                if decoders[i].done:
                    sel.unregister(socks[i])
                    open_ -= 1
    finally:
        for sock in socks:
            sock.close()
        sel.close()
    return [d.frames for d in decoders]


def _sent_at(frame: bytes) -> tuple[int, str] | None:
    start = frame.find(b'"delta":"<')
    if start < 0:
        return None
    stamp, _, tag = frame[start + 10 : frame.find(b">", start)].partition(b"|")
    return int(stamp), tag.decode()


def _latencies(frames: list[tuple[int, bytes]], tag: str) -> list[int]:
    out = []
    for t, frame in frames:
        sent = _sent_at(frame)
        if sent is not None:
            if sent[1] != tag:
                raise RuntimeError(f"stream {tag} received an event of stream {sent[1]}")
            out.append(t - sent[0])
    return out


def _body(mode: str, count: int, interval_ms: float, tag: str) -> dict:
    return {"model": f"bench:{mode}:{count}:{interval_ms:g}:{tag}", "input": "x", "stream": True}


def run_paced(proxy: int, upstream: int, count: int, blocks: int) -> tuple[list[int], list[int]]:
    direct: list[int] = []
    through: list[int] = []
    for b in range(blocks):
        for port, into in ((upstream, direct), (proxy, through)):
            tag = f"p{b}{port}"
            lat = _latencies(_stream(port, _body("paced", count, 2, tag)).frames, tag)
            assert len(lat) == count, (len(lat), count)
            into += lat
    return direct, through


def _rate(dec: _Decoder) -> float:
    """Events per second from sending the request to the last byte (the same request and
    connection overhead on both paths)."""
    events = sum(1 for _, f in dec.frames if f.startswith(b"event:"))
    return events / ((dec.frames[-1][0] - dec.t_start) / 1e9)


def run_burst(
    proxy: int, upstream: int, count: int, repeats: int
) -> tuple[list[float], list[float]]:
    direct, through = [], []
    for r in range(repeats):
        for port, into in ((upstream, direct), (proxy, through)):
            dec = _stream(port, _body("burst", count, 0, f"b{r}"))
            assert len(_latencies(dec.frames, f"b{r}")) == count
            into.append(_rate(dec))
    return direct, through


def run_concurrent(
    proxy: int, upstream: int, streams: int, count: int, interval_ms: float
) -> dict[str, list[int]]:
    """Latencies of every delta after each stream's first (steady state), and of the first
    deltas (which also wait for the set-up of all the other exchanges), direct and through."""
    out: dict[str, list[int]] = {}
    for port, name in ((upstream, "direct"), (proxy, "through")):
        tags = [f"c{i}x{port}" for i in range(streams)]
        results = _streams(port, [_body("paced", count, interval_ms, tag) for tag in tags])
        steady, first = out.setdefault(name, []), out.setdefault(f"{name}_first", [])
        for tag, frames in zip(tags, results, strict=True):
            lat = _latencies(frames, tag)  # raises if streams were mixed up
            assert len(lat) == count, (tag, len(lat))
            assert frames[-1][1].startswith(b"event: response.completed"), tag
            first.append(lat[0])
            steady += lat[1:]
    return out


def run_concurrent_burst(
    proxy: int, upstream: int, streams: int, count: int
) -> tuple[float, float]:
    rates = []
    for port in (upstream, proxy):
        tags = [f"cb{i}x{port}" for i in range(streams)]
        t0 = time.monotonic_ns()
        results = _streams(port, [_body("burst", count, 0, tag) for tag in tags])
        t1 = max(frames[-1][0] for frames in results)
        events = 0
        for tag, frames in zip(tags, results, strict=True):
            assert len(_latencies(frames, tag)) == count
            events += sum(1 for _, f in frames if f.startswith(b"event:"))
        rates.append(events / ((t1 - t0) / 1e9))
    return rates[0], rates[1]


# -- orchestration ---------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


def _start_proxy(
    up_port: int, tmp: Path, name: str, extra: list[str]
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "ssescope", "proxy",
            "--upstream", f"http://127.0.0.1:{up_port}/v1",
            "--listen", f"127.0.0.1:{port}", "--headless",
            "--record-dir", str(tmp / name), *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_http(port, proc, what=f"the proxy ({name})")
    return proc, port


def _counted(port: int) -> float:
    """``sum(ssescope_exchanges_total)`` from one scrape of ``/metrics``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in data.decode().splitlines()
        if line.startswith("ssescope_exchanges_total{")
    )


def _wait_counted(port: int, served: int) -> float:
    """The last exchange is counted just after its last byte reached the client: scrape until
    every exchange is (10 s at most)."""
    deadline = time.monotonic() + 10
    while (counted := _counted(port)) < served and time.monotonic() < deadline:
        time.sleep(0.05)
    return counted


def _cpu_ns(pid: int) -> int:
    """CPU time of every thread of a process so far, in ns (/proc/PID/task/*/schedstat: the
    clock-tick resolution of /proc/PID/stat is too coarse to tell 10% apart in a few runs)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError):
            total += int(stat.read_text().split()[0])
    return total


def part_cost(deltas: int = 2000, rounds: int = 30) -> tuple[float, float]:
    """In-process, in CPU time (which the machine's load moves far less than latency): the
    judgement's cost per event of one stream like the upstream's, and the metrics part's work
    at its end (``ProxyMetrics.ended``) per event of the same stream, in µs."""
    sys.path.insert(0, str(ROOT))
    from ssescope.core.checker import CheckOptions
    from ssescope.core.run import Run, RunInfo
    from ssescope.proxy.hub import ExchangeHub
    from ssescope.proxy.metrics import ProxyMetrics

    def frame(etype: str, seq: int, **fields: object) -> bytes:
        data = json.dumps({"type": etype, "sequence_number": seq, **fields})
        return f"event: {etype}\ndata: {data}\n\n".encode()

    item = {"id": "msg_x", "type": "message", "status": "in_progress", "role": "assistant"}
    where = {"item_id": "msg_x", "output_index": 0, "content_index": 0}
    frames = [
        frame("response.created", 0, response=_response("resp_x", "in_progress")),
        frame("response.output_item.added", 1, output_index=0, item={**item, "content": []}),
        *(frame("response.output_text.delta", 2 + i, **where, delta="ab ", logprobs=[])
          for i in range(deltas)),
    ]  # fmt: skip
    hub, metrics = ExchangeHub(keep=1), ProxyMetrics()
    judge_cpu = 0.0
    for _ in range(3):
        exchange = hub.open(started=0.0, t0=0.0, method="POST", path="/v1/responses", url="u",
                            request_headers={})  # fmt: skip
        run = Run(CheckOptions(keep_per_rule=200), RunInfo("bench", "live"), keep_chunks=False)
        start = time.process_time()
        run.on_response(200, {"content-type": "text/event-stream"})
        for i, piece in enumerate(frames):
            run.feed(piece, i * 0.001)
        run.finish(len(frames) * 0.001, "eof")
        judge_cpu += time.process_time() - start
        exchange.run, exchange.status, exchange.t_end = run, 200, len(frames) * 0.001
    start = time.process_time()
    for _ in range(rounds):
        metrics.ended(exchange, "default", "bench-model", "/v1/responses")
    part_cpu = (time.process_time() - start) / rounds
    return judge_cpu / 3 / len(frames) * 1e6, part_cpu / len(frames) * 1e6


def run_metrics_comparison(args: argparse.Namespace) -> int:
    """Metrics off and on, in the same run (see the module's docstring)."""
    repeats = 4 if args.quick else 4 * args.repeats
    blocks = 4 if args.quick else 24  # short blocks, so that the machine's load hits all three
    paced_events = 100 if args.quick else max(1, 6 * args.paced_events // blocks)
    tmp = Path(tempfile.mkdtemp(prefix="bench_proxy_"))
    port_file = tmp / "upstream.port"
    upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(port_file)])
    procs: list[subprocess.Popen] = []
    try:
        up = _wait_port(port_file, upstream)
        off, off_port = _start_proxy(up, tmp, "off", [])
        procs.append(off)
        metrics_port = free_port()
        on, on_port = _start_proxy(up, tmp, "on", ["--metrics", f"127.0.0.1:{metrics_port}"])
        procs.append(on)
        for port in (off_port, on_port):
            run_burst(port, up, 200, 1)  # warm up
            run_paced(port, up, 50, 1)
        print(f"paced: {blocks} × {paced_events} deltas at 2 ms, direct/off/on alternating …",
              file=sys.stderr)  # fmt: skip
        lat: dict[str, list[int]] = {"direct": [], "off": [], "on": []}
        per_block: dict[str, list[float]] = {"direct": [], "off": [], "on": []}
        paths = [("direct", up), ("off", off_port), ("on", on_port)]
        for b in range(blocks):
            for name, port in paths if b % 2 else [paths[0], paths[2], paths[1]]:
                tag = f"m{b}{name}"
                got = _latencies(_stream(port, _body("paced", paced_events, 2, tag)).frames, tag)
                assert len(got) == paced_events
                lat[name] += got
                per_block[name].append(_pct(got, 0.99))
        print(f"burst: 2,000 deltas × {repeats} per proxy, alternating …", file=sys.stderr)
        cpu = {"off": 0, "on": 0}
        proxies = [("off", off, off_port), ("on", on, on_port)]
        for r in range(repeats):
            for name, proc, port in proxies if r % 2 else proxies[::-1]:
                before = _cpu_ns(proc.pid)
                dec = _stream(port, _body("burst", 2000, 0, f"mb{r}"))
                cpu[name] += _cpu_ns(proc.pid) - before
                assert len(_latencies(dec.frames, f"mb{r}")) == 2000
        served = 1 + 2 + blocks + repeats  # GET /health (wait_http), warm-up, paced, bursts
        counted = _wait_counted(metrics_port, served)
    finally:
        for proc in (*procs, upstream):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    events = repeats * (2000 + 8)
    added = {
        (name, q): _pct(lat[name], q) - _pct(lat["direct"], q)
        for name in ("off", "on")
        for q in (0.5, 0.99)
    }
    per_event = {name: cpu[name] / events / 1e3 for name in cpu}
    pooled_delta = added[("on", 0.99)] - added[("off", 0.99)]
    # the median over blocks of each block's p99: a burst of load on the shared machine spoils
    # one block's p99 (of all three paths, or of one), not the median
    block_added = {
        name: statistics.median(
            b - d for b, d in zip(per_block[name], per_block["direct"], strict=True)
        )
        for name in ("off", "on")
    }
    p99_delta = block_added["on"] - block_added["off"]
    cpu_ratio = per_event["on"] / per_event["off"] if per_event["off"] else float("nan")
    print(
        f"\nssescope proxy, metrics off vs on ({platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, loopback, recording and judging)\n"
    )
    print("| measurement | metrics off | metrics on | difference | target | met |")
    print("|---|---:|---:|---:|---|---|")
    print(
        f"| paced 2 ms, {len(lat['on'])} deltas each: added latency p50 | "
        f"{added[('off', 0.5)]:.3f} ms | {added[('on', 0.5)]:.3f} ms | "
        f"{added[('on', 0.5)] - added[('off', 0.5)]:+.3f} ms | | |"
    )
    print(f"| paced 2 ms: added latency p99, all deltas pooled | {added[('off', 0.99)]:.3f} ms | "
          f"{added[('on', 0.99)]:.3f} ms | {pooled_delta:+.3f} ms | | |")  # fmt: skip
    print(f"| paced 2 ms: added latency p99, median of the {blocks} blocks' | "
          f"{block_added['off']:.3f} ms | {block_added['on']:.3f} ms | {p99_delta:+.3f} ms | "
          f"within 0.05 ms | {'yes' if p99_delta <= 0.05 else '**no**'} |")  # fmt: skip
    print(
        f"| burst 2,000 deltas × {repeats}: proxy CPU per event | {per_event['off']:.1f} µs | "
        f"{per_event['on']:.1f} µs | {cpu_ratio - 1:+.1%} | at most +10% | "
        f"{'yes' if cpu_ratio <= 1.10 else '**no**'} |"
    )
    judge_us, part_us = part_cost()
    print(f"| in-process CPU per event: judging / the metrics part's work at the end | "
          f"{judge_us:.2f} µs | {part_us:.3f} µs | {part_us / judge_us:+.1%} of judging | | |")  # fmt: skip
    print(f"| exchanges counted at /metrics | | {counted:.0f} / {served} | | all | "
          f"{'yes' if counted == served else '**no**'} |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({
            "added_ms": {f"{n}_p{int(q * 100)}": v for (n, q), v in added.items()},
            "cpu_us_per_event": per_event, "p99_delta_ms": p99_delta,
            "pooled_p99_delta_ms": pooled_delta, "block_p99_added_ms": block_added, "cpu_ratio": cpu_ratio,
            "counted": counted, "served": served,
            "in_process_us_per_event": {"judge": judge_us, "metrics_part": part_us},
        }, indent=2))  # fmt: skip
    return 0 if p99_delta <= 0.05 and cpu_ratio <= 1.10 and counted == served else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer events and repeats")
    parser.add_argument("--repeats", type=int, default=5, help="burst repeats")
    parser.add_argument("--paced-events", type=int, default=500, help="deltas per paced block")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--no-record", action="store_true", help="run the proxy without recording (comparison)"
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="compare the proxy with --metrics on and off, in the same run",
    )
    parser.add_argument("--serve-upstream", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        asyncio.run(_serve_upstream(args.serve_upstream))
        return 0
    if args.metrics:
        return run_metrics_comparison(args)
    repeats = 2 if args.quick else args.repeats
    paced_events = 200 if args.quick else args.paced_events
    blocks = 2 if args.quick else 6

    tmp = Path(tempfile.mkdtemp(prefix="bench_proxy_"))
    port_file = tmp / "upstream.port"
    upstream = subprocess.Popen([sys.executable, __file__, "--serve-upstream", str(port_file)])
    proxy = None
    try:
        up_port = _wait_port(port_file, upstream)
        px_port = free_port()
        record = ["--no-record"] if args.no_record else ["--record-dir", str(tmp / "captures")]
        proxy = subprocess.Popen(
            [
                sys.executable, "-m", "ssescope", "proxy",
                "--upstream", f"http://127.0.0.1:{up_port}/v1",
                "--listen", f"127.0.0.1:{px_port}", "--headless", *record,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_http(px_port, proxy, what="the proxy")
        run_burst(px_port, up_port, 200, 1)  # warm up
        run_paced(px_port, up_port, 50, 1)

        print(f"paced: {blocks} × {paced_events} deltas at 2 ms, alternating …", file=sys.stderr)
        direct, through = run_paced(px_port, up_port, paced_events, blocks)
        print(f"burst: 2,000 deltas × {repeats}, alternating …", file=sys.stderr)
        cpu0 = _cpu_seconds(proxy.pid)
        burst_direct, burst_through = run_burst(px_port, up_port, 2000, repeats)
        cpu_per_event = (_cpu_seconds(proxy.pid) - cpu0) / (repeats * (2000 + 8)) * 1e6
        print("concurrent: 50 streams …", file=sys.stderr)
        c_count = 50 if args.quick else 150
        conc = run_concurrent(px_port, up_port, 50, c_count, 20)
        c_direct, c_through = conc["direct"], conc["through"]
        cb_direct, cb_through = run_concurrent_burst(
            px_port, up_port, 50, 400 if args.quick else 1000
        )
        captures = len(list((tmp / "captures").glob("*.jsonl"))) if not args.no_record else 0
    finally:
        for proc in (proxy, upstream):
            if proc is not None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)

    added = {q: _pct(through, q) - _pct(direct, q) for q in (0.5, 0.99)}
    added_mean = (statistics.fmean(through) - statistics.fmean(direct)) / 1e6
    rate_direct = statistics.median(burst_direct)
    rate_through = statistics.median(burst_through)
    ratio = rate_through / rate_direct
    c_added = {q: _pct(c_through, q) - _pct(c_direct, q) for q in (0.5, 0.99)}
    cb_ratio = cb_through / cb_direct

    def ok(flag: bool) -> str:
        return "yes" if flag else "**no**"

    mode = "no recording" if args.no_record else f"recording ({captures} captures) and judging"
    print(f"\nssescope proxy benchmark ({platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, loopback, {mode})\n")  # fmt: skip
    print("| measurement | figure | target | met |")
    print("|---|---|---|---|")
    print(f"| paced 2 ms, {len(through)} deltas: one-way latency direct p50 / p99 | "
          f"{_pct(direct, 0.5):.3f} / {_pct(direct, 0.99):.3f} ms | (loopback floor) | |")  # fmt: skip
    print(f"| paced 2 ms: one-way latency through the proxy p50 / p99 | "
          f"{_pct(through, 0.5):.3f} / {_pct(through, 0.99):.3f} ms | | |")  # fmt: skip
    print(f"| paced 2 ms: **added** by the proxy p50 / p99 (mean) | "
          f"**{added[0.5]:.3f} / {added[0.99]:.3f} ms** ({added_mean:.3f}) | p99 <= 0.2 ms | {ok(added[0.99] <= 0.2)} |")  # fmt: skip
    print(f"| burst 2,000 deltas: events/s direct / through, median of {repeats} | "
          f"{rate_direct:,.0f} / {rate_through:,.0f} | | |")  # fmt: skip
    print(f"| burst: **throughput through the proxy as a fraction of direct** | "
          f"**{ratio:.2f}x** | >= 0.4x | {ok(ratio >= 0.4)} |")  # fmt: skip
    print(f"| burst: proxy CPU per event (forward + record + judge) | "
          f"{cpu_per_event:.1f} µs | | |")  # fmt: skip
    complete = len(c_through) + len(conc["through_first"])
    print(f"| 50 concurrent streams × {c_count} deltas at 20 ms (in lockstep): complete, none mixed up | "
          f"{complete} / {50 * c_count} deltas | all | {ok(complete == 50 * c_count)} |")  # fmt: skip
    print(f"| 50 concurrent streams: added latency p50 / p99 after each stream's first delta | "
          f"{c_added[0.5]:.3f} / {c_added[0.99]:.3f} ms (direct p50 / p99 {_pct(c_direct, 0.5):.3f} / {_pct(c_direct, 0.99):.3f}) | | |")  # fmt: skip
    print(f"| 50 concurrent streams: first delta of each stream, through / direct, p50 / max | "
          f"{_pct(conc['through_first'], 0.5):.3f} / {_pct(conc['through_first'], 1):.3f} ms, "
          f"{_pct(conc['direct_first'], 0.5):.3f} / {_pct(conc['direct_first'], 1):.3f} ms | | |")  # fmt: skip
    print(f"| 50 concurrent bursts: events/s direct / through | "
          f"{cb_direct:,.0f} / {cb_through:,.0f} (**{cb_ratio:.2f}x**) | | |")  # fmt: skip
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "paced": {"direct_p50": _pct(direct, 0.5), "direct_p99": _pct(direct, 0.99),
                              "through_p50": _pct(through, 0.5), "through_p99": _pct(through, 0.99),
                              "added_p50": added[0.5], "added_p99": added[0.99], "added_mean": added_mean},
                    "burst": {"direct": burst_direct, "through": burst_through, "ratio": ratio,
                              "proxy_cpu_us_per_event": cpu_per_event},
                    "concurrent": {"added_p50": c_added[0.5], "added_p99": c_added[0.99],
                                   "burst_direct": cb_direct, "burst_through": cb_through, "ratio": cb_ratio},
                },
                indent=2,
            )
        )  # fmt: skip
    return 0 if added[0.99] <= 0.2 and ratio >= 0.4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
