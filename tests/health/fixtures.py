"""Metrics text in each server's real exposition format, written from the documented names
(health-sources.md §2–§7), with knobs for the numbers the tests move."""

from __future__ import annotations

import json

MODEL = 'model_name="meta-llama/Llama-3.1-8B-Instruct"'


def vllm_metrics(
    *,
    running: float = 1,
    waiting: float = 0,
    kv: float = 0.42,
    steps: float = 100,
    tokens: float = 1000,
    preemptions: float = 0,
    old_kv_name: bool = False,
    malformed: bool = False,
) -> str:
    """vLLM v1 (vllm/v1/metrics/loggers.py): every series has model_name and engine labels.
    ``old_kv_name``: vllm:gpu_cache_usage_perc, the name before 0.9."""
    labels = f'{MODEL},engine="0"'
    kv_name = "vllm:gpu_cache_usage_perc" if old_kv_name else "vllm:kv_cache_usage_perc"
    lines = [
        "# HELP vllm:num_requests_running Number of requests in model execution batches.",
        "# TYPE vllm:num_requests_running gauge",
        f"vllm:num_requests_running{{{labels}}} {running:.1f}",
        "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.",
        "# TYPE vllm:num_requests_waiting gauge",
        f"vllm:num_requests_waiting{{{labels}}} {waiting:.1f}",
        f"# HELP {kv_name} KV-cache usage. 1 means 100 percent usage.",
        f"# TYPE {kv_name} gauge",
        f"{kv_name}{{{labels}}} {kv}",
        "# HELP vllm:num_preemptions_total Cumulative number of preemption from the engine.",
        "# TYPE vllm:num_preemptions_total counter",
        f"vllm:num_preemptions_total{{{labels}}} {preemptions:.1f}",
        "# HELP vllm:prompt_tokens_total Number of prefill tokens processed.",
        "# TYPE vllm:prompt_tokens_total counter",
        f"vllm:prompt_tokens_total{{{labels}}} 52311.0",
        "# HELP vllm:generation_tokens_total Number of generation tokens processed.",
        "# TYPE vllm:generation_tokens_total counter",
        f"vllm:generation_tokens_total{{{labels}}} {tokens:.1f}",
        "# HELP vllm:request_success_total Count of successfully processed requests.",
        "# TYPE vllm:request_success_total counter",
        f'vllm:request_success_total{{{labels},finished_reason="stop"}} 17.0',
        f'vllm:request_success_total{{{labels},finished_reason="length"}} 2.0',
        "# HELP vllm:iteration_tokens_total Histogram of number of tokens per engine_step.",
        "# TYPE vllm:iteration_tokens_total histogram",
    ]
    for le in ("1.0", "8.0", "16.0", "32.0", "64.0", "128.0", "256.0", "512.0", "+Inf"):
        lines.append(f'vllm:iteration_tokens_total_bucket{{{labels},le="{le}"}} {steps:.1f}')
    lines += [
        f"vllm:iteration_tokens_total_count{{{labels}}} {steps:.1f}",
        f"vllm:iteration_tokens_total_sum{{{labels}}} {steps * 3:.1f}",
        "# HELP vllm:time_to_first_token_seconds Histogram of time to first token in seconds.",
        "# TYPE vllm:time_to_first_token_seconds histogram",
        f'vllm:time_to_first_token_seconds_bucket{{le="0.02",{labels}}} 13.0',
        f'vllm:time_to_first_token_seconds_bucket{{le="+Inf",{labels}}} 19.0',
        f"vllm:time_to_first_token_seconds_count{{{labels}}} 19.0",
        f"vllm:time_to_first_token_seconds_sum{{{labels}}} 1.9",
    ]
    if malformed:
        # A broken sample in the middle of the exposition (unterminated label set).
        lines.insert(12, f"vllm:num_preemptions_total{{{MODEL} 3.0")
    lines += [
        "# HELP vllm:cache_config_info Information of the LLMEngine CacheConfig",
        "# TYPE vllm:cache_config_info gauge",
        f'vllm:cache_config_info{{block_size="16",{labels}}} 1.0',
    ]
    return "\n".join(lines) + "\n"


def llamacpp_metrics(
    *, processing: float = 1, deferred: float = 0, decodes: float = 50, predicted: float = 400
) -> str:
    """llama-server --metrics (tools/server/server.cpp): no labels."""
    rows = [
        ("prompt_tokens_total", "counter", "Number of prompt tokens processed.", 1200),
        ("prompt_seconds_total", "counter", "Prompt process time", 3.5),
        ("tokens_predicted_total", "counter", "Number of generation tokens processed.", predicted),
        ("tokens_predicted_seconds_total", "counter", "Predict process time", 12.0),
        ("n_decode_total", "counter", "Total number of llama_decode() calls", decodes),
        ("n_busy_slots_per_decode", "counter", "Average number of busy slots per decode", 1),
        ("prompt_tokens_seconds", "gauge", "Average prompt throughput in tokens/s.", 342.8),
        ("predicted_tokens_seconds", "gauge", "Average generation throughput in tokens/s.", 33.3),
        ("requests_processing", "gauge", "Number of requests processing.", processing),
        ("requests_deferred", "gauge", "Number of requests deferred.", deferred),
        ("n_tokens_max", "counter", "Largest observed n_tokens.", 4096),
    ]
    out = []
    for name, kind, doc, value in rows:
        out += [f"# HELP llamacpp:{name} {doc}", f"# TYPE llamacpp:{name} {kind}"]
        out.append(f"llamacpp:{name} {value}")
    return "\n".join(out) + "\n"


