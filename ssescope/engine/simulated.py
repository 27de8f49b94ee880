"""A simulated inference server and GPU behind the mock: what ``ssescope demo`` probes.

The mock backend answers like a model server but has no engine and no GPU, so the demo's server
and GPU panels, and the stall diagnosis, would have nothing to read. :class:`SimulatedServer`
is that missing engine: the mock tells it about every request it plays (begun, prefilling, a
token, held, ended) and the demo tells it which fault the next session plays (:meth:`play`), and
it answers what a vLLM server and a dcgm-exporter would:

* ``GET /health``: 200 (a stuck engine still says OK, which is the point of one diagnosis);
* ``GET /metrics``: vLLM's names (``vllm:num_requests_running`` / ``_waiting``,
  ``vllm:kv_cache_usage_perc``, ``vllm:iteration_tokens_total`` as the step counter,
  ``vllm:generation_tokens_total``, ``vllm:num_preemptions_total``);
* ``GET /gpu/metrics``: one GPU in dcgm-exporter's names, labelled as simulated.

What the numbers do follows from the requests: a token is one engine step and one generated
token; a held stream (the ``stall`` fault) is a running request whose steps stopped, on an idle
GPU; a prefill (``slow-first-token``) moves the steps and the prompt tokens but not the generated
tokens. A fault whose story is not in the requests themselves has a background load
(:data:`STORIES`): ``stall-after-created`` is a request queued behind eight others on a full KV
cache. Pure state plus two text renderers; :func:`create_simulated_app` serves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..asgi.server import bind, run_embedded, url_host

RequestState = Literal["prefill", "decode", "held"]

GPU_NAME = "Simulated GPU (ssescope demo)"
GPU_MEMORY_MIB = 81_559.0
WEIGHTS_MIB = 16_384.0
IDLE_POWER_W, MAX_POWER_W = 61.0, 700.0
BUSY_FOR = 0.5
"""Seconds after a token during which the GPU still reads busy."""
PREFILL_STEPS_PER_S = 6.0
PREFILL_TOKENS_PER_S = 2_048.0


@dataclass(frozen=True)
class Background:
    """The other users of the simulated server: their requests, steps and GPU load."""

    running: int = 0
    waiting: int = 0
    kv_cache: float = 0.0
    steps_per_s: float = 0.0
    tokens_per_step: float = 0.0
    gpu_util: float = 0.0


IDLE = Background()
STORIES: dict[str, Background] = {
    # Queued behind a full KV cache: eight requests decode, three wait (this one among them).
    "stall-after-created": Background(
        running=8, waiting=3, kv_cache=0.97, steps_per_s=22.0, tokens_per_step=8.0, gpu_util=98.0
    ),
}
"""The background load a fault's story needs (the others come from the requests themselves)."""


@dataclass
class _Request:
    state: RequestState
    last_token: float


