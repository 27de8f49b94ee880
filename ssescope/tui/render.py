"""Turning rows and results into rich Text for the widgets (pure functions: tested without a screen)."""

from __future__ import annotations

import json
from typing import Any

from rich.syntax import Syntax
from rich.text import Text

from ..core.codex import CodexPrediction
from ..core.events import Event
from ..core.findings import Finding
from ..core.rules import RULES
from ..core.run import Replay, Run
from ..core.store import RowStore
from ..core.tree import ItemNode

SEV_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
SEV_MARK = {"error": "✗", "warning": "!", "info": "i", None: " "}
OUTCOME_STYLE = {"ok": "bold green", "empty": "bold yellow", "error": "bold red", "pending": "cyan"}
RAW_LIMIT = 20_000
JSON_LIMIT = 200_000


def secs(v: float | None) -> str:
    if v is None:
        return "–"
    if v < 1:
        return f"{v * 1000:.0f} ms"
    if v < 120:
        return f"{v:.1f} s"
    return f"{int(v // 60)}:{int(v % 60):02d}"


def visible_bytes(raw: bytes, limit: int = RAW_LIMIT) -> Text:
    """The raw bytes exactly as received, with the invisible made visible: CR ␍, LF ␊, a BOM,
    bytes that are not UTF-8 (⟨ff⟩), tabs."""
    out = Text()
    shown = raw[:limit]
    if shown.startswith(b"\xef\xbb\xbf"):
        out.append("⟨BOM⟩", "bold magenta")
        shown = shown[3:]
    text = shown.decode("utf-8", errors="surrogateescape")
    buf: list[str] = []

    def flush() -> None:
        if buf:
            out.append("".join(buf))
            buf.clear()

    for ch in text:
        if ch == "\r":
            flush()
            out.append("␍", "dim cyan")
        elif ch == "\n":
            flush()
            out.append("␊\n", "dim cyan")
        elif ch == "\t":
            flush()
            out.append("⇥", "dim cyan")
        elif "\udc80" <= ch <= "\udcff":
            flush()
            out.append(f"⟨{ord(ch) - 0xDC00:02x}⟩", "bold red")
        else:
            buf.append(ch)
    flush()
    if len(raw) > limit:
        out.append(f"\n… {len(raw) - limit:,} more bytes", "dim")
    return out


def pretty_json(ev: Event) -> Syntax | Text:
    if ev.payload is None:
        if ev.kind == "invalid":
            return Text(ev.error or "not JSON", "red")
        return Text(
            "(no JSON: "
            + {
                "comment": "a comment frame",
                "done": "the [DONE] sentinel",
                "blank": "blank lines",
            }.get(ev.kind, ev.kind)
            + ")",
            "dim",
        )
    text = json.dumps(_shortened(ev.payload), indent=2, ensure_ascii=False)
    if len(text) > JSON_LIMIT:
        text = text[:JSON_LIMIT] + "\n… (truncated)"
    return Syntax(text, "json", word_wrap=True, background_color="default")


