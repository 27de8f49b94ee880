"""What every rule family shares: the options, the checker's working state and the registries.

A family module (``framing``, ``lifecycle``, ``items``, …) defines its rules with
:func:`ssescope.core.catalogue.define` and registers its event checks with :func:`on`;
``checks/__init__.py`` lists the checks of the response head and of the end of the read, whose
order is the order of their findings. :class:`ssescope.core.checker.Checker` is a
:class:`CheckState` and drives them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeGuard

from ..catalogue import PROFILES, RULES, SEVERITY_RANK, Severity
from ..codex import DEFAULT_CODEX_VERSION, DEFAULT_IDLE_TIMEOUT, CodexModel
from ..events import Event
from ..findings import Finding, FindingLog
from ..timing import Timing
from ..tree import ResponseTree

DEFAULT_STALL_WARN = 10.0


@dataclass
class CheckOptions:
    profile: str = "openai"
    stall_warn: float = DEFAULT_STALL_WARN
    codex_idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    codex_version: str = DEFAULT_CODEX_VERSION
    """The Codex CLI release the Codex model is of (``CODEX_VERSIONS``)."""
    keep_per_rule: int | None = None
    """Keep at most this many findings per rule (counts stay exact)."""
    track_events: bool = False
    """Keep, per tree node, the index of every event that touched it (the TUI wants it)."""
    framed: bool = True
    """False when the source had no SSE framing (JSON lines): framing rules do not apply."""
    timed: bool = True
    """False when the source recorded no arrival times (raw SSE, JSON lines): every time figure
    is unknown, not zero."""
    clients: tuple[str, ...] | None = None
    """Only these client models (``--client``); None: every modelled client."""

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"unknown profile {self.profile!r} (choose from {', '.join(PROFILES)})"
            )


FACTS_PER_RULE = 8


@dataclass(frozen=True, slots=True)
class Fact:
    """One firing of a rule, kept for the client models whatever the profile says."""

    message: str
    event_index: int | None
    event_type: str | None
    output_index: Any

    @classmethod
    def of(cls, message: str, ev: Event | None) -> Fact:
        if ev is None:
            return cls(message, None, None, None)
        payload = ev.payload
        return cls(
            message, ev.index, ev.type, payload.get("output_index") if payload is not None else None
        )


class CheckState:
    """What the rules remember between events, and :meth:`emit`, the one way to report.

    Attributes are plain (no properties): the rules read them on every event."""

    def __init__(self, options: CheckOptions | None = None) -> None:
        self.options = options or CheckOptions()
        self.profile = self.options.profile
        self.log = FindingLog(self.options.keep_per_rule)
        self.tree = ResponseTree(track_events=self.options.track_events)
        self.timing = Timing(timed=self.options.timed)
        self.codex = CodexModel(self.options.codex_idle_timeout, self.options.codex_version)
        self.events_seen = 0
        self.rows = 0
        self.http_status: int | None = None
        self.request: dict[str, Any] | None = None
        """The request body, when the reader knows it (``Checker.on_request``): the rules that
        judge the answer against what was asked (``history-rejected``, a token limit)."""
        self.finished = False
        self.end_reason: str | None = None
        self.new: list[Finding] = []
        """The findings of the input being judged (``feed_frame``, ``tick``, …)."""
        self.fired: dict[str, list[Fact]] = {}
        """The first few firings of every rule, whatever the profile: what the client models
        read (a rule that is off in this profile is still a fact about the stream)."""
        self.first_error: tuple[int, dict[str, Any]] | None = None
        """The first ``error`` event (or payload with an ``error`` key), by row: what the SDKs
        raise with."""
        self.http_body = ""
        """The body of an HTTP error answer (its message is what the SDKs raise with)."""
        self.first_invalid_data: str | None = None
        """The first payload that is not JSON (clients that parse it raise on its text)."""
        # framing
        self.done_index: int | None = None
        self.no_event_line = 0
        # sequence
        self.last_seq: int | None = None
        # lifecycle
        self.first_event_type: str | None = None
        self.response_id: str | None = None
        self.lifecycle: list[str] = []
        self.terminal_index: int | None = None
        self.error_seen = False
        self.pending_error: Event | None = None
        # stalls
        self.stall_reported_at: float | None = None
        # items and parts
        self.missing_part_reported: set[tuple[int, Any]] = set()
        self.overlap_reported: set[int] = set()
        self.ids: dict[str, int] = {}
        self.call_ids: dict[tuple[str, str], int] = {}
        self.args_checked: set[int] = set()
        self.incomplete_items: list[int] = []  # positions of items that ended incomplete

    def note(self, rule_id: str, message: str, ev: Event | None = None) -> None:
        """Keep a fact for the client models without reporting it: what is a finding in one
        profile but not in this one (an event OpenAI does not know, under Open Responses,
        which names it so) is still what a client of the other kind meets."""
        facts = self.fired.setdefault(rule_id, [])
        if len(facts) < FACTS_PER_RULE:
            facts.append(Fact.of(message, ev))

    def emit(
        self,
        rule_id: str,
        message: str,
        ev: Event | None = None,
        *,
        t: float | None = None,
        severity: Severity | None = None,
        escalate: bool = False,
    ) -> Finding | None:
        """Record a finding under the active profile (rules that are off there are dropped)."""
        facts = self.fired.get(rule_id)
        if facts is None:
            self.fired[rule_id] = [Fact.of(message, ev)]
        elif len(facts) < FACTS_PER_RULE:
            facts.append(Fact.of(message, ev))
        sev = RULES[rule_id].severity_in(self.profile)
        if sev is None:
            return None
        if severity is not None and (escalate or SEVERITY_RANK[severity] > SEVERITY_RANK[sev]):
            # A case-specific severity: a downgrade (vendor-prefixed types, …), or an explicit
            # escalation where the case is worse than the rule's usual one (strict tools).
            sev = severity
        finding = Finding(
            rule_id,
            sev,
            message,
            ev.index if ev is not None else None,
            ev.sequence_number if ev is not None else None,
            ev.t if ev is not None else t,
        )
        self.log.add(finding)
        self.new.append(finding)
        return finding


# -- the registries ------------------------------------------------------------------------------

EventCheck = Callable[[CheckState, Event, dict[str, Any]], None]
"""Judges one event of a known type (its payload is a dict), before the tree applies it."""
HttpCheck = Callable[[CheckState, int, dict[str, str], str, float], None]
"""Judges the response head: status, lower-cased headers, body (for errors), time."""
EndCheck = Callable[[CheckState], None]
"""Judges what the whole stream lacks, once the read ended with a 2xx status."""

_EVENT_CHECKS: dict[str, list[EventCheck]] = {}


def on(*event_types: str) -> Callable[[EventCheck], EventCheck]:
    """Register the decorated function for events of ``event_types`` (in registration order)."""

    def register(check: EventCheck) -> EventCheck:
        for event_type in event_types:
            _EVENT_CHECKS.setdefault(event_type, []).append(check)
        return check

    return register


def event_dispatch(
    registry: dict[str, list[EventCheck]] = _EVENT_CHECKS,
) -> dict[str, EventCheck]:
    """One callable per event type: the check itself when it is alone (the hot path pays no
    loop), a chain in registration order when several families judge the same type."""
    return {
        event_type: checks[0] if len(checks) == 1 else _chain(tuple(checks))
        for event_type, checks in registry.items()
    }


def _chain(checks: tuple[EventCheck, ...]) -> EventCheck:
    def chained(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
        for check in checks:
            check(st, ev, payload)

    return chained


# -- helpers for messages ------------------------------------------------------------------------


def is_int(v: Any) -> TypeGuard[int]:
    """A JSON integer (``True`` is a bool in JSON, not 1)."""
    return isinstance(v, int) and not isinstance(v, bool)


def short(value: Any, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def first_difference(a: str, b: str) -> str:
    """Where two texts part ways, for mismatch messages."""
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return (
        f"lengths {len(a)} vs {len(b)}, first difference at character {n}: "
        f"{short(a[n : n + 20], 24)!r} vs {short(b[n : n + 20], 24)!r}"
    )
