"""Server adapters: which server this is, and the few numbers that explain a stall.

Each adapter reads a :class:`MetricSet` (and, for llama.cpp and Ollama, their JSON endpoints)
into the same fields: requests running and waiting, KV-cache usage, preemptions, a heartbeat
counter (rises on every engine step: "is it generating") and a generated-token counter. Metric
names change between releases; where one was renamed both are read, current name first
(health-sources.md §2–§6). Pure functions: tested without sockets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .metrics import MetricSet
from .samples import HealthState, OllamaModel, ServerSample, Slot

KINDS = ("vllm", "llamacpp", "sglang", "tgi", "ollama")

# vLLM (vllm/v1/metrics/loggers.py); gpu_cache_usage_perc: deprecated in 0.9, later hidden.
VLLM_KV = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")
VLLM_HEARTBEAT = ("vllm:iteration_tokens_total_count",)
VLLM_TOKENS = ("vllm:generation_tokens_total",)
LLAMA_HEARTBEAT = ("llamacpp:n_decode_total",)
LLAMA_TOKENS = ("llamacpp:tokens_predicted_total",)
LLAMA_KV = ("llamacpp:kv_cache_usage_ratio",)
"""Older builds only: current llama.cpp has no KV-cache metric at all."""
LLAMA_TOKENS_LIVE = "llamacpp:tokens_predicted_total + /slots n_decoded"
"""The llama.cpp token counter that moves during a generation: the finished requests' tokens
plus the in-flight ones' ``n_decoded`` (``tokens_predicted_total`` alone moves only when a
request ends)."""
SLOTS_HEARTBEAT = "/slots next_token.n_decoded (processing slots)"
LLAMA_INTERVAL_NOTE = (
    "every /metrics scrape resets llama.cpp's predicted_tokens_seconds and "
    "prompt_tokens_seconds: ssescope ignores them, and while it polls, your Prometheus reads "
    "them over ssescope's interval"
)
NOT_EXPOSED = {"llamacpp": {"kv_cache_usage": "llama.cpp has no KV-cache metric"}}
"""What a server kind does not report at all (said so, rather than left blank)."""
SGLANG_PREFIXES = ("sglang:", "sglang_")


def _read_vllm(sample: ServerSample, m: MetricSet) -> None:
    sample.running = m.get("vllm:num_requests_running")
    sample.waiting = m.get("vllm:num_requests_waiting")
    sample.kv_cache_metric, sample.kv_cache_usage = m.first(*VLLM_KV)
    sample.preemptions = m.get("vllm:num_preemptions_total")
    sample.heartbeat_metric, sample.heartbeat = m.first(*VLLM_HEARTBEAT, *VLLM_TOKENS)
    sample.generated_metric, sample.generated_tokens = m.first(*VLLM_TOKENS)


def _read_llamacpp(sample: ServerSample, m: MetricSet) -> None:
    """llama.cpp's counters. ``tokens_predicted_total`` moves only when a request ends, so the
    live token counter is ``n_decode_total`` (one decode call per generated token with one busy
    slot; several batched slots share a call) until /slots gives the per-request ``n_decoded``
    (:func:`apply_slots`). The interval gauges are not read: every scrape resets them."""
    sample.running = m.get("llamacpp:requests_processing")
    sample.waiting = m.get("llamacpp:requests_deferred")
    sample.kv_cache_metric, sample.kv_cache_usage = m.first(*LLAMA_KV)
    sample.heartbeat_metric, sample.heartbeat = m.first(*LLAMA_HEARTBEAT, *LLAMA_TOKENS)
    sample.generated_metric, sample.generated_tokens = m.first(*LLAMA_HEARTBEAT, *LLAMA_TOKENS)
    finished = m.get(LLAMA_TOKENS[0])
    if finished is not None:
        sample.extra["tokens_predicted_total"] = finished
    sample.notes.append(LLAMA_INTERVAL_NOTE)


def _sg(m: MetricSet, name: str) -> tuple[str, float] | tuple[None, None]:
    """SGLang: some versions and exporters spell ``sglang:x`` as ``sglang_x``."""
    return m.first(f"sglang:{name}", f"sglang_{name}")


def _read_sglang(sample: ServerSample, m: MetricSet) -> None:
    sample.running = _sg(m, "num_running_reqs")[1]
    sample.waiting = _sg(m, "num_queue_reqs")[1]
    usage_metric, usage = _sg(m, "token_usage")
    if usage is not None:
        sample.kv_cache_usage, sample.kv_cache_metric = usage, usage_metric
    name, tokens = _sg(m, "generation_tokens_total")
    if tokens is not None:
        # SGLang has no step counter: generated tokens are its heartbeat.
        sample.heartbeat, sample.heartbeat_metric = tokens, name
        sample.generated_tokens, sample.generated_metric = tokens, name
    gen = _sg(m, "gen_throughput")[1]
    if gen is not None:
        sample.extra["gen_throughput"] = gen


def _read_tgi(sample: ServerSample, m: MetricSet) -> None:
    sample.waiting = m.get("tgi_queue_size")
    sample.running = m.get("tgi_batch_current_size")
    decode = m.get("tgi_batch_inference_count", method="decode")
    if decode is not None:
        sample.heartbeat = decode
        sample.heartbeat_metric = 'tgi_batch_inference_count{method="decode"}'
    max_tokens = m.get("tgi_batch_current_max_tokens")
    if max_tokens is not None:
        sample.extra["batch_current_max_tokens"] = max_tokens


@dataclass(frozen=True)
class Adapter:
    """What ssescope knows about one server with Prometheus metrics: how to recognise its
    scrape, which metrics to parse on every scrape, how to read them into a sample, and which
    JSON endpoints of its own are worth polling."""

    kind: str
    prefixes: tuple[str, ...]
    """Metric-name prefixes that identify the server."""
    wanted: tuple[str, ...]
    """The metrics :attr:`read` uses: the poller parses only these on every scrape."""
    read: Callable[[ServerSample, MetricSet], None]
    endpoints: tuple[tuple[str, int], ...] = ()
    """Extra endpoints polled next to /health and /metrics: (path, every how many polls)."""


ADAPTERS: dict[str, Adapter] = {
    a.kind: a
    for a in (
        Adapter(
            "vllm",
            ("vllm:",),
            (
                "vllm:num_requests_running",
                "vllm:num_requests_waiting",
                *VLLM_KV,
                "vllm:num_preemptions_total",
                *VLLM_HEARTBEAT,
                *VLLM_TOKENS,
            ),
            _read_vllm,
        ),
        Adapter(
            "llamacpp",
            ("llamacpp:",),
            (
                "llamacpp:requests_processing",
                "llamacpp:requests_deferred",
                *LLAMA_KV,
                *LLAMA_HEARTBEAT,
                *LLAMA_TOKENS,
            ),
            _read_llamacpp,
            # /slots: per-request decode progress (the heartbeat without --metrics); /props:
            # is_sleeping, which changes rarely.
            endpoints=(("/slots", 1), ("/props", 10)),
        ),
        Adapter(
            "sglang",
            SGLANG_PREFIXES,
            tuple(
                f"{p}{n}"
                for p in SGLANG_PREFIXES
                for n in (
                    "num_running_reqs",
                    "num_queue_reqs",
                    "token_usage",
                    "generation_tokens_total",
                    "gen_throughput",
                )
            ),
            _read_sglang,
        ),
        Adapter(
            "tgi",
            ("tgi_",),
            (
                "tgi_queue_size",
                "tgi_batch_current_size",
                "tgi_batch_inference_count",
                "tgi_batch_current_max_tokens",
            ),
            _read_tgi,
        ),
    )
}
"""The servers recognised by their /metrics, in detection order (Ollama has no /metrics)."""

WANTED: dict[str, tuple[str, ...]] = {kind: a.wanted for kind, a in ADAPTERS.items()}
"""The metrics each adapter reads: the poller parses only these on every scrape."""

_PREFIX = re.compile(r"^(?:# (?:HELP|TYPE) )?(vllm:|llamacpp:|sglang[:_]|tgi_)", re.MULTILINE)
_PREFIX_KIND = {p: a.kind for a in ADAPTERS.values() for p in a.prefixes}


def kind_from_text(text: str) -> str | None:
    """The server behind a /metrics text, from its metric prefixes (no parsing)."""
    m = _PREFIX.search(text)
    if m is None:
        return None
    return _PREFIX_KIND[m.group(1)]


def detect_kind(
    metrics: MetricSet | None,
    *,
    health_body: str = "",
    root_body: str = "",
    slots: Any = None,
) -> str:
    """The server, from its metric prefixes first, then from what its endpoints answer."""
    if metrics is not None and len(metrics):
        for adapter in ADAPTERS.values():
            if metrics.with_prefix(*adapter.prefixes):
                return adapter.kind
    if "Ollama is running" in root_body:
        return "ollama"
    if _llamacpp_slots(slots) or "Loading model" in health_body:
        return "llamacpp"
    return "unknown"


def _llamacpp_slots(slots: Any) -> bool:
    return (
        isinstance(slots, list)
        and bool(slots)
        and all(isinstance(s, dict) and "id" in s for s in slots)
    )


def apply_metrics(sample: ServerSample, m: MetricSet) -> None:
    """Fill the sample's numbers from a scrape, for the sample's ``kind``."""
    adapter = ADAPTERS.get(sample.kind)
    if adapter is not None:
        adapter.read(sample, m)
    mark_not_exposed(sample)


def mark_not_exposed(sample: ServerSample) -> None:
    """Say what the server kind does not report (a KV cache on llama.cpp), unless it did."""
    for name, why in NOT_EXPOSED.get(sample.kind, {}).items():
        if getattr(sample, name, None) is None:
            sample.not_exposed[name] = why


def parse_slots(data: Any) -> list[Slot] | None:
    """llama.cpp ``/slots``: id, is_processing, next_token{n_decoded, n_remain}."""
    if not isinstance(data, list):
        return None
    out: list[Slot] = []
    for raw in data:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), int):
            continue
        nt = raw.get("next_token")
        if isinstance(nt, list):  # some builds: a list with one entry
            nt = nt[0] if nt else {}
        nt = nt if isinstance(nt, dict) else {}
        processing = raw.get("is_processing")
        if processing is None and "state" in raw:  # older builds: state 0 idle, 1 processing
            processing = raw.get("state") != 0
        out.append(
            Slot(
                id=raw["id"],
                processing=bool(processing),
                n_decoded=_int(nt.get("n_decoded")),
                n_remain=_int(nt.get("n_remain")),
                n_ctx=_int(raw.get("n_ctx")),
                id_task=_int(raw.get("id_task")),
            )
        )
    return out


def apply_slots(sample: ServerSample, slots: list[Slot]) -> None:
    """Per-request decode counters: without ``--metrics`` they are llama.cpp's only heartbeat;
    with it, the finished requests' ``tokens_predicted_total`` plus the in-flight ``n_decoded``
    is a token counter that moves during a generation (and does not drop when one ends)."""
    sample.slots = slots
    busy = [s for s in slots if s.processing]
    if sample.running is None:
        sample.running = float(len(busy))
    known = [s.n_decoded for s in busy if s.n_decoded is not None]
    in_flight = float(sum(known))
    sample.extra["slots_processing"] = len(busy)
    sample.extra["slots_total"] = len(slots)
    if known:
        sample.extra["slots_n_decoded"] = in_flight
    finished = sample.extra.get("tokens_predicted_total")
    if isinstance(finished, (int, float)):
        sample.generated_tokens = finished + in_flight
        sample.generated_metric = LLAMA_TOKENS_LIVE
    if sample.heartbeat is None and known:
        sample.heartbeat = in_flight
        sample.heartbeat_metric = SLOTS_HEARTBEAT


class SlotProgress:
    """Tokens the slots decoded, summed per request across polls: without ``--metrics`` the
    in-flight ``n_decoded`` sum drops whenever a request ends, which would read as a server
    restart; this counter only rises. One per probe (it remembers the previous poll)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._seen: dict[tuple[int, int | None], int] = {}

    def update(self, slots: list[Slot]) -> float:
        current: dict[tuple[int, int | None], int] = {}
        for slot in slots:
            if slot.processing and slot.n_decoded is not None:
                key = (slot.id, slot.id_task)
                before = self._seen.get(key, 0)
                self.total += (
                    slot.n_decoded - before if slot.n_decoded >= before else slot.n_decoded
                )
                current[key] = slot.n_decoded
        self._seen = current
        return self.total


