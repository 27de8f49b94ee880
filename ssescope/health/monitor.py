"""HealthMonitor: runs the probes in the background, each on its own interval, and keeps history.

The caller supplies the clock (seconds since its request started), so every sample sits on the
same time axis as the stream's events. Probes run as tasks on the caller's event loop (HTTP via
httpx.AsyncClient, NVML in a worker thread, commands as subprocesses), so the stream reader never
waits on them. Listeners (``on_sample``) see every sample: ``check`` records them into the capture
and re-evaluates the diagnosis; the TUI will post a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .probes import (
    DEFAULT_INTERVAL,
    Clock,
    CommandProbe,
    DcgmProbe,
    NvmlProbe,
    Probe,
    PrometheusProbe,
    ServerProbe,
)
from .samples import Endpoint, GpuSample, History, Sample, ServerSample

Listener = Callable[[Sample], None]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class HealthConfig:
    """What to watch: a server base URL and/or a GPU source spec, each with its interval."""

    server: str | None = None
    gpu: str | None = None
    """local | dcgm=URL | prometheus=URL | cmd=COMMAND (None: no GPU probe)."""
    gpu_match: str = ""
    """PromQL label matchers for prometheus=URL (``Hostname=~"node-1|node-2"``)."""
    interval: float = DEFAULT_INTERVAL
    gpu_interval: float | None = None
    timeout: float | None = None
    """Per-request timeout of the server probe (default: the interval)."""
    server_kind: str | None = None
    """Skip detection (vllm, llamacpp, sglang, tgi, ollama)."""

    def probes(self) -> list[Probe]:
        out: list[Probe] = []
        if self.server:
            out.append(
                ServerProbe(
                    self.server, interval=self.interval, timeout=self.timeout, kind=self.server_kind
                )
            )
        if self.gpu:
            out.append(
                gpu_probe(
                    self.gpu, interval=self.gpu_interval or self.interval, match=self.gpu_match
                )
            )
        return out


class GpuSpecError(ValueError):
    pass


def gpu_probe(spec: str, *, interval: float = DEFAULT_INTERVAL, match: str = "") -> Probe:
    """``local`` | ``nvml`` | ``dcgm=URL`` | ``prometheus=URL`` | ``cmd=COMMAND`` |
    ``sim=URL`` (a simulated GPU served in dcgm-exporter's format, as ``ssescope demo`` does)."""
    kind, sep, arg = spec.partition("=")
    kind = kind.strip().lower()
    if kind in ("local", "nvml") and not sep:
        return NvmlProbe(interval=interval)
    if not arg.strip():
        raise GpuSpecError(
            f"--gpu {spec!r}: expected local, dcgm=URL, prometheus=URL or cmd=COMMAND"
        )
    if kind == "dcgm":
        return DcgmProbe(arg.strip(), interval=interval)
    if kind in ("sim", "simulated"):
        # a simulated GPU in dcgm-exporter's format (ssescope demo's; there is no real one)
        return DcgmProbe(arg.strip(), interval=interval, via="simulated")
    if kind in ("prometheus", "prom"):
        return PrometheusProbe(arg.strip(), interval=interval, match=match)
    if kind == "cmd":
        return CommandProbe(arg.strip(), interval=interval)
    raise GpuSpecError(f"--gpu {spec!r}: expected local, dcgm=URL, prometheus=URL or cmd=COMMAND")


class HealthMonitor:
    """Runs probes in the background and keeps their samples.

    Use ``async with HealthMonitor(probes, clock=...)`` (or :meth:`start`/:meth:`stop`), read
    :attr:`history` (sparkline series, the diagnosis input), :meth:`latest`, and :meth:`wait_for`
    to await a condition on the history (tests, the one-shot command).

    ``clock`` stamps the samples (the caller's stream clock; default: seconds since the monitor
    was made). ``sleep`` and ``monotonic`` pace the polls (each probe waits out the rest of its
    interval); tests pass a fake pair to drive the intervals without waiting on real timers."""

    def __init__(
        self,
        probes: Sequence[Probe],
        *,
        clock: Clock | None = None,
        history: History | None = None,
        on_sample: Listener | None = None,
        sleep: Sleep = asyncio.sleep,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self.probes = list(probes)
        self.sleep = sleep
        self.monotonic = monotonic
        if clock is None:
            t0 = monotonic()
            clock = lambda: monotonic() - t0  # noqa: E731 - a clock starting now
        self.clock = clock
        self.history = history if history is not None else History()
        self._listeners: list[Listener] = [on_sample] if on_sample else []
        self._tasks: list[asyncio.Task[None]] = []
        self._new = asyncio.Event()
        self.listener_errors = 0

    @classmethod
    def from_config(cls, config: HealthConfig, **kwargs: Any) -> HealthMonitor:
        return cls(config.probes(), **kwargs)

    def add_listener(self, fn: Listener) -> None:
        self._listeners.append(fn)

    def latest(self, source: str) -> Sample | None:
        return self.history.latest(source)

    @property
    def running(self) -> bool:
        return any(not t.done() for t in self._tasks)

    def _record(self, sample: Sample) -> None:
        self.history.add(sample)
        for fn in self._listeners:
            try:
                fn(sample)
            except Exception:
                self.listener_errors += 1  # a listener's bug must not stop the probes
        self._new.set()

    async def _loop(self, probe: Probe) -> None:
        while True:
            started = self.monotonic()
            try:
                sample = await probe.poll(self.clock)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a probe bug becomes a gap in its history, not a crash
                sample = _failed(probe, self.clock(), exc)
            self._record(sample)
            delay = probe.interval - (self.monotonic() - started)
            await self.sleep(max(0.0, delay))

    async def start(self) -> None:
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(self._loop(p), name=f"probe-{p.name}") for p in self.probes
        ]

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks = []
        for p in self.probes:
            with contextlib.suppress(Exception):
                await p.aclose()

    async def __aenter__(self) -> HealthMonitor:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def poll_once(self) -> list[Sample]:
        """Every probe once, concurrently (the one-shot ``ssescope health``)."""
        samples = await asyncio.gather(*(p.poll(self.clock) for p in self.probes))
        for s in samples:
            self._record(s)
        return list(samples)

    async def wait_for(self, predicate: Callable[[History], bool], timeout: float) -> bool:
        """Wait until ``predicate(history)`` holds (True) or ``timeout`` passes (False)."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self.history):
                    self._new.clear()
                    await self._new.wait()
        except TimeoutError:
            return predicate(self.history)
        return True

    def summary(self, *, samples: bool = True) -> dict[str, Any]:
        """JSON: the latest sample per source and, with ``samples``, all of them (no raw)."""
        out: dict[str, Any] = {
            "latest": {
                src: s.to_dict()
                for src in self.history.sources()
                if (s := self.history.latest(src)) is not None
            }
        }
        if samples:
            out["samples"] = [s.to_dict() for s in sorted(self.history, key=lambda s: s.t)]
        return out


def _failed(probe: Probe, t: float, exc: Exception) -> Sample:
    detail = f"probe failed: {type(exc).__name__}: {exc}"
    if probe.name == "server":
        return ServerSample(t=t, health=Endpoint("error", detail=detail))
    return GpuSample(t=t, state="error", detail=detail)
