"""The checker's rules as small registered units, one module per family of the catalogue.

Each family module defines its rules (``catalogue.define``: id, severity per profile, title, why
it matters) next to the functions that fire them, and registers those functions with
``base.on(event types…)``; :class:`ssescope.core.checker.Checker` dispatches every event to them.
Adding a rule is its ``define`` plus one function: registered with ``@on`` for an event type (it
runs after the family that already judges that type), listed in ``HTTP_CHECKS`` for the response
head or in ``END_CHECKS`` for what the whole stream lacks.

Families: framing (HTTP and SSE), sequence, lifecycle, fields, items, parts, deltas (the text and
argument accumulators, the hot path), consistency (copies that must agree, usage), stalls, codex
(the catalogue entries of the Codex model's findings), open_responses (what that profile asks
beyond OpenAI's wire: the spec's fields and event names), request (the answer against the request the
reader told the checker: ``history-rejected``, ``completed-at-token-limit``).
"""

from __future__ import annotations

from . import (
    clients,
    codex,
    consistency,
    deltas,
    fields,
    framing,
    items,
    lifecycle,
    open_responses,
    parts,
    request,
    sequence,
    stalls,
)
from .base import EndCheck, HttpCheck

HTTP_CHECKS: tuple[HttpCheck, ...] = (
    framing.http_status,
    request.history_rejected,
    framing.content_type,
)
"""Judges of the response head, in the order their findings are reported."""

END_CHECKS: tuple[EndCheck, ...] = (
    lifecycle.stream_without_terminal,
    lifecycle.error_left_unanswered,
    framing.done_sentinel_missing,
    framing.event_lines_missing,
    consistency.arguments_never_done,
    consistency.completed_while_unfinished,
)
"""Judges of what a 2xx stream lacks once the read ended, in the order their findings are
reported."""

__all__ = [
    "END_CHECKS",
    "HTTP_CHECKS",
    "clients",
    "codex",
    "consistency",
    "deltas",
    "fields",
    "framing",
    "items",
    "lifecycle",
    "open_responses",
    "parts",
    "request",
    "sequence",
    "stalls",
]
