"""The exchange registry: every request the proxy forwards, live, for a flow list to show.

UI-free. The proxy writes and views read in the same event loop (the TUI runs uvicorn inside
its own asyncio loop through :func:`ssescope.proxy.serve.serve_proxy`), so nothing here locks:
a view reads between two proxy steps and always sees whole updates. A reader on another thread
is safe too, since every mutation is a single attribute store or list append under the GIL;
such a reader iterates :meth:`ExchangeHub.snapshot` rather than the live list.

Views either poll (:attr:`ExchangeHub.version` changes whenever an exchange is added, answered
or ended; each judged stream's ``run.store.version`` changes with every row) or subscribe to
``(what, exchange)`` notifications with :meth:`ExchangeHub.subscribe`.
"""

from __future__ import annotations

import asyncio
import builtins
import datetime as _dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..core.clients import ClientPrediction
from ..core.codex import CodexPrediction
from ..core.ends import EndReason
from ..core.rules import SEVERITY_RANK
from ..core.run import Run
from ..core.sse import Frame, SSEFramer

_PLURAL = {"error": "errors", "warning": "warnings", "info": "infos"}

Listener = Callable[[str, "Exchange"], None]
"""Called with ``("new" | "response" | "end", exchange)``."""


@dataclass(frozen=True)
class RequestHead:
    """What the client asked, as the proxy forwards it."""

    method: str
    path: str
    """As the client asked, without the query string."""
    query: str
    url: str
    """Where it goes upstream."""
    client_url: str
    """What the client used (``http://LISTEN/v1/responses``)."""
    headers: dict[str, str]
    body: bytes
    body_doc: object
    """The body as a capture keeps it (JSON as JSON, else text, else base64)."""
    upstream_name: str = "default"
    """Which upstream it goes to (``--upstream NAME=URL``; ``default`` for the plain one)."""

    @property
    def target(self) -> str:
        """The path with the query string, as the client asked."""
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def is_responses(self) -> bool:
        return self.method == "POST" and self.path.rstrip("/").endswith("/responses")

    @property
    def wants_stream(self) -> bool:
        doc = self.body_doc
        return isinstance(doc, dict) and doc.get("stream") is True


@dataclass(frozen=True)
class ResponseHead:
    """The response head as the client got it."""

    status: int
    reason: str
    http_version: str
    headers: dict[str, str]
    t: float
    """When it arrived, on the exchange's clock."""
    responses_stream: bool
    """The body is (meant to be) a Responses event stream: what ssescope judges."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class End:
    """How an exchange ended, on the exchange's clock."""

    t: float
    reason: EndReason
    error: str | None = None


@dataclass(eq=False)
class ChatSide:
    """With ``--translate``: the Chat Completions stream the engine read from the upstream for
    one Responses exchange, on the same clock as the exchange (for a side-by-side view)."""

    url: str
    request_body: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    t_headers: float | None = None
    chunks: list[tuple[float, bytes]] = field(default_factory=list)
    frames: list[Frame] = field(default_factory=list)
    """The chat stream's SSE frames (``frame.data`` is a chunk's JSON), as they arrived."""
    end: tuple[float, str, str | None] | None = None
    """``(t, reason, error)`` once the upstream read ended."""
    record_path: str | None = None
    bytes: int = 0
    _framer: SSEFramer = field(default_factory=SSEFramer, repr=False)

    def feed(self, chunk: builtins.bytes, t: float) -> None:
        self.chunks.append((t, chunk))
        self.bytes += len(chunk)
        self.frames += self._framer.feed(chunk, t)

    def finish(self, t: float, reason: str, error: str | None = None) -> None:
        if self.end is None:
            self.frames += self._framer.finish(t)
            self.end = (t, reason, error)


