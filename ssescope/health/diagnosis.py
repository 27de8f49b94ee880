"""Why did it stall? Pure rules over the stream's stall clocks and the health history.

``diagnose(stream, history, now)`` returns one :class:`Diagnosis` (a rule id, one sentence that
says what is likely wrong with its numbers, and the evidence as data) or None when the stream is
not stalled. Rules are tried in order, most specific first (health-sources.md §10.2):

server not answering → model loading → server unhealthy → server restarted → queued at capacity
→ engine steps flat (request not on the server / GPU spinning / engine stuck) → prefilling →
generating but not sending → Ollama on the CPU → GPU-only evidence → keep-alive comments only →
no evidence.

Nothing here does I/O: the same function serves the live TUI, ``check`` and replays of captures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .metrics import Delta
from .samples import GpuSample, History, ServerSample

DEFAULT_STALL_AFTER = 10.0
DEFAULT_WINDOW = 10.0
"""How far back (at most) counters and GPU readings are compared."""
MIN_SPAN = 2.0
"""A counter is 'flat' only if readings at least this far apart agree."""
KV_FULL = 0.95
GPU_IDLE = 10.0
GPU_BUSY = 50.0
GPU_SPINNING = 90.0
KEEPALIVE_GAP = 45.0
"""Bytes this recent still count as 'keep-alives arriving' (llama.cpp pings every 30 s)."""

RULES: dict[str, tuple[str, str]] = {
    # id: (severity, title)
    "server-not-answering": ("error", "the server does not answer /health"),
    "model-loading": ("warning", "the model is still loading"),
    "server-unhealthy": ("error", "the server reports itself unhealthy"),
    "server-restarted": ("error", "the server restarted during the stall"),
    "queued-at-capacity": ("warning", "queued: the server is at capacity"),
    "request-not-on-server": ("error", "the server is not working on any request"),
    "gpu-spinning": ("error", "no engine progress while the GPU reads busy"),
    "engine-stuck": ("error", "the engine is not generating although it answers /health"),
    "prefilling": ("warning", "a long prefill"),
    "generating-not-sending": ("warning", "the server generates but the stream is held back"),
    "ollama-on-cpu": ("warning", "Ollama runs the model on the CPU"),
    "gpu-idle": ("warning", "the GPU is idle during the stall"),
    "gpu-busy": ("info", "the GPU is busy during the stall"),
    "keepalive-only": ("error", "only keep-alives arrive"),
    "stalled": ("info", "stalled, no readings explain it"),
}


@dataclass
class StreamState:
    """The stream facts the rules need, read from a Checker (or a Timing) at ``now``."""

    now: float
    since_progress: float
    """Seconds since the last real event (keepalive events and comments excluded)."""
    since_byte: float | None = None
    """Seconds since the last byte, comments included (None: no byte yet)."""
    since_event: float | None = None
    """Seconds since the last complete event of any kind: Codex's idle clock."""
    created: bool = False
    items: int = 0
    terminal: bool = False
    last_type: str | None = None
    http_status: int | None = None
    headers: bool = True
    ended: bool = False
    end_reason: str | None = None
    comments: int = 0
    keepalives: int = 0
    stall_after: float = DEFAULT_STALL_AFTER
    codex_idle_timeout: float = 300.0

    @classmethod
    def from_checker(cls, checker: Any, now: float) -> StreamState:
        tm = checker.timing
        st = cls.from_timing(
            tm,
            now,
            stall_after=checker.options.stall_warn,
            codex_idle_timeout=checker.codex.idle_timeout,
        )
        st.items = len(checker.tree.items)
        st.terminal = checker.tree.terminal_type is not None
        st.http_status = checker.http_status
        st.ended = checker.finished
        st.end_reason = checker.end_reason
        codex_last = checker.codex.last_event_t
        if st.since_event is None or (now - codex_last) < st.since_event:
            st.since_event = now - codex_last
        return st

    @classmethod
    def from_timing(
        cls,
        timing: Any,
        now: float,
        *,
        stall_after: float = DEFAULT_STALL_AFTER,
        codex_idle_timeout: float = 300.0,
    ) -> StreamState:
        last_event = timing.t_last_event
        if last_event is None:
            last_event = timing.t_headers if timing.t_headers is not None else 0.0
        return cls(
            now=now,
            since_progress=timing.since_last_progress(now),
            since_byte=None if timing.t_last_byte is None else now - timing.t_last_byte,
            since_event=now - last_event,
            created=timing.t_created is not None,
            last_type=timing.last_progress_type,
            headers=timing.t_headers is not None,
            comments=timing.comments,
            keepalives=timing.keepalives,
            stall_after=stall_after,
            codex_idle_timeout=codex_idle_timeout,
        )

    @property
    def stalled(self) -> bool:
        if self.terminal or self.since_progress < self.stall_after:
            return False
        if self.http_status is not None and not 200 <= self.http_status < 300:
            return False
        return not (self.ended and self.end_reason not in (None, "max-wait", "interrupted"))

    @property
    def codex_left(self) -> float:
        since = self.since_event if self.since_event is not None else self.since_progress
        return max(0.0, self.codex_idle_timeout - since)

    @property
    def keepalive_only(self) -> bool:
        """Bytes (comments or keepalive events) keep arriving during the stall, no real event."""
        return (
            self.since_byte is not None
            and self.since_byte < self.since_progress
            and self.since_byte <= max(self.stall_after, KEEPALIVE_GAP)
        )

    @property
    def comments_only(self) -> bool:
        """…and not even a keepalive *event*: Codex's idle timer is running."""
        return self.keepalive_only and (self.since_event or 0.0) > self.since_byte  # type: ignore[operator]

    @property
    def after(self) -> str:
        if not self.headers and self.http_status is None:
            return "the request (no response headers yet)"
        if self.created and not self.items:
            return "response.created"
        return self.last_type or "the request"


