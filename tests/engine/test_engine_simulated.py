"""The simulated server and GPU behind the demo's mock: its numbers follow the requests the mock
plays and the story of the fault, and the real probes read them (vLLM /metrics, dcgm GPU)."""

from __future__ import annotations

from ssescope.engine.simulated import GPU_NAME, SimulatedServer, serve_simulated
from ssescope.health import adapters
from ssescope.health.gpu import devices_from_dcgm
from ssescope.health.metrics import parse_metrics
from ssescope.health.monitor import gpu_probe
from ssescope.health.probes import ServerProbe
from ssescope.health.samples import ServerSample
from tests.support.clock import FakeClock


def read(sim: SimulatedServer) -> ServerSample:
    sample = ServerSample(t=0.0, kind=adapters.kind_from_text(sim.metrics_text()) or "unknown")
    adapters.apply_metrics(sample, parse_metrics(sim.metrics_text()))
    return sample


def test_tokens_move_the_step_counter_and_busy_the_gpu() -> None:
    clock = FakeClock()
    sim = SimulatedServer(clock=clock)
    rid = sim.begin()
    for _ in range(5):
        sim.token(rid)
    s = read(sim)
    assert (s.kind, s.running, s.waiting, s.heartbeat, s.generated_tokens) == ("vllm", 1, 0, 5, 5)
    assert sim.gpu_util() > 90
    clock.advance(2.0)
    assert sim.gpu_util() == 0  # no token for 2 s: idle
    sim.end(rid)
    assert read(sim).running == 0


def test_a_held_request_runs_with_flat_counters_on_an_idle_gpu() -> None:
    clock = FakeClock()
    sim = SimulatedServer(clock=clock)
    rid = sim.begin()
    sim.token(rid)
    sim.hold(rid)
    before = read(sim)
    clock.advance(10.0)
    after = read(sim)
    assert after.running == 1 and after.heartbeat == before.heartbeat
    assert sim.gpu_util() == 0


def test_a_prefill_moves_steps_not_tokens() -> None:
    clock = FakeClock()
    sim = SimulatedServer(clock=clock)
    sim.prefill(sim.begin())
    clock.advance(5.0)
    s = read(sim)
    assert s.heartbeat == 30 and s.generated_tokens == 0 and sim.gpu_util() > 90


def test_queued_story_fills_the_kv_cache() -> None:
    clock = FakeClock()
    sim = SimulatedServer(clock=clock)
    sim.play(["stall-after-created"])
    clock.advance(1.0)
    s = read(sim)
    assert (s.running, s.waiting, s.kv_cache_usage) == (8, 3, 0.97)
    assert s.heartbeat == 22 and s.generated_tokens == 176
    sim.play([])  # the next session: the others are gone
    assert read(sim).running == 0


def test_gpu_text_is_dcgm_exporter_format() -> None:
    sim = SimulatedServer(clock=FakeClock())
    (device,) = devices_from_dcgm(parse_metrics(sim.gpu_text()))
    assert device.name == GPU_NAME and device.util == 0 and device.power_w == 61
    assert device.mem_total_mib is not None and device.mem_total_mib > 80_000


async def test_probes_read_it_over_http() -> None:
    sim = SimulatedServer()
    sim.play(["stall-after-created"])
    async with serve_simulated(sim) as url:
        server = ServerProbe(url)
        gpu = gpu_probe(f"sim={url}/gpu/metrics")
        s = await server.poll(lambda: 0.0)
        g = await gpu.poll(lambda: 0.0)
        await server.aclose()
        await gpu.aclose()
    assert s.health.state == "ok" and s.kind == "vllm" and s.waiting == 3
    assert g.state == "ok" and g.via == "simulated" and g.max_util == 98
