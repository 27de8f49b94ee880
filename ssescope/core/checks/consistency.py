"""Consistency: every copy of a value agrees with what streamed (a ``.done`` text, a part, an
item, the final output), tool arguments are JSON, and the usage numbers add up."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import models as m
from ..catalogue import E, I, Severity, W, define
from ..events import Event
from ..tree import ItemNode, PartNode
from .base import CheckState, first_difference, is_int, short
from .fields import report_issues

define(
    "consistency",
    "text-done-mismatch",
    (W, W, I),
    "A .done text differs from the joined deltas",
    "Clients that stream deltas show one text and store another; a translating engine dropped "
    "or duplicated a piece.",
)


def judge_text_done(st: CheckState, ev: Event, what: str, part: PartNode, text: str) -> str:
    """Returns the text the part keeps: the streamed one when the two are equal, so a long
    response holds one copy of its text, not one more per event that repeats it."""
    if not part.delta_count:
        return text
    streamed = part.streamed.value
    if text != streamed:
        st.emit("text-done-mismatch", f"{what}: {first_difference(streamed, text)}", ev)
        return text
    return streamed


def share_text(container: Any, key: str, text: str) -> None:
    """Point ``container[key]`` at ``text`` when it holds an equal copy (the part, item or final
    output of a done event, kept by the tree): the same value, one copy of a megabyte text."""
    if isinstance(container, dict):
        value = container.get(key)
        if value is not text and isinstance(value, str) and value == text:
            container[key] = text


def share_item_texts(node: ItemNode, item: Any) -> None:
    """``share_text`` for every streamed part of a message ``item`` (a done or final copy)."""
    content = item.get("content") if isinstance(item, dict) else None
    if node.type != "message" or not isinstance(content, list):
        return
    for part in node.parts:
        if part.index < len(content):
            share_text(
                content[part.index], "refusal" if part.type == "refusal" else "text", part.text
            )


define(
    "consistency",
    "arguments-done-mismatch",
    (W, W, I),
    "Final arguments differ from the joined argument deltas",
    "Clients that build arguments from deltas (most agents) call the tool with different "
    "arguments than clients that read .done (Codex).",
)


def judge_arguments_done(st: CheckState, ev: Event, node: ItemNode, value: str) -> None:
    if node.argument_deltas and value != node.arguments.value:
        st.emit(
            "arguments-done-mismatch",
            f"{ev.type}: {first_difference(node.arguments.value, value)}",
            ev,
        )


define(
    "consistency",
    "part-done-mismatch",
    (W, W, I),
    "content_part.done differs from the part's text",
    "Clients that keep the part from content_part.done store a different text than they showed.",
)


def judge_part_done(st: CheckState, ev: Event, what: str, part: PartNode, final: Any) -> None:
    if isinstance(final, str) and final != part.text:
        st.emit("part-done-mismatch", f"{what}: {first_difference(part.text, final)}", ev)


define(
    "consistency",
    "item-done-mismatch",
    (W, W, W),
    "output_item.done differs from what was streamed",
    "Codex uses only output_item.done: the user saw one text stream by and Codex keeps another "
    "(or runs a tool with other arguments).",
)


def judge_done_item(st: CheckState, ev: Event, node: ItemNode, item: dict[str, Any]) -> None:
    """T4: the .done item against what was streamed into the item."""
    compare = _DONE_ITEM_CHECKS.get(node.type)
    if compare is not None:
        compare(st, ev, node, item)


def _message_done(st: CheckState, ev: Event, node: ItemNode, item: dict[str, Any]) -> None:
    content = item.get("content")
    if not isinstance(content, list):
        return
    for part in node.parts:
        if part.index >= len(content):
            st.emit(
                "item-done-mismatch",
                f"content[{part.index}] was streamed but is missing from output_item.done",
                ev,
            )
            continue
        final = content[part.index]
        if not isinstance(final, dict):
            continue
        key = "refusal" if part.type == "refusal" else "text"
        streamed = part.text
        got = final.get(key)
        if (
            isinstance(got, str)
            and got != streamed
            and (part.delta_count or part.done_text is not None)
        ):
            st.emit(
                "item-done-mismatch",
                f"content[{part.index}].{key}: {first_difference(streamed, got)}",
                ev,
            )


def _call_done(st: CheckState, ev: Event, node: ItemNode, item: dict[str, Any]) -> None:
    key = "input" if node.type == "custom_tool_call" else "arguments"
    streamed = node.streamed_arguments
    got = item.get(key)
    if streamed is not None and isinstance(got, str) and got != streamed:
        st.emit("item-done-mismatch", f"{key}: {first_difference(streamed, got)}", ev)


def _reasoning_done(st: CheckState, ev: Event, node: ItemNode, item: dict[str, Any]) -> None:
    summary = item.get("summary")
    if not isinstance(summary, list):
        return
    for part in node.summary:
        if part.index < len(summary):
            final = summary[part.index]
            got = final.get("text") if isinstance(final, dict) else None
            if isinstance(got, str) and got != part.text:
                st.emit(
                    "item-done-mismatch",
                    f"summary[{part.index}].text: {first_difference(part.text, got)}",
                    ev,
                )


_DONE_ITEM_CHECKS: dict[str, Callable[[CheckState, Event, ItemNode, dict[str, Any]], None]] = {
    "message": _message_done,
    "function_call": _call_done,
    "mcp_call": _call_done,
    "custom_tool_call": _call_done,
    "reasoning": _reasoning_done,
}

define(
    "consistency",
    "arguments-empty",
    (W, W, E),
    "A function call has empty arguments",
    'The no-argument value is "{}". Codex answers the model "failed to parse function '
    "arguments: EOF while parsing a value\" instead of running the tool; openai-python's "
    "get_final_response() raises for strict tools.",
)
define(
    "consistency",
    "arguments-invalid-json",
    (W, W, E),
    "Function call arguments are not valid JSON",
    "The tool cannot run: Codex sends the parse error back to the model as the tool output, "
    "openai-python raises for strict tools.",
)


def judge_arguments(st: CheckState, ev: Event | None, node: ItemNode, item: dict[str, Any]) -> None:
    """A function or MCP call's final arguments, once per item (``ev`` is None at the end)."""
    if node.type not in ("function_call", "mcp_call") or node.position in st.args_checked:
        return
    args = item.get("arguments")
    if not isinstance(args, str):
        return
    st.args_checked.add(node.position)
    name = item.get("name") or node.name
    strict = _strict_tool(st, name)
    severity: Severity | None = "error" if strict and st.profile != "codex" else None
    note = " (a strict tool: openai-python's get_final_response() raises)" if severity else ""
    if args.strip() == "":
        st.emit(
            "arguments-empty",
            f'{node.type} {name!r} has arguments {args!r} (use "{{}}" for no arguments){note}',
            ev,
            severity=severity,
            escalate=True,
        )
        return
    try:
        json.loads(args)
    except ValueError as exc:
        st.emit(
            "arguments-invalid-json",
            f"{node.type} {name!r}: {exc}: {short(args, 60)!r}{note}",
            ev,
            severity=severity,
            escalate=True,
        )


