"""openai-node 7.59.0: ``client.responses.stream(...)`` then ``finalResponse()``.

Read from the package's own source (npm ``openai@7.59.0``):
- ``src/core/streaming.ts``: every payload is ``JSON.parse``-d (a payload that is not JSON throws
  ``SyntaxError``); a payload with a truthy ``error`` throws ``APIError``.
- ``src/lib/responses/ResponseStream.ts`` ``#addEvent``: an ``error`` event, in either form,
  throws ``APIError`` with its message at once; ``#prepareEvent``/``#prepareOutputEvent`` refuse a
  changed lifecycle id, a duplicate ``output_index`` and an event for an index never added;
  ``#assertComplete`` refuses a ``response.completed`` that leaves an item unfinished;
  ``#endRequest`` returns the last snapshot *whatever the end*: ``response.incomplete`` and
  ``response.failed`` come back as a response with that status, and a stream cut before any
  terminal event comes back as an ``in_progress`` response, without an error.
- ``src/internal/responses/response-accumulator.ts``: an event type it does not know throws
  ``Unhandled response stream event: unknown``; the first event must be ``response.created``;
  items must be appended at the next ``output_index``, carry a non-empty id (tool calls: a
  call_id), and keep type, id and call_id at ``.done``; item events must name their item's id
  and type and an existing content index; a non-string delta is concatenated as a string
  (``[object Object]``), silently.
- ``src/core/error.ts``: a non-2xx answer throws the status's ``APIError`` subclass, "N message".
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .base import ClientModel, Verdict, still_open
from .content import carried, completed_output, cut_loss, differences, from_items, from_nodes
from .openai_python import STATUS_ERRORS
from .stainless import (
    DELTA_EVENTS,
    JSON_TYPE_NAMES,
    Failure,
    delta_json_type,
    earliest,
    facts,
    identity,
    stream_failures,
    unfinished_at_completion,
)

if TYPE_CHECKING:
    from ..checks.base import CheckState

VERSION = "7.59.0"


def status_error(status: int, body: str) -> str:
    name = STATUS_ERRORS.get(status) or ("InternalServerError" if status >= 500 else "APIError")
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        parsed = None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    if not isinstance(text, str) or not text:
        text = json.dumps(error, separators=(",", ":")) if error else "status code (no body)"
    return f"{name}: {status} {text}"


def json_parse_error(data: str) -> str:
    """V8's ``JSON.parse`` message for a payload that is not JSON."""
    if not data.strip():
        return "SyntaxError: Unexpected end of JSON input"
    shown = data if len(data) <= 32 else data[:10] + "..." + data[-10:]
    first = data.lstrip()[0]
    return f"SyntaxError: Unexpected token '{first}', \"{shown}\" is not valid JSON"


def _error_event(st: CheckState) -> Failure | None:
    if st.first_error is None:
        return None
    index, payload = st.first_error
    nested = payload.get("error")
    source = nested if isinstance(nested, dict) else payload
    message = source.get("message")
    return Failure("api-error", index, message if isinstance(message, str) else "")


def _fact_failure(st: CheckState, rule: str, kind: str, types: Any = None) -> Failure | None:
    found = facts(st, rule, types)
    if not found:
        return None
    return Failure(kind, found[0].event_index, found[0])


_ADDED = ("response.output_item.added",)
_STRICT_RULES = (
    ("unknown-event-type", "unknown-type", None),
    ("type-missing", "unknown-type", None),
    ("created-not-first", "created-not-first", None),
    ("item-id-missing", "item-id-missing", _ADDED),
    ("call-id-missing", "call-id-missing", _ADDED),
    ("item-id-mismatch", "item-id-mismatch", None),
)


def _strict_failures(st: CheckState) -> list[Failure]:
    """What the accumulator refuses that openai-python lets pass."""
    found = [_fact_failure(st, rule, kind, types) for rule, kind, types in _STRICT_RULES]
    for fact in facts(st, "part-type-mismatch"):
        if "never opened it" in fact.message:
            found.append(Failure("missing-content", fact.event_index, fact))
            break
    for fact in facts(st, "field-missing"):
        if "`output_index` is missing" in fact.message:  # llama.cpp sends none
            found.append(Failure("no-output-index", fact.event_index, fact))
            break
    return [f for f in found if f is not None]


def _fact_value(f: Failure) -> Any:
    return getattr(f.value, "output_index", None)


def _identity_message(st: CheckState) -> str:
    for node in st.tree.items:
        done, added = node.done_item, node.added_item
        if done is None or (
            identity(added) == identity(done) and added.get("id") == done.get("id")
        ):
            continue
        for key in ("type", "id", "call_id"):
            if added.get(key) != done.get(key):
                return f"expected output item {key} '{added.get(key)}', got '{done.get(key)}'"
    return "expected output item id, got another"


