"""Benchmark ``ssescope check --json`` against a json-parsing floor and the openai SDK.

Run::

    /work/venv/bin/python tests/bench/bench_check.py [--sizes 10k,40k,100k,400k,1M] [--out DIR]
    /work/venv/bin/python tests/bench/bench_check.py --quick        # smoke run: 10k,40k, 1 repeat

What it does:

* generates deterministic raw SSE files in the OpenAI Responses shape (``event: <type>`` +
  ``data: <json>`` frames, sequence numbers, the full Response in created/in_progress/completed,
  output_text.delta events of a few characters with item_id/output_index/content_index/logprobs/
  obfuscation, the .done events carrying the full text, usage), one per size, plus a
  tool-call-heavy stream (many function_call items, each with many arguments.delta fragments);
* times, each in a fresh child process of the same interpreter (wall clock; peak RSS of that
  process alone, read by GNU time ``%M`` or, without it, by a bare fork/exec wrapper's ``wait4``):

  - **floor**: read the file, split lines on ``b"\\n"``, ``json.loads`` every ``data:`` line;
  - **ssescope**: ``python -m ssescope check --json FILE`` with stdout to /dev/null;
  - **openai SDK** (peer): ``client.responses.stream(...)`` over an ``httpx2.MockTransport`` that
    serves the file's bytes, iterated to the end, then ``get_final_response()``;

* repeats every measurement (interleaved floor/ssescope/SDK) and keeps the median; a 1-delta
  stream measures each program's fixed cost (imports, set-up);
* subtracts the median start-up of an empty interpreter (``python -c pass``) from every time,
  so the times are the work plus each program's own imports;
* gives up on a program after ``--sdk-timeout`` (SDK, default 120 s: its accumulation is
  quadratic in the text length) or ``--timeout`` (floor, ssescope) and skips the larger streams
  of that kind for it;
* prints Markdown tables (stdout; progress goes to stderr) and, with ``--out``, writes the raw
  numbers to ``DIR/bench_check.json`` (the generated streams go to ``DIR/streams``);
  ``--from-json DIR/bench_check.json`` prints that report again without measuring.

Judged against the targets: within 4x of the floor; 4x the events costs at most 4.5x the time;
memory does not grow with the events beyond the reconstructed text (see TARGET_TEXT_COPIES).

This is not a pytest test (pytest ignores tests/bench).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from benchlib import compile_package

DEFAULT_SIZES = (10_000, 40_000, 100_000, 400_000, 1_000_000)
QUICK_SIZES = (10_000, 40_000)
DEFAULT_TOOLS = (1000, 100)  # function_call items x argument deltas per item
QUICK_TOOLS = (100, 100)

SMALL_EVENTS = 150_000
SMALL_RUNS = 5
"""Streams up to SMALL_EVENTS events get at least SMALL_RUNS floor and ssescope runs (unless
a single run was asked for: --quick, --repeat 1)."""

TARGET_FLOOR_RATIO = 4.0
TARGET_SCALING = 4.5  # 4x the events costs at most this much time
TARGET_TEXT_COPIES = 6.0
"""Memory target: from the smallest to the largest text stream, ssescope's peak RSS may grow by
at most the floor's growth plus this many times the growth of the reconstructed text, measured
as a Python str (``sys.getsizeof``: 4 bytes a character once the text holds an emoji). The floor's
growth is what merely parsing the long lines costs (the four events that repeat the whole text);
on top of it ssescope has to hold the accumulated deltas and the text of output_text.done,
content_part.done, output_item.done and response.completed to compare them, and the JSON it
prints: 6 copies. Anything kept per event shows up far beyond that."""

# -- children ---------------------------------------------------------------------------------

FLOOR_CODE = """\
import json, sys
loads = json.loads
n = 0
with open(sys.argv[1], "rb") as fh:
    for line in fh:  # binary file iteration splits on b"\\n" only
        if line[:5] == b"data:":
            loads(line[5:])
            n += 1
sys.stdout.write(f"{n}\\n")
"""

SDK_CODE = """\
import sys
path = sys.argv[1]
import httpx2
from openai import OpenAI

def handler(request):
    def body():
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                yield chunk
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body())

client = OpenAI(
    api_key="x",
    base_url="http://bench.invalid/v1",
    http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    max_retries=0,
)
n = 0
with client.responses.stream(model="gpt-bench", input="bench") as stream:
    for _event in stream:
        n += 1
    final = stream.get_final_response()
size = 0
for item in final.output:
    if item.type == "message":
        size += sum(len(c.text.encode()) for c in item.content if c.type == "output_text")
    elif item.type == "function_call":
        size += len(item.arguments.encode())