def parse_ollama_ps(data: Any) -> list[OllamaModel] | None:
    """Ollama ``/api/ps``: loaded models; size_vram 0 = on the CPU, < size = partly offloaded."""
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        return None
    out = []
    for raw in data["models"]:
        if not isinstance(raw, dict):
            continue
        out.append(
            OllamaModel(
                name=str(raw.get("name") or raw.get("model") or "?"),
                size=_int(raw.get("size")),
                size_vram=_int(raw.get("size_vram")),
                context_length=_int(raw.get("context_length")),
            )
        )
    return out


def parse_props(data: Any) -> dict[str, Any]:
    """llama.cpp ``/props``: is_sleeping explains a slow first token (--sleep-idle-seconds)."""
    if not isinstance(data, dict):
        return {}
    out: dict[str, Any] = {}
    if "is_sleeping" in data:
        out["is_sleeping"] = bool(data["is_sleeping"])
    if isinstance(data.get("total_slots"), int):
        out["total_slots"] = data["total_slots"]
    return out


def health_state(status: int | None, body: str) -> HealthState:
    """``/health`` status → state; llama.cpp answers 503 ``Loading model`` while it loads."""
    if status is None:
        return "unknown"
    if 200 <= status < 300:
        return "ok"
    if status == 404:
        return "absent"
    if status == 503 and "loading model" in body.lower():
        return "loading"
    return "unhealthy"


def health_detail(status: int | None, body: str) -> str:
    text = body.strip()
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return err["message"]
        if isinstance(data.get("status"), str):
            return data["status"]
    return text[:120]


def _int(v: Any) -> int | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return None