class SimulatedServer:
    """The state of the simulated engine and GPU; ``clock`` is injectable (tests)."""

    def __init__(self, *, model: str = "mock", clock: Callable[[], float] = time.monotonic) -> None:
        self.model = model
        self.clock = clock
        self.background = IDLE
        self.story = "normal"
        self._requests: dict[int, _Request] = {}
        self._ids = itertools.count(1)
        self.steps = 0.0
        self.generated = 0.0
        self.prompt_tokens = 0.0
        self.preemptions = 0.0
        self._advanced = clock()

    # -- driven by the demo ----------------------------------------------------------------------

    def play(self, faults: Iterable[str]) -> None:
        """The next session plays ``faults``: take on the background load of its story."""
        self._advance()
        story = next((f for f in faults if f in STORIES), None)
        self.story = story or "normal"
        self.background = STORIES[story] if story else IDLE

    # -- driven by the mock ----------------------------------------------------------------------

    def begin(self) -> int:
        self._advance()
        rid = next(self._ids)
        self._requests[rid] = _Request("decode", self.clock())
        return rid

    def prefill(self, rid: int) -> None:
        self._set(rid, "prefill")

    def token(self, rid: int) -> None:
        """One generated token of request ``rid``: one engine step."""
        self._advance()
        request = self._requests.get(rid)
        if request is not None:
            request.state = "decode"
            request.last_token = self.clock()
        self.steps += 1
        self.generated += 1

    def hold(self, rid: int) -> None:
        """The request stays on the server, but its engine stopped (``stall``)."""
        self._set(rid, "held")

    def end(self, rid: int) -> None:
        self._advance()
        self._requests.pop(rid, None)

    def _set(self, rid: int, state: RequestState) -> None:
        self._advance()
        request = self._requests.get(rid)
        if request is not None:
            request.state = state

    # -- what the probes read --------------------------------------------------------------------

    def _advance(self) -> None:
        """Move the counters the background and the prefills drive up to now."""
        now = self.clock()
        dt, self._advanced = max(0.0, now - self._advanced), now
        prefills = sum(1 for r in self._requests.values() if r.state == "prefill")
        bg = self.background
        self.steps += dt * (bg.steps_per_s + PREFILL_STEPS_PER_S * prefills)
        self.generated += dt * bg.steps_per_s * bg.tokens_per_step
        self.prompt_tokens += dt * PREFILL_TOKENS_PER_S * prefills

    @property
    def running(self) -> int:
        return self.background.running + len(self._requests)

    @property
    def kv_cache(self) -> float:
        return min(1.0, self.background.kv_cache + 0.03 * len(self._requests))

    def gpu_util(self) -> float:
        """Busy while a request prefills or decoded a token just now, or the background runs."""
        now = self.clock()
        working = any(
            r.state == "prefill" or (r.state == "decode" and now - r.last_token < BUSY_FOR)
            for r in self._requests.values()
        )
        return max(self.background.gpu_util, 94.0 if working else 0.0)

    def metrics_text(self) -> str:
        """``/metrics`` in vLLM's exposition format."""
        self._advance()
        labels = f'engine="0",model_name="{self.model}"'
        out: list[str] = []
        for name, kind, doc, value in (
            ("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", self.running),
            ("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", self.background.waiting),
            ("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", self.kv_cache),
            ("vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.", self.preemptions),
            ("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", self.prompt_tokens),
            ("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", self.generated),
        ):  # fmt: skip
            out += [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]
            out.append(f"{name}{{{labels}}} {float(value):.6g}")
        steps = float(int(self.steps))
        out += [
            "# HELP vllm:iteration_tokens_total Histogram of number of tokens per engine_step.",
            "# TYPE vllm:iteration_tokens_total histogram",
            f'vllm:iteration_tokens_total_bucket{{{labels},le="+Inf"}} {steps:.1f}',
            f"vllm:iteration_tokens_total_count{{{labels}}} {steps:.1f}",
            f"vllm:iteration_tokens_total_sum{{{labels}}} {int(self.generated):.1f}",
        ]
        return "\n".join(out) + "\n"

    def gpu_text(self) -> str:
        """``/gpu/metrics`` in dcgm-exporter's exposition format: one simulated GPU."""
        self._advance()
        util = self.gpu_util()
        used = WEIGHTS_MIB + self.kv_cache * (GPU_MEMORY_MIB * 0.9 - WEIGHTS_MIB)
        labels = (
            'gpu="0",UUID="GPU-00000000-demo",device="nvidia0",'
            f'modelName="{GPU_NAME}",Hostname="ssescope-demo"'
        )
        out: list[str] = []
        for name, doc, value in (
            ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", util),
            ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", IDLE_POWER_W + util / 100 * (MAX_POWER_W - IDLE_POWER_W)),
            ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).", 34 + util * 0.4),
            ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).", 1980 if util else 345),
            ("DCGM_FI_DEV_FB_USED", "Frame buffer memory used (in MiB).", used),
            ("DCGM_FI_DEV_FB_FREE", "Frame buffer memory free (in MiB).", GPU_MEMORY_MIB - used),
        ):  # fmt: skip
            out += [f"# HELP {name} {doc}", f"# TYPE {name} gauge"]
            out.append(f"{name}{{{labels}}} {round(value)}")
        return "\n".join(out) + "\n"


def create_simulated_app(server: SimulatedServer) -> Starlette:
    """The simulated server's endpoints (``app.state.started`` is set once it serves)."""
    started = asyncio.Event()

    async def health(request: Request) -> Response:
        return Response(status_code=200)  # vLLM: an empty 200, even when its engine is stuck

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(server.metrics_text(), media_type="text/plain; version=0.0.4")

    async def gpu(request: Request) -> Response:
        return PlainTextResponse(server.gpu_text(), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started.set()
        yield

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/gpu/metrics", gpu, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.started = started
    return app


@contextlib.asynccontextmanager
async def serve_simulated(server: SimulatedServer, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve the simulated server on a free port for the ``async with``; yields its base URL
    (``http://127.0.0.1:PORT``: /health, /metrics, /gpu/metrics)."""
    sock = bind(host, 0)
    port = sock.getsockname()[1]
    app = create_simulated_app(server)
    async with run_embedded(app, sock, app.state.started):
        yield f"http://{url_host(host)}:{port}"
