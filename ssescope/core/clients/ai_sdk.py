"""The Vercel AI SDK (``ai`` 7.0.173): ``streamText`` over two providers.

Both providers build the answer from events, never from ``response.completed.output``: text from
``output_text.delta``, a tool call only at its ``output_item.done``, and they report problems as
``error`` parts in the stream (``streamText`` resolves; ``finishReason`` becomes ``error``) instead
of throwing.

``ai-sdk`` — ``createOpenAI().responses(model)``, ``@ai-sdk/openai`` 4.0.118,
``src/responses/openai-responses-language-model.ts`` (``doStream``) and
``src/responses/openai-responses-api.ts`` (``openaiResponsesChunkSchema``): every modelled chunk
is validated with zod; a chunk that fails (``response.created`` without ``created_at`` or
``model``, a delta without ``item_id``, a non-string delta) becomes an ``AI_TypeValidationError``
error part and the finish reason ``error``; chunk types it does not model (raw
``response.reasoning_text.delta`` among them) are dropped; an end without ``response.completed``
or ``.incomplete`` finishes ``interrupted``.

``ai-sdk-open-responses`` — ``createOpenResponses()``, ``@ai-sdk/open-responses`` 2.0.36,
``dist/index.js`` (``doStream``): no validation (``z.any()``); refusal events are not handled
(the refusal is lost, finish ``stop``); raw reasoning deltas are read; a flat ``error`` event has
no ``error`` object, and reading ``chunk.error.code`` throws a ``TypeError``; an end without a
terminal event finishes ``other``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from .base import ClientModel, Verdict, still_open
from .content import Content, ToolCall, carried, cut_loss, differences, from_nodes
from .stainless import facts

if TYPE_CHECKING:
    from ..checks.base import CheckState

AI_VERSION = "7.0.173"
"""``ai``; the providers' versions are in each model's row."""

_REQUIRED: dict[str, tuple[str, ...]] = {
    "response.output_text.delta": ("item_id", "delta"),
    "response.refusal.delta": ("item_id", "delta"),
    "response.refusal.done": ("item_id", "refusal"),
    "response.function_call_arguments.delta": ("item_id", "output_index", "delta"),
    "response.reasoning_summary_text.delta": ("item_id", "summary_index", "delta"),
    "response.output_item.added": ("output_index", "item"),
    "response.output_item.done": ("output_index", "item"),
    "response.failed": ("sequence_number", "response"),
    "error": ("sequence_number", "message"),
}
"""Fields ``openaiResponsesChunkSchema`` requires, per chunk type (beyond ``type``)."""
_CREATED_FIELDS = (("id", str), ("created_at", (int, float)), ("model", str))
_ITEM_FIELDS = {
    "message": ("id",),
    "reasoning": ("id",),
    "function_call": ("id", "call_id", "name", "arguments"),
}
_PATH = re.compile(r"`([^`.\[]+)")


def _created_invalid(st: CheckState) -> str | None:
    """``response.created``/``in_progress`` must carry id, created_at and model."""
    created = st.tree.created
    if created is None:
        return None
    for name, kind in _CREATED_FIELDS:
        value = created.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return (
                f"response.created: response.{name} is {'missing' if value is None else 'invalid'}"
            )
    return None


def _item_invalid(st: CheckState) -> str | None:
    for node in st.tree.items:
        for item, when in ((node.added_item, "added"), (node.done_item, "done")):
            if not isinstance(item, dict):
                continue
            for name in _ITEM_FIELDS.get(str(item.get("type")), ()):
                if not isinstance(item.get(name), str):
                    return f"response.output_item.{when}: item.{name} is not a string"
    return None


def _chunk_invalid(st: CheckState) -> str | None:
    """A modelled chunk missing a required field or holding one of the wrong type."""
    for rule in ("field-missing", "field-type", "delta-not-string", "sequence-missing"):
        for fact in facts(st, rule):
            required = _REQUIRED.get(fact.event_type or "")
            if not required:
                continue
            if rule == "sequence-missing" and "sequence_number" in required:
                return f"{fact.event_type}: sequence_number is missing"
            match = _PATH.search(fact.message)
            if match and match.group(1) in required:
                return f"{fact.event_type}: {match.group(1)} is invalid"
    return None


def _validation_error(st: CheckState) -> str | None:
    return _created_invalid(st) or _item_invalid(st) or _chunk_invalid(st)


def _error_part(st: CheckState) -> str | None:
    """An ``error`` event or a failed response with an error: an error part in the stream."""
    if st.first_error is not None:
        _, payload = st.first_error
        nested = payload.get("error")
        source = nested if isinstance(nested, dict) else payload
        return str(source.get("message") or "the stream reported an error")
    if st.tree.terminal_type == "response.failed":
        error = (st.tree.terminal or {}).get("error")
        if isinstance(error, dict):
            return str(error.get("message") or "response.failed")
    return None


def _http_error(st: CheckState) -> Verdict | None:
    status = st.http_status
    if status is None or 200 <= status < 300:
        return None
    return Verdict("error", f"AI_APICallError: HTTP {status}", "streamText's onError / error part")


def _events_view(st: CheckState, *, raw_reasoning: bool, refusal: bool) -> Content:
    """What the provider built from the events: every item's deltas; tool calls only when
    their ``output_item.done`` came."""
    got = from_nodes(
        [n for n in st.tree.items if n.type != "function_call" or n.done_item is not None],
        None,
        deltas_only=True,
    )
    if not raw_reasoning:
        got.reasoning = got.summary
    if not refusal:
        got.refusal = ""
    return got


def _invalid_tool_input(got: Content) -> Verdict | None:
    """streamText parses every tool call's input as JSON (an empty input is ``{}``)."""
    for call in got.tool_calls:
        if call.kind != "function_call" or not call.arguments.strip():
            continue
        try:
            json.loads(call.arguments)
        except ValueError:
            return Verdict(
                "error",
                f"AI_InvalidToolInputError: Invalid input for tool {call.name}: "
                "AI_JSONParseError: JSON parsing failed",
                "an error part instead of the tool call",
            )
    return None


