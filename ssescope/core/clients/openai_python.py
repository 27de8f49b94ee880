"""openai-python 3.57.0: ``client.responses.stream(...)`` then ``get_final_response()``.

Read from the package's own source (PyPI ``openai==3.57.0``):
- ``openai/_streaming.py`` ``Stream.__stream__``: ``[DONE]`` ends the read; every other payload is
  ``json.loads``-ed (a payload that is not JSON raises ``JSONDecodeError``); a payload with a
  truthy top-level ``error`` raises ``APIError`` with ``error.message`` (or "An error occurred
  during streaming"): the nested-form ``error`` event, not the flat one.
- ``openai/lib/streaming/responses/_responses.py`` ``ResponseStreamState``: the first event must
  be ``response.created`` (``RuntimeError: Expected to have received `response.created` before
  `…```); items are kept by ``output_index`` (a duplicate, a content event for an index never
  added, a changed lifecycle id, an item identity changed at ``.done`` and a completion with an
  unfinished item all raise ``RuntimeError``); text and argument deltas are appended with ``+=``
  (a non-string delta raises ``TypeError``), into ``content[content_index]`` (a part never added
  raises ``IndexError``); ``get_final_response()`` returns ``response.completed``'s response, with
  ``output`` taken from it or, when it has none, from the ``output_item.done`` items, and raises
  ``RuntimeError: Didn't receive a `response.completed` event.`` for every other end
  (``response.incomplete`` and ``response.failed`` included).
- ``openai/_base_client.py``: a non-2xx answer raises the status's ``APIStatusError`` subclass
  with "Error code: N - <error.message>" (after two retries of 408/409/429/5xx).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..ends import EndReason
from .base import ClientModel, Verdict, still_open
from .content import carried, completed_output, cut_loss, differences, from_items
from .stainless import (
    JSON_TYPE_NAMES,
    Failure,
    delta_json_type,
    earliest,
    facts,
    stream_failures,
    unfinished_at_completion,
)

if TYPE_CHECKING:
    from ..checks.base import CheckState

VERSION = "3.57.0"
NO_COMPLETED = "RuntimeError: Didn't receive a `response.completed` event."
STATUS_ERRORS = {
    400: "BadRequestError",
    401: "AuthenticationError",
    403: "PermissionDeniedError",
    404: "NotFoundError",
    409: "ConflictError",
    422: "UnprocessableEntityError",
    429: "RateLimitError",
}
RETRIED_STATUSES = (408, 409, 429)


def status_error(status: int, body: str) -> str:
    """The exception a non-2xx answer raises, as ``Type: message``."""
    name = STATUS_ERRORS.get(status) or (
        "InternalServerError" if status >= 500 else "APIStatusError"
    )
    message = f"Error code: {status}"
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    text = error.get("message") if isinstance(error, dict) else None
    if isinstance(text, str) and text:
        message += f" - {text}"
    return f"{name}: {message}"


def _json_error(data: str) -> str:
    try:
        json.loads(data)
    except ValueError as exc:
        return f"JSONDecodeError: {exc}"
    except RecursionError as exc:  # nesting deeper than the json module's recursion
        return f"RecursionError: {exc}"
    return "JSONDecodeError"


def _error_key(st: CheckState) -> Failure | None:
    """A payload whose top-level ``error`` is truthy (the nested error form)."""
    if st.first_error is None:
        return None
    index, payload = st.first_error
    error = payload.get("error")
    if not error:
        return None
    message = error.get("message") if isinstance(error, dict) else None
    if not isinstance(message, str) or not message:
        message = "An error occurred during streaming"
    return Failure("api-error", index, message)


def _created_not_first(st: CheckState) -> Failure | None:
    found = facts(st, "created-not-first")
    if not found or found[0].event_type is None:
        return None
    return Failure("created-not-first", found[0].event_index, found[0].event_type)


def _not_json(st: CheckState) -> Failure | None:
    found = facts(st, "data-not-json")
    if not found or st.first_invalid_data is None:
        return None
    return Failure("not-json", found[0].event_index, st.first_invalid_data)


def _missing_part(st: CheckState) -> Failure | None:
    for fact in facts(st, "part-type-mismatch", ("response.output_text.delta",)):
        if "never opened it" in fact.message:
            return Failure("missing-part", fact.event_index)
    return None


def _no_content_index(st: CheckState) -> Failure | None:
    """A text delta without ``content_index`` (llama.cpp): ``output.content[None]``."""
    for fact in facts(st, "field-missing", ("response.output_text.delta",)):
        if "`content_index` is missing" in fact.message:
            return Failure("index-none", fact.event_index)
    return None


def _describe(f: Failure) -> str:
    if f.kind == "api-error":
        return f"APIError: {f.value}"
    if f.kind == "not-json":
        return _json_error(str(f.value))
    if f.kind == "created-not-first":
        return f"RuntimeError: Expected to have received `response.created` before `{f.value}`"
    if f.kind == "delta-type":
        py_type = JSON_TYPE_NAMES[delta_json_type(str(f.value))][0]
        return f'TypeError: can only concatenate str (not "{py_type}") to str'
    return {
        "lifecycle-id": "RuntimeError: Lifecycle response identity changed.",
        "content-before-item": f"RuntimeError: Received a content event for output index {f.value} "
        "before receiving its output item",
        "content-wrong-item": "AssertionError",
        "duplicate-index": f"RuntimeError: Duplicate response output index {f.value}.",
        "identity-changed": "RuntimeError: Completed output item identity changed.",
        "missing-part": "IndexError: list index out of range",
        "index-none": "TypeError: list indices must be integers or slices, not NoneType",
    }[f.kind]


def _end_verdict(st: CheckState) -> Verdict:
    """No failure while reading: what ``get_final_response()`` makes of the end."""
    terminal = st.tree.terminal_type
    if still_open(st) and st.done_index is None:  # `data: [DONE]` ends its read
        return Verdict(
            "hang",
            "blocks in get_final_response() until httpx's read timeout (600 s by default), "
            "then raises APITimeoutError: Request timed out.",
            "it reads to EOF, even after response.completed",
        )
    if terminal != "response.completed":
        if st.end_reason == EndReason.TRANSPORT_ERROR:
            return Verdict("error", "APIConnectionError: Connection error.")
        ended = terminal.removeprefix("response.") if terminal else "without a terminal event"
        return Verdict("error", NO_COMPLETED, f"the response ended {ended}")
    if unfinished_at_completion(st):
        return Verdict(
            "error",
            "RuntimeError: Cannot complete response with unfinished output items.",
            "an item had no output_item.done and response.completed's output does not carry it",
        )
    output = completed_output(st.tree)
    source = "response.completed's output"
    if output is None:
        output = [n.done_item for n in st.tree.items if n.done_item is not None]
        source = "the output_item.done items (response.completed carried no output)"
    status = (st.tree.terminal or {}).get("status")
    got = from_items(output, status if isinstance(status, str) else "completed")
    lost = differences(carried(st.tree), got)
    lost += cut_loss(st)
    if lost:
        return Verdict("loss", "; ".join(lost), f"get_final_response() returns {source}")
    return Verdict("ok", "get_final_response() returns the streamed response", source)


def predict(st: CheckState) -> Verdict:
    status = st.http_status
    if status is not None and not 200 <= status < 300:
        retried = status in RETRIED_STATUSES or status >= 500
        detail = "after 2 retries (max_retries)" if retried else ""
        return Verdict("error", status_error(status, st.http_body), detail)
    failure = earliest(
        [
            _error_key(st),
            _created_not_first(st),
            _not_json(st),
            _missing_part(st),
            _no_content_index(st),
            *stream_failures(st),
        ]
    )
    if failure is not None:
        where = f"at row {failure.event_index}" if failure.event_index is not None else ""
        return Verdict("error", _describe(failure), f"raised while iterating the stream {where}")
    return _end_verdict(st)


MODEL = ClientModel(
    id="openai-python",
    name="openai-python",
    version=VERSION,
    reads_with="client.responses.stream(...) + get_final_response()",
    source="openai==3.57.0: openai/lib/streaming/responses/_responses.py, openai/_streaming.py, "
    "openai/_base_client.py",
    verified="run: the real library in tests/clients (differential corpus)",
    predict=predict,
)