def _describe(st: CheckState, f: Failure) -> str:
    if f.kind == "api-error":
        return f"APIError: {f.value}"
    if f.kind == "not-json":
        return json_parse_error(str(f.value))
    if f.kind == "created-not-first":
        etype = getattr(f.value, "event_type", None)
        return (
            "OpenAIError: When snapshot hasn't been set yet, expected 'response.created' "
            f"event, got {etype}"
        )
    if f.kind == "identity-changed":
        return f"OpenAIError: {_identity_message(st)}"
    if f.kind in ("missing-output", "content-before-item"):
        index = _fact_value(f) if f.kind == "missing-output" else f.value
        return f"OpenAIError: missing output at index {index}"
    if f.kind == "duplicate-index":
        return f"OpenAIError: Duplicate response output index {f.value}."
    return "OpenAIError: " + {
        "unknown-type": "Unhandled response stream event: unknown",
        "lifecycle-id": "Lifecycle response identity changed.",
        "item-id-missing": "expected a non-empty output item id for response.output_item.added",
        "call-id-missing": "expected a non-empty output item call_id for "
        "response.output_item.added",
        "item-id-mismatch": str(getattr(f.value, "message", "expected item_id")),
        "content-wrong-item": "expected output item type, got another",
        "missing-content": "missing content at index 0",
        "no-output-index": "missing output at index undefined",
    }.get(f.kind, f.kind)


def _not_json(st: CheckState) -> Failure | None:
    found = facts(st, "data-not-json")
    if not found or st.first_invalid_data is None:
        return None
    return Failure("not-json", found[0].event_index, st.first_invalid_data)


def _delivered(st: CheckState) -> tuple[Any, str]:
    """What ``finalResponse()`` returns: the terminal response's output, else the items."""
    terminal = st.tree.terminal_type
    output = completed_output(st.tree) if terminal is not None else None
    if terminal is not None:
        status = (st.tree.terminal or {}).get("status")
        status = status if isinstance(status, str) else terminal.removeprefix("response.")
    else:
        status = "in_progress"
    if output is not None:
        return from_items(output, status), f"the {terminal} response"
    if terminal == "response.completed":
        done = [n.done_item for n in st.tree.items if n.done_item is not None]
        return from_items(done, status), "the output_item.done items"
    return from_nodes(st.tree.items, status), "the accumulated snapshot"


def _concatenated(st: CheckState) -> str | None:
    found = facts(st, "delta-not-string", DELTA_EVENTS)
    if not found:
        return None
    js_type = JSON_TYPE_NAMES[delta_json_type(found[0].message)][1]
    shown = "[object Object]" if js_type == "object" else f"the {js_type} as text"
    return f"a non-string delta is appended as {shown!r}"


def _end_verdict(st: CheckState) -> Verdict:
    if still_open(st) and st.done_index is None:  # `data: [DONE]` ends its read
        return Verdict(
            "hang",
            "finalResponse() waits until the request timeout (10 minutes by default)",
            "it reads to EOF, even after response.completed",
        )
    if st.tree.created is None and not st.tree.items:
        return Verdict("error", "OpenAIError: request ended without sending any events")
    if st.tree.terminal_type == "response.completed" and unfinished_at_completion(st):
        return Verdict(
            "error", "OpenAIError: Cannot complete response with unfinished output items."
        )
    got, source = _delivered(st)
    if got.status == "failed":
        error = (st.tree.terminal or {}).get("error")
        message = error.get("message") if isinstance(error, dict) else None
        return Verdict(
            "error",
            f"finalResponse() resolves with status 'failed': {message or 'no error message'}",
        )
    lost = differences(carried(st.tree), got)
    lost += cut_loss(st)
    concat = _concatenated(st) if source == "the accumulated snapshot" else None
    if concat:
        lost.insert(0, concat)
    if lost:
        return Verdict("loss", "; ".join(lost), f"finalResponse() returns {source}")
    return Verdict("ok", f"finalResponse() returns {source}", "")


def predict(st: CheckState) -> Verdict:
    status = st.http_status
    if status is not None and not 200 <= status < 300:
        return Verdict("error", status_error(status, st.http_body), "after 2 retries if retryable")
    shared = [f for f in stream_failures(st) if f.kind != "delta-type"]
    failure = earliest([_error_event(st), _not_json(st), *_strict_failures(st), *shared])
    if failure is not None:
        return Verdict("error", _describe(st, failure), f"thrown at row {failure.event_index}")
    return _end_verdict(st)


MODEL = ClientModel(
    id="openai-node",
    name="openai-node",
    version=VERSION,
    reads_with="client.responses.stream(...) + finalResponse()",
    source="openai@7.59.0: src/lib/responses/ResponseStream.ts, "
    "src/internal/responses/response-accumulator.ts, src/core/streaming.ts",
    verified="run: the real library in tests/clients (differential corpus)",
    predict=predict,
)
