"""Health samples: what one poll of the server or the GPUs saw, stamped on the stream's clock.

Samples are plain dataclasses with a JSON form (``to_dict``/``from_dict``) because they travel:
into captures (``{"t": …, "sample": {…}}`` records), back out of them on replay, into
``check --json`` and into the TUI. ``t`` is seconds since the request started, the same clock as
the SSE bytes, so a replay shows what the server was doing at each moment of the stream.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from .metrics import Delta, MetricSet, counter_delta, parse_metrics

HealthState = Literal[
    "ok", "loading", "unhealthy", "not-answering", "refused", "error", "absent", "unknown"
]
"""``/health``: ok (2xx); loading (llama.cpp 503 "Loading model"); unhealthy (other 5xx);
not-answering (no answer within the poll interval); refused (nothing listens); error (another
transport error); absent (404: the server has no such endpoint); unknown (not polled)."""

ANSWERING = frozenset({"ok", "loading", "unhealthy", "absent"})


def _r(v: float | None, nd: int = 6) -> float | None:
    return None if v is None else round(v, nd)


@dataclass
class Endpoint:
    """One HTTP poll of one endpoint."""

    state: HealthState = "unknown"
    status: int | None = None
    latency: float | None = None
    detail: str = ""

    @property
    def answering(self) -> bool:
        return self.state in ANSWERING

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "status": self.status,
            "latency": _r(self.latency),
            "detail": self.detail,
        }


@dataclass
class Slot:
    """A llama.cpp ``/slots`` entry: per-request decode progress."""

    id: int
    processing: bool
    n_decoded: int | None = None
    n_remain: int | None = None
    n_ctx: int | None = None
    id_task: int | None = None


@dataclass
class OllamaModel:
    name: str
    size: int | None = None
    size_vram: int | None = None
    context_length: int | None = None

    @property
    def placement(self) -> str:
        """gpu | cpu | partial | unknown: size_vram 0 means the model runs on the CPU."""
        if self.size_vram is None:
            return "unknown"
        if self.size_vram == 0:
            return "cpu"
        if self.size is not None and self.size_vram < self.size:
            return "partial"
        return "gpu"


@dataclass
class ServerSample:
    """One poll of an inference server: liveness, the numbers its adapter read, the raw scrape."""

    t: float
    url: str = ""
    kind: str = "unknown"
    """vllm | llamacpp | sglang | tgi | ollama | unknown (detected)."""
    health: Endpoint = field(default_factory=Endpoint)
    metrics: Endpoint = field(default_factory=Endpoint)
    metric_errors: list[str] = field(default_factory=list)
    stale: bool = False
    """The metrics scrape failed: the numbers below are the previous scrape's."""
    running: float | None = None
    waiting: float | None = None
    kv_cache_usage: float | None = None
    """As reported (0–1 for vLLM, SGLang token_usage, llama.cpp ratio)."""
    kv_cache_metric: str | None = None
    preemptions: float | None = None
    heartbeat: float | None = None
    """A counter that rises on every engine step: 'is it generating'."""
    heartbeat_metric: str | None = None
    generated_tokens: float | None = None
    generated_metric: str | None = None
    slots: list[Slot] | None = None
    models: list[OllamaModel] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Adapter extras worth showing (llama.cpp is_sleeping, SGLang gen_throughput, TGI batch…)."""
    not_exposed: dict[str, str] = field(default_factory=dict)
    """Fields this server kind does not report at all, with why (llama.cpp: the KV cache)."""
    notes: list[str] = field(default_factory=list)
    """What the reader must know about these numbers (llama.cpp: scraping resets its gauges)."""
    raw_text: str | None = None
    """The whole /metrics text (not written to captures unless asked: it is large)."""

    source = "server"

    def raw_metrics(self) -> MetricSet | None:
        """Every metric of the scrape, parsed on first use (the TUI's raw view)."""
        if self.raw_text is None:
            return None
        cached = self.__dict__.get("_raw")
        if cached is None:
            cached = self.__dict__["_raw"] = parse_metrics(self.raw_text)
        return cached

    def to_dict(self, *, raw: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"source": "server", "t": _r(self.t)}
        for f in fields(self):
            if f.name in ("t", "raw_text"):
                continue
            v = getattr(self, f.name)
            if isinstance(v, Endpoint):
                v = v.to_dict()
            elif f.name in ("slots", "models") and v is not None:
                v = [asdict(x) for x in v]
            elif isinstance(v, float):
                v = _r(v)
            out[f.name] = v
        raw_set = self.raw_metrics() if raw else None
        if raw_set is not None:
            out["raw"] = raw_set.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ServerSample:
        s = cls(t=float(d.get("t") or 0.0))
        for f in fields(cls):
            if f.name in ("t", "raw_text") or f.name not in d:
                continue
            decode = _SERVER_DECODERS.get(f.name)
            setattr(s, f.name, d[f.name] if decode is None else decode(d[f.name]))
        return s


def _endpoint_from_dict(v: Any) -> Any:
    if not isinstance(v, dict):
        return v
    state: Any = v.get("state")  # kept as the capture wrote it, like every other field
    return Endpoint(state, v.get("status"), v.get("latency"), v.get("detail") or "")


def _slots_from_dict(v: Any) -> Any:
    return [Slot(**x) for x in v if isinstance(x, dict)] if isinstance(v, list) else v


def _models_from_dict(v: Any) -> Any:
    return [OllamaModel(**x) for x in v if isinstance(x, dict)] if isinstance(v, list) else v


_SERVER_DECODERS: dict[str, Callable[[Any], Any]] = {
    "health": _endpoint_from_dict,
    "metrics": _endpoint_from_dict,
    "slots": _slots_from_dict,
    "models": _models_from_dict,
}
"""The ServerSample fields whose JSON form is not the value itself (a value of an unexpected
shape is kept as it is, as a capture from another version may hold)."""


@dataclass
class GpuProcess:
    pid: int
    name: str = ""
    used_mib: float | None = None


@dataclass
class GpuDevice:
    """One GPU, units normalised in one place: %, MiB, °C, W, MHz (NVML reports bytes and mW,
    dcgm-exporter MiB and W)."""

    index: int
    name: str = ""
    uuid: str = ""
    host: str = ""
    util: float | None = None
    mem_util: float | None = None
    mem_used_mib: float | None = None
    mem_total_mib: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    power_limit_w: float | None = None
    sm_clock_mhz: float | None = None
    mem_clock_mhz: float | None = None
    xid: float | None = None
    processes: list[GpuProcess] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.host}:{self.index}" if self.host else str(self.index)