def llamacpp_slots(n_decoded: int = 10, processing: bool = True) -> str:
    slot = {
        "id": 0,
        "id_task": 7,
        "n_ctx": 4096,
        "speculative": False,
        "is_processing": processing,
        "params": {"n_predict": -1, "temperature": 0.8},
        "next_token": {
            "has_next_token": processing,
            "has_new_line": False,
            "n_remain": -1,
            "n_decoded": n_decoded,
            "stopping_word": "",
        },
    }
    idle = {
        **slot,
        "id": 1,
        "id_task": -1,
        "is_processing": False,
        "next_token": {**slot["next_token"], "n_decoded": 0, "has_next_token": False},
    }
    return json.dumps([slot, idle])


LLAMACPP_LOADING = json.dumps(
    {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}}
)


def sglang_metrics(
    *,
    running: float = 2,
    queued: float = 0,
    usage: float = 0.3,
    tokens: float = 500,
    underscore: bool = False,
) -> str:
    p = "sglang_" if underscore else "sglang:"
    labels = MODEL
    rows = [
        ("num_running_reqs", "gauge", running),
        ("num_queue_reqs", "gauge", queued),
        ("token_usage", "gauge", usage),
        ("num_used_tokens", "gauge", 1234),
        ("gen_throughput", "gauge", 88.5),
        ("cache_hit_rate", "gauge", 0.12),
        ("prompt_tokens_total", "counter", 9000),
        ("generation_tokens_total", "counter", tokens),
    ]
    out = []
    for name, kind, value in rows:
        out += [
            f"# HELP {p}{name} {name}",
            f"# TYPE {p}{name} {kind}",
            f"{p}{name}{{{labels}}} {float(value)}",
        ]
    return "\n".join(out) + "\n"


def tgi_metrics(*, queue: float = 0, batch: float = 1, decodes: float = 70) -> str:
    return (
        "\n".join(
            [
                "# TYPE tgi_queue_size gauge",
                f"tgi_queue_size {queue:g}",
                "# TYPE tgi_batch_current_size gauge",
                f"tgi_batch_current_size {batch:g}",
                "# TYPE tgi_batch_current_max_tokens gauge",
                "tgi_batch_current_max_tokens 2048",
                "# TYPE tgi_batch_inference_count counter",
                'tgi_batch_inference_count{method="prefill"} 12',
                f'tgi_batch_inference_count{{method="decode"}} {decodes:g}',
                "# TYPE tgi_request_count counter",
                "tgi_request_count 12",
            ]
        )
        + "\n"
    )


def ollama_ps(size_vram: int = 0, size: int = 5_137_025_024) -> str:
    return json.dumps(
        {
            "models": [
                {
                    "name": "qwen3:8b",
                    "model": "qwen3:8b",
                    "size": size,
                    "digest": "a" * 64,
                    "details": {
                        "format": "gguf",
                        "family": "qwen3",
                        "parameter_size": "8.2B",
                        "quantization_level": "Q4_K_M",
                    },
                    "expires_at": "2026-11-21T12:05:00Z",
                    "size_vram": size_vram,
                    "context_length": 4096,
                }
            ]
        }
    )


def dcgm_metrics(
    *, util: float = 93, power: float = 68.5, host: str = "gpu-node-1", gpus: int = 1
) -> str:
    out = []
    fields = [
        ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", 1980),
        ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", 6250),
        ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", 61),
        ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", power),
        ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", util),
        ("DCGM_FI_DEV_MEM_COPY_UTIL", "gauge", "Memory utilization (in %).", 40),
        ("DCGM_FI_DEV_FB_FREE", "gauge", "Frame buffer memory free (in MiB).", 1034),
        ("DCGM_FI_DEV_FB_USED", "gauge", "Frame buffer memory used (in MiB).", 22000),
        ("DCGM_FI_DEV_XID_ERRORS", "gauge", "Value of the last XID error encountered.", 0),
    ]
    for name, kind, doc, value in fields:
        out += [f"# HELP {name} {doc}", f"# TYPE {name} {kind}"]
        for g in range(gpus):
            labels = (
                f'gpu="{g}",UUID="GPU-7f1c-{g}",pci_bus_id="00000000:3{g}:00.0",'
                f'device="nvidia{g}",modelName="NVIDIA L4",Hostname="{host}",'
                'DCGM_FI_DRIVER_VERSION="580.105.08"'
            )
            out.append(f"{name}{{{labels}}} {value}")
    return "\n".join(out) + "\n"