def _strict_tool(st: CheckState, name: Any) -> bool:
    """Whether the response's tools declare ``name`` as a strict function tool."""
    for source in (st.tree.snapshot, st.tree.created):
        tools = source.get("tools") if isinstance(source, dict) else None
        if isinstance(tools, list):
            for tool in tools:
                if (
                    isinstance(tool, dict)
                    and tool.get("name") == name
                    and tool.get("type") == "function"
                ):
                    return tool.get("strict") is True
    return False


def arguments_never_done(st: CheckState) -> None:
    """At the end: calls whose arguments only streamed (no output_item.done judged them)."""
    for node in st.tree.items:
        if node.type in ("function_call", "mcp_call") and node.position not in st.args_checked:
            args = node.streamed_arguments
            if args is not None:
                judge_arguments(st, None, node, {"arguments": args, "name": node.name})


define(
    "consistency",
    "completed-while-unfinished",
    (E, E, E),
    "response.completed while an item never finished: the answer was cut",
    "An item got neither its output_item.done nor a .done for its text or arguments, yet the "
    "response says completed: a proxy reported a cut upstream as success (LiteLLM's fake "
    "response.completed). Every client then hands over a truncated answer or truncated "
    "arguments as complete.",
)


def unfinished_items(st: CheckState) -> list[int]:
    """Positions of the items a completed response left unfinished (no .done of any kind)."""
    if st.tree.terminal_type != "response.completed":
        return []
    return [
        node.position
        for node in st.tree.items
        if node.done_item is None
        and node.arguments_done is None
        and all(p.done_text is None and p.done_part is None for p in (*node.parts, *node.summary))
        and (node.parts or node.summary or node.argument_deltas)
    ]