@dataclass
class Diagnosis:
    rule: str
    sentence: str
    evidence: dict[str, Any] = field(default_factory=dict)
    t: float = 0.0
    since: float | None = None
    """When this diagnosis was first made (a timeline entry that held for a while)."""

    @property
    def severity(self) -> str:
        return RULES[self.rule][0]

    @property
    def title(self) -> str:
        return RULES[self.rule][1]

    def to_dict(self) -> dict[str, Any]:
        out = {
            "rule": self.rule,
            "severity": self.severity,
            "sentence": self.sentence,
            "evidence": self.evidence,
            "t": round(self.t, 3),
        }
        if self.since is not None:
            out["since"] = round(self.since, 3)
        return out


# ---------------------------------------------------------------------------------------------
# evidence
# ---------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _secs(v: float) -> str:
    return f"{v:.0f} s" if v >= 10 else f"{v:.1f} s"


@dataclass
class _Server:
    latest: ServerSample | None
    window: list[ServerSample]
    heartbeat: Delta | None = None
    tokens: Delta | None = None
    reset_metric: str | None = None
    idle: bool = False
    """Running 0 and nothing waiting in every reading of the window."""


def _server_view(history: History, start: float, now: float) -> _Server:
    latest = history.latest("server", until=now)
    window = [s for s in history.window("server", start, now) if isinstance(s, ServerSample)]
    view = _Server(latest if isinstance(latest, ServerSample) else None, window)
    fresh = [s for s in window if not s.stale]
    view.heartbeat = _delta(fresh, "heartbeat")
    view.tokens = _delta(fresh, "generated_tokens")
    if view.heartbeat is not None and view.heartbeat.reset:
        view.reset_metric = fresh[-1].heartbeat_metric or "the step counter"
    elif view.tokens is not None and view.tokens.reset:
        view.reset_metric = fresh[-1].generated_metric or "the token counter"
    idle = [x for x in fresh if x.running is not None]
    view.idle = (
        len(idle) >= 2
        and idle[-1].t - idle[0].t >= MIN_SPAN
        and all(x.running == 0 and not x.waiting for x in idle)
    )
    return view


def _delta(samples: list[ServerSample], attr: str) -> Delta | None:
    from .metrics import counter_delta

    d = counter_delta((s.t, getattr(s, attr)) for s in samples)
    if d is None or d.seconds < MIN_SPAN:
        return None
    return d


@dataclass
class _Gpu:
    util: float | None = None
    power_w: float | None = None
    devices: int = 0
    via: str = ""
    state: str = ""


