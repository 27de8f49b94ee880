"""The stateful checker: fed one frame at a time, it emits findings as soon as they are knowable.

It owns the output-item tree, the timing tracker and the Codex model, so live connect, replay,
proxy and headless check all get the same judgement from the same code. The rules are small
functions in :mod:`ssescope.core.checks`, each family beside its catalogue entries (ids,
severities per profile, why they matter); this module only drives them: it decodes each frame,
runs the checks every event gets, dispatches the event to the checks registered for its type and
forwards everything to the Codex model. Rules run against the state *before* the event is applied
to the tree.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from .checks import END_CHECKS, HTTP_CHECKS
from .checks.base import DEFAULT_STALL_WARN, CheckOptions, CheckState, event_dispatch
from .checks.clients import judge_clients
from .checks.fields import judge_fields
from .checks.framing import judge_done, judge_envelope, judge_frame, judge_invalid
from .checks.items import item_scoped
from .checks.lifecycle import judge_order, unknown_event
from .checks.sequence import judge_sequence
from .checks.stalls import judge_gap, judge_silence
from .clients import ClientPrediction, predict_all
from .codex import CodexPrediction
from .ends import EndReason
from .events import Event, decode_frame
from .findings import Finding
from .models import EVENT_MODELS
from .sse import Frame

__all__ = ["DEFAULT_STALL_WARN", "CheckOptions", "Checker"]

_DISPATCH = event_dispatch()
KEPT_STRING = 200
"""Characters of a request string the checker keeps (texts, base64 images, encrypted content)."""


def _shape(value: Any, depth: int = 0) -> Any:
    """``value`` with every string cut to :data:`KEPT_STRING` characters (and nesting to 64)."""
    if isinstance(value, str):
        return value if len(value) <= KEPT_STRING else value[:KEPT_STRING] + "…"
    if depth > 64:
        return None
    if isinstance(value, dict):
        return {k: _shape(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v, depth + 1) for v in value]
    return value


class Checker(CheckState):
    """Feed frames (``feed_frame``), HTTP facts (``on_http``), clock ticks (``tick``) and the end
    (``finish``); read ``findings``, ``tree``, ``timing`` and ``codex``."""

    @property
    def findings(self) -> list[Finding]:
        return self.log.kept

    def on_request(self, body: Any) -> None:
        """The request the stream answers (its JSON body; anything else is ignored), told
        before the response head: some rules judge the answer against what was asked. Only
        its shape is kept (long strings cut): the rules read types, roles and limits, and a
        request carrying images or a long history must not be held twice."""
        self.request = _shape(body) if isinstance(body, dict) else None

    def on_http(
        self,
        status: int,
        headers: dict[str, str] | None = None,
        body: str = "",
        url: str = "",
        t: float = 0.0,
    ) -> list[Finding]:
        """The response status line and headers (and, for errors, the body)."""
        self.new = []
        self.http_status = status
        self.http_body = body[:4096]
        self.timing.on_headers(t)
        lower = {k.lower(): v for k, v in (headers or {}).items()}
        for check in HTTP_CHECKS:
            check(self, status, lower, body, t)
        for rule_id, message in self.codex.on_http(status, body, url, t):
            self.emit(rule_id, message, t=t)
        return self.new

    def feed_frame(self, frame: Frame) -> tuple[Event, list[Finding]]:
        """Judge one frame; returns its event and the findings it caused."""
        self.new = []
        ev = decode_frame(frame)
        self.rows += 1
        progress_gap = self.timing.on_event(ev)
        judge_frame(self, ev, frame)
        kind = ev.kind
        if kind == "event":
            judge_gap(self, ev, progress_gap)
            self._on_event(ev)
        elif kind == "done":
            judge_gap(self, ev, progress_gap)
            judge_done(self, ev)
        elif kind == "invalid":
            judge_gap(self, ev, progress_gap)
            judge_invalid(self, ev, frame)
        if frame.dispatched or (
            kind in ("event", "done", "invalid") and self.options.framed is False
        ):
            for rule_id, message in self.codex.on_event(ev):
                self.emit(rule_id, message, ev)
        return ev, self.new

    def _on_event(self, ev: Event) -> None:
        """An event with a JSON payload and a string type: the checks every event gets, then
        the ones registered for its type (item-scoped progress events have none of their own)."""
        payload = ev.payload
        assert payload is not None
        etype = ev.type or ""
        self.events_seen += 1
        judge_envelope(self, ev, etype)
        judge_sequence(self, ev, payload, etype)
        judge_order(self, ev, etype)
        if etype not in EVENT_MODELS:
            unknown_event(self, ev, etype)
            return
        judge_fields(self, ev, etype, payload)
        _DISPATCH.get(etype, item_scoped)(self, ev, payload)

    def tick(self, now: float) -> list[Finding]:
        """Live: judge the silence up to ``now`` (stall timers, Codex's idle timeout)."""
        self.new = []
        if self.finished or (self.http_status is not None and not 200 <= self.http_status < 300):
            return self.new
        judge_silence(self, now)
        for rule_id, message in self.codex.tick(now):
            self.emit(rule_id, message, t=now)
        return self.new

    def finish(self, t_end: float, end_reason: str = EndReason.EOF) -> list[Finding]:
        """The stream ended at ``t_end``; ``end_reason`` is an :class:`EndReason`."""
        self.new = []
        if self.finished:
            return self.new
        self.finished = True
        self.end_reason = end_reason
        self.timing.finish(t_end)
        http_ok = self.http_status is None or 200 <= self.http_status < 300
        if http_ok and end_reason != EndReason.CONNECT_ERROR:
            judge_silence(self, t_end)
            for check in END_CHECKS:
                check(self)
        for rule_id, message in self.codex.finish(t_end, end_reason):
            self.emit(rule_id, message, t=t_end)
        judge_clients(
            self,
            ((f"{p.client} {p.version}", p.outcome, p.message) for p in self.client_predictions()),
            t_end,
        )
        return self.new

    def prediction(self) -> CodexPrediction:
        return self.codex.prediction()

    _predictions: tuple[tuple[object, ...], list[ClientPrediction]] | None = None

    def client_predictions(self, only: Collection[str] | None = None) -> list[ClientPrediction]:
        """What every modelled client (or those of ``only``, else of ``--client``) does with
        the stream so far; ``pending`` for all but Codex's idle timer and an HTTP error until the
        read ends. Computed again only when something a model reads has moved (a frame, a
        finding, Codex's timer, the end): the end's findings, the result, the views, the live
        TUI strip and the proxy's exchange all ask, and each model reconstructs the response."""
        wanted = only if only is not None else self.options.clients
        key = (
            None if wanted is None else frozenset(wanted),
            self.rows,
            len(self.log),
            self.finished,
            self.http_status,
            self.codex.fatal,
        )
        if self._predictions is None or self._predictions[0] != key:
            self._predictions = (key, predict_all(self, wanted))
        return list(self._predictions[1])

    def summary(self) -> dict[str, Any]:
        return {
            "events": self.events_seen,
            "rows": self.rows,
            "errors": self.log.count("error"),
            "warnings": self.log.count("warning"),
            "infos": self.log.count("info"),
        }