def completed_while_unfinished(st: CheckState) -> None:
    """At the end of a completed response: items that streamed but never finished."""
    cut = unfinished_items(st)
    if cut:
        where = ", ".join(str(p) for p in cut)
        st.emit(
            "completed-while-unfinished",
            f"item(s) {where} streamed but got no .done of any kind before response.completed",
            t=st.timing.t_end,
        )


define(
    "consistency",
    "final-output-mismatch",
    (W, W, I),
    "response.completed's output differs from the streamed items",
    "Clients that keep the final Response (openai-python's get_final_response, history replay) "
    "store items other than the ones they streamed (vLLM PR #56285).",
)


def judge_final_output(st: CheckState, ev: Event, response: dict[str, Any]) -> None:
    output = response.get("output")
    if not isinstance(output, list):
        return
    streamed = st.tree.items
    if len(output) != len(streamed):
        st.emit(
            "final-output-mismatch",
            f"{ev.type} lists {len(output)} output item(s); {len(streamed)} were streamed",
            ev,
        )
        return
    for node, final in zip(streamed, output, strict=True):
        diff = _item_difference(node.to_dict(), final)
        share_item_texts(node, final)
        if diff:
            st.emit(
                "final-output-mismatch",
                f"output[{node.position}] differs from the streamed {node.type}: {diff}",
                ev,
            )


def _normalise(value: Any) -> Any:
    """Drop keys that legitimately differ between copies of an item (reference T7)."""
    if isinstance(value, dict):
        return {
            k: _normalise(v)
            for k, v in value.items()
            if k not in ("encrypted_content", "obfuscation")
        }
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


def _item_difference(expected: dict[str, Any], final: Any) -> str | None:
    if not isinstance(final, dict):
        return f"not an object ({m.json_type(final)})"
    a, b = _normalise(expected), _normalise(final)
    if a == b:
        return None
    for k in sorted(set(a) | set(b)):
        if a.get(k) != b.get(k):
            return f"`{k}` is {short(b.get(k), 50)} in the final output, {short(a.get(k), 50)} streamed"
    return "differs"


define(
    "consistency",
    "usage-missing",
    (W, I, I),
    "The terminal response has no usage",
    "Cost and context-window accounting (Codex's token counter) see zero tokens.",
)
define(
    "consistency",
    "usage-arithmetic",
    (W, W, I),
    "Usage numbers do not add up",
    "total_tokens must equal input + output, and reasoning_tokens cannot exceed output_tokens; "
    "billing and context accounting go wrong.",
)


def judge_usage(st: CheckState, ev: Event, etype: str, response: dict[str, Any]) -> None:
    usage = response.get("usage")
    if usage is None:
        if etype != "response.failed":
            st.emit("usage-missing", f"{etype} has no usage", ev)
        return
    report_issues(st, ev, etype, m.validate_usage(usage))
    if isinstance(usage, dict):
        _usage_arithmetic(st, ev, usage)


def _usage_arithmetic(st: CheckState, ev: Event, usage: dict[str, Any]) -> None:
    inp, out, total = (
        usage.get("input_tokens"),
        usage.get("output_tokens"),
        usage.get("total_tokens"),
    )
    if is_int(inp) and is_int(out) and is_int(total) and inp + out != total:
        st.emit("usage-arithmetic", f"total_tokens {total} != input {inp} + output {out}", ev)
    details = usage.get("output_tokens_details")
    if isinstance(details, dict):
        reasoning = details.get("reasoning_tokens")
        if is_int(reasoning) and is_int(out) and reasoning > out:
            st.emit(
                "usage-arithmetic",
                f"reasoning_tokens {reasoning} > output_tokens {out}",
                ev,
                severity="info",
            )