def _gpu_view(history: History, start: float, now: float) -> _Gpu:
    window = [
        s for s in history.window("gpu", start, now) if isinstance(s, GpuSample) and s.state == "ok"
    ]
    latest = history.latest("gpu", until=now)
    view = _Gpu(state=latest.state if isinstance(latest, GpuSample) else "")
    utils = [u for s in window if (u := s.max_util) is not None]
    powers = [p for s in window if (p := s.total_power_w) is not None]
    if utils:
        view.util = sum(utils) / len(utils)
    if powers:
        view.power_w = sum(powers) / len(powers)
    if window:
        view.devices = len(window[-1].devices)
        view.via = window[-1].via
    return view


def _gpu_words(g: _Gpu) -> str:
    if g.util is None:
        return ""
    words = f"GPU {g.util:.0f}% busy"
    if g.power_w is not None:
        words += f", {g.power_w:.0f} W"
    return words


# ---------------------------------------------------------------------------------------------
# the rules
# ---------------------------------------------------------------------------------------------


def diagnose(
    stream: Any,
    history: History | Any | None = None,
    now: float | None = None,
    *,
    window: float = DEFAULT_WINDOW,
) -> Diagnosis | None:
    """One sentence on why the stream is stalled, with evidence; None if it is not stalled.

    ``stream``: a :class:`StreamState`, a Checker, or a Timing. ``history``: a :class:`History`
    or anything with a ``history`` attribute (a HealthMonitor); None for stream facts only.
    ``now``: seconds since the request started (the stream's clock)."""
    state = _state(stream, now)
    if not state.stalled:
        return None
    if history is not None and not isinstance(history, History):
        history = history.history
    hist: History = history if history is not None else History()
    now = state.now
    start = now - min(state.since_progress, window)
    srv = _server_view(hist, start, now)
    gpu = _gpu_view(hist, start, now)
    prefix = f"Stalled {_secs(state.since_progress)} after {state.after}"
    ev: dict[str, Any] = {
        "stalled_for": round(state.since_progress, 3),
        "after": state.after,
        "since_last_byte": None if state.since_byte is None else round(state.since_byte, 3),
        "codex_timeout_in": round(state.codex_left, 1),
    }
    s = srv.latest

    def done(rule: str, sentence: str, **more: Any) -> Diagnosis:
        evidence = {**ev, **{k: v for k, v in more.items() if v is not None}}
        if gpu.util is not None:
            evidence.setdefault("gpu_util", round(gpu.util, 1))
            if gpu.power_w is not None:
                evidence.setdefault("gpu_power_w", round(gpu.power_w, 1))
        return Diagnosis(rule, sentence, evidence, t=now)

    if s is not None:
        ev["server"] = s.kind
        ev["health"] = s.health.state
        h = s.health
        path = "/" if s.kind == "ollama" else "/health"
        if h.state in ("not-answering", "refused", "error"):
            last_ok = next(
                (x for x in reversed(hist.samples("server", until=now)) if x.health.answering),  # type: ignore[union-attr]
                None,
            )
            ago = f"; last answer {_secs(now - last_ok.t)} ago" if last_ok is not None else ""
            why = {
                "not-answering": h.detail or "no answer",
                "refused": "connection refused: the server process is gone",
                "error": h.detail or "transport error",
            }[h.state]
            return done(
                "server-not-answering",
                f"{prefix}: the server is not answering ({path}: {why}{ago}).",
                health_detail=h.detail,
                last_answer_ago=None if last_ok is None else round(now - last_ok.t, 3),
            )
        if h.state == "loading":
            return done(
                "model-loading",
                f"{prefix}: the model is still loading ({path}: {h.status} {h.detail or 'Loading model'}).",
                health_status=h.status,
            )
        if h.state == "unhealthy":
            return done(
                "server-unhealthy",
                f"{prefix}: the server reports itself unhealthy ({path}: {h.status}"
                + (f" {h.detail}" if h.detail else "")
                + ").",
                health_status=h.status,
                health_detail=h.detail,
            )
        if srv.reset_metric is not None:
            return done(
                "server-restarted",
                f"{prefix}: the server restarted during the stall ({srv.reset_metric} went "
                "backwards): the request it was serving is gone.",
                metric=srv.reset_metric,
            )
        numbers = {
            "running": s.running,
            "waiting": s.waiting,
            "kv_cache_usage": s.kv_cache_usage,
            "kv_cache_metric": s.kv_cache_metric,
            "preemptions": s.preemptions,
            "stale": s.stale or None,
        }
        waiting = s.waiting or 0
        kv = s.kv_cache_usage
        if waiting > 0 or (kv is not None and kv >= KV_FULL):
            parts = []
            if s.running is not None:
                parts.append(f"{_fmt(s.running)} running")
            if s.waiting is not None:
                parts.append(f"{_fmt(s.waiting)} waiting")
            if kv is not None:
                parts.append(f"KV cache {kv:.0%}")
            pre = _delta([x for x in srv.window if not x.stale], "preemptions")
            if pre is not None and pre.delta > 0:
                parts.append(f"{_fmt(pre.delta)} preemptions in {_secs(pre.seconds)}")
            return done(
                "queued-at-capacity",
                f"{prefix}: queued, the server is at capacity ({', '.join(parts)}).",
                **numbers,
                preemptions_recent=None if pre is None else pre.delta,
            )
        hb = srv.heartbeat
        hb_name = s.heartbeat_metric or "the step counter"
        counter: dict[str, Any] = {}
        if hb is not None:
            counter = {
                "heartbeat_metric": hb_name,
                "heartbeat_delta": hb.delta,
                "window": round(hb.seconds, 3),
            }
        if srv.idle:
            flat = f"{hb_name} flat for {_secs(hb.seconds)}" if hb and hb.delta == 0 else ""
            return done(
                "request-not-on-server",
                f"{prefix}: the server has no request running or waiting"
                + (f" ({flat})" if flat else "")
                + ", so nothing is working on this one: the request was lost, or something "
                "between here and the server holds the stream.",
                **numbers,
                **counter,
            )
        if hb is not None and hb.delta == 0:
            if gpu.util is not None and gpu.util >= GPU_SPINNING:
                return done(
                    "gpu-spinning",
                    f"{prefix}: the engine is not generating ({hb_name} has not moved for "
                    f"{_secs(hb.seconds)}) yet the GPU reads {gpu.util:.0f}% busy: likely a hung "
                    "kernel or collective (check XID errors and the other GPUs).",
                    **numbers,
                    **counter,
                )
            ok = "although /health says OK" if h.state == "ok" else "although the server answers"
            detail = [f"{hb_name} has not moved for {_secs(hb.seconds)}"]
            if s.running is not None:
                detail.append(f"with {_fmt(s.running)} request(s) running")
            gw = _gpu_words(gpu)
            sentence = f"{prefix}: the engine is not generating {ok} ({' '.join(detail)}"
            sentence += f"; {gw})." if gw else ")."
            return done("engine-stuck", sentence, **numbers, **counter)
        if hb is not None and hb.delta > 0:
            tok = srv.tokens
            if (
                tok is not None
                and tok.delta == 0
                and s.generated_metric != s.heartbeat_metric
                and state.created
                and not state.items
            ):
                return done(
                    "prefilling",
                    f"{prefix}: the server is still prefilling ({hb_name} rising, "
                    f"{s.generated_metric} flat for {_secs(tok.seconds)}): a long prompt without a "
                    "prefix-cache hit.",
                    **numbers,
                    heartbeat_metric=hb_name,
                    heartbeat_rate=hb.rate,
                )
            if tok is not None and tok.delta > 0 and tok.rate is not None:
                speed = f"{tok.rate:.0f} tokens/s"
            else:
                speed = f"{hb_name} +{_fmt(hb.delta)} in {_secs(hb.seconds)}"
            gw = _gpu_words(gpu)
            return done(
                "generating-not-sending",
                f"{prefix}: the server is generating ({speed}" + (f", {gw}" if gw else "") + ") "
                "but nothing reaches the stream: output held back by a buffering proxy or a "
                "translator that emits only at item end, or a long hidden reasoning phase.",
                **numbers,
                heartbeat_metric=hb_name,
                heartbeat_rate=None if hb.rate is None else round(hb.rate, 3),
                tokens_per_s=None if tok is None or tok.rate is None else round(tok.rate, 3),
            )
        if s.kind == "ollama" and s.models:
            slow = [m for m in s.models if m.placement in ("cpu", "partial")]
            if slow:
                m = slow[0]
                where = (
                    "on the CPU (size_vram 0)"
                    if m.placement == "cpu"
                    else f"only partly on the GPU ({_gib(m.size_vram)} of {_gib(m.size)} in VRAM)"
                )
                return done(
                    "ollama-on-cpu",
                    f"{prefix}: Ollama runs {m.name} {where}, so generation is slow.",
                    model=m.name,
                    size=m.size,
                    size_vram=m.size_vram,
                )
    if gpu.util is not None and not (s is not None and s.heartbeat is not None):
        if gpu.util <= GPU_IDLE:
            return done(
                "gpu-idle",
                f"{prefix}: the GPU is idle ({_gpu_words(gpu)}), so nothing is being generated "
                "for this request.",
            )
        if gpu.util >= GPU_BUSY:
            return done(
                "gpu-busy",
                f"{prefix}: the GPU is busy ({_gpu_words(gpu)}) but nothing reaches the stream: "
                "a long prefill, generation held back, or other requests.",
            )
    if state.keepalive_only:
        if state.comments_only:
            left = state.codex_left
            codex = (
                f"Codex times out in {left:.0f} s because comments do not reset its idle timer"
                if left > 0
                else f"Codex has already given up (its {state.codex_idle_timeout:g} s idle "
                "timeout passed: comments do not reset it)"
            )
            what = "keep-alive comments"
        else:
            codex = "keepalive events keep Codex waiting but nothing is produced"
            what = "keepalive events"
        return done(
            "keepalive-only",
            f"{prefix}: the server is alive but producing nothing: only {what} arrive, and "
            f"{codex}.",
            comments=state.comments,
            keepalives=state.keepalives,
        )
    if s is None and gpu.util is None:
        hint = "no server or GPU readings to say why (add --server URL)"
        if hist.latest("gpu", until=now) is not None and gpu.state not in ("", "ok"):
            hint = f"no server readings and no GPU readings ({gpu.state})"
        return done("stalled", f"{prefix}; {hint}.")
    facts = []
    if s is not None:
        if s.running is not None:
            facts.append(f"{_fmt(s.running)} running")
        if s.waiting is not None:
            facts.append(f"{_fmt(s.waiting)} waiting")
        if s.heartbeat is None:
            facts.append(
                "no step counter" + (" (/metrics off)" if s.metrics.state == "absent" else "")
            )
    gw = _gpu_words(gpu)
    if gw:
        facts.append(gw)
    return done(
        "stalled",
        f"{prefix}; the readings do not explain it ({', '.join(facts) or 'too few readings yet'}).",
    )


