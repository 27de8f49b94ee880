"""HealthMonitor: background polling per probe interval, the caller's clock, robustness."""

from __future__ import annotations

import asyncio
import itertools
import time

from ssescope.health.monitor import HealthConfig, HealthMonitor, gpu_probe
from ssescope.health.probes import CommandProbe, DcgmProbe, NvmlProbe, PrometheusProbe
from ssescope.health.samples import GpuSample, History, ServerSample
from tests.health import fixtures as fx
from tests.health.fake_servers import FakeServer, Route


class CountingProbe:
    def __init__(self, name: str, interval: float, fail_every: int = 0) -> None:
        self.name = name
        self.interval = interval
        self.polls = 0
        self.fail_every = fail_every
        self.closed = False

    async def poll(self, clock):  # type: ignore[no-untyped-def]
        self.polls += 1
        if self.fail_every and self.polls % self.fail_every == 0:
            raise RuntimeError("probe bug")
        if self.name == "server":
            return ServerSample(t=clock(), heartbeat=float(self.polls))
        return GpuSample(t=clock(), state="ok")

    async def aclose(self) -> None:
        self.closed = True


async def test_each_probe_runs_on_its_own_interval_and_the_callers_clock() -> None:
    fast, slow = CountingProbe("server", 0.01), CountingProbe("gpu", 30.0)
    ticks = itertools.count(1000)
    seen: list[float] = []
    monitor = HealthMonitor([fast, slow], clock=lambda: float(next(ticks)))
    monitor.add_listener(lambda s: seen.append(s.t))
    async with monitor:
        assert await monitor.wait_for(lambda h: len(h.samples("server")) >= 5, timeout=10)
        assert monitor.running
    assert not monitor.running and fast.closed and slow.closed
    assert len(monitor.history.samples("gpu")) == 1  # its next poll is 30 s away
    assert all(t >= 1000 for t in seen) and len(seen) == len(monitor.history)


async def test_a_failing_probe_or_listener_does_not_stop_polling() -> None:
    probe = CountingProbe("server", 0.0, fail_every=2)

    def bad_listener(sample: object) -> None:
        raise ValueError("listener bug")

    monitor = HealthMonitor([probe], on_sample=bad_listener)
    async with monitor:
        assert await monitor.wait_for(lambda h: len(h.samples("server")) >= 6, timeout=10)
    states = [s.health.state for s in monitor.history.samples("server")]  # type: ignore[union-attr]
    assert "error" in states and monitor.listener_errors >= 6
    failed = next(s for s in monitor.history.samples("server") if s.health.state == "error")  # type: ignore[union-attr]
    assert "probe failed: RuntimeError: probe bug" in failed.health.detail  # type: ignore[union-attr]


async def test_wait_for_times_out_with_the_predicate_value() -> None:
    monitor = HealthMonitor([])
    start = time.monotonic()
    assert await monitor.wait_for(lambda h: len(h) > 0, timeout=0.05) is False
    assert time.monotonic() - start < 2


async def test_a_real_server_polled_in_the_background_gives_rates() -> None:
    steps = itertools.count(100, 10)
    srv = FakeServer(
        {
            "/health": Route(200, ""),
            "/metrics": Route(200, lambda: fx.vllm_metrics(steps=next(steps))),
        }
    )
    with srv.running():
        # the interval is each fetch's timeout too: 0.05 s can time out on a loaded machine
        monitor = HealthMonitor.from_config(HealthConfig(server=srv.url, interval=0.2))
        async with monitor:
            assert await monitor.wait_for(lambda h: len(h.samples("server")) >= 4, timeout=10)
    rates = monitor.history.rates("server", "heartbeat")
    assert rates and all(r is not None and r > 0 for r in rates)
    latest = monitor.latest("server")
    assert isinstance(latest, ServerSample) and latest.raw_metrics() is not None
    summary = monitor.summary()
    assert summary["latest"]["server"]["kind"] == "vllm"
    assert len(summary["samples"]) == len(monitor.history)


async def test_poll_once() -> None:
    srv = FakeServer({"/health": Route(200, ""), "/metrics": Route(200, fx.tgi_metrics())})
    with srv.running():
        monitor = HealthMonitor.from_config(HealthConfig(server=srv.url))
        (s,) = await monitor.poll_once()
        await monitor.stop()
    assert isinstance(s, ServerSample) and s.kind == "tgi"
    assert isinstance(monitor.history, History) and len(monitor.history) == 1


def test_gpu_specs() -> None:
    assert isinstance(gpu_probe("local"), NvmlProbe)
    assert isinstance(gpu_probe("dcgm=http://h:9400/metrics"), DcgmProbe)
    p = gpu_probe("prometheus=http://prom:9090", match='Hostname="a"')
    assert isinstance(p, PrometheusProbe) and 'Hostname="a"' in p.query
    c = gpu_probe("cmd=ssh node nvidia-smi --query-gpu=index,utilization.gpu --format=csv")
    assert isinstance(c, CommandProbe) and c.columns == ["index", "utilization.gpu"]
    for bad in ("dcgm=", "tpu=x", "local=1"):
        try:
            gpu_probe(bad)
        except ValueError as exc:
            assert "expected local, dcgm=URL" in str(exc)
        else:
            raise AssertionError(bad)


async def test_the_polls_are_paced_by_the_injected_sleep_and_monotonic_clock() -> None:
    """The seam for tests that must not wait on real timers: each probe asks ``sleep`` for the
    rest of its interval, measured on ``monotonic``."""
    asked: list[float] = []

    async def sleep(seconds: float) -> None:
        asked.append(seconds)
        await asyncio.sleep(0)

    fast, slow = CountingProbe("server", 2.0), CountingProbe("gpu", 30.0)
    monitor = HealthMonitor([fast, slow], sleep=sleep, monotonic=lambda: 100.0)
    async with monitor:
        assert await monitor.wait_for(lambda h: len(h.samples("server")) >= 5, timeout=10)
    assert 2.0 in asked and 30.0 in asked and set(asked) == {2.0, 30.0}
    assert {s.t for s in monitor.history} == {0.0}  # the default clock runs on monotonic too
