"""Required fields and JSON types, as the models (``core/models.py``) report them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..catalogue import OFF, E, I, W, define
from ..events import Event
from ..models import FieldIssue
from .base import CheckState

define(
    "fields",
    "field-missing",
    (E, E, I),
    "A required field is missing",
    "Typed clients (openai-node, openai-java, async-openai) fail to decode the event; others "
    "read `undefined` and break later.",
)
define(
    "fields",
    "field-type",
    (E, E, I),
    "A field has the wrong JSON type",
    "An index sent as a string or float, an object where a string belongs: strict decoders "
    "reject the event and Codex drops it silently.",
)


def report_issues(
    st: CheckState, ev: Event | None, where: str, issues: Iterable[FieldIssue]
) -> None:
    """Model issues of a nested object (a response, an item, a part) as field findings."""
    for issue in issues:
        rule = "field-missing" if issue.kind == "missing" else "field-type"
        st.emit(rule, f"{where}: {issue.describe()}", ev)


define(
    "fields",
    "delta-not-string",
    (E, E, W),
    "A `delta` is not a string",
    "Codex drops this delta silently (the text appears only if output_item.done carries it); "
    "SDKs concatenate it as `[object Object]` or raise.",
)
define(
    "fields",
    "logprobs-missing",
    (W, OFF, OFF),
    "`logprobs` is missing on text events",
    "The schema requires it, but OpenAI's own traffic and many servers omit it; only clients "
    "that read log-probabilities notice.",
)


def judge_fields(st: CheckState, ev: Event, etype: str, payload: dict[str, Any]) -> None:
    """Every event of a known type: the issues its model found (sequence_number and type have
    rules of their own), the error event's message, text events' logprobs."""
    for issue in ev.issues:
        if issue.path == "sequence_number" or issue.path == "type":
            continue
        if issue.path == "delta":
            st.emit("delta-not-string", f"{etype}: {issue.describe()}", ev)
        elif issue.kind == "missing":
            st.emit("field-missing", f"{etype}: {issue.describe()}", ev)
        else:
            st.emit("field-type", f"{etype}: {issue.describe()}", ev)
    if etype == "error":
        nested = payload.get("error")
        if not isinstance(payload.get("message"), str) and not (
            isinstance(nested, dict) and isinstance(nested.get("message"), str)
        ):
            st.emit("field-missing", "error: no `message` (flat) or `error.message` (nested)", ev)
    if (
        etype in ("response.output_text.delta", "response.output_text.done")
        and "logprobs" not in payload
    ):
        st.emit("logprobs-missing", f"{etype} has no `logprobs`", ev)
