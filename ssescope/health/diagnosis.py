"""Why did it stall? Pure rules over the stream's stall clocks and the health history.

``diagnose(stream, history, now)`` returns one :class:`Diagnosis` (a rule id, one sentence that
says what is likely wrong with its numbers, and the evidence as data) or None when the stream is
not stalled.

Each diagnosis is one small function registered with :func:`rule`: its id, severity, title and
precedence sit on the decorator, its sentence and the evidence it cites in the body, and its test
in ``tests/health/test_health_diagnosis.py`` (a test there fails when a rule has none). Rules are
tried by precedence, most specific first (health-sources.md §10.2):

server not answering → model loading → server unhealthy → server restarted → queued at capacity
→ engine steps flat (request not on the server / GPU spinning / engine stuck) → prefilling →
generating but not sending → Ollama on the CPU → GPU-only evidence → keep-alive comments only →
no evidence.

Adding a diagnosis is one function: a rule that does not apply returns None and the next is
tried; the last one (``stalled``) always answers.

Nothing here does I/O: the same function serves the live TUI, ``check`` and replays of captures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ..core.ends import CUT_BY_US, EndReason
from .metrics import Delta, counter_delta
from .samples import GpuSample, History, OllamaModel, ServerSample

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

Severity = Literal["error", "warning", "info"]


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
    end_reason: EndReason | str | None = None
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
        # A stream that ended on its own is over, not stalled; one we cut (max-wait, the user)
        # was still waiting, and that wait is what the diagnosis explains.
        return not (self.ended and self.end_reason is not None and self.end_reason not in CUT_BY_US)

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
        if not self.keepalive_only or self.since_byte is None:
            return False
        return (self.since_event or 0.0) > self.since_byte

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
# the readings a rule reads
# ---------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"


def _secs(v: float) -> str:
    return f"{v:.0f} s" if v >= 10 else f"{v:.1f} s"


def _gib(v: int | None) -> str:
    return "?" if v is None else f"{v / 2**30:.1f} GiB"


@dataclass
class ServerView:
    """The server readings of the stall window: the latest sample and how its counters moved."""

    latest: ServerSample | None
    window: list[ServerSample]
    heartbeat: Delta | None = None
    tokens: Delta | None = None
    reset_metric: str | None = None
    idle: bool = False
    """Running 0 and nothing waiting in every reading of the window."""

    @property
    def fresh(self) -> list[ServerSample]:
        """The readings of a scrape that worked (a stale one repeats the previous numbers)."""
        return [s for s in self.window if not s.stale]


def _server_view(history: History, start: float, now: float) -> ServerView:
    latest = history.latest("server", until=now)
    window = [s for s in history.window("server", start, now) if isinstance(s, ServerSample)]
    view = ServerView(latest if isinstance(latest, ServerSample) else None, window)
    fresh = view.fresh
    view.heartbeat = _delta(fresh, "heartbeat")
    view.tokens = _delta(fresh, "generated_tokens")
    view.reset_metric = _reset_metric(fresh, view.heartbeat, view.tokens)
    view.idle = _idle(fresh)
    return view


def _reset_metric(
    fresh: list[ServerSample], heartbeat: Delta | None, tokens: Delta | None
) -> str | None:
    """The counter that went backwards in the window (the server restarted), if one did."""
    if heartbeat is not None and heartbeat.reset:
        return fresh[-1].heartbeat_metric or "the step counter"
    if tokens is not None and tokens.reset:
        return fresh[-1].generated_metric or "the token counter"
    return None


def _idle(fresh: list[ServerSample]) -> bool:
    counted = [x for x in fresh if x.running is not None]
    return (
        len(counted) >= 2
        and counted[-1].t - counted[0].t >= MIN_SPAN
        and all(x.running == 0 and not x.waiting for x in counted)
    )


def _delta(samples: list[ServerSample], attr: str) -> Delta | None:
    d = counter_delta((s.t, getattr(s, attr)) for s in samples)
    if d is None or d.seconds < MIN_SPAN:
        return None
    return d


@dataclass
class GpuView:
    """The GPU readings of the stall window, averaged (the busiest device's utilisation)."""

    util: float | None = None
    power_w: float | None = None
    devices: int = 0
    via: str = ""
    state: str = ""

    @property
    def words(self) -> str:
        if self.util is None:
            return ""
        words = f"GPU {self.util:.0f}% busy"
        if self.power_w is not None:
            words += f", {self.power_w:.0f} W"
        return words


def _gpu_view(history: History, start: float, now: float) -> GpuView:
    window = [
        s for s in history.window("gpu", start, now) if isinstance(s, GpuSample) and s.state == "ok"
    ]
    latest = history.latest("gpu", until=now)
    view = GpuView(state=latest.state if isinstance(latest, GpuSample) else "")
    view.util = _mean([u for s in window if (u := s.max_util) is not None])
    view.power_w = _mean([p for s in window if (p := s.total_power_w) is not None])
    if window:
        view.devices = len(window[-1].devices)
        view.via = window[-1].via
    return view


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class Finding:
    """What a rule found: the sentence, and the evidence it cites (None values are left out)."""

    sentence: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Facts:
    """Everything a rule may read: the stream at ``now`` and the readings of the stall window."""

    stream: StreamState
    history: History
    server: ServerView
    gpu: GpuView

    @property
    def now(self) -> float:
        return self.stream.now

    @property
    def prefix(self) -> str:
        """How every sentence starts: ``Stalled 40 s after response.created``."""
        return f"Stalled {_secs(self.stream.since_progress)} after {self.stream.after}"

    @property
    def hb_name(self) -> str:
        s = self.server.latest
        return (s.heartbeat_metric if s is not None else None) or "the step counter"

    def evidence(self) -> dict[str, Any]:
        """The evidence every diagnosis cites, before its own."""
        st, s = self.stream, self.server.latest
        ev: dict[str, Any] = {
            "stalled_for": round(st.since_progress, 3),
            "after": st.after,
            "since_last_byte": None if st.since_byte is None else round(st.since_byte, 3),
            "codex_timeout_in": round(st.codex_left, 1),
        }
        if s is not None:
            ev["server"] = s.kind
            ev["health"] = s.health.state
        return ev

    def diagnosis(self, rule_id: str, finding: Finding) -> Diagnosis:
        """A rule's finding with the common evidence (None values left out) and the GPU's."""
        evidence = {
            **self.evidence(),
            **{k: v for k, v in finding.evidence.items() if v is not None},
        }
        if self.gpu.util is not None:
            evidence.setdefault("gpu_util", round(self.gpu.util, 1))
            if self.gpu.power_w is not None:
                evidence.setdefault("gpu_power_w", round(self.gpu.power_w, 1))
        sentence = finding.sentence
        if self.stream.comments_only and rule_id != "keepalive-only":
            # What Codex sees meanwhile (comments only), then what the readings say.
            head = f"{self.prefix}: "
            rest = sentence.removeprefix(head)
            left = self.stream.codex_left
            gives_up = f"it gives up in {left:.0f} s" if left > 0 else "it has given up"
            sentence = (
                f"{head}only keep-alive comments arrive, which do not reset Codex's idle timer "
                f"({gives_up}); {rest}"
            )
            evidence.setdefault("comments", self.stream.comments)
        return Diagnosis(rule_id, sentence, evidence, t=self.now)


def _numbers(s: ServerSample) -> dict[str, Any]:
    """The server's load numbers, cited by every rule that reads the engine."""
    return {
        "running": s.running,
        "waiting": s.waiting,
        "kv_cache_usage": s.kv_cache_usage,
        "kv_cache_metric": s.kv_cache_metric,
        "preemptions": s.preemptions,
        "stale": s.stale or None,
    }


def _counter(f: Facts) -> dict[str, Any]:
    """The step counter's move over the window, cited by the rules that judge it."""
    hb = f.server.heartbeat
    if hb is None:
        return {}
    return {
        "heartbeat_metric": f.hb_name,
        "heartbeat_delta": hb.delta,
        "window": round(hb.seconds, 3),
    }


def _health_path(s: ServerSample) -> str:
    return "/" if s.kind == "ollama" else "/health"


# ---------------------------------------------------------------------------------------------
# the table of rules
# ---------------------------------------------------------------------------------------------

Judge = Callable[[Facts], Finding | None]


@dataclass(frozen=True)
class DiagnosisRule:
    id: str
    severity: Severity
    title: str
    precedence: int
    """Lower is tried first: the more specific a diagnosis, the earlier."""
    judge: Judge


TABLE: list[DiagnosisRule] = []
"""Every rule, in the order they are tried."""
RULES: dict[str, tuple[str, str]] = {}
"""id → (severity, title), in precedence order (what reports and the TUI look up)."""


def rule(
    rule_id: str, severity: Severity, title: str, *, precedence: int
) -> Callable[[Judge], Judge]:
    """Register a diagnosis: ``judge(facts)`` returns its :class:`Finding`, or None when it does
    not apply."""

    def register(judge: Judge) -> Judge:
        if rule_id in RULES or any(r.precedence == precedence for r in TABLE):
            raise ValueError(f"diagnosis rule {rule_id!r}: id or precedence {precedence} taken")
        TABLE.append(DiagnosisRule(rule_id, severity, title, precedence, judge))
        TABLE.sort(key=lambda r: r.precedence)
        RULES.clear()
        RULES.update((r.id, (r.severity, r.title)) for r in TABLE)
        return judge

    return register


_WHY_NOT_ANSWERING = {
    "not-answering": "no answer",
    "refused": "connection refused: the server process is gone",
    "error": "transport error",
}


@rule("server-not-answering", "error", "the server does not answer /health", precedence=10)
def _server_not_answering(f: Facts) -> Finding | None:
    s = f.server.latest
    if s is None or s.health.state not in _WHY_NOT_ANSWERING:
        return None
    h = s.health
    answers = [x for x in f.history.samples("server", until=f.now) if isinstance(x, ServerSample)]
    last_ok = next((x for x in reversed(answers) if x.health.answering), None)
    ago = None if last_ok is None else f.now - last_ok.t
    why = _WHY_NOT_ANSWERING[h.state]
    if h.state != "refused":
        why = h.detail or why
    since = "" if ago is None else f"; last answer {_secs(ago)} ago"
    return Finding(
        f"{f.prefix}: the server is not answering ({_health_path(s)}: {why}{since}).",
        {"health_detail": h.detail, "last_answer_ago": None if ago is None else round(ago, 3)},
    )


@rule("model-loading", "warning", "the model is still loading", precedence=20)
def _model_loading(f: Facts) -> Finding | None:
    s = f.server.latest
    if s is None or s.health.state != "loading":
        return None
    h = s.health
    return Finding(
        f"{f.prefix}: the model is still loading "
        f"({_health_path(s)}: {h.status} {h.detail or 'Loading model'}).",
        {"health_status": h.status},
    )


@rule("server-unhealthy", "error", "the server reports itself unhealthy", precedence=30)
def _server_unhealthy(f: Facts) -> Finding | None:
    s = f.server.latest
    if s is None or s.health.state != "unhealthy":
        return None
    h = s.health
    detail = f" {h.detail}" if h.detail else ""
    return Finding(
        f"{f.prefix}: the server reports itself unhealthy ({_health_path(s)}: {h.status}{detail}).",
        {"health_status": h.status, "health_detail": h.detail},
    )


@rule("server-restarted", "error", "the server restarted during the stall", precedence=40)
def _server_restarted(f: Facts) -> Finding | None:
    metric = f.server.reset_metric
    if f.server.latest is None or metric is None:
        return None
    return Finding(
        f"{f.prefix}: the server restarted during the stall ({metric} went backwards): the "
        "request it was serving is gone.",
        {"metric": metric},
    )


@rule("queued-at-capacity", "warning", "queued: the server is at capacity", precedence=50)
def _queued_at_capacity(f: Facts) -> Finding | None:
    s = f.server.latest
    if s is None:
        return None
    kv = s.kv_cache_usage
    if not ((s.waiting or 0) > 0 or (kv is not None and kv >= KV_FULL)):
        return None
    parts = []
    if s.running is not None:
        parts.append(f"{_fmt(s.running)} running")
    if s.waiting is not None:
        parts.append(f"{_fmt(s.waiting)} waiting")
    if kv is not None:
        parts.append(f"KV cache {kv:.0%}")
    pre = _delta(f.server.fresh, "preemptions")
    if pre is not None and pre.delta > 0:
        parts.append(f"{_fmt(pre.delta)} preemptions in {_secs(pre.seconds)}")
    return Finding(
        f"{f.prefix}: queued, the server is at capacity ({', '.join(parts)}).",
        {**_numbers(s), "preemptions_recent": None if pre is None else pre.delta},
    )


@rule("request-not-on-server", "error", "the server is not working on any request", precedence=60)
def _request_not_on_server(f: Facts) -> Finding | None:
    s = f.server.latest
    if s is None or not f.server.idle:
        return None
    hb = f.server.heartbeat
    flat = f" ({f.hb_name} flat for {_secs(hb.seconds)})" if hb and hb.delta == 0 else ""
    return Finding(
        f"{f.prefix}: the server has no request running or waiting{flat}: the request was lost, "
        "or something between here and the server holds the stream.",
        {**_numbers(s), **_counter(f)},
    )


def _steps_flat(f: Facts) -> Delta | None:
    """The step counter's move when it did not move at all in the window (else None)."""
    hb = f.server.heartbeat
    return hb if f.server.latest is not None and hb is not None and hb.delta == 0 else None


def _steps_rising(f: Facts) -> Delta | None:
    hb = f.server.heartbeat
    return hb if f.server.latest is not None and hb is not None and hb.delta > 0 else None


@rule("gpu-spinning", "error", "no engine progress while the GPU reads busy", precedence=70)
def _gpu_spinning(f: Facts) -> Finding | None:
    hb, s, util = _steps_flat(f), f.server.latest, f.gpu.util
    if hb is None or s is None or util is None or util < GPU_SPINNING:
        return None
    return Finding(
        f"{f.prefix}: the engine is not generating ({f.hb_name} has not moved for "
        f"{_secs(hb.seconds)}) yet the GPU reads {util:.0f}% busy: likely a hung kernel or "
        "collective (check XID errors and the other GPUs).",
        {**_numbers(s), **_counter(f)},
    )


@rule(
    "engine-stuck",
    "error",
    "the engine is not generating although it answers /health",
    precedence=80,
)
def _engine_stuck(f: Facts) -> Finding | None:
    hb, s = _steps_flat(f), f.server.latest
    if hb is None or s is None:
        return None
    ok = "although /health says OK" if s.health.state == "ok" else "although the server answers"
    detail = f"{f.hb_name} has not moved for {_secs(hb.seconds)}"
    if s.running is not None:
        detail += f" with {_fmt(s.running)} request(s) running"
    gpu = f"; {f.gpu.words}" if f.gpu.words else ""
    return Finding(
        f"{f.prefix}: the engine is not generating {ok} ({detail}{gpu}).",
        {**_numbers(s), **_counter(f)},
    )


@rule("prefilling", "warning", "a long prefill", precedence=90)
def _prefilling(f: Facts) -> Finding | None:
    hb, s, tok = _steps_rising(f), f.server.latest, f.server.tokens
    if hb is None or s is None or tok is None or tok.delta != 0:
        return None
    # Steps without tokens is a prefill only before the first output item, and only when the
    # token counter is a different metric from the step counter.
    if s.generated_metric == s.heartbeat_metric or not f.stream.created or f.stream.items:
        return None
    return Finding(
        f"{f.prefix}: the server is still prefilling ({f.hb_name} rising, "
        f"{s.generated_metric} flat for {_secs(tok.seconds)}): a long prompt without a "
        "prefix-cache hit.",
        {**_numbers(s), "heartbeat_metric": f.hb_name, "heartbeat_rate": hb.rate},
    )


@rule(
    "generating-not-sending",
    "warning",
    "the server generates but the stream is held back",
    precedence=100,
)
def _generating_not_sending(f: Facts) -> Finding | None:
    hb, s, tok = _steps_rising(f), f.server.latest, f.server.tokens
    if hb is None or s is None:
        return None
    tokens_per_s = tok.rate if tok is not None and tok.delta > 0 else None
    if tokens_per_s is not None:
        speed = f"{tokens_per_s:.0f} tokens/s"
    else:
        speed = f"{f.hb_name} +{_fmt(hb.delta)} in {_secs(hb.seconds)}"
    gpu = f", {f.gpu.words}" if f.gpu.words else ""
    return Finding(
        f"{f.prefix}: the server is generating ({speed}{gpu}) but nothing reaches the stream: "
        "output held back by a buffering proxy or a translator that emits only at item end, or "
        "a long hidden reasoning phase.",
        {
            **_numbers(s),
            "heartbeat_metric": f.hb_name,
            "heartbeat_rate": None if hb.rate is None else round(hb.rate, 3),
            "tokens_per_s": None if tok is None or tok.rate is None else round(tok.rate, 3),
        },
    )


def _where(m: OllamaModel) -> str:
    if m.placement == "cpu":
        return "on the CPU (size_vram 0)"
    return f"only partly on the GPU ({_gib(m.size_vram)} of {_gib(m.size)} in VRAM)"


@rule("ollama-on-cpu", "warning", "Ollama runs the model on the CPU", precedence=110)
def _ollama_on_cpu(f: Facts) -> Finding | None:
    s = f.server.latest
    if s is None or s.kind != "ollama":
        return None
    slow = [m for m in s.models or () if m.placement in ("cpu", "partial")]
    if not slow:
        return None
    m = slow[0]
    return Finding(
        f"{f.prefix}: Ollama runs {m.name} {_where(m)}, so generation is slow.",
        {"model": m.name, "size": m.size, "size_vram": m.size_vram},
    )


def _gpu_only(f: Facts) -> float | None:
    """The GPU's utilisation when it is the only evidence of the engine (no step counter)."""
    s = f.server.latest
    if s is not None and s.heartbeat is not None:
        return None
    return f.gpu.util


@rule("gpu-idle", "warning", "the GPU is idle during the stall", precedence=120)
def _gpu_idle(f: Facts) -> Finding | None:
    util = _gpu_only(f)
    if util is None or util > GPU_IDLE:
        return None
    return Finding(
        f"{f.prefix}: the GPU is idle ({f.gpu.words}), so nothing is being generated for this "
        "request."
    )


@rule("gpu-busy", "info", "the GPU is busy during the stall", precedence=130)
def _gpu_busy(f: Facts) -> Finding | None:
    util = _gpu_only(f)
    if util is None or util < GPU_BUSY:
        return None
    return Finding(
        f"{f.prefix}: the GPU is busy ({f.gpu.words}) but nothing reaches the stream: a long "
        "prefill, generation held back, or other requests."
    )


def _codex_on_comments(st: StreamState) -> str:
    left = st.codex_left
    if left > 0:
        return f"Codex times out in {left:.0f} s because comments do not reset its idle timer"
    return (
        f"Codex has already given up (its {st.codex_idle_timeout:g} s idle timeout passed: "
        "comments do not reset it)"
    )


@rule("keepalive-only", "error", "only keep-alives arrive", precedence=140)
def _keepalive_only(f: Facts) -> Finding | None:
    st = f.stream
    if not st.keepalive_only:
        return None
    if st.comments_only:
        what, codex = "keep-alive comments", _codex_on_comments(st)
    else:
        what, codex = (
            "keepalive events",
            "keepalive events keep Codex waiting but nothing is produced",
        )
    return Finding(
        f"{f.prefix}: the server is alive but producing nothing: only {what} arrive, and {codex}.",
        {"comments": st.comments, "keepalives": st.keepalives},
    )


def _readings(f: Facts) -> list[str]:
    """What the readings say, for a stall they do not explain."""
    facts = []
    s = f.server.latest
    if s is not None:
        if s.running is not None:
            facts.append(f"{_fmt(s.running)} running")
        if s.waiting is not None:
            facts.append(f"{_fmt(s.waiting)} waiting")
        if s.heartbeat is None:
            off = " (/metrics off)" if s.metrics.state == "absent" else ""
            facts.append(f"no step counter{off}")
    if f.gpu.words:
        facts.append(f.gpu.words)
    return facts


@rule("stalled", "info", "stalled, no readings explain it", precedence=1000)
def _stalled(f: Facts) -> Finding:
    """The last rule: it always answers, saying what to add or what the readings showed."""
    if f.server.latest is None and f.gpu.util is None:
        hint = "no server or GPU readings to say why (add --server URL)"
        if f.history.latest("gpu", until=f.now) is not None and f.gpu.state not in ("", "ok"):
            hint = f"no server readings and no GPU readings ({f.gpu.state})"
        return Finding(f"{f.prefix}; {hint}.")
    facts = ", ".join(_readings(f)) or "too few readings yet"
    return Finding(f"{f.prefix}; the readings do not explain it ({facts}).")


# ---------------------------------------------------------------------------------------------
# diagnose
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
    start = state.now - min(state.since_progress, window)
    facts = Facts(
        state, hist, _server_view(hist, start, state.now), _gpu_view(hist, start, state.now)
    )
    # The last rule always answers, so the first finding exists.
    return next(
        facts.diagnosis(r.id, found) for r in TABLE if (found := r.judge(facts)) is not None
    )


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