def _finish(st: CheckState, got: Content, extra_loss: list[str]) -> Verdict:
    if still_open(st):
        return Verdict(
            "hang", "streamText waits for the end of the body: the provider sets no read timeout"
        )
    invalid = _invalid_tool_input(got)
    if invalid is not None:
        return invalid
    lost = [
        *extra_loss,
        *differences(carried(st.tree), got),
        *cut_loss(st),
    ]
    if lost:
        return Verdict("loss", "; ".join(lost), "streamText's text, toolCalls and reasoning")
    return Verdict("ok", "streamText delivers what the stream carried")


def predict_openai(st: CheckState) -> Verdict:
    http = _http_error(st)
    if http is not None:
        return http
    invalid = _validation_error(st)
    if invalid is not None:
        return Verdict(
            "error",
            f"AI_TypeValidationError: Type validation failed ({invalid}); finishReason 'error'",
            "an error part in fullStream; the rest of the text still arrives",
        )
    error = _error_part(st)
    if error is not None:
        return Verdict("error", f"error part: {error}; finishReason 'error'")
    # A refusal comes through (as finishReason 'content-filter', which says what happened).
    return _finish(st, _events_view(st, raw_reasoning=False, refusal=True), [])


def _with_added_call_ids(st: CheckState, got: Content) -> Content:
    """The provider keeps the call_id of ``output_item.added`` (it indexes calls by item id)."""
    added = [
        n.call_id for n in st.tree.items if n.type == "function_call" and n.done_item is not None
    ]
    got.tool_calls = [
        ToolCall(
            c.name, added[i] or c.call_id if i < len(added) else c.call_id, c.arguments, c.kind
        )
        for i, c in enumerate(got.tool_calls)
    ]
    return got


_TEXT_DELTAS = (
    "response.output_text.delta",
    "response.reasoning_text.delta",
    "response.reasoning_summary_text.delta",
)


def _orphan_delta(st: CheckState) -> Verdict | None:
    """The provider routes deltas by ``item_id`` to the part its ``output_item.added`` opened;
    streamText reports a delta whose id opened nothing (ids rotated, no added item)."""
    for rule in ("item-id-mismatch", "item-unknown"):
        found = facts(st, rule, _TEXT_DELTAS)
        if found:
            kind = "text" if found[0].event_type == _TEXT_DELTAS[0] else "reasoning"
            return Verdict(
                "error",
                f"error part: {kind} part … not found",
                f"a delta at row {found[0].event_index} names an item_id no output_item.added "
                "opened",
            )
    for node in st.tree.items:
        done = node.done_item
        if node.type in ("message", "reasoning") and done and done.get("id") != node.id:
            kind = "text" if node.type == "message" else "reasoning"
            return Verdict(
                "error",
                f"error part: {kind} part {done.get('id')} not found",
                "output_item.done names another id than output_item.added: its end part "
                "closes a part that was never started",
            )
    return None


def predict_open_responses(st: CheckState) -> Verdict:
    http = _http_error(st)
    if http is not None:
        return http
    if st.first_error is not None and not isinstance(st.first_error[1].get("error"), dict):
        return Verdict(
            "error",
            "TypeError: Cannot read properties of undefined (reading 'code')",
            "a flat `error` event: the provider reads chunk.error.code",
        )
    if facts(st, "data-not-json"):
        return Verdict("error", "AI_JSONParseError: JSON parsing failed; an error part")
    error = _error_part(st)
    if error is not None:
        return Verdict("error", f"error part: {error}; finishReason 'error'")
    orphan = _orphan_delta(st)
    if orphan is not None:
        return orphan
    # it reads raw reasoning only as response.reasoning_text.delta, not the spec's
    # response.reasoning.delta (which the open-responses profile reads into the tree)
    spec_names = facts(st, "unknown-event-type", ("response.reasoning.delta",))
    got = _events_view(st, raw_reasoning=not spec_names, refusal=False)
    extra = []
    concatenated = facts(st, "delta-not-string", ("response.output_text.delta",))
    if concatenated:
        extra.append("a non-string text delta is appended as '[object Object]'")
    return _finish(st, _with_added_call_ids(st, got), extra)


AI_SDK = ClientModel(
    id="ai-sdk",
    name="AI SDK + @ai-sdk/openai",
    version=f"{AI_VERSION} / @ai-sdk/openai 4.0.118",
    reads_with="streamText({model: createOpenAI().responses(model)})",
    source="@ai-sdk/openai 4.0.118: src/responses/openai-responses-language-model.ts, "
    "src/responses/openai-responses-api.ts",
    verified="run: the real library in tests/clients (differential corpus)",
    predict=predict_openai,
)
AI_SDK_OPEN_RESPONSES = ClientModel(
    id="ai-sdk-open-responses",
    name="AI SDK + @ai-sdk/open-responses",
    version=f"{AI_VERSION} / @ai-sdk/open-responses 2.0.36",
    reads_with="streamText({model: createOpenResponses({...})(model)})",
    source="@ai-sdk/open-responses 2.0.36: dist/index.js (doStream)",
    verified="run: the real library in tests/clients (differential corpus)",
    predict=predict_open_responses,
)