@dataclass(eq=False)
class Exchange:
    """One request through the proxy and its answer."""

    id: int
    started: float
    """Wall-clock start (``time.time()``), for display."""
    t0: float
    """Monotonic start: every ``t`` of this exchange (and of its run) counts from here."""
    method: str
    path: str
    """As the client asked (with the query string)."""
    url: str
    """Where it was forwarded (with ``--translate``, Responses requests go to the engine, whose
    upstream request is in :attr:`upstream`)."""
    request_headers: dict[str, str]
    """Redacted unless the proxy runs with ``--no-redact``."""
    request_body: Any = None
    status: int | None = None
    reason: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    state: str = "waiting"
    """waiting (for the upstream's answer) | streaming | done | failed"""
    end_reason: EndReason | None = None
    """eof | transport-error | interrupted | connect-error"""
    error: str | None = None
    t_end: float | None = None
    bytes: int = 0
    """Body bytes forwarded to the client."""
    run: Run | None = None
    """The live judgement of a streamed Responses exchange (None for everything else)."""
    upstream: ChatSide | None = None
    """With ``--translate``: the chat stream behind this Responses stream."""
    record_path: str | None = None
    judge_error: str | None = None
    """Set if judging failed (a bug): forwarding went on regardless."""
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    """The clock :attr:`t0` and every ``t`` are read from (the proxy's)."""
    notes: list[str] = field(default_factory=list)
    request: RequestHead | None = None
    """The typed request, once the proxy forwards it (the fields above are what views show)."""
    response: ResponseHead | None = None
    """The typed response head as the client got it (None until then)."""
    end: End | None = None
    """How the exchange ended: reason, error, time (None while it is open)."""

    # -- what a flow list shows -------------------------------------------------------------------

    @property
    def start_time(self) -> str:
        return _dt.datetime.fromtimestamp(self.started).strftime("%H:%M:%S")

    @property
    def duration(self) -> float:
        """Seconds from the request to the end (so far, while it is open)."""
        return (self.t_end if self.t_end is not None else self.clock() - self.t0) or 0.0

    @property
    def open(self) -> bool:
        return self.state in ("waiting", "streaming")

    @property
    def events(self) -> int:
        return 0 if self.run is None else self.run.checker.events_seen

    @property
    def finding_counts(self) -> dict[str, int]:
        """``{"errors", "warnings", "infos"}`` (a rule counts at its most severe); all zero for
        an exchange that is not judged. O(rules), so a flow list can show it every frame."""
        out = {"errors": 0, "warnings": 0, "infos": 0}
        if self.run is not None:
            log = self.run.checker.log
            for rule, n in log.counts.items():
                out[_PLURAL[log.severities[rule]]] += n
        return out

    def rules(self) -> dict[str, int]:
        """Rule id → count, most severe rules first."""
        if self.run is None:
            return {}
        log = self.run.checker.log
        order = sorted(log.counts, key=lambda r: (SEVERITY_RANK[log.severities[r]], r))
        return {rule: log.counts[rule] for rule in order}

    @property
    def findings_summary(self) -> str:
        """One line: ``2 errors, 1 warning: missing-completed, stall`` (``clean`` when none;
        ``-`` when the exchange is not judged)."""
        if self.run is None:
            return "-"
        c = self.finding_counts
        parts = [
            f"{n} {word}{'s' if n != 1 else ''}"
            for n, word in ((c["errors"], "error"), (c["warnings"], "warning"))
            if n
        ]
        if not parts:
            return "clean" if not c["infos"] else f"clean ({c['infos']} info)"
        log = self.run.checker.log
        rules = [r for r in self.rules() if log.severities[r] != "info"]
        shown = ", ".join(rules[:4]) + (", …" if len(rules) > 4 else "")
        return f"{', '.join(parts)}: {shown}"

    @property
    def history_rejected(self) -> str | None:
        """The ``history-rejected`` finding (a 4xx to a request that replays history or carries
        non-function tools: Codex will resend it on every turn), or None."""
        if self.run is None:
            return None
        for finding in self.run.checker.log.kept:
            if finding.rule == "history-rejected":
                return finding.message
        return None

    @property
    def prediction(self) -> CodexPrediction | None:
        """What Codex CLI does with this stream (so far, while it is open)."""
        return None if self.run is None else self.run.prediction()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (``ssescope proxy --headless --json`` prints one per line)."""
        prediction = self.prediction
        return {
            "id": self.id,
            "start": _dt.datetime.fromtimestamp(self.started).isoformat(timespec="milliseconds"),
            "method": self.method,
            "path": self.path,
            "url": self.url,
            "status": self.status,
            "state": self.state,
            "end": self.end_reason,
            "error": self.error,
            "duration": round(self.duration, 6),
            "bytes": self.bytes,
            "judged": self.run is not None,
            "events": self.events,
            "findings": self.finding_counts,
            "rules": self.rules(),
            "summary": self.findings_summary,
            "codex": None if prediction is None else prediction.to_dict(),
            "clients": [p.to_dict() for p in self.client_predictions()],
            "history_rejected": self.history_rejected,
            "notes": list(self.notes),
            "record": self.record_path,
            "upstream_record": None if self.upstream is None else self.upstream.record_path,
        }

    def client_predictions(self) -> list[ClientPrediction]:
        """What every modelled client (or those of ``--client``) does with this stream (none
        when it is not judged)."""
        return [] if self.run is None else self.run.checker.client_predictions()

    def log_record(self) -> dict[str, Any]:
        """One line for a log shipper (``ssescope proxy --log-json``): :meth:`to_dict` plus the
        upstream it went to and every client's outcome."""
        request = self.request
        return {
            **self.to_dict(),
            "upstream": None if request is None else request.upstream_name,
            "clients": [p.to_dict() for p in self.client_predictions()],
        }


