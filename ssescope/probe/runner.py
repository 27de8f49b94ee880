"""Running the battery: each case sent, read live and judged as ``check URL`` judges a stream
(the full checker, told the request, and the client models), and narrowed when it is rejected.

Cases run one at a time: a local server serves one request at a time anyway, and a case's
timing findings must not be another case's queueing. The narrowing's requests only need the
status, so they are closed as soon as the head arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..core.capture import SourceError, redact_url
from ..core.check import result_of
from ..core.checker import CheckOptions
from ..core.live import RequestSpec, run_live
from ..core.replay import error_text
from ..core.session import StreamSession
from .cases import Body, ProbeCase
from .narrow import Cause, narrow

NOT_NARROWED = frozenset({401, 403, 404, 405, 407, 408, 429, 502, 503, 504})
"""Rejections that say nothing about the request's content (auth, a wrong path or model, a rate
limit, a gateway): narrowing would only repeat them."""
ERROR_LIMIT = 300
"""Characters of the server's message kept in a case's ``error``."""
HELD_LIMIT = 1 << 20


@dataclass
class Target:
    url: str
    """The ``…/responses`` URL."""
    model: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ProbeSettings:
    options: CheckOptions = field(default_factory=CheckOptions)
    max_wait: float = 60.0
    """The longest silence before a case's read ends as a stall."""
    grace: float = 0.2
    """Seconds read after the terminal event (events after it are findings)."""
    narrow: bool = True


@dataclass
class Sent:
    status: int
    body: str
    """The error body of a rejected request (empty when accepted)."""
    result: dict[str, Any]
    """The check result (``ssescope check --json``'s shape)."""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


async def send(target: Target, body: Body, settings: ProbeSettings) -> Sent:
    """POST ``body`` and judge the answer; :class:`SourceError` when the target is unreachable."""
    spec = RequestSpec(target.url, body, dict(target.headers))
    held: list[bytes] = []
    options = CheckOptions(**settings.options.__dict__)

    def hold_error_body(chunk: bytes, t: float) -> None:
        status = session.checker.http_status
        if status is not None and not 200 <= status < 300 and sum(map(len, held)) < HELD_LIMIT:
            held.append(chunk)

    session = StreamSession(options, on_chunk=hold_error_body)
    session.checker.on_request(body)
    await run_live(spec, session, max_wait=settings.max_wait, grace=settings.grace)
    status = int((session.response or {}).get("status") or 0)
    text = b"".join(held).decode("utf-8", errors="replace")
    return Sent(status, text, result_of(session, spec.url, "live", []))


def status_check(client: httpx.AsyncClient, target: Target) -> Callable[[Body], Any]:
    """The narrowing's question: does the server accept this body? (The head is enough.)"""

    async def accepts(body: Body) -> bool:
        async with client.stream("POST", target.url, json=body, headers=target.headers) as reply:
            return 200 <= reply.status_code < 300

    return accepts


def _failing(case: ProbeCase, findings: list[dict[str, Any]]) -> bool:
    """Whether the case failed: an error finding that is not the case's expected outcome, or
    any finding of a rule the case exists to test."""
    return any(
        f["rule"] in case.required or (f["severity"] == "error" and f["rule"] not in case.expected)
        for f in findings
    )


def case_result(case: ProbeCase, sent: Sent, cause: Cause | None) -> dict[str, Any]:
    """One row of the report (``--json``'s ``cases[]``)."""
    result = sent.result
    findings = [
        {"rule": f["rule"], "severity": f["severity"], "message": f["message"]}
        for f in result["findings"]
    ]
    return {
        "id": case.id,
        "title": case.title,
        "status": sent.status,
        "accepted": sent.accepted,
        "thread_killer": cause is not None and cause.thread_killer,
        "error": None if sent.accepted else error_text(sent.body)[:ERROR_LIMIT],
        "findings": findings,
        "clients": result.get("clients", []),
        "codex": result["codex"],
        "cause": None if cause is None else {**cause.to_dict(), "summary": cause.describe()},
        "failed": _failing(case, findings),
    }


async def run_case(
    case: ProbeCase, target: Target, settings: ProbeSettings, client: httpx.AsyncClient
) -> dict[str, Any]:
    body = case.build(target.model)
    sent = await send(target, body, settings)
    cause = None
    if not sent.accepted and settings.narrow and sent.status not in NOT_NARROWED:
        cause = await narrow(body, status_check(client, target))
    return case_result(case, sent, cause)


def summary(cases: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    return {
        "cases": len(cases),
        "accepted": sum(1 for c in cases if c["accepted"]),
        "rejected": sum(1 for c in cases if not c["accepted"]),
        "thread_killers": [c["id"] for c in cases if c["thread_killer"]],
        "failed": [c["id"] for c in cases if c["failed"]],
        "seconds": round(seconds, 3),
    }


async def probe(
    target: Target,
    cases: Iterable[ProbeCase],
    settings: ProbeSettings | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Run ``cases`` against ``target`` in order; the report ``ssescope probe --json`` prints.
    Raises :class:`SourceError` when the target cannot be reached."""
    settings = settings or ProbeSettings()
    t0 = clock()
    timeout = httpx.Timeout(connect=10.0, read=settings.max_wait, write=30.0, pool=10.0)
    rows = []
    async with httpx.AsyncClient(timeout=timeout) as client:
        for case in cases:
            try:
                rows.append(await run_case(case, target, settings, client))
            except httpx.HTTPError as exc:  # a narrowing request that failed on the wire
                where = redact_url(target.url)
                raise SourceError(f"{where}: {type(exc).__name__}: {exc}") from None
    return {
        "target": redact_url(target.url),  # an api-key query parameter never reaches the output
        "model": target.model,
        "cases": rows,
        "summary": summary(rows, clock() - t0),
    }


def exit_status(report: dict[str, Any]) -> int:
    """0: no thread killer and no failed case; 1 otherwise."""
    s = report["summary"]
    return 1 if s["thread_killers"] or s["failed"] else 0