def _gib(v: int | None) -> str:
    return "?" if v is None else f"{v / 2**30:.1f} GiB"


def _state(stream: Any, now: float | None) -> StreamState:
    if isinstance(stream, StreamState):
        return stream
    if now is None:
        raise ValueError("diagnose(checker or timing, …) needs now")
    if hasattr(stream, "tree") and hasattr(stream, "timing"):
        return StreamState.from_checker(stream, now)
    if hasattr(stream, "since_last_progress"):
        return StreamState.from_timing(stream, now)
    if hasattr(stream, "checker"):  # a StreamSession
        return StreamState.from_checker(stream.checker, now)
    raise TypeError(f"diagnose: cannot read stream state from {type(stream).__name__}")


# ---------------------------------------------------------------------------------------------
# a timeline for check and replays
# ---------------------------------------------------------------------------------------------


class DiagnosisLog:
    """Diagnoses over a stream's life: one entry per stretch with the same rule (its latest
    sentence and evidence, ``since`` when it began)."""

    def __init__(self) -> None:
        self.entries: list[Diagnosis] = []

    def observe(self, d: Diagnosis | None) -> None:
        if d is None:
            return
        if self.entries and self.entries[-1].rule == d.rule:
            first = self.entries[-1].since
            d.since = first if first is not None else self.entries[-1].t
            self.entries[-1] = d
        else:
            d.since = d.t
            self.entries.append(d)

    def final(self, end: Diagnosis | None) -> dict[str, Any] | None:
        """The diagnosis for a report: the one at the end if the stream was still stalled,
        else the last one made while it was (``ongoing: false``)."""
        if end is not None:
            self.observe(end)
            return {**self.entries[-1].to_dict(), "ongoing": True}
        if self.entries:
            return {**self.entries[-1].to_dict(), "ongoing": False}
        return None

    def to_list(self) -> list[dict[str, Any]]:
        return [d.to_dict() for d in self.entries]
