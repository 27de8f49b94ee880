"""Human-readable reports of check results, rendered with rich (a shell concern, not the core)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from .core.check import codex_version
from .core.rules import RULES, report_order

SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SEV_MARK = {"error": "✗", "warning": "!", "info": "i"}
OUTCOME_STYLE = {
    "ok": "bold green",
    "empty": "bold yellow",
    "loss": "bold yellow",
    "hang": "bold magenta",
    "error": "bold red",
    "pending": "cyan",
}


def _secs(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def _clip(text: str, n: int = 70) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= n else text[: n - 1] + "…"


def summary_line(result: dict[str, Any]) -> Text:
    s = result["summary"]
    codex = result["codex"]
    mark, style = ("✓", "bold green") if s["errors"] == 0 else ("✗", "bold red")
    line = Text()
    line.append(f"{mark} ", style)
    line.append(f"{s['errors']} error(s), {s['warnings']} warning(s), {s['infos']} info", style)
    line.append(f" · {result['events']} events · {_secs(result['timing'].get('duration'))}")
    line.append(" · Codex: ")
    line.append(codex["outcome"], OUTCOME_STYLE.get(codex["outcome"], ""))
    line.append(f" — {_clip(codex['message'], 90)}")
    return line


def findings_section(result: dict[str, Any], per_rule: int = 5) -> Group | Text:
    counts: dict[str, int] = result.get("finding_counts", {})
    if not counts:
        return Text("No findings.", "green")
    grouped: dict[str, list[dict[str, Any]]] = {}
    for f in result["findings"]:
        grouped.setdefault(f["rule"], []).append(f)
    order = sorted(grouped, key=lambda r: report_order(r, grouped[r][0]["severity"]))
    parts: list[Any] = []
    for rule_id in order:
        items = grouped[rule_id]
        sev = items[0]["severity"]
        head = Text()
        head.append(f"{SEV_MARK[sev]} {rule_id}", SEV_STYLE[sev])
        head.append(f"  ×{counts.get(rule_id, len(items))}  ", "dim")
        head.append(RULES[rule_id].title, "bold")
        parts.append(head)
        for f in items[:per_rule]:
            where = []
            if f["event_index"] is not None:
                where.append(f"row {f['event_index']}")
            if f["sequence_number"] is not None:
                where.append(f"seq {f['sequence_number']}")
            if f["t"] is not None:
                where.append(f"t={f['t']:.3f}s")
            line = Text("    ")
            line.append(" ".join(where) + ": " if where else "", "dim")
            line.append(f["message"])
            parts.append(line)
        more = counts.get(rule_id, len(items)) - min(per_rule, len(items))
        if more > 0:
            parts.append(Text(f"    … and {more} more", "dim"))
        parts.append(Text(f"    why: {RULES[rule_id].why}", "italic dim"))
    return Group(*parts)


def _quoted(label: str, text: object) -> Text:
    return Text(label, "dim") + Text(_clip(repr(str(text)), 80))


def _message_parts(node: Tree, item: dict[str, Any]) -> None:
    for j, part in enumerate(item.get("content") or []):
        if isinstance(part, dict):
            node.add(
                _quoted(f"{j} {part.get('type')}: ", part.get("text", part.get("refusal", "")))
            )


def _call_arguments(node: Tree, item: dict[str, Any]) -> None:
    args = item.get("arguments", item.get("input", ""))
    valid = Text("")
    if item.get("type") != "custom_tool_call" and isinstance(args, str):
        try:
            json.loads(args)
            valid = Text(" ✓ JSON", "green")
        except ValueError:
            valid = Text(" ✗ not JSON", "red")
    node.add(Text("arguments: ", "dim") + Text(_clip(repr(args), 80)) + valid)


def _reasoning_parts(node: Tree, item: dict[str, Any]) -> None:
    for key in ("summary", "content"):
        for j, part in enumerate(item.get(key) or []):
            if isinstance(part, dict):
                node.add(_quoted(f"{key} {j}: ", part.get("text", "")))


ITEM_DETAIL: dict[str, Callable[[Tree, dict[str, Any]], None]] = {
    "message": _message_parts,
    "function_call": _call_arguments,
    "mcp_call": _call_arguments,
    "custom_tool_call": _call_arguments,
    "reasoning": _reasoning_parts,
}
"""What the tree shows under an output item, by its type (other types: the head line only)."""


def _item_head(i: int, item: dict[str, Any]) -> Text:
    head = Text(f"[{i}] ", "dim")
    head.append(str(item.get("type", "?")), "bold")
    ident = item.get("id") or item.get("call_id")
    if ident:
        head.append(f" {ident}")
    if item.get("name"):
        head.append(f" {item['name']}()", "magenta")
    head.append(f"  {item.get('status', '')}", "dim")
    return head


def tree_section(result: dict[str, Any]) -> Tree:
    response = result.get("response") or {}
    label = Text("response ", "bold")
    label.append(str(response.get("id", "(no id)")))
    label.append(f"  {response.get('status', '?')}", "dim")
    tree = Tree(label)
    for i, item in enumerate(response.get("output") or []):
        if not isinstance(item, dict):
            tree.add(Text(f"[{i}] {escape(json.dumps(item))[:60]}", "red"))
            continue
        node = tree.add(_item_head(i, item))
        detail = ITEM_DETAIL.get(item.get("type", "?"))
        if detail is not None:
            detail(node, item)
    return tree


def timing_section(result: dict[str, Any]) -> Text:
    t = result["timing"]
    line = Text()
    if result.get("format") in ("sse", "jsonl-events") and not t.get("duration"):
        line.append("no arrival times in this format (a capture or a live URL has them)", "dim")
        line.append(
            f"\n{t['events']} events, {t['comments']} comment line(s), {t['keepalives']} keepalive(s), {t['bytes']} bytes",
            "dim",
        )
        return line
    line.append("first byte ", "dim")
    line.append(_secs(t.get("time_to_first_byte")))
    line.append(" · response.created ", "dim")
    line.append(_secs(t.get("time_to_created")))
    line.append(" · first content ", "dim")
    line.append(_secs(t.get("time_to_first_content")))
    gap = t.get("longest_gap")
    if gap:
        line.append(" · longest gap ", "dim")
        line.append(_secs(gap["seconds"]))
        where = (
            f"before row {gap['event_index']}"
            if gap["event_index"] is not None
            else "until the end"
        )
        line.append(f" {where} (after {gap['after'] or 'the request'})", "dim")
    line.append(
        f"\n{t['events']} events, {t['comments']} comment line(s), {t['keepalives']} keepalive(s), {t['bytes']} bytes",
        "dim",
    )
    end = result.get("end")
    if end:
        line.append(
            f"; ended: {end['reason']}" + (f" ({end['error']})" if end.get("error") else ""), "dim"
        )
    return line


def codex_section(result: dict[str, Any]) -> Text:
    codex = result["codex"]
    line = Text(f"Codex CLI {codex_version(result)} would: ")
    line.append(codex["outcome"], OUTCOME_STYLE.get(codex["outcome"], ""))
    line.append(f" — {codex['message']}")
    for d in codex.get("detail") or []:
        line.append(f"\n  · {d}", "dim")
    return line


def clients_section(result: dict[str, Any]) -> Text:
    """One line per modelled client: its outcome and what its caller sees."""
    text = Text()
    for i, p in enumerate(result.get("clients") or []):
        if i:
            text.append("\n")
        text.append(f"{p['client']:<22} ", "bold")
        text.append(f"{p['outcome']:<5}", OUTCOME_STYLE.get(p["outcome"], ""))
        text.append(f" {p['message']}")
        if p.get("detail") and p["outcome"] != "ok":
            text.append(f"\n{'':<28}{p['detail']}", "dim")
    return text


def print_report(console: Console, result: dict[str, Any], *, verbose: bool = False) -> None:
    title = Text(f"{result['source']}", "bold")
    if "stream" in result:
        title.append(f"  (response {result['stream'] + 1} in the file)", "dim")
    title.append(f"  [{result['format']}, profile {result['profile']}]", "dim")
    console.print(title)
    for w in result.get("warnings") or []:
        console.print(Text(f"warning: {w}", "yellow"))
    console.print(summary_line(result))
    console.print()
    console.print(Text("Findings", "bold underline"))
    console.print(findings_section(result, per_rule=50 if verbose else 5))
    console.print()
    console.print(Text("Output items", "bold underline"))
    console.print(tree_section(result))
    console.print()
    console.print(Text("Timing", "bold underline"))
    console.print(timing_section(result))
    console.print()
    console.print(codex_section(result))
    if result.get("clients"):
        console.print()
        console.print(Text("What each client does", "bold underline"))
        console.print(clients_section(result))
