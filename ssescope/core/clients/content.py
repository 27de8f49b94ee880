"""What a stream carried, what a client delivers, and how the two differ.

The truth a client is held to is ssescope's reconstruction: each item's ``output_item.done``
(and each part's ``.done``) where it came, else what its deltas added up to, as ``check --json``'s
``response`` shows it. A client that returns ``response.completed``'s copy instead, or only the
deltas where they disagree with the ``.done`` values, or drops a part, a call or the reasoning,
*loses* data even when it raises nothing: :func:`differences` says what, in the words the loss
message uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..checks.base import CheckState
    from ..tree import ItemNode, PartNode, ResponseTree

TOOL_CALL_TYPES = ("function_call", "custom_tool_call")


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    call_id: str
    arguments: str
    kind: str = "function_call"
    """``function_call`` (JSON arguments) or ``custom_tool_call`` (free-form input)."""


@dataclass(slots=True)
class Content:
    """The parts of a response a caller reads: its text, refusal, tool calls, reasoning, status."""

    text: str = ""
    refusal: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasoning: str = ""
    """Reasoning summaries and raw reasoning text, joined."""
    summary: str = ""
    """Only the reasoning summaries (what clients that ignore raw reasoning text deliver)."""
    status: str | None = None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _part_value(part: PartNode) -> str:
    """What streamed into a part: its deltas, else its ``.done`` value, else the added part's."""
    if part.delta_count:
        return part.streamed.value
    if part.done_text is not None:
        return part.done_text
    source = part.done_part or part.added_part or {}
    return _str(source.get("refusal" if part.type == "refusal" else "text"))


def _message_item(out: Content, item: dict[str, Any]) -> None:
    for part in _list(item.get("content")):
        if not isinstance(part, dict):
            continue
        if part.get("type") == "output_text":
            out.text += _str(part.get("text"))
        elif part.get("type") == "refusal":
            out.refusal += _str(part.get("refusal"))


def _tool_call_item(out: Content, item: dict[str, Any]) -> None:
    itype = str(item.get("type"))
    args = item.get("arguments" if itype == "function_call" else "input")
    out.tool_calls.append(
        ToolCall(_str(item.get("name")), _str(item.get("call_id")), _str(args), itype)
    )


def _reasoning_item(out: Content, item: dict[str, Any]) -> None:
    for part in _list(item.get("summary")):
        if isinstance(part, dict):
            out.summary += _str(part.get("text"))
            out.reasoning += _str(part.get("text"))
    for part in _list(item.get("content")):
        if isinstance(part, dict):
            out.reasoning += _str(part.get("text"))


_ITEM_READERS = {
    "message": _message_item,
    "function_call": _tool_call_item,
    "custom_tool_call": _tool_call_item,
    "reasoning": _reasoning_item,
}
"""How a client reads an item of each type; other types carry nothing a caller reads."""


def _add_item_dict(out: Content, item: Any) -> None:
    """Add one item as a client holds it (a .done item, or an entry of response.output)."""
    if isinstance(item, dict):
        reader = _ITEM_READERS.get(str(item.get("type")))
        if reader is not None:
            reader(out, item)


def _message_node(out: Content, node: ItemNode) -> None:
    for part in node.parts:
        if part.type == "refusal":
            out.refusal += _part_value(part)
        elif part.type == "output_text":
            out.text += _part_value(part)


def _reasoning_node(out: Content, node: ItemNode) -> None:
    for part in node.summary:
        value = _part_value(part)
        out.summary += value
        out.reasoning += value
    for part in node.parts:
        out.reasoning += _part_value(part)


def _tool_call_node(out: Content, node: ItemNode) -> None:
    final = node.done_item or {}
    streamed = node.streamed_arguments
    key = "arguments" if node.type == "function_call" else "input"
    args = streamed if streamed is not None else _str(final.get(key) or node.added_item.get(key))
    name = _str(final.get("name")) or (node.name or "")
    call_id = _str(final.get("call_id")) or (node.call_id or "")
    out.tool_calls.append(ToolCall(name, call_id, args, node.type))


def _add_node(out: Content, node: ItemNode) -> None:
    """Add what streamed into one item of the tree (an item whose parts never streamed counts
    as its .done or added item)."""
    if node.type == "message" and node.parts:
        _message_node(out, node)
    elif node.type == "reasoning" and (node.summary or node.parts):
        _reasoning_node(out, node)
    elif node.type in TOOL_CALL_TYPES:
        _tool_call_node(out, node)
    else:
        _add_item_dict(out, node.done_item or node.added_item)