GpuState = Literal["ok", "unavailable", "not-answering", "error", "unknown"]


@dataclass
class GpuSample:
    t: float
    via: str = "nvml"
    """nvml | dcgm | prometheus | cmd"""
    state: GpuState = "unknown"
    detail: str = ""
    """Why there are no readings (e.g. 'no NVIDIA driver here')."""
    devices: list[GpuDevice] = field(default_factory=list)
    latency: float | None = None

    source = "gpu"

    @property
    def max_util(self) -> float | None:
        vals = [d.util for d in self.devices if d.util is not None]
        return max(vals) if vals else None

    @property
    def total_power_w(self) -> float | None:
        vals = [d.power_w for d in self.devices if d.power_w is not None]
        return sum(vals) if vals else None

    def to_dict(self, *, raw: bool = False) -> dict[str, Any]:
        del raw
        return {
            "source": "gpu",
            "t": _r(self.t),
            "via": self.via,
            "state": self.state,
            "detail": self.detail,
            "latency": _r(self.latency),
            "devices": [asdict(d) for d in self.devices],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GpuSample:
        return cls(
            t=float(d.get("t") or 0.0),
            via=str(d.get("via") or "nvml"),
            state=d.get("state") or "unknown",
            detail=str(d.get("detail") or ""),
            devices=[_device_from_dict(x) for x in d.get("devices") or [] if isinstance(x, dict)],
            latency=d.get("latency"),
        )


def _device_from_dict(x: dict[str, Any]) -> GpuDevice:
    """A device of a capture; keys this version does not know are dropped."""
    procs = [GpuProcess(**p) for p in x.get("processes") or [] if isinstance(p, dict)]
    known = {f.name for f in fields(GpuDevice)} - {"processes"}
    return GpuDevice(**{k: v for k, v in x.items() if k in known}, processes=procs)


Sample = ServerSample | GpuSample


def sample_from_dict(d: dict[str, Any]) -> Sample | None:
    """A capture's ``sample`` record back into a sample (None: a source this version lacks)."""
    if d.get("source") == "server":
        return ServerSample.from_dict(d)
    if d.get("source") == "gpu":
        return GpuSample.from_dict(d)
    return None


# ---------------------------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------------------------

Field = str | Callable[[Any], float | None]


def _getter(fld: Field) -> Callable[[Any], float | None]:
    if callable(fld):
        return fld
    return lambda s: getattr(s, fld, None)


class History:
    """Recent samples per source ("server", "gpu"), oldest first: what the diagnosis reads and
    what sparklines draw. Pure (no I/O): the monitor fills it live, a replay from a capture."""

    def __init__(self, maxlen: int = 600) -> None:
        self.maxlen = maxlen
        self._by_source: dict[str, deque[Sample]] = {}

    def add(self, sample: Sample) -> None:
        self._by_source.setdefault(sample.source, deque(maxlen=self.maxlen)).append(sample)

    def extend(self, samples: Iterable[Sample]) -> None:
        for s in samples:
            self.add(s)

    def sources(self) -> list[str]:
        return list(self._by_source)

    def samples(self, source: str, *, until: float | None = None) -> Sequence[Sample]:
        q = self._by_source.get(source)
        if not q:
            return ()
        if until is None:
            return q
        return [s for s in q if s.t <= until]

    def latest(self, source: str, *, until: float | None = None) -> Sample | None:
        q = self._by_source.get(source)
        if not q:
            return None
        if until is None:
            return q[-1]
        for s in reversed(q):
            if s.t <= until:
                return s
        return None

    def window(self, source: str, start: float, end: float) -> list[Sample]:
        return [s for s in self._by_source.get(source, ()) if start <= s.t <= end]

    def __iter__(self) -> Iterator[Sample]:
        for q in self._by_source.values():
            yield from q

    def __len__(self) -> int:
        return sum(len(q) for q in self._by_source.values())

    # -- series for sparklines ---------------------------------------------------------------

    def series(self, source: str, fld: Field, *, last: int | None = None) -> list[float | None]:
        """Values of one field over time (None where a sample lacked it): ``series("server",
        "waiting")``, ``series("gpu", lambda s: s.max_util)``."""
        get = _getter(fld)
        q = list(self._by_source.get(source, ()))
        if last is not None:
            q = q[-last:]
        return [get(s) for s in q]

    def rates(self, source: str, fld: Field, *, last: int | None = None) -> list[float | None]:
        """Per-second rate of a counter between consecutive samples (None across a reset, a
        stale scrape or a gap in the readings): tokens/s, steps/s."""
        get = _getter(fld)
        q = [s for s in self._by_source.get(source, ()) if not getattr(s, "stale", False)]
        out: list[float | None] = []
        for a, b in itertools.pairwise(q):
            va, vb = get(a), get(b)
            if va is None or vb is None or vb < va or b.t <= a.t:
                out.append(None)
            else:
                out.append((vb - va) / (b.t - a.t))
        return out[-last:] if last is not None else out

    def delta(self, source: str, fld: Field, start: float, end: float) -> Delta | None:
        """How a counter moved between ``start`` and ``end`` (fresh samples only)."""
        get = _getter(fld)
        pts = [
            (s.t, get(s)) for s in self.window(source, start, end) if not getattr(s, "stale", False)
        ]
        return counter_delta(pts)
