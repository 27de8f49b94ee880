"""Benchmark: does probing slow the stream? Event handling throughput with probes off and on.

Run::

    /work/venv/bin/python tests/bench/bench_health.py [--events 200000] [--repeat 5]
    /work/venv/bin/python tests/bench/bench_health.py --quick       # smoke run

What it does:

* starts two servers on 127.0.0.1, each in its own process so they do not share the client's
  interpreter: an SSE server that streams a Responses stream of N ``output_text.delta`` events
  as fast as the socket takes them, and a fake vLLM ``/health`` + ``/metrics`` whose exposition
  is vLLM-sized (every documented family, histograms with their buckets, two models);
* runs ``ssescope.cli.check.check_url`` (the real live path: httpx, framing, checker, timing,
  Codex model) against the stream in three modes, interleaved, ``--repeat`` times each:

  - **off**: no probes;
  - **on (1 s)**: ``--server`` polled every 1 s (the default) plus a local NVML GPU probe;
  - **on (0.1 s)**: the server polled every 0.1 s (ten times the default), plus NVML;

* prints, per mode, the median wall time, events/s, the ratio to "off", and how many
  /metrics scrapes were parsed during the reads.

This is not a pytest test (pytest ignores tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


# -- servers (child processes) ----------------------------------------------------------------


def stream_bytes(n: int) -> bytes:
    resp = {
        "id": "resp_b",
        "object": "response",
        "created_at": 1,
        "status": "in_progress",
        "model": "m",
        "output": [],
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "temperature": 1,
        "top_p": 1,
        "tools": [],
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "usage": None,
    }
    msg = {
        "id": "msg_b",
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    ids = {"item_id": "msg_b", "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.created", "response": resp},
        {"type": "response.in_progress", "response": resp},
        {"type": "response.output_item.added", "output_index": 0, "item": msg},
        {"type": "response.content_part.added", **ids, "part": part},
    ]
    words = ["alpha ", "beta ", "gamma ", "delta "]
    events += [
        {"type": "response.output_text.delta", **ids, "delta": words[i % 4], "logprobs": []}
        for i in range(n)
    ]
    text = "".join(words[i % 4] for i in range(n))
    done_part = {**part, "text": text}
    done_msg = {**msg, "status": "completed", "content": [done_part]}
    usage = {
        "input_tokens": 3,
        "output_tokens": n,
        "total_tokens": n + 3,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 0},
    }
    events += [
        {"type": "response.output_text.done", **ids, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **ids, "part": done_part},
        {"type": "response.output_item.done", "output_index": 0, "item": done_msg},
        {
            "type": "response.completed",
            "response": {**resp, "status": "completed", "output": [done_msg], "usage": usage},
        },
    ]
    return b"".join(
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': i})}\n\n".encode()
        for i, e in enumerate(events)
    )


def vllm_exposition(steps: int) -> str:
    sys.path.insert(0, str(ROOT))
    from tests.health.fixtures import vllm_metrics

    text = vllm_metrics(running=4, waiting=0, steps=steps, tokens=steps * 7)
    extra = []
    for fam in (
        "e2e_request_latency_seconds",
        "request_queue_time_seconds",
        "request_prefill_time_seconds",
        "request_decode_time_seconds",
        "inter_token_latency_seconds",
        "request_prompt_tokens",
        "request_generation_tokens",
        "request_inference_time_seconds",
        "request_params_max_tokens",
        "request_params_n",
    ):
        extra += [f"# HELP vllm:{fam} {fam}", f"# TYPE vllm:{fam} histogram"]
        for model in ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-8B"):
            labels = f'model_name="{model}",engine="0"'
            for le in (
                0.3,
                0.5,
                0.8,
                1,
                1.5,
                2,
                2.5,
                5,
                10,
                15,
                20,
                30,
                40,
                50,
                60,
                120,
                240,
                480,
                960,
                1920,
                7680,
                "+Inf",
            ):
                extra.append(f'vllm:{fam}_bucket{{{labels},le="{le}"}} {steps}.0')
            extra += [
                f"vllm:{fam}_count{{{labels}}} {steps}.0",
                f"vllm:{fam}_sum{{{labels}}} {steps * 1.5}",
            ]
    return text + "\n".join(extra) + "\n"


async def serve(kind: str, events: int) -> None:
    body = stream_bytes(events) if kind == "sse" else b""
    steps = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        path = head.split(b" ", 2)[1]
        if kind == "sse":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n"
            )
            for i in range(0, len(body), 16384):
                writer.write(body[i : i + 16384])
                await writer.drain()
        else:
            steps[0] += 10
            out = vllm_exposition(steps[0]).encode() if path == b"/metrics" else b""
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (len(out), out)
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def start(kind: str, events: int) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--events", str(events)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    return proc, int(proc.stdout.readline())


# -- the measurement --------------------------------------------------------------------------


def run_once(
    sse_port: int, metrics_port: int, interval: float | None
) -> tuple[float, float, int, int]:
    from ssescope.cli.check import check_url
    from ssescope.core.checker import CheckOptions
    from ssescope.core.live import build_request
    from ssescope.health.monitor import HealthConfig

    health = None
    if interval is not None:
        health = HealthConfig(
            server=f"http://127.0.0.1:{metrics_port}", gpu="local", interval=interval
        )
    spec = build_request(f"http://127.0.0.1:{sse_port}/v1")
    start_t, start_cpu = time.perf_counter(), time.process_time()
    result = check_url(spec, CheckOptions(), grace=0.0, max_wait=60, health=health)
    wall = time.perf_counter() - start_t
    cpu = time.process_time() - start_cpu
    samples = (result.get("health") or {}).get("samples") or []
    scrapes = sum(1 for s in samples if s["source"] == "server" and s["metrics"]["state"] == "ok")
    assert result["codex"]["outcome"] == "ok", result["codex"]
    return wall, cpu, result["events"], scrapes


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=200_000, help="delta events per stream")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="20k events, 1 repeat")
    ap.add_argument("--serve", choices=("sse", "metrics"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.events))
        return 0
    if args.quick:
        args.events, args.repeat = 20_000, 1
    sse, sse_port = start("sse", args.events)
    metrics, metrics_port = start("metrics", 0)
    modes = {"off": None, "on (1 s)": 1.0, "on (0.1 s)": 0.1}
    walls: dict[str, list[float]] = {m: [] for m in modes}
    cpus: dict[str, list[float]] = {m: [] for m in modes}
    scrapes: dict[str, list[int]] = {m: [] for m in modes}
    events = 0
    try:
        for interval in modes.values():  # warm-up: imports, first connections
            run_once(sse_port, metrics_port, interval)
        for r in range(args.repeat):
            for mode, interval in modes.items():
                wall, cpu, events, n = run_once(sse_port, metrics_port, interval)
                walls[mode].append(wall)
                cpus[mode].append(cpu)
                scrapes[mode].append(n)
                print(
                    f"  round {r + 1} {mode:11s} {wall:7.3f} s wall {cpu:7.3f} s CPU  {n} scrapes",
                    file=sys.stderr,
                )
    finally:
        for p in (sse, metrics):
            p.terminate()
            p.wait(10)
    from ssescope.health.adapters import WANTED
    from ssescope.health.metrics import parse_metrics

    exposition = vllm_exposition(10)
    t = time.perf_counter()
    for _ in range(20):
        parse_metrics(exposition, keep=WANTED["vllm"])
    parse_ms = (time.perf_counter() - t) / 20 * 1000
    t = time.perf_counter()
    for _ in range(20):
        parse_metrics(exposition)
    full_ms = (time.perf_counter() - t) / 20 * 1000

    base = statistics.median(walls["off"])
    base_cpu = statistics.median(cpus["off"])
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, {args.events} delta events ({events} events per stream), "
        f"median of {args.repeat}; /metrics exposition {len(exposition) // 1024} KiB, "
        f"{exposition.count(chr(10))} lines: {parse_ms:.1f} ms per scrape (the adapter's "
        f"metrics), {full_ms:.1f} ms for all of it (on demand only)\n"
    )
    print(
        "| probes | wall | events/s (wall) | vs off | client CPU | events per CPU-s | vs off "
        "| /metrics scrapes per read |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for mode in modes:
        w, c = statistics.median(walls[mode]), statistics.median(cpus[mode])
        print(
            f"| {mode} | {w:.3f} s | {events / w:,.0f} | {base / w:.3f}× | {c:.3f} s | "
            f"{events / c:,.0f} | {base_cpu / c:.3f}× | {statistics.median(scrapes[mode]):.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
