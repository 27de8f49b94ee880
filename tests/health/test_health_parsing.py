"""Pure parsing: Prometheus text (robust to bad lines), the server adapters, GPU sources."""

from __future__ import annotations

import json

import pytest

from ssescope.health import adapters
from ssescope.health.gpu import (
    DEFAULT_QUERY,
    devices_from_dcgm,
    gpu_command,
    metricset_from_promql,
    parse_smi_csv,
    promql_selector,
)
from ssescope.health.metrics import counter_delta, parse_metrics
from ssescope.health.samples import (
    Endpoint,
    GpuSample,
    History,
    ServerSample,
    sample_from_dict,
)
from tests.health import fixtures as fx

# -- Prometheus text --------------------------------------------------------------------------


def test_counter_samples_keep_total_and_histograms_expose_count() -> None:
    m = parse_metrics(fx.vllm_metrics(steps=321, preemptions=4))
    assert m.types["vllm:num_preemptions"] == "counter"  # family name drops _total
    assert m.get("vllm:num_preemptions_total") == 4  # sample name keeps it
    assert m.get("vllm:iteration_tokens_total_count") == 321
    assert m.get("vllm:request_success_total") == 19  # summed over finished_reason
    assert m.get("vllm:request_success_total", finished_reason="stop") == 17
    assert m.errors == []


def test_a_malformed_line_loses_only_itself() -> None:
    good = parse_metrics(fx.vllm_metrics())
    bad = parse_metrics(fx.vllm_metrics(malformed=True))
    assert len(bad.errors) == 1 and "line 13" in bad.errors[0]
    assert set(bad.names()) == set(good.names())
    for name in good.names():
        assert bad.get(name) == good.get(name), name


def test_malformed_lines_everywhere_keep_every_good_family() -> None:
    text = "\n".join(
        [
            "garbage without value",
            "# TYPE a gauge",
            "a 1",
            'b{x="1" 2',
            "# TYPE c counter",
            "c_total 3",
            "c_total{oops} 4",
            "d NaN",
        ]
    )
    m = parse_metrics(text)
    assert m.get("a") == 1 and m.get("c_total") == 3
    assert "d" in m and m.get("d") is None  # NaN is present but has no usable value
    assert len(m.errors) == 3


def test_empty_and_comment_only_scrapes() -> None:
    assert len(parse_metrics("")) == 0
    assert len(parse_metrics("# HELP x nothing\n# TYPE x gauge\n")) == 0


def test_counter_delta_and_resets() -> None:
    assert counter_delta([(0, 10), (1, 15), (2, 21)]).delta == 11  # type: ignore[union-attr]
    d = counter_delta([(0, 100), (1, 120), (2, 5), (3, 9)])
    assert d is not None and d.reset and d.delta == 20 + 5 + 4
    assert counter_delta([(0, 1)]) is None
    assert counter_delta([(0, None), (1, 3), (2, None)]) is None


# -- adapters ---------------------------------------------------------------------------------


def _server(kind: str, text: str) -> ServerSample:
    m = parse_metrics(text)
    assert adapters.detect_kind(m) == kind
    s = ServerSample(t=0.0, kind=kind)
    adapters.apply_metrics(s, m)
    return s


def test_vllm_current_names() -> None:
    s = _server("vllm", fx.vllm_metrics(running=3, waiting=2, kv=0.97, steps=55, tokens=900))
    assert (s.running, s.waiting, s.kv_cache_usage) == (3, 2, 0.97)
    assert s.kv_cache_metric == "vllm:kv_cache_usage_perc"
    assert s.heartbeat == 55 and s.heartbeat_metric == "vllm:iteration_tokens_total_count"
    assert s.generated_tokens == 900 and s.preemptions == 0


def test_vllm_older_kv_cache_name() -> None:
    s = _server("vllm", fx.vllm_metrics(kv=0.5, old_kv_name=True))
    assert s.kv_cache_usage == 0.5 and s.kv_cache_metric == "vllm:gpu_cache_usage_perc"


def test_llamacpp_metrics_and_slots() -> None:
    s = _server("llamacpp", fx.llamacpp_metrics(processing=1, deferred=2, decodes=77))
    assert (s.running, s.waiting, s.heartbeat) == (1, 2, 77)
    assert s.heartbeat_metric == "llamacpp:n_decode_total"
    # issue 12: tokens_predicted_total moves only when a request ends, so without /slots the
    # live token counter is n_decode_total (it was tokens_predicted_total: 0 tok/s mid-answer)
    assert s.generated_tokens == 77 and s.generated_metric == "llamacpp:n_decode_total"
    assert s.kv_cache_usage is None  # optional in current builds
    slots = adapters.parse_slots(json.loads(fx.llamacpp_slots(n_decoded=42)))
    assert slots is not None and [x.processing for x in slots] == [True, False]
    adapters.apply_slots(s, slots)
    assert s.heartbeat == 77  # the metric stays the heartbeat; slots are extra
    assert s.extra["slots_n_decoded"] == 42
    assert s.generated_tokens == 400 + 42  # finished requests + the one in flight


