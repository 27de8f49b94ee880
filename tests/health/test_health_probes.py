"""Probes against real HTTP servers on 127.0.0.1 serving each server's real metrics format, the
GPU command probe against real subprocesses, and NVML with an injected fake (no GPU here)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ssescope.health.gpu import NO_DRIVER, Nvml
from ssescope.health.probes import (
    CommandProbe,
    DcgmProbe,
    NvmlProbe,
    PrometheusProbe,
    ServerProbe,
    server_base,
)
from tests.health import fixtures as fx
from tests.health.fake_servers import FakeServer, Route, free_port


def clock() -> float:
    return 12.5


def vllm_server(**metrics: Any) -> FakeServer:
    return FakeServer(
        {"/health": Route(200, ""), "/metrics": Route(200, fx.vllm_metrics(**metrics))}
    )


def test_server_base_strips_the_api_path() -> None:
    assert server_base("http://h:8000/v1") == "http://h:8000"
    assert server_base("http://h:8000/v1/responses") == "http://h:8000"
    assert server_base("h:8080/") == "http://h:8080"
    assert server_base("https://h/proxy/v1") == "https://h/proxy"


async def test_vllm_detected_and_read() -> None:
    with vllm_server(running=3, waiting=2, kv=0.97).running() as srv:
        probe = ServerProbe(srv.url + "/v1", interval=2.0)
        s = await probe.poll(clock)
        await probe.aclose()
    assert s.t == 12.5 and s.kind == "vllm" and s.url == srv.url
    assert s.health.state == "ok" and s.health.status == 200 and s.health.latency is not None
    assert (s.running, s.waiting, s.kv_cache_usage) == (3, 2, 0.97)
    raw = s.raw_metrics()
    assert raw is not None and "vllm:time_to_first_token_seconds_count" in raw
    assert raw.get("vllm:request_success_total") == 19  # parsed on demand, all of it
    assert s.to_dict()["kv_cache_metric"] == "vllm:kv_cache_usage_perc"


async def test_vllm_older_kv_name_and_a_malformed_line() -> None:
    with vllm_server(kv=0.88, old_kv_name=True, malformed=True).running() as srv:
        probe = ServerProbe(srv.url)
        s = await probe.poll(clock)
        await probe.aclose()
    assert s.kv_cache_usage == 0.88 and s.kv_cache_metric == "vllm:gpu_cache_usage_perc"
    assert s.preemptions == 0 and s.heartbeat == 100  # families after the bad line survive
    assert len(s.metric_errors) == 1 and s.metrics.detail == "1 unparsable line(s) skipped"


async def test_llamacpp_without_metrics_uses_slots() -> None:
    n = [10]
    srv = FakeServer(
        {
            "/health": Route(200, '{"status":"ok"}', "application/json"),
            "/slots": Route(200, lambda: fx.llamacpp_slots(n_decoded=n[0]), "application/json"),
            "/props": Route(200, '{"is_sleeping": false, "total_slots": 2}', "application/json"),
        }
    )
    with srv.running():
        probe = ServerProbe(srv.url)
        first = await probe.poll(clock)
        n[0] = 25
        second = await probe.poll(clock)
        await probe.aclose()
    assert first.kind == "llamacpp" and first.metrics.state == "absent"
    assert first.metrics.status == 404  # /metrics only with --metrics
    assert first.heartbeat == 10 and second.heartbeat == 25 and second.running == 1
    assert second.heartbeat_metric == "/slots next_token.n_decoded (processing slots)"
    assert srv.hits["/metrics"] == 1  # a 404 endpoint is not asked again on every poll
    assert second.extra["is_sleeping"] is False and second.extra["total_slots"] == 2


async def test_llamacpp_loading() -> None:
    srv = FakeServer({"/health": Route(503, fx.LLAMACPP_LOADING, "application/json")})
    with srv.running():
        probe = ServerProbe(srv.url)
        s = await probe.poll(clock)
        await probe.aclose()
    assert s.health.state == "loading" and s.health.detail == "Loading model"
    assert s.kind == "llamacpp"


async def test_llamacpp_with_metrics() -> None:
    srv = FakeServer(
        {
            "/health": Route(200, '{"status":"ok"}'),
            "/metrics": Route(200, fx.llamacpp_metrics(processing=2, deferred=1, decodes=500)),
            "/slots": Route(200, fx.llamacpp_slots(n_decoded=7)),
        }
    )
    with srv.running():
        probe = ServerProbe(srv.url)
        await probe.poll(clock)  # detects llama.cpp from the metric prefix
        s = await probe.poll(clock)  # then also reads /slots
        await probe.aclose()
    assert (s.kind, s.running, s.waiting, s.heartbeat) == ("llamacpp", 2, 1, 500)
    assert s.slots is not None and s.slots[0].n_decoded == 7


@pytest.mark.parametrize(
    ("text", "kind", "numbers"),
    [
        (fx.sglang_metrics(running=5, queued=9), "sglang", (5, 9)),
        (fx.sglang_metrics(running=1, queued=0, underscore=True), "sglang", (1, 0)),
        (fx.tgi_metrics(queue=4, batch=16), "tgi", (16, 4)),
    ],
)
async def test_sglang_and_tgi(text: str, kind: str, numbers: tuple[float, float]) -> None:
    srv = FakeServer({"/health": Route(200, ""), "/metrics": Route(200, text)})
    with srv.running():
        probe = ServerProbe(srv.url)
        s = await probe.poll(clock)
        await probe.aclose()
    assert s.kind == kind and (s.running, s.waiting) == numbers


async def test_ollama_detected_from_its_root_and_ps() -> None:
    srv = FakeServer(
        {
            "/": Route(200, "Ollama is running"),
            "/api/ps": Route(200, fx.ollama_ps(size_vram=0), "application/json"),
        }
    )
    with srv.running():
        probe = ServerProbe(srv.url)
        first = await probe.poll(clock)
        second = await probe.poll(clock)
        await probe.aclose()
    for s in (first, second):
        assert s.kind == "ollama" and s.health.state == "ok"
        assert s.models is not None and s.models[0].placement == "cpu"
    assert srv.hits["/health"] == 1  # once detected, only / and /api/ps


@pytest.mark.looptime  # the 0.3 s timeout on virtual loop time; the server in the same loop
async def test_health_that_never_answers_is_not_answering() -> None:
    srv = FakeServer({"/health": Route(hang=True), "/metrics": Route(200, fx.vllm_metrics())})
    loop = asyncio.get_running_loop()
    async with srv:
        probe = ServerProbe(srv.url, interval=0.3)
        start = loop.time()
        s = await probe.poll(clock)
        elapsed = loop.time() - start
        await probe.aclose()
    assert s.health.state == "not-answering" and s.health.detail == "no answer within 0.3 s"
    assert s.kind == "vllm" and s.waiting == 0  # the metrics still came in
    assert elapsed < 2.0  # bounded by the interval, never by the dead endpoint


async def test_refused_connection() -> None:
    probe = ServerProbe(f"http://127.0.0.1:{free_port()}")
    s = await probe.poll(clock)
    await probe.aclose()
    assert s.health.state == "refused" and s.metrics.state == "refused"


@pytest.mark.looptime  # the scrape timeout on virtual loop time; the server in the same loop
async def test_metrics_scrape_failure_keeps_previous_values_marked_stale() -> None:
    srv = vllm_server(waiting=4)
    async with srv:
        probe = ServerProbe(srv.url, interval=0.3)
        first = await probe.poll(clock)
        srv.set("/metrics", Route(hang=True))
        second = await probe.poll(clock)
        await probe.aclose()
    assert not first.stale and second.stale
    assert second.waiting == 4 and second.metrics.state == "not-answering"


# -- GPU over HTTP ----------------------------------------------------------------------------


async def test_dcgm_exporter_probe() -> None:
    srv = FakeServer({"/metrics": Route(200, fx.dcgm_metrics(util=77, gpus=2))})
    with srv.running():
        probe = DcgmProbe(f"127.0.0.1:{srv.port}")
        g = await probe.poll(clock)
        await probe.aclose()
    assert g.state == "ok" and g.via == "dcgm" and [d.util for d in g.devices] == [77, 77]
    assert g.max_util == 77 and g.devices[0].mem_total_mib == 23034


async def test_dcgm_exporter_down_and_wrong_url() -> None:
    probe = DcgmProbe(f"http://127.0.0.1:{free_port()}/metrics")
    g = await probe.poll(clock)
    await probe.aclose()
    assert g.state == "not-answering" and g.devices == []
    srv = FakeServer({"/metrics": Route(200, fx.vllm_metrics())})
    with srv.running():
        probe = DcgmProbe(srv.url)
        g = await probe.poll(clock)
        await probe.aclose()
    assert g.state == "error" and "no DCGM_FI_DEV_* series" in g.detail


async def test_prometheus_probe_sends_one_instant_query() -> None:
    body = (
        '{"status":"success","data":{"resultType":"vector","result":['
        '{"metric":{"__name__":"DCGM_FI_DEV_GPU_UTIL","Hostname":"n1","gpu":"0"},'
        '"value":[1.7e9,"55"]},'
        '{"metric":{"__name__":"DCGM_FI_DEV_GPU_UTIL","Hostname":"n2","gpu":"0"},'
        '"value":[1.7e9,"5"]}]}}'
    )
    srv = FakeServer({"/api/v1/query": Route(200, body, "application/json")})
    with srv.running():
        probe = PrometheusProbe(srv.url, match='Hostname=~"n1|n2"')
        g = await probe.poll(clock)
        await probe.aclose()
    assert g.state == "ok" and [(d.host, d.util) for d in g.devices] == [("n1", 55), ("n2", 5)]
    (target,) = [k for k in srv.hits if k.startswith("/api/v1/query?")]
    assert "query=" in target and "DCGM_FI_DEV_" in target and "Hostname" in target


# -- GPU through a command --------------------------------------------------------------------


def script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def test_command_probe_parses_nvidia_smi_csv(tmp_path: Path) -> None:
    smi = script(tmp_path / "nvidia-smi", "printf '0, 87, 12000, 70.5\\n1, 3, 10, 25.0\\n'\n")
    probe = CommandProbe(
        f"{smi} --query-gpu=index,utilization.gpu,memory.used,power.draw "
        "--format=csv,noheader,nounits"
    )
    g = await probe.poll(clock)
    assert g.state == "ok" and g.via == "cmd"
    assert [(d.index, d.util, d.mem_used_mib, d.power_w) for d in g.devices] == [
        (0, 87, 12000, 70.5),
        (1, 3, 10, 25.0),
    ]


async def test_command_probe_appends_the_default_query(tmp_path: Path) -> None:
    ssh = script(
        tmp_path / "ssh",
        'case "$*" in *"nvidia-smi --query-gpu=index,name,uuid,"*) ;; *) exit 9;; esac\n'
        "echo '0, NVIDIA H100 80GB HBM3, GPU-1, 99, 71, 80000, 81559, 70, 650.2, 700.0, 1980, 2619'\n",
    )
    g = await CommandProbe(f"{ssh} gpu-host").poll(clock)
    assert g.state == "ok", g.detail
    (d,) = g.devices
    assert (d.name, d.util, d.mem_total_mib, d.power_limit_w) == (
        "NVIDIA H100 80GB HBM3",
        99,
        81559,
        700.0,
    )


async def test_command_probe_failures(tmp_path: Path) -> None:
    bad = script(
        tmp_path / "nvidia-smi", "echo 'ssh: connect to host gpu1: refused' >&2\nexit 255\n"
    )
    g = await CommandProbe(str(bad)).poll(clock)
    assert g.state == "error" and g.detail == "exit 255: ssh: connect to host gpu1: refused"
    junk = script(tmp_path / "junk-nvidia-smi", "echo 'hello'\n")
    g = await CommandProbe(f"{junk} --query-gpu=index,utilization.gpu").poll(clock)
    assert g.state == "error" and g.detail.startswith("unreadable CSV")


@pytest.mark.looptime  # the 0.5 s timeout on virtual loop time: the hung command never answers
async def test_a_hung_command_probe_is_not_answering(tmp_path: Path) -> None:
    """(Apart from the other failures: there, a real command must finish before a 10 s timeout,
    which virtual time would reach at once.)"""
    hung = script(tmp_path / "slow-nvidia-smi", "sleep 30\n")
    loop = asyncio.get_running_loop()
    start = loop.time()
    g = await CommandProbe(str(hung), timeout=0.5).poll(clock)
    assert g.state == "not-answering" and loop.time() - start < 5


# -- NVML -------------------------------------------------------------------------------------


class FakeNVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(FakeNVMLError):
    pass


class NVMLError_ArgumentVersionMismatch(FakeNVMLError):
    pass


def fake_pynvml(count: int = 2, init_error: Exception | None = None) -> SimpleNamespace:
    """Enough of pynvml's surface, with NVML's units (bytes, milliwatts)."""

    def init() -> None:
        if init_error is not None:
            raise init_error

    def v3(h: int) -> list[Any]:
        raise NVMLError_ArgumentVersionMismatch("struct version")

    def v2(h: int) -> list[Any]:
        return [SimpleNamespace(pid=os.getpid(), usedGpuMemory=2 * 1024**3)]

    def temperature(h: int, sensor: int) -> int:
        if h == 1:
            raise FakeNVMLError("Not Supported")
        return 64

    return SimpleNamespace(
        NVML_TEMPERATURE_GPU=0,
        NVML_CLOCK_SM=1,
        NVML_CLOCK_MEM=2,
        nvmlInit=init,
        nvmlShutdown=lambda: None,
        nvmlDeviceGetCount=lambda: count,
        nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: b"NVIDIA L4" if h == 0 else "NVIDIA A10",
        nvmlDeviceGetUUID=lambda h: f"GPU-{h}",
        nvmlDeviceGetUtilizationRates=lambda h: SimpleNamespace(gpu=91 - h, memory=33),
        nvmlDeviceGetMemoryInfo=lambda h: SimpleNamespace(
            total=24 * 1024**3, used=12 * 1024**3, free=12 * 1024**3
        ),
        nvmlDeviceGetTemperature=temperature,
        nvmlDeviceGetPowerUsage=lambda h: 71500,
        nvmlDeviceGetPowerManagementLimit=lambda h: 72000,
        nvmlDeviceGetClockInfo=lambda h, clock: 1980 if clock == 1 else 6250,
        nvmlDeviceGetComputeRunningProcesses_v3=v3,
        nvmlDeviceGetComputeRunningProcesses_v2=v2,
        nvmlDeviceGetGraphicsRunningProcesses=lambda h: [],
    )


async def test_nvml_with_an_injected_module() -> None:
    probe = NvmlProbe(Nvml(fake_pynvml()))
    g = await probe.poll(clock)
    await probe.aclose()
    assert g.state == "ok" and g.via == "nvml" and len(g.devices) == 2
    d0, d1 = g.devices
    assert (d0.name, d0.uuid, d0.util, d0.mem_util) == ("NVIDIA L4", "GPU-0", 91, 33)
    assert (d0.mem_used_mib, d0.mem_total_mib, d0.power_w, d0.power_limit_w) == (
        12288,
        24576,
        71.5,
        72.0,
    )
    assert (d0.temp_c, d0.sm_clock_mhz, d0.mem_clock_mhz) == (64, 1980, 6250)
    assert d1.name == "NVIDIA A10" and d1.temp_c is None  # one failing call → N/A, not a crash
    (proc,) = d0.processes  # _v3 mismatched → _v2 used
    assert proc.pid == os.getpid() and proc.used_mib == 2048 and proc.name


async def test_nvml_missing_library_is_a_state() -> None:
    nv = Nvml(fake_pynvml(init_error=NVMLError_LibraryNotFound("NVML Shared Library Not Found")))
    g = nv.read(1.0)
    assert g.state == "unavailable" and g.detail == NO_DRIVER and g.devices == []


def test_nvml_bindings_not_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    real = importlib.import_module

    def no_pynvml(name: str, *a: Any) -> Any:
        if name == "pynvml":
            raise ImportError(name)
        return real(name, *a)

    monkeypatch.setattr(importlib, "import_module", no_pynvml)
    g = Nvml().read(0.0)
    assert g.state == "unavailable" and "pip install nvidia-ml-py" in g.detail


async def test_real_nvml_degrades_cleanly() -> None:
    """The real bindings on this machine: no libnvidia-ml → a clear state, never an exception."""
    probe = NvmlProbe()
    g = await probe.poll(clock)
    await probe.aclose()
    if g.state == "ok":  # a machine with a GPU
        assert g.devices and all(d.name for d in g.devices)
    else:
        assert g.state == "unavailable" and g.detail in (
            NO_DRIVER,
            "no NVIDIA driver loaded (NVML: driver not loaded)",
        )


async def test_llamacpp_slots_heartbeat_does_not_drop_when_a_request_ends() -> None:
    """Without --metrics the heartbeat is the slots' n_decoded: a request that ends (or a new
    one in the same slot) must not read as a counter reset, i.e. a server restart."""
    answers = iter(
        [fx.llamacpp_slots(n_decoded=40), fx.llamacpp_slots(n_decoded=0, processing=False)]
    )
    srv = FakeServer(
        {
            "/health": Route(200, '{"status":"ok"}', "application/json"),
            "/slots": Route(
                200, lambda: next(answers, fx.llamacpp_slots(n_decoded=5)), "application/json"
            ),
        }
    )
    with srv.running():
        probe = ServerProbe(srv.url)
        beats = [(await probe.poll(clock)).heartbeat for _ in range(3)]
        await probe.aclose()
    assert beats[0] == 40 and beats[2] is not None and beats[2] >= 40