sys.stdout.write(f"{n} {size}\\n")
"""

STARTUP_CODE = "pass"


# -- stream generation ------------------------------------------------------------------------

_WORDS = (
    "the",
    "stream",
    "of",
    "events",
    "arrives",
    "in",
    "small",
    "pieces",
    "and",
    "each",
    "piece",
    "carries",
    "a",
    "few",
    "characters",
    "of",
    "text",
    "that",
    "the",
    "client",
    "appends",
    "to",
    "what",
    "it",
    "already",
    "has",
    "while",
    "the",
    "server",
    "keeps",
    "sending",
    "deltas",
    "until",
    "the",
    "response",
    "is",
    "complete",
    "and",
    "the",
    "usage",
    "is",
    "reported",
    "at",
    "the",
    "very",
    "end",
    "model",
    "token",
    "output",
    "response",
    "item",
    "content",
    "part",
    "function",
    "call",
    "arguments",
    "sequence",
    "number",
    "value",
    "json",
    "parser",
    "debugger",
    "latency",
    "throughput",
    "memory",
    "buffer",
    "frame",
    "line",
    "field",
    "server",
    "client",
)
_EXTRA = [
    ",",
    ".",
    ":",
    ";",
    "!",
    "?",
    "\n\n",
    "\n",
    "ing",
    "ed",
    "'s",
    " —",
    " café",
    " naïve",
    " déjà",
    " vu",
    " 東京",
    " 🙂",
    ' "quoted"',
    " C:\\path",
    "`code`",
    " 42",
    " 3.14",
    " (",
    ")",
]
_TOKENS = [" " + w for w in _WORDS] + [w.capitalize() for w in _WORDS[:20]] + _EXTRA
_OBF_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _hexid(prefix: str, seed: str) -> str:
    return prefix + hashlib.sha256(seed.encode()).hexdigest()[:50]


def _obfuscation(rng: random.Random, delta: str) -> str:
    # The real field pads short deltas with random characters; its length varies.
    return "".join(rng.choices(_OBF_ALPHABET, k=max(1, 16 - len(delta))))


def _response(
    rid: str,
    *,
    status: str,
    tools: list[dict[str, Any]],
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": 1770803606,
        "status": status,
        "background": False,
        "completed_at": 1770803699 if status == "completed" else None,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": "gpt-5.1-2025-11-13",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "prompt_cache_retention": None,
        "reasoning": {"effort": "none", "summary": None},
        "safety_identifier": None,
        "service_tier": "default" if status == "completed" else "auto",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": tools,
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": usage,
        "user": None,
        "metadata": {},
    }


def _usage(output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": 1234,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 1234 + output_tokens,
    }


class _Writer:
    """Writes ``event:``/``data:`` frames with consecutive sequence numbers, buffered."""

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self.seq = 0
        self.buf: list[str] = []

    def event(self, etype: str, body: dict[str, Any]) -> None:
        payload = {"type": etype, "sequence_number": self.seq, **body}
        self.raw(etype, _dumps(payload))

    def raw(self, etype: str, data: str) -> None:
        self.buf.append(f"event: {etype}\ndata: {data}\n\n")
        self.seq += 1
        if len(self.buf) >= 4096:
            self.flush()

    def flush(self) -> None:
        self.fh.write("".join(self.buf).encode("utf-8"))
        self.buf = []


@dataclass
class Stream:
    name: str
    kind: str  # "text" | "tools"
    path: Path
    events: int
    deltas: int
    text_bytes: int
    """UTF-8 size of the reconstructed text (message text, or all function-call arguments)."""
    text_mem: int
    """Its size in memory as Python str objects (``sys.getsizeof``)."""
    file_bytes: int = 0


def gen_text(path: Path, n_deltas: int, seed: str = "text") -> Stream:
    rng = random.Random(f"{seed}-{n_deltas}")
    rid = _hexid("resp_", f"{seed}-{n_deltas}-resp")
    mid = _hexid("msg_", f"{seed}-{n_deltas}-msg")
    pieces: list[str] = []
    with open(path, "wb") as fh:
        w = _Writer(fh)
        w.event(
            "response.created",
            {"response": _response(rid, status="in_progress", tools=[], output=[], usage=None)},
        )
        w.event(
            "response.in_progress",
            {"response": _response(rid, status="in_progress", tools=[], output=[], usage=None)},
        )
        added = {
            "id": mid,
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
        }
        w.event("response.output_item.added", {"output_index": 0, "item": added})
        empty_part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        w.event(
            "response.content_part.added",
            {"item_id": mid, "output_index": 0, "content_index": 0, "part": empty_part},
        )
        head = '{"type":"response.output_text.delta","sequence_number":'
        mid_part = f',"item_id":"{mid}","output_index":0,"content_index":0,"delta":'
        encoded = {tok: _dumps(tok) for tok in _TOKENS}
        choice = rng.choice
        for _ in range(n_deltas):
            tok = choice(_TOKENS)
            pieces.append(tok)
            w.raw(
                "response.output_text.delta",
                f'{head}{w.seq}{mid_part}{encoded[tok]},"logprobs":[],"obfuscation":"{_obfuscation(rng, tok)}"}}',
            )
        text = "".join(pieces)
        w.event(
            "response.output_text.done",
            {"item_id": mid, "output_index": 0, "content_index": 0, "text": text, "logprobs": []},
        )
        part = {"type": "output_text", "annotations": [], "logprobs": [], "text": text}
        w.event(
            "response.content_part.done",
            {"item_id": mid, "output_index": 0, "content_index": 0, "part": part},
        )
        item = {
            "id": mid,
            "type": "message",
            "status": "completed",
            "content": [part],
            "role": "assistant",
        }
        w.event("response.output_item.done", {"output_index": 0, "item": item})
        w.event(
            "response.completed",
            {
                "response": _response(
                    rid, status="completed", tools=[], output=[item], usage=_usage(n_deltas)
                )
            },
        )
        w.flush()
        events = w.seq
    return Stream(
        name=f"text {_fmt_n(n_deltas)}",
        kind="text",
        path=path,
        events=events,
        deltas=n_deltas,
        text_bytes=len(text.encode("utf-8")),
        text_mem=sys.getsizeof(text),
        file_bytes=path.stat().st_size,
    )


_TOOL = {
    "type": "function",
    "description": "Search the project documentation.",
    "name": "search_docs",
    "parameters": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["query", "limit"],
        "additionalProperties": False,
    },
    "strict": True,
}


def _argument_fragments(rng: random.Random, n: int) -> list[str]:
    """n fragments (n >= 6) that join to a valid JSON arguments object, a few characters each."""
    words = [rng.choice(_WORDS) for _ in range(max(1, n - 6))]
    frags = ['{"', "query", '":"', words[0]]
    frags += [" " + w for w in words[1:]]
    frags += ['","limit":', str(rng.randint(1, 50)), "}"]
    return frags


def gen_tools(path: Path, n_items: int, n_frags: int, seed: str = "tools") -> Stream:
    rng = random.Random(f"{seed}-{n_items}-{n_frags}")
    rid = _hexid("resp_", f"{seed}-{n_items}-{n_frags}-resp")
    tools = [_TOOL]
    done_items: list[dict[str, Any]] = []
    total_args = 0
    total_mem = 0
    deltas = 0
    with open(path, "wb") as fh:
        w = _Writer(fh)
        w.event(
            "response.created",
            {"response": _response(rid, status="in_progress", tools=tools, output=[], usage=None)},
        )
        w.event(
            "response.in_progress",
            {"response": _response(rid, status="in_progress", tools=tools, output=[], usage=None)},
        )
        for i in range(n_items):
            fid = _hexid("fc_", f"{seed}-{i}-fc")
            call_id = "call_" + hashlib.sha256(f"{seed}-{i}-call".encode()).hexdigest()[:24]
            added = {
                "id": fid,
                "type": "function_call",
                "status": "in_progress",
                "arguments": "",
                "call_id": call_id,
                "name": "search_docs",
            }
            w.event("response.output_item.added", {"output_index": i, "item": added})
            frags = _argument_fragments(rng, n_frags)
            head = '{"type":"response.function_call_arguments.delta","sequence_number":'
            mid_part = f',"item_id":"{fid}","output_index":{i},"delta":'
            for frag in frags:
                w.raw(
                    "response.function_call_arguments.delta",
                    f'{head}{w.seq}{mid_part}{_dumps(frag)},"obfuscation":"{_obfuscation(rng, frag)}"}}',
                )
            deltas += len(frags)
            args = "".join(frags)
            json.loads(args)  # the generator's own sanity check
            total_args += len(args.encode("utf-8"))
            total_mem += sys.getsizeof(args)
            w.event(
                "response.function_call_arguments.done",
                {"item_id": fid, "output_index": i, "arguments": args},
            )
            done = {**added, "status": "completed", "arguments": args}
            w.event("response.output_item.done", {"output_index": i, "item": done})
            done_items.append(done)
        w.event(
            "response.completed",
            {
                "response": _response(
                    rid, status="completed", tools=tools, output=done_items, usage=_usage(deltas)
                )
            },
        )
        w.flush()
        events = w.seq
    return Stream(
        name=f"tools {n_items}x{n_frags}",
        kind="tools",
        path=path,
        events=events,
        deltas=deltas,
        text_bytes=total_args,
        text_mem=total_mem,
        file_bytes=path.stat().st_size,
    )


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Run:
    wall: float
    maxrss_kb: int
    status: int
    stdout: str = ""
    timed_out: bool = False
    cpu: float = 0.0
    """User + system CPU seconds of the measured process: steadier than wall time when other
    work shares the machine."""


GNU_TIME = "/usr/bin/time"

# Fallback when GNU time is missing: a tiny wrapper (no site, nothing imported) that forks, execs
# the command and reports the child's own ru_maxrss, user and system time from wait4.
WRAPPER_CODE = """\
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    try:
        os.execv(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as fh:
    fh.write(f"{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def _rss_method() -> str:
    try:
        probe = subprocess.run(
            [GNU_TIME, "-f", "%M", "true"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and probe.stderr.strip().splitlines()[-1].isdigit():
            return "gnu-time"
    except OSError:
        pass
    return "wrapper"


RSS_METHOD = ""


def run_child(
    argv: list[str], *, capture: bool, timeout: float | None = None, cwd: str | None = None
) -> Run:
    """One child: wall time from spawn to reap, and the peak RSS of the measured process.

    ``ru_maxrss`` of a directly spawned child is not its own: Linux carries the high-water mark of
    the address space it replaced at exec, and Python's subprocess spawns with vfork, so the child
    would inherit this (large) benchmark process's peak. The measured program therefore runs under
    a small intermediary (GNU time, or a bare-interpreter fork/exec wrapper) whose own footprint is
    what it replaces, and that intermediary reports the peak of its child alone.
    """
    global RSS_METHOD
    if not RSS_METHOD:
        RSS_METHOD = _rss_method()
    with tempfile.TemporaryFile() as out_fh, tempfile.TemporaryFile() as err_fh:
        return _run_child(argv, out_fh, err_fh, capture=capture, timeout=timeout, cwd=cwd)


def _run_child(
    argv: list[str],
    out_fh: IO[bytes],
    err_fh: IO[bytes],
    *,
    capture: bool,
    timeout: float | None,
    cwd: str | None,
) -> Run:
    fd, rss_path = tempfile.mkstemp(prefix="bench_rss_")
    os.close(fd)
    if RSS_METHOD == "gnu-time":
        full = [GNU_TIME, "-f", "%M %U %S", "-o", rss_path, *argv]
    else:
        full = [sys.executable, "-S", "-c", WRAPPER_CODE, rss_path, *argv]
    try:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            full,
            stdout=out_fh if capture else subprocess.DEVNULL,
            stderr=err_fh,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
        )
        timed_out = threading.Event()

        def _kill() -> None:
            timed_out.set()
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the intermediary and the measured process

        timer = threading.Timer(timeout, _kill) if timeout else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        proc.wait()
        wall = time.perf_counter() - t0
        if timer is not None:
            timer.cancel()
        stdout = ""
        if capture:
            out_fh.seek(0)
            stdout = out_fh.read().decode("utf-8", errors="replace")
        if timed_out.is_set():
            return Run(wall, 0, proc.returncode, stdout, True)
        if proc.returncode not in (0, 1):
            err_fh.seek(0)
            err = err_fh.read().decode("utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"{argv[:4]}... exited {proc.returncode}:\n{err}")
        with open(rss_path) as fh:
            fields = fh.read().split()[-3:]  # GNU time may put a status note first
        return Run(
            wall,
            int(fields[0]),
            proc.returncode,
            stdout,
            False,
            cpu=float(fields[1]) + float(fields[2]),
        )
    finally:
        os.unlink(rss_path)


@dataclass
class Measure:
    walls: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    timed_out: float | None = None
    skipped: str | None = None

    def add(self, run: Run) -> None:
        self.walls.append(run.wall)
        self.rss_kb.append(run.maxrss_kb)
        self.cpus.append(run.cpu)
        self.statuses.append(run.status)

    @property
    def ok(self) -> bool:
        return bool(self.walls) and self.timed_out is None and self.skipped is None

    def median(self, startup: float) -> float | None:
        return statistics.median(self.walls) - startup if self.ok else None

    def median_cpu(self, startup_cpu: float) -> float | None:
        return statistics.median(self.cpus) - startup_cpu if self.ok and self.cpus else None

    @property
    def peak_mb(self) -> float | None:
        """Peak RSS in MB (10^6 bytes, like every MB in the report)."""
        return max(self.rss_kb) * 1024 / 1e6 if self.rss_kb else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_s": self.walls,
            "maxrss_kb": self.rss_kb,
            "cpu_s": self.cpus,
            "exit": self.statuses,
            "timed_out_after_s": self.timed_out,
            "skipped": self.skipped,
        }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _fmt_n(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def _parse_n(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    mult = 1
    if text.endswith("k"):
        mult, text = 1000, text[:-1]
    elif text.endswith("m"):
        mult, text = 1_000_000, text[:-1]
    return int(float(text) * mult)


def _parse_tools(text: str) -> tuple[int, int] | None:
    if text in ("0", "none", ""):
        return None
    items, _, frags = text.lower().partition("x")
    n_items, n_frags = _parse_n(items), _parse_n(frags)
    if n_frags < 6:
        raise argparse.ArgumentTypeError("--tools: need at least 6 fragments per call")
    return n_items, n_frags


def _ssescope_argv(path: Path) -> list[str]:
    return [sys.executable, "-m", "ssescope", "check", "--json", str(path)]


def validate_ssescope(stream: Stream, cwd: str) -> str:
    """One untimed run with stdout kept: the events were read and the text rebuilt."""
    run = run_child(_ssescope_argv(stream.path), capture=True, cwd=cwd)
    doc = json.loads(run.stdout)
    problems = []
    if doc.get("events") != stream.events:
        problems.append(f"events {doc.get('events')} != {stream.events}")
    if doc["summary"]["errors"] or doc["summary"]["warnings"]:
        ids = sorted(doc.get("finding_counts", {}))
        problems.append(f"findings {doc['summary']} ({', '.join(ids)})")
    size = 0
    for item in doc["response"]["output"]:
        if item.get("type") == "message":
            size += sum(len(c["text"].encode()) for c in item["content"])
        elif item.get("type") == "function_call":
            size += len(item["arguments"].encode())
    if size != stream.text_bytes:
        problems.append(f"rebuilt text {size} B != {stream.text_bytes} B")
    return "; ".join(problems)


PROGRAMS = ("floor", "ssescope", "sdk")


def _argv(prog: str, path: Path) -> list[str]:
    if prog == "floor":
        return [sys.executable, "-c", FLOOR_CODE, str(path)]
    if prog == "sdk":
        return [sys.executable, "-c", SDK_CODE, str(path)]
    return _ssescope_argv(path)


def _check_output(prog: str, run: Run, s: Stream) -> None:
    """The floor parsed every data line; the SDK rebuilt all of the text (ssescope: exit 0/1)."""
    if prog == "floor" and int(run.stdout.split()[0]) != s.events:
        raise RuntimeError(f"floor parsed {run.stdout.strip()} data lines, expected {s.events}")
    if prog == "sdk" and int(run.stdout.split()[1]) != s.text_bytes:
        raise RuntimeError(f"SDK rebuilt {run.stdout.split()[1]} B of text, not {s.text_bytes}")


def _source_fingerprint(repo: str) -> dict[str, Any]:
    """Which ssescope was measured: git HEAD, dirty or not, and a hash of its sources."""
    root = Path(repo)
    digest = hashlib.sha256()
    for f in sorted((root / "ssescope").rglob("*.py")):
        digest.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes())
    info: dict[str, Any] = {"sources_sha256": digest.hexdigest()[:16]}
    try:
        head = subprocess.run(
            ["git", "-C", repo, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", repo, "status", "--porcelain", "--", "ssescope"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["git_head"] = head
        info["uncommitted_ssescope_changes"] = bool(dirty)
    except (OSError, subprocess.CalledProcessError):
        pass
    return info


# -- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--sizes",
        help="text-delta counts, comma-separated (10k, 1M allowed); default 10k,40k,100k,400k,1M",
    )
    ap.add_argument(
        "--tools",
        help="tool-call-heavy stream as ITEMSxFRAGMENTS (default 1000x100; 0 = none)",
    )
    ap.add_argument("--repeat", type=int, help="runs per measurement, median kept (default 3)")
    ap.add_argument(
        "--quick", action="store_true", help="smoke run: sizes 10k,40k, tools 100x100, 1 repeat"
    )
    ap.add_argument(
        "--out",
        help="directory for the streams and bench_check.json (default: a temp dir, removed)",
    )
    ap.add_argument("--no-sdk", action="store_true", help="skip the openai SDK peer")
    ap.add_argument(
        "--rss",
        choices=("auto", "gnu-time", "wrapper"),
        default="auto",
        help="how the peak RSS of a child is read (default: GNU time when present)",
    )
    ap.add_argument(
        "--sdk-timeout",
        type=float,
        default=120.0,
        help="give up on an SDK run after this many seconds; larger streams of that kind are "
        "then skipped (default 120: the SDK's accumulation is quadratic in the text length)",
    )
    ap.add_argument(
        "--timeout",
        type=float,
        default=1200.0,
        help="the same for one floor or ssescope run (default 1200)",
    )
    ap.add_argument(
        "--from-json",
        metavar="FILE",
        help="print the report of an earlier run's bench_check.json again; measure nothing",
    )
    args = ap.parse_args(argv)
    if args.from_json:
        print(_report_from_json(Path(args.from_json)))
        return 0

    try:
        sizes = sorted(
            {_parse_n(n) for n in args.sizes.split(",")}
            if args.sizes
            else set(QUICK_SIZES if args.quick else DEFAULT_SIZES)
        )
        tools = (
            _parse_tools(args.tools)
            if args.tools is not None
            else (QUICK_TOOLS if args.quick else DEFAULT_TOOLS)
        )
    except (ValueError, argparse.ArgumentTypeError) as exc:
        ap.error(str(exc))
    if not sizes or min(sizes) < 1:
        ap.error("--sizes: give positive delta counts")
    repeat = args.repeat or (1 if args.quick else 3)
    repo = str(Path(__file__).resolve().parents[2])
    global RSS_METHOD
    RSS_METHOD = _rss_method() if args.rss == "auto" else args.rss

    tmp: tempfile.TemporaryDirectory[str] | None = None
    if args.out:
        out_dir = Path(args.out)
        stream_dir = out_dir / "streams"
        stream_dir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench_check_")
        out_dir = None
        stream_dir = Path(tmp.name)

    try:
        return _bench(sizes, tools, repeat, args, repo, stream_dir, out_dir)
    finally:
        if tmp is not None:
            tmp.cleanup()


def _bench(
    sizes: list[int],
    tools: tuple[int, int] | None,
    repeat: int,
    args: argparse.Namespace,
    repo: str,
    stream_dir: Path,
    out_dir: Path | None,
) -> int:
    # 1. streams (a 1-delta one measures each program's fixed cost)
    log(f"generating streams in {stream_dir} ...")
    streams: list[Stream] = []
    for n in [1, *sizes]:
        t0 = time.perf_counter()
        streams.append(gen_text(stream_dir / f"text-{n}.sse", n))
        log(
            f"  {streams[-1].name}: {streams[-1].events} events, {streams[-1].file_bytes / 1e6:.1f} MB ({time.perf_counter() - t0:.1f} s)"
        )
    if tools is not None:
        t0 = time.perf_counter()
        streams.append(gen_tools(stream_dir / f"tools-{tools[0]}x{tools[1]}.sse", *tools))
        log(
            f"  {streams[-1].name}: {streams[-1].events} events, {streams[-1].file_bytes / 1e6:.1f} MB ({time.perf_counter() - t0:.1f} s)"
        )
    streams[0].name = "text 1 (fixed cost)"

    # 2. correctness, untimed: ssescope reads every event, rebuilds the text, finds nothing
    #    (after compiling ssescope to bytecode, as an installed wheel has it)
    log(compile_package(Path(repo)))
    for s in streams:
        if s.events <= 120_000:
            problem = validate_ssescope(s, repo)
            if problem:
                log(f"WARNING: ssescope on {s.name}: {problem}")

    source_before = _source_fingerprint(repo)
    load_start = os.getloadavg()[0]
    log(f"ssescope measured: {source_before}")

    # 3. empty-interpreter start-up, sampled again before every stream's runs
    def sample_startup(n: int) -> None:
        for _ in range(n):
            run = run_child([sys.executable, "-c", STARTUP_CODE], capture=False)
            startup_runs.append(run.wall)
            startup_cpus.append(run.cpu)

    startup_runs: list[float] = []
    startup_cpus: list[float] = []
    sample_startup(5)
    log(f"empty interpreter start-up: {statistics.median(startup_runs) * 1000:.1f} ms so far")

    # 4. the measurements, interleaved per repeat
    timeouts = {"floor": args.timeout, "ssescope": args.timeout, "sdk": args.sdk_timeout}
    results: dict[str, dict[str, Measure]] = {}
    given_up: set[tuple[str, str]] = set()  # (program, stream kind): a smaller stream timed out
    for s in streams:
        m = results[s.name] = {k: Measure() for k in PROGRAMS}
        if args.no_sdk:
            m["sdk"].skipped = "--no-sdk"
        for prog in PROGRAMS:
            if (prog, s.kind) in given_up:
                m[prog].skipped = "a smaller stream timed out"
        # Short runs are the noisiest and cheap: floor and ssescope get at least SMALL_RUNS of
        # them (the "excl. fixed" figures lean on the 1-delta stream); the slow SDK gets `repeat`.
        runs = max(SMALL_RUNS, repeat) if s.events <= SMALL_EVENTS and repeat > 1 else repeat
        for r in range(runs):
            sample_startup(1)
            cells = []
            for prog in PROGRAMS:
                meas = m[prog]
                if meas.skipped is not None or meas.timed_out is not None:
                    if r < repeat:
                        cells.append(f"{prog} {meas.skipped or 'timed out'}")
                    continue
                if prog == "sdk" and r >= repeat:
                    continue
                run = run_child(
                    _argv(prog, s.path),
                    capture=prog != "ssescope",  # ssescope's report goes to /dev/null
                    timeout=timeouts[prog],
                    cwd=repo,
                )
                if run.timed_out:
                    meas.timed_out = timeouts[prog]
                    given_up.add((prog, s.kind))
                    cells.append(f"{prog} timed out after {timeouts[prog]:g} s")
                    continue
                _check_output(prog, run, s)
                meas.add(run)
                cells.append(f"{prog} {run.wall:.3f} s")
            log(f"  {s.name} run {r + 1}/{runs}: " + ", ".join(cells))
    startup = statistics.median(startup_runs)
    startup_cpu = statistics.median(startup_cpus)
    log(
        f"empty interpreter start-up: {startup * 1000:.1f} ms (median of {len(startup_runs)}, "
        "taken between the runs), subtracted from every time"
    )

    source_after = _source_fingerprint(repo)
    if source_after != source_before:
        log("WARNING: ssescope's source changed during the run; the numbers mix two versions")

    env = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cpus": os.cpu_count(),
        "rss_method": RSS_METHOD,
        "loadavg_1min": [round(load_start, 2), round(os.getloadavg()[0], 2)],
        "startup_cpu_s": startup_cpu,
    }
    report = _report(streams, results, sizes, startup, repeat, source_before, env)
    print(report)
    if out_dir is not None:
        raw = {
            "command": [Path(sys.executable).name, *sys.argv],
            **env,
            "python_version": sys.version,
            "platform": platform.platform(),
            "repeat": repeat,
            "startup_s": startup_runs,
            "startup_cpu_s": startup_cpus,
            "startup_cpu_median_s": startup_cpu,
            "startup_median_s": startup,
            "rss_method": RSS_METHOD,
            "ssescope_source": source_before,
            "ssescope_source_changed_during_run": source_after != source_before,
            "times": "wall_s: wall seconds per run, cpu_s: user+system CPU seconds; the report "
            "subtracts startup_median_s / startup_cpu_median_s from the medians",
            "streams": [
                {
                    "name": s.name,
                    "kind": s.kind,
                    "file": str(s.path),
                    "events": s.events,
                    "deltas": s.deltas,
                    "text_bytes": s.text_bytes,
                    "text_mem_bytes": s.text_mem,
                    "file_bytes": s.file_bytes,
                    **{k: v.to_dict() for k, v in results[s.name].items()},
                }
                for s in streams
            ],
            "report_markdown": report,
        }
        (out_dir / "bench_check.json").write_text(json.dumps(raw, indent=2) + "\n")
        log(f"raw numbers: {out_dir / 'bench_check.json'}")
    return 0


# -- report -----------------------------------------------------------------------------------


def _report_from_json(path: Path) -> str:
    raw = json.loads(path.read_text())
    streams: list[Stream] = []
    results: dict[str, dict[str, Measure]] = {}
    for d in raw["streams"]:
        streams.append(
            Stream(
                name=d["name"],
                kind=d["kind"],
                path=Path(d["file"]),
                events=d["events"],
                deltas=d["deltas"],
                text_bytes=d["text_bytes"],
                text_mem=d["text_mem_bytes"],
                file_bytes=d["file_bytes"],
            )
        )
        results[d["name"]] = {
            k: Measure(
                walls=d[k]["wall_s"],
                rss_kb=d[k]["maxrss_kb"],
                cpus=d[k].get("cpu_s", []),
                statuses=d[k]["exit"],
                timed_out=d[k]["timed_out_after_s"],
                skipped=d[k]["skipped"],
            )
            for k in PROGRAMS
        }
    sizes = sorted(s.deltas for s in streams[1:] if s.kind == "text")
    env = {k: raw.get(k) for k in ("python", "cpus", "rss_method", "loadavg_1min")}
    env["startup_cpu_s"] = raw.get("startup_cpu_median_s")
    return _report(
        streams,
        results,
        sizes,
        raw["startup_median_s"],
        raw["repeat"],
        raw["ssescope_source"],
        env,
    )


def _s(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def _x(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}x"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def _cell(meas: Measure, value: float | None) -> str:
    if meas.timed_out is not None:
        return f"> {meas.timed_out:g} (timed out)"
    if meas.skipped is not None:
        return f"skipped ({meas.skipped})"
    return _s(value)


def _mb(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.1f}"


def _report(
    streams: list[Stream],
    results: dict[str, dict[str, Measure]],
    sizes: list[int],
    startup: float,
    repeat: int,
    source: dict[str, Any],
    env: dict[str, Any],
) -> str:
    fixed = streams[0]
    fx = {k: results[fixed.name][k].median(startup) for k in PROGRAMS}
    dirty = " + uncommitted changes" if source.get("uncommitted_ssescope_changes") else ""
    lines = [
        f"### `ssescope check --json` throughput ({env['python']}, {env['cpus']} CPUs, "
        + (
            f"median of {repeat} runs; floor and ssescope: of {max(SMALL_RUNS, repeat)} up to "
            f"{SMALL_EVENTS // 1000}k events)"
            if repeat > 1
            else "1 run each)"
        ),
        "",
        "Times are wall seconds of a fresh child process minus the start-up of an empty "
        f"interpreter ({startup * 1000:.0f} ms, subtracted from every time), so each includes that "
        "program's own imports. "
        "Floor: read the file and `json.loads` every `data:` line (same interpreter). "
        "openai SDK: `client.responses.stream()` over a mock transport serving the same bytes, "
        "iterated to `get_final_response()`. "
        '"excl. fixed" subtracts each program\'s time on a 1-delta stream (imports, set-up); '
        '"CPU ratio" divides user+system CPU seconds instead of wall time (start-up CPU '
        "subtracted too), a cross-check that other load on the machine hardly moves. "
        f"Peak RSS of the measured process, read with "
        f"{'GNU time' if env['rss_method'] == 'gnu-time' else 'a fork/exec wrapper'}. "
        f"ssescope at {source.get('git_head', '?')}{dirty} "
        f"(sources sha256 {source['sources_sha256']}), its modules compiled to bytecode "
        "before the runs, as an installed wheel has them."
        + (
            f" Load average (1 min) at start/end: {env['loadavg_1min'][0]:g}/"
            f"{env['loadavg_1min'][1]:g} on {env['cpus']} CPUs: other work inflates wall times."
            if env.get("loadavg_1min")
            else ""
        ),
        "",
        "| stream | events | floor s | ssescope s | ratio to floor | excl. fixed | CPU ratio "
        "| events/s | peak MB ssescope | openai SDK s | SDK ratio to floor |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows: dict[str, dict[str, Any]] = {}
    for s in streams:
        m = results[s.name]
        fl, ss, sdk = (m[k].median(startup) for k in PROGRAMS)
        ratio = _ratio(ss, fl)
        marg = None
        if s is not fixed and None not in (ss, fl, fx["ssescope"], fx["floor"]):
            d_floor = fl - fx["floor"]  # type: ignore[operator]
            d_ss = ss - fx["ssescope"]  # type: ignore[operator]
            if d_floor >= 0.01 and d_ss >= 0.01:  # below that, start-up noise decides the ratio
                marg = _ratio(d_ss, d_floor)
        eps = s.events / ss if ss and ss > 0 else None
        cpu_ratio = None
        if env.get("startup_cpu_s") is not None:
            cpu_ratio = _ratio(
                m["ssescope"].median_cpu(env["startup_cpu_s"]),
                m["floor"].median_cpu(env["startup_cpu_s"]),
            )
        rows[s.name] = {"floor": fl, "ssescope": ss, "sdk": sdk, "ratio": ratio, "marginal": marg}
        lines.append(
            f"| {s.name} | {s.events:,} | {_cell(m['floor'], fl)} | {_cell(m['ssescope'], ss)} "
            f"| {_x(ratio)} | {'–' if s is fixed else _x(marg)} | {_x(cpu_ratio)} "
            f"| {'n/a' if eps is None else f'{eps:,.0f}'} | {_mb(m['ssescope'].peak_mb)} "
            f"| {_cell(m['sdk'], sdk)} | {_x(_ratio(sdk, fl))} |"
        )

    # scaling
    text = {s.deltas: s for s in streams if s.kind == "text" and s is not fixed}
    lines += [
        "",
        "**Scaling** (time ratio between consecutive sizes; ideal = the events ratio; the 4x "
        'steps are the target; "excl. fixed" subtracts the 1-delta times first):',
        "",
        "| step | events ratio | floor | ssescope | ssescope excl. fixed | openai SDK |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    scaling: list[tuple[str, float | None]] = []
    known = [n for n in sizes if n in text]
    for a, b in itertools.pairwise(known):
        ra, rb = rows[text[a].name], rows[text[b].name]
        cells = [_ratio(rb[k], ra[k]) for k in PROGRAMS]
        excl = None
        if None not in (ra["ssescope"], rb["ssescope"], fx["ssescope"]):
            base = ra["ssescope"] - fx["ssescope"]
            if base >= 0.1:  # below that, start-up noise decides the ratio
                excl = _ratio(rb["ssescope"] - fx["ssescope"], base)
        step = f"t({_fmt_n(b)})/t({_fmt_n(a)})"
        if b == 4 * a:
            scaling.append((step, cells[1]))
        lines.append(
            f"| {step} | {text[b].events / text[a].events:.2f} | {_x(cells[0])} | {_x(cells[1])} "
            f"| {_x(excl)} | {_x(cells[2])} |"
        )

    # memory
    fixed_mb = results[fixed.name]["ssescope"].peak_mb
    lines += [
        "",
        "**Peak memory** (max RSS of the measured process, MB) against the size of the "
        "reconstructed text (message text, or all function-call arguments), as UTF-8 and as the "
        "Python str that holds it (4 bytes a character once it contains an emoji). "
        '"ssescope growth" is its peak minus its peak on the 1-delta stream.',
        "",
        "| stream | events | file MB | text MB (UTF-8) | text MB (str) | floor MB | ssescope MB "
        "| ssescope growth MB | growth / text (str) | growth B/event | openai SDK MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in streams:
        m = results[s.name]
        peak = m["ssescope"].peak_mb
        growth = None if peak is None or fixed_mb is None or s is fixed else peak - fixed_mb
        lines.append(
            f"| {s.name} | {s.events:,} | {s.file_bytes / 1e6:.1f} | {s.text_bytes / 1e6:.2f} "
            f"| {s.text_mem / 1e6:.2f} | {_mb(m['floor'].peak_mb)} | {_mb(peak)} "
            f"| {'–' if s is fixed else _mb(growth)} "
            f"| {'–' if growth is None else f'{growth * 1e6 / s.text_mem:.1f}x'} "
            f"| {'–' if growth is None else f'{growth * 1e6 / s.events:.0f}'} "
            f"| {_mb(m['sdk'].peak_mb)} |"
        )
    mem_verdict: dict[str, float] | None = None
    if len(text) >= 2:
        small, big = text[min(text)], text[max(text)]
        d_text = big.text_mem - small.text_mem
        d_ev = big.events - small.events

        def grow(k: str) -> float | None:
            a, b = results[small.name][k].peak_mb, results[big.name][k].peak_mb
            return None if a is None or b is None else (b - a) * 1e6

        parts = []
        for label, k in (("floor", "floor"), ("ssescope", "ssescope"), ("openai SDK", "sdk")):
            v = grow(k)
            parts.append(
                f"{label} n/a"
                if v is None
                else f"{label} {v / 1e6:.1f} MB ({v / d_ev:.0f} B/event, {v / d_text:.1f}x the text)"
            )
        lines += [
            "",
            f"From {small.name} to {big.name} the text (as str) grows by {d_text / 1e6:.2f} MB "
            f"({d_text / d_ev:.1f} B/event); peak RSS grows by " + ", ".join(parts) + ".",
        ]
        g, gf = grow("ssescope"), grow("floor")
        if g is not None and gf is not None:
            mem_verdict = {
                "growth": g,
                "allowed": gf + TARGET_TEXT_COPIES * d_text,
                "floor": gf,
                "text": d_text,
                "events": d_ev,
            }

    # verdict
    lines += ["", "**Targets:**", ""]
    measured = [s for s in streams if s is not fixed]
    ratios = [rows[s.name]["ratio"] for s in measured if rows[s.name]["ratio"] is not None]
    margs = [rows[s.name]["marginal"] for s in measured if rows[s.name]["marginal"] is not None]
    over = [
        s.name
        for s in measured
        if rows[s.name]["ratio"] is None or rows[s.name]["ratio"] > TARGET_FLOOR_RATIO
    ]
    lines.append(
        f"- within {TARGET_FLOOR_RATIO:g}x of the floor: "
        + ("**met**" if not over else "**not met** (" + ", ".join(over) + ")")
        + f"; worst ratio {_x(max(ratios, default=None))}, "
        f"worst excluding each program's fixed cost {_x(max(margs, default=None))}"
    )
    if scaling:
        bad = [step for step, v in scaling if v is None or v > TARGET_SCALING]
        lines.append(
            f"- 4x the events costs at most {TARGET_SCALING:g}x the time: "
            + ("**met**" if not bad else "**not met** (" + ", ".join(bad) + ")")
            + "; "
            + ", ".join(f"{step} = {_x(v)}" for step, v in scaling)
        )
    else:
        lines.append("- scaling: no two text sizes 4x apart were measured")
    if mem_verdict is not None:
        v = mem_verdict
        excess = v["growth"] - v["allowed"]
        lines.append(
            "- memory does not grow with the events beyond the reconstructed text (peak-RSS "
            f"growth at most the floor's + {TARGET_TEXT_COPIES:g}x the text's): "
            + ("**met**" if excess <= 0 else "**not met**")
            + f"; {v['growth'] / 1e6:.1f} MB against {v['allowed'] / 1e6:.1f} MB allowed "
            f"(floor {v['floor'] / 1e6:.1f} MB + {TARGET_TEXT_COPIES:g} x {v['text'] / 1e6:.2f} MB)"
            + (
                f", {excess / 1e6:.1f} MB over = {excess / v['events']:.0f} B per event"
                if excess > 0
                else ""
            )
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