def carried(tree: ResponseTree) -> Content:
    """What the stream carried, item by item in arrival order: ssescope's reconstruction, where
    an item's ``output_item.done`` (and a part's ``.done``) is authoritative over its deltas."""
    return from_items((node.to_dict() for node in tree.items), terminal_status(tree))


def from_items(items: Iterable[Any], status: str | None) -> Content:
    """What a client holding these items (``response.output``, ``.done`` items) delivers."""
    out = Content(status=status if isinstance(status, str) or status is None else str(status))
    for item in items:
        _add_item_dict(out, item)
    return out


def from_nodes(
    nodes: Iterable[ItemNode], status: str | None, *, deltas_only: bool = False
) -> Content:
    """What a client that accumulated these items from their events delivers; ``deltas_only``:
    it shows text and reasoning only as they stream (the AI SDK), so a message or reasoning
    item that arrived whole, or through events it does not read, gives it nothing."""
    out = Content(status=status)
    for node in nodes:
        if deltas_only and node.type in ("message", "reasoning"):
            _streamed_node(out, node)
        else:
            _add_node(out, node)
    return out


def _streamed_node(out: Content, node: ItemNode) -> None:
    for part in node.parts:
        value = part.streamed.value if part.delta_count else ""
        if node.type == "reasoning":
            out.reasoning += value
        elif part.type == "refusal":
            out.refusal += value
        elif part.type == "output_text":
            out.text += value
    for part in node.summary:
        value = part.streamed.value if part.delta_count else ""
        out.summary += value
        out.reasoning += value


def terminal_status(tree: ResponseTree) -> str | None:
    """The terminal response's ``status`` (else the terminal event's: ``completed``, ``failed``,
    ``incomplete``); None: there was no terminal event."""
    if tree.terminal_type is None:
        return None
    status = (tree.terminal or {}).get("status")
    return status if isinstance(status, str) else tree.terminal_type.removeprefix("response.")


def completed_output(tree: ResponseTree) -> list[Any] | None:
    """``response.completed``'s ``output`` array (None: no terminal, or it carried none)."""
    output = (tree.terminal or {}).get("output")
    return output if isinstance(output, list) else None


def _chars(text: str) -> str:
    return f"{len(text)} character{'s' if len(text) != 1 else ''}"


def _text_difference(what: str, truth: str, got: str) -> str | None:
    if truth == got:
        return None
    if not got:
        return f"{what} lost ({_chars(truth)} streamed)"
    if not truth:
        return f"{what} that never streamed ({_chars(got)})"
    if truth.startswith(got):
        return f"{what} cut to {len(got)} of {_chars(truth)}"
    at = next((i for i, (a, b) in enumerate(zip(truth, got, strict=False)) if a != b), None)
    where = f"from character {at}" if at is not None else f"{len(got)} vs {len(truth)} characters"
    return f"{what} differs from what streamed ({where}: {got[at or 0 :][:24]!r})"


def _call_differences(truth: list[ToolCall], got: list[ToolCall]) -> list[str]:
    out: list[str] = []
    for i, call in enumerate(truth):
        other = got[i] if i < len(got) else None
        if other is None:
            out.append(f"tool call {call.name or '?'} lost")
        elif other.call_id != call.call_id:
            out.append(f"tool call {call.name}: call_id {other.call_id!r}, not {call.call_id!r}")
        elif other.name != call.name:
            out.append(f"tool call {call.name!r} named {other.name!r}")
        elif other.arguments != call.arguments:
            diff = _text_difference("arguments", call.arguments, other.arguments)
            out.append(f"tool call {call.name}: {diff}")
    for call in got[len(truth) :]:
        out.append(f"a tool call {call.name or '?'} that never streamed")
    return out


def differences(truth: Content, got: Content, *, reasoning: bool = True) -> list[str]:
    """What ``got`` lost or changed against ``truth``, one phrase each (empty: nothing)."""
    out = [
        d
        for d in (
            _text_difference("text", truth.text, got.text),
            _text_difference("refusal", truth.refusal, got.refusal),
            _text_difference("reasoning", truth.reasoning, got.reasoning) if reasoning else None,
        )
        if d is not None
    ]
    out.extend(_call_differences(truth.tool_calls, got.tool_calls))
    if truth.status is not None and got.status is not None and truth.status != got.status:
        out.append(f"status {got.status!r} for a response that ended {truth.status!r}")
    return out


def cut_loss(st: CheckState) -> list[str]:
    """A success handed over for a response that was cut under a fake ``response.completed``."""
    facts = st.fired.get("completed-while-unfinished")
    if not facts:
        return []
    return [
        "returns a truncated answer as complete (an item never finished before the fake "
        "response.completed)"
    ]
