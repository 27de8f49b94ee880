"""Deltas and their ``.done``: text, refusal, reasoning, summary text and tool-call arguments are
accumulated into the tree, and each ``.done`` is held to what streamed before it.

The rules these handlers fire belong to other families (``part-order`` to parts, the
``*-done-mismatch`` rules to consistency); this module is the hot path, so it stays flat."""

from __future__ import annotations

from typing import Any

from ..events import Event
from . import consistency
from .base import CheckState, on
from .items import resolve
from .parts import part_for, summary_part

TEXT_DELTAS: dict[str, str] = {
    "response.output_text.delta": "output_text",
    "response.refusal.delta": "refusal",
    "response.reasoning_text.delta": "reasoning_text",
}
"""Text delta event type → the type of the part it grows."""
TEXT_DONES: dict[str, tuple[str, str]] = {
    "response.output_text.done": ("output_text", "text"),
    "response.refusal.done": ("refusal", "refusal"),
    "response.reasoning_text.done": ("reasoning_text", "text"),
}
"""Text .done event type → (the part's type, the payload key of the final text)."""
TEXT_DELTA_PARTS: dict[str, str] = {**TEXT_DELTAS, "response.reasoning.delta": "reasoning_text"}
TEXT_DONE_PARTS: dict[str, tuple[str, str]] = {
    **TEXT_DONES,
    "response.reasoning.done": ("reasoning_text", "text"),
}
"""The same, with the Open Responses names of raw reasoning (read under that profile only:
see ``lifecycle.unknown_event``; the registry keeps OpenAI's names)."""
ARGUMENT_DELTAS = (
    "response.function_call_arguments.delta",
    "response.custom_tool_call_input.delta",
    "response.mcp_call_arguments.delta",
    "response.code_interpreter_call_code.delta",
)
ARGUMENT_DONES: dict[str, str] = {
    "response.function_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
    "response.mcp_call_arguments.done": "arguments",
    "response.code_interpreter_call_code.done": "code",
}
"""Arguments .done event type → the payload key of the final arguments."""


@on(*TEXT_DELTAS)
def text_delta(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    part = part_for(st, ev, node, payload, TEXT_DELTA_PARTS[ev.type or ""])
    if part.done_text is not None or part.done_part is not None:
        st.emit("part-order", f"{ev.type} after the part's .done", ev)
    delta = payload.get("delta")
    if isinstance(delta, str):
        part.streamed.append(delta)
        part.delta_count += 1


@on(*TEXT_DONES)
def text_done(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    want, key = TEXT_DONE_PARTS[ev.type or ""]
    part = part_for(st, ev, node, payload, want)
    text = payload.get(key)
    if part.done_text is not None:
        st.emit("part-order", f"a second {ev.type} for content_index {part.index}", ev)
    if isinstance(text, str):
        part.done_text = consistency.judge_text_done(st, ev, str(ev.type), part, text)


@on("response.reasoning_summary_text.delta", "response.reasoning_summary_text.done")
def summary_text(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    part = summary_part(st, ev, node, payload)
    if ev.type == "response.reasoning_summary_text.delta":
        delta = payload.get("delta")
        if part.done_text is not None:
            st.emit("part-order", "reasoning_summary_text.delta after its .done", ev)
        if isinstance(delta, str):
            part.streamed.append(delta)
            part.delta_count += 1
    else:
        text = payload.get("text")
        if isinstance(text, str):
            part.done_text = consistency.judge_text_done(
                st, ev, "reasoning_summary_text.done", part, text
            )


@on(*ARGUMENT_DELTAS)
def argument_delta(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    if node.arguments_done is not None:
        st.emit("part-order", f"{ev.type} after the arguments' .done", ev)
    delta = payload.get("delta")
    if isinstance(delta, str):
        node.arguments.append(delta)
        node.argument_deltas += 1


@on(*ARGUMENT_DONES)
def argument_done(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    value = payload.get(ARGUMENT_DONES[ev.type or ""])
    if not isinstance(value, str):
        return
    consistency.judge_arguments_done(st, ev, node, value)
    node.arguments_done = value