class ExchangeHub:
    """Every exchange of a proxy run, in arrival order, concurrent ones as separate entries."""

    def __init__(self, *, keep: int | None = None) -> None:
        self.exchanges: list[Exchange] = []
        self._by_id: dict[int, Exchange] = {}
        self._next_id = 1
        self.keep = keep
        """Forget the oldest finished exchanges beyond this many (None: keep all)."""
        self.version = 0
        """Bumped whenever an exchange is added, answered or ended."""
        self.url: str | None = None
        """The proxy's base URL once it listens (what a client's ``base_url`` is)."""
        self._listeners: list[Listener] = []
        self._changed: asyncio.Event | None = None

    # -- reading -----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.exchanges)

    def __iter__(self) -> Iterator[Exchange]:
        return iter(list(self.exchanges))

    def snapshot(self) -> list[Exchange]:
        return list(self.exchanges)

    def get(self, exchange_id: int) -> Exchange | None:
        return self._by_id.get(exchange_id)

    def active(self) -> list[Exchange]:
        return [e for e in self.exchanges if e.open]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(what, exchange)`` on every change; returns the unsubscribe function.
        Listeners run inside the proxy's steps: keep them short, never block."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` holds, re-checked on every change and every live tick
        (raises TimeoutError). For scripts and tests: no polling sleeps."""
        async with asyncio.timeout(timeout):
            while not predicate():
                if self._changed is None:
                    self._changed = asyncio.Event()
                await self._changed.wait()
                self._changed.clear()

    # -- writing (the proxy) ---------------------------------------------------------------------

    def open(self, **fields: Any) -> Exchange:
        exchange = Exchange(id=self._next_id, **fields)
        self._next_id += 1
        self.exchanges.append(exchange)
        self._by_id[exchange.id] = exchange
        self._forget_old()
        self.changed(exchange, "new")
        return exchange

    def changed(self, exchange: Exchange, what: str = "update") -> None:
        self.version += 1
        for listener in list(self._listeners):
            listener(what, exchange)
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    def _forget_old(self) -> None:
        if self.keep is None or len(self.exchanges) <= self.keep:
            return
        excess = len(self.exchanges) - self.keep
        kept: list[Exchange] = []
        for e in self.exchanges:
            if excess and not e.open:
                excess -= 1
                self._by_id.pop(e.id, None)
            else:
                kept.append(e)
        self.exchanges = kept

    def tick(self, now: float | None = None) -> None:
        """Judge the silence of every open stream up to now (stall findings, Codex's idle
        timer): the proxy calls this every ``tick_interval``, so stalls show while they last."""
        for e in self.exchanges:
            run = e.run
            # (an error body is judged whole at its end: no silence to judge before)
            if run is not None and e.state == "streaming" and run.http_status is not None:
                run.tick(None if now is None else now - e.t0)
        self._wake()