def test_llamacpp_without_metrics_uses_slots_as_heartbeat() -> None:
    s = ServerSample(t=0.0, kind="llamacpp")
    adapters.apply_slots(s, adapters.parse_slots(json.loads(fx.llamacpp_slots(n_decoded=9))) or [])
    assert s.running == 1 and s.heartbeat == 9
    assert adapters.detect_kind(None, slots=json.loads(fx.llamacpp_slots())) == "llamacpp"


def test_llamacpp_loading_health() -> None:
    assert adapters.health_state(503, fx.LLAMACPP_LOADING) == "loading"
    assert adapters.health_detail(503, fx.LLAMACPP_LOADING) == "Loading model"
    assert adapters.health_state(503, "") == "unhealthy"
    assert adapters.health_state(200, '{"status":"ok"}') == "ok"
    assert adapters.health_state(404, "") == "absent"


@pytest.mark.parametrize("underscore", [False, True])
def test_sglang_both_spellings(underscore: bool) -> None:
    s = _server("sglang", fx.sglang_metrics(running=4, queued=7, usage=0.99, underscore=underscore))
    assert (s.running, s.waiting, s.kv_cache_usage, s.heartbeat) == (4, 7, 0.99, 500)
    assert s.extra["gen_throughput"] == 88.5


def test_tgi_queue_and_decode_heartbeat() -> None:
    s = _server("tgi", fx.tgi_metrics(queue=3, batch=8, decodes=123))
    assert (s.waiting, s.running, s.heartbeat) == (3, 8, 123)
    assert s.heartbeat_metric == 'tgi_batch_inference_count{method="decode"}'


def test_ollama_ps_placement() -> None:
    cpu = adapters.parse_ollama_ps(json.loads(fx.ollama_ps(size_vram=0)))
    part = adapters.parse_ollama_ps(json.loads(fx.ollama_ps(size_vram=1 << 30)))
    gpu = adapters.parse_ollama_ps(json.loads(fx.ollama_ps(size_vram=5_137_025_024)))
    assert [m.placement for m in (cpu or []) + (part or []) + (gpu or [])] == [
        "cpu",
        "partial",
        "gpu",
    ]
    assert adapters.detect_kind(None, root_body="Ollama is running") == "ollama"
    assert adapters.parse_ollama_ps({"nope": 1}) is None


# -- GPU sources ------------------------------------------------------------------------------


def test_dcgm_devices_units_and_hosts() -> None:
    m = parse_metrics(fx.dcgm_metrics(util=93, power=68.5, gpus=2))
    devs = devices_from_dcgm(m)
    assert [d.label for d in devs] == ["gpu-node-1:0", "gpu-node-1:1"]
    d = devs[0]
    assert (d.util, d.power_w, d.mem_used_mib, d.mem_total_mib) == (93, 68.5, 22000, 23034)
    assert (d.name, d.uuid, d.sm_clock_mhz, d.temp_c, d.xid) == (
        "NVIDIA L4",
        "GPU-7f1c-0",
        1980,
        61,
        0,
    )


def test_promql_vector_to_devices() -> None:
    def row(name: str, host: str, gpu: str, value: str) -> dict[str, object]:
        return {
            "metric": {"__name__": name, "Hostname": host, "gpu": gpu, "instance": "x:9400"},
            "value": [1700000000.1, value],
        }

    data = {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                row("DCGM_FI_DEV_GPU_UTIL", "n1", "0", "12"),
                row("DCGM_FI_DEV_GPU_UTIL", "n2", "0", "99"),
                row("DCGM_FI_DEV_POWER_USAGE", "n2", "0", "301.5"),
            ],
        },
    }
    devs = devices_from_dcgm(metricset_from_promql(data))
    assert [(d.host, d.util, d.power_w) for d in devs] == [("n1", 12, None), ("n2", 99, 301.5)]
    with pytest.raises(ValueError):
        metricset_from_promql({"status": "error", "error": "parse error"})
    q = promql_selector('Hostname=~"n1|n2"')
    assert q.startswith('{__name__=~"DCGM_FI_DEV_(GPU_UTIL|') and q.endswith(',Hostname=~"n1|n2"}')


