"""What the ``open-responses`` profile asks beyond OpenAI's wire: the Open Responses spec's own
schema (github openresponses/openresponses, ``public/openapi/openapi.json`` 2026-04-24, which its
compliance suite ``bin/compliance-test.ts`` parses every response and event with).

* **Fields.** The spec requires every ``ResponseResource`` field in every lifecycle event
  (nullable ones present as null) and numbers for the sampling values; a ``function_call`` item
  needs its ``id`` and ``status``; an ``error`` event nests ``{type, code, message, param}``.
  What OpenAI's models (``core/models.py``) already report keeps its own rules
  (``field-missing``, ``created-incomplete``…); the rest is ``open-responses-field``.
* **Names.** The spec calls raw reasoning ``response.reasoning.delta``/``.done`` where OpenAI
  says ``response.reasoning_text.*``: under this profile the spec's names are read as the
  reasoning they carry, and OpenAI's are ``open-responses-event-name``.

The client models read facts, not findings, and must not depend on the profile: a spec-named
event is still an event OpenAI's clients do not know (:meth:`CheckState.note`), and the rules
here are off in the other profiles.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import models as m
from ..catalogue import OFF, E, define
from ..events import Event
from .base import CheckState, on

PROFILE = "open-responses"

define(
    "fields",
    "open-responses-field",
    (OFF, E, OFF),
    "A field the Open Responses schema requires is missing or has another type",
    "Open Responses requires every Response field in every lifecycle event (nullable ones as "
    "null), numbers for temperature, top_p, the penalties and top_logprobs, a function_call's "
    "id and status and the nested error payload; its compliance suite fails the response on "
    "the first one and clients generated from the spec reject the event. OpenAI's own traffic "
    "omits most of them, so only this profile asks.",
)
define(
    "lifecycle",
    "open-responses-event-name",
    (OFF, E, OFF),
    "An event carries OpenAI's name where Open Responses names it otherwise",
    "Open Responses names raw reasoning `response.reasoning.delta`/`.done` where OpenAI says "
    "`response.reasoning_text.*`: the compliance suite rejects the OpenAI name as no event of "
    "the spec, and a client written to the spec drops the reasoning it carries.",
)


def _report(st: CheckState, ev: Event, what: str, issues: list[m.FieldIssue], prefix: str) -> None:
    """One finding per object: what it lacks, then what it types otherwise."""
    if not issues:
        return
    missing = [i.path.removeprefix(prefix) for i in issues if i.kind == "missing"]
    said = [f"lacks {', '.join(missing)}"] if missing else []
    said += [i.describe() for i in issues if i.kind != "missing"]
    st.emit("open-responses-field", f"{what} {'; '.join(said)}", ev)


def response_fields(
    st: CheckState, ev: Event, response: dict[str, Any], reported: Iterable[m.FieldIssue]
) -> None:
    """A lifecycle event's Response against ``ResponseResource``, beyond ``reported`` (what
    OpenAI's model found; usage has rules of its own)."""
    if st.profile != PROFILE:
        return
    seen = {i.path for i in reported}
    issues = [
        i
        for i in m.validate_response(response, model=m.OpenResponsesResponse)
        if i.path not in seen and not i.path.startswith("response.usage.")
    ]
    _report(st, ev, f"{ev.type}'s response", issues, "response.")


def item_fields(st: CheckState, ev: Event, item: dict[str, Any], where: str) -> None:
    """An output item against the spec's item schema, where it asks more than OpenAI's."""
    if st.profile != PROFILE:
        return
    itype = item.get("type")
    model = m.OPEN_RESPONSES_ITEM_MODELS.get(itype) if isinstance(itype, str) else None
    if model is None:
        return
    reported = {i.path for i in m.validate_item(item)}
    issues = [i for i in m.validate_item(item, model=model) if i.path not in reported]
    _report(st, ev, f"{itype} item in {where}", issues, "item.")


@on("error")
def error_payload(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    """The spec's error event nests its payload, with every key present (OpenAI's schema also
    allows the flat form, which the suite rejects)."""
    if st.profile != PROFILE:
        return
    nested = payload.get("error")
    if not isinstance(nested, dict):
        st.emit(
            "open-responses-field",
            "error event without the nested `error` object {type, code, message, param}",
            ev,
        )
        return
    _report(st, ev, "error event's error", m.validate_error_payload(nested), "error.")


@on(*m.OPENAI_EVENT_NAMES)
def openai_event_name(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    if st.profile == PROFILE:
        etype = ev.type or ""
        st.emit(
            "open-responses-event-name",
            f"{etype} is OpenAI's name; Open Responses names it {m.OPENAI_EVENT_NAMES[etype]}",
            ev,
        )


def spec_named_event(st: CheckState, ev: Event, etype: str, payload: dict[str, Any]) -> None:
    """An event of the spec that OpenAI names otherwise (``lifecycle.unknown_event`` then reads
    it as its OpenAI twin): its fields. The clients that know only OpenAI's names still meet an
    unknown event: a fact for them, no finding under this profile."""
    st.note("unknown-event-type", f"{etype!r} is not an OpenAI Responses event", ev)
    for issue in m.open_responses_event_issues(payload):
        rule = "field-missing" if issue.kind == "missing" else "field-type"
        st.emit(rule, f"{etype}: {issue.describe()}", ev)