def _shortened(value: Any) -> Any:
    """``value`` with every string cut to JSON_LIMIT characters: the pane shows that much, and
    dumping a 200 MB delta whole first would cost a gigabyte (payloads nest at most 200 deep)."""
    if isinstance(value, str):
        return value if len(value) <= JSON_LIMIT else value[:JSON_LIMIT] + "…"
    if isinstance(value, dict):
        return {k: _shortened(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortened(v) for v in value[:JSON_LIMIT]]
    return value


def finding_text(findings: list[Finding]) -> Text:
    out = Text()
    if not findings:
        return Text("No findings on this row.", "dim")
    for f in findings:
        out.append(f"{SEV_MARK[f.severity]} {f.rule}", SEV_STYLE[f.severity])
        out.append(f"  {f.message}\n")
        out.append(f"  why: {RULES[f.rule].why}\n", "italic dim")
    return out


def row_header(ev: Event, store: RowStore, row: int) -> Text:
    out = Text()
    out.append(f"row {row}", "bold")
    seq = ev.sequence_number
    if seq is not None:
        out.append(f"  seq {seq}")
    out.append(f"  t={ev.frame.t_first:.3f}…{ev.frame.t_last:.3f} s  +{secs(ev.gap)}", "dim")
    out.append(f"  {len(ev.frame.raw):,} bytes at offset {ev.frame.offset:,}", "dim")
    if ev.type:
        out.append(f"\n{ev.type}", "bold cyan")
    elif ev.kind != "event":
        out.append(f"\n{ev.kind}", "dim")
    if store.item[row] >= 0:
        out.append(f"  item {store.item[row]}", "dim")
    return out


def prediction_text(p: CodexPrediction) -> Text:
    out = Text("Codex: ", "bold")
    out.append(p.outcome, OUTCOME_STYLE.get(p.outcome, ""))
    out.append(f"  {p.message}")
    if p.retried:
        out.append("  (after retries)", "dim")
    return out


def item_label(node: ItemNode) -> Text:
    out = Text(f"[{node.position}] ", "dim")
    out.append(node.type, "bold")
    ident = node.id or node.call_id
    if ident:
        out.append(f" {ident[:28]}")
    if node.name:
        out.append(f" {node.name}()", "magenta")
    status = node.status
    out.append(
        f"  {status}",
        "green" if status == "completed" else "yellow" if status == "in_progress" else "red",
    )
    return out


def _clip(text: str, n: int = 60) -> str:
    text = text[: n + 1].replace("\n", "⏎")  # clip first: an item's text can be megabytes
    return text if len(text) <= n else text[: n - 1] + "…"


def item_children(node: ItemNode) -> list[tuple[Text, Any]]:
    """Child rows of an item node: parts with their text, or arguments with a JSON mark."""
    rows: list[tuple[Text, Any]] = []
    for part in node.parts:
        label = Text(f"{part.index} {part.type} ", "dim")
        label.append(repr(_clip(part.text_head(61)))[1:-1])
        label.append(f"  ({part.delta_count} Δ, {part.status})", "dim")
        rows.append((label, ("part", node.position, part.index)))
    for part in node.summary:
        label = Text(f"summary {part.index} ", "dim")
        label.append(repr(_clip(part.text_head(61)))[1:-1])
        label.append(f"  ({part.delta_count} Δ)", "dim")
        rows.append((label, ("summary", node.position, part.index)))
    if node.type in ("function_call", "mcp_call", "custom_tool_call", "code_interpreter_call"):
        item = node.to_dict()
        key = {"custom_tool_call": "input", "code_interpreter_call": "code"}.get(
            node.type, "arguments"
        )
        value = item.get(key)
        label = Text(f"{key} ", "dim")
        label.append(repr(_clip(str(value) if value is not None else "")))
        if node.type in ("function_call", "mcp_call") and isinstance(value, str):
            try:
                json.loads(value)
                label.append("  ✓ JSON", "green")
            except ValueError:
                label.append("  ✗ not JSON", "bold red")
        rows.append((label, ("arguments", node.position, 0)))
    if node.progress:
        rows.append(
            (Text("progress " + " → ".join(node.progress), "dim"), ("progress", node.position, 0))
        )
    return rows


def diagnosis_line(run: Any) -> Text:
    """One sentence on why the stream is stalled (empty while it is not)."""
    if run is None:
        return Text()
    from ..health.diagnosis import diagnose

    history = run.health.history if run.health is not None else None
    found = diagnose(run.checker, history, run.now())
    if found is None:
        return Text()
    out = Text("Diagnosis: ", "bold")
    out.append(found.sentence)
    return out


def header(
    run: Run | None,
    *,
    waiting: str,
    profile: str,
    session: tuple[int, int],
    replay: Replay | None,
) -> Text:
    """The debugger's two header lines: what is shown and in which state, then the first of its
    error, warnings or recording path. ``waiting``: what to say before the first session."""
    text = Text("ssescope ", "bold")
    if run is None:
        text.append(waiting, "dim")
        return text
    text.append(run.info.label)
    text.append_text(_run_state(run))
    text.append_text(_counts(run, profile))
    index, count = session
    if count > 1:
        text.append(f"  session {index + 1}/{count}", "bold")
    if replay is not None and run is replay.run:
        text.append(
            f"  replay {'▶' if replay.playing else '⏸'} ×{replay.speed:g} t={replay.clock:.2f}s",
            "cyan",
        )
    text.append_text(_second_line(run))
    return text


def _run_state(run: Run) -> Text:
    status = run.http_status
    state = run.state if status is None else f"HTTP {status} · {run.state}"
    failed = run.state == "failed" or (status is not None and status >= 400)
    return Text(f"  {state}", "bold red" if failed else "dim")


def _counts(run: Run, profile: str) -> Text:
    counts = run.checker.log
    text = Text()
    text.append(f"  {len(run.store):,} rows  ", "dim")
    text.append(f"✗{counts.count('error')} ", "red")
    text.append(f"!{counts.count('warning')} ", "yellow")
    text.append(f"profile {profile}", "magenta")
    return text


def _second_line(run: Run) -> Text:
    if run.error:
        return Text(f"\n{run.error}", "bold red")
    if run.info.warnings:
        return Text(f"\nwarning: {'; '.join(run.info.warnings)}", "yellow")
    if run.info.record_path:
        return Text(f"\nrecording to {run.info.record_path}", "dim")
    return Text()