def test_smi_csv_from_the_commands_query() -> None:
    _, cols = gpu_command(
        "ssh gpu1 nvidia-smi --query-gpu=index,utilization.gpu,memory.used,power.draw "
        "--format=csv,noheader,nounits"
    )
    assert cols == ["index", "utilization.gpu", "memory.used", "power.draw"]
    devs = parse_smi_csv("0, 87, 12000, 70.51\n1, [N/A], 0, [Not Supported]\n", cols)
    assert [(d.index, d.util, d.mem_used_mib, d.power_w) for d in devs] == [
        (0, 87, 12000, 70.51),
        (1, None, 0, None),
    ]


def test_smi_default_query_and_header_with_units() -> None:
    cmd, cols = gpu_command("ssh gpu1")
    assert cmd.startswith("ssh gpu1 nvidia-smi --query-gpu=") and cols == DEFAULT_QUERY.split(",")
    text = (
        "index, name, utilization.gpu [%], memory.used [MiB], power.draw [W]\n"
        "0, NVIDIA A100-SXM4-80GB, 100 %, 80000 MiB, 390.12 W\n"
    )
    (d,) = parse_smi_csv(text, [])
    assert (d.name, d.util, d.mem_used_mib, d.power_w) == (
        "NVIDIA A100-SXM4-80GB",
        100,
        80000,
        390.12,
    )
    with pytest.raises(ValueError):
        parse_smi_csv("1, 2\n", ["index", "utilization.gpu", "memory.used"])


# -- samples and history ----------------------------------------------------------------------


def test_samples_round_trip_through_json() -> None:
    s = _server("vllm", fx.vllm_metrics(running=2, waiting=1))
    s.t, s.url = 3.5, "http://h:8000"
    s.health = Endpoint("ok", 200, 0.002)
    s.raw_text = fx.vllm_metrics()
    d = json.loads(json.dumps(s.to_dict()))
    assert "raw" not in d and "raw" in s.to_dict(raw=True)
    back = sample_from_dict(d)
    assert isinstance(back, ServerSample)
    assert (back.t, back.running, back.waiting, back.health.state) == (3.5, 2, 1, "ok")
    g = GpuSample(
        2.0, via="dcgm", state="ok", devices=devices_from_dcgm(parse_metrics(fx.dcgm_metrics()))
    )
    g2 = sample_from_dict(json.loads(json.dumps(g.to_dict())))
    assert isinstance(g2, GpuSample) and g2.devices == g.devices
    assert sample_from_dict({"source": "tpu"}) is None


def test_history_series_and_rates_for_sparklines() -> None:
    h = History(maxlen=5)
    for i, (steps, waiting) in enumerate([(10, 0), (20, 1), (25, 2), (3, 2), (13, None), (23, 0)]):
        h.add(ServerSample(t=float(i), heartbeat=steps, waiting=waiting))
    assert len(h.samples("server")) == 5  # bounded
    assert h.series("server", "waiting") == [1, 2, 2, None, 0]
    assert h.rates("server", "heartbeat") == [5.0, None, 10.0, 10.0]  # the reset is a gap
    d = h.delta("server", "heartbeat", 1.0, 5.0)
    assert d is not None and d.reset
    assert h.latest("server", until=2.5).t == 2.0  # type: ignore[union-attr]


def test_selective_parse_reads_what_the_adapters_need() -> None:
    text = fx.vllm_metrics(running=2, waiting=5, steps=9, malformed=True)
    assert adapters.kind_from_text(text) == "vllm"
    some = parse_metrics(text, keep=adapters.WANTED["vllm"])
    full = parse_metrics(text)
    assert "vllm:time_to_first_token_seconds_count" not in some and len(some) < len(full)
    for name in some.names():
        assert some.get(name) == full.get(name)
    assert len(some.errors) == 1  # the bad line sits in a family the adapter reads
    a, b = ServerSample(t=0, kind="vllm"), ServerSample(t=0, kind="vllm")
    adapters.apply_metrics(a, some)
    adapters.apply_metrics(b, full)
    assert a == b
    for kind, maker in (
        ("llamacpp", fx.llamacpp_metrics),
        ("sglang", fx.sglang_metrics),
        ("tgi", fx.tgi_metrics),
    ):
        text = maker()
        assert adapters.kind_from_text(text) == kind
        a, b = ServerSample(t=0, kind=kind), ServerSample(t=0, kind=kind)
        adapters.apply_metrics(a, parse_metrics(text, keep=adapters.WANTED[kind]))
        adapters.apply_metrics(b, parse_metrics(text))
        assert a == b, kind
    assert adapters.kind_from_text(fx.sglang_metrics(underscore=True)) == "sglang"
    assert adapters.kind_from_text("up 1\n") is None
