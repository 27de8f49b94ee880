"""Turning rows and results into rich Text for the widgets (pure functions: tested without a screen)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.syntax import Syntax
from rich.text import Text

from ..core.clients import CLIENTS, SHORT_NAMES, ClientPrediction
from ..core.codex import CodexPrediction
from ..core.events import Event
from ..core.findings import Finding
from ..core.redact import redact_text
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


TYPE_FULL = 38
"""The longest event type the protocol has (response.function_call_arguments.delta)."""
TYPE_MIN = 14
"""Below this an abbreviated type no longer tells its events apart."""
SUMMARY_MIN = 24
"""The summary column (the delta text, the item id) keeps at least this much before any other
column but the type gives way."""
GAP_WIDTH = 9
"""``+ 125 ms`` and its space."""


def abbreviate_type(etype: str, width: int) -> str:
    """An event type in ``width`` columns, keeping what tells rows apart: the end.

    ``response.`` goes first (every type has it), then the head, cut at a ``.`` or ``_`` where it
    can be and marked with ``…``: ``response.output_text.delta`` → ``output_text.delta`` →
    ``…text.delta``, so a delta row never looks like a done row."""
    if len(etype) <= width:
        return etype
    short = etype.removeprefix("response.")
    if len(short) <= width:
        return short
    room = width - 1
    if room <= 0:
        return "…"[:width]
    tail = short[-room:]
    if short[-room - 1] not in "._":
        boundary = next((i for i, ch in enumerate(tail) if ch in "._"), None)
        if boundary is not None and len(tail) - boundary - 1 >= room // 2:
            tail = tail[boundary + 1 :]
    return "…" + tail


@dataclass(frozen=True)
class RowLayout:
    """The event list's columns for one width: what is shown and how wide (0: dropped).

    Columns give way in order of how little they tell: the sequence number first (the row
    number and the sequence findings remain), then the arrival time (the gap remains), then
    the type narrows down to :data:`TYPE_MIN`; the summary keeps :data:`SUMMARY_MIN`."""

    index: int
    seq: int
    t: int
    gap: int
    type: int

    @property
    def fixed(self) -> int:
        """Columns before the summary: the mark, then each shown column and its space."""
        return (
            1 + sum(w + 1 for w in (self.index, self.seq, self.t) if w) + self.gap + self.type + 1
        )


def row_layout(width: int, rows: int, last_t: float, *, timed: bool = True) -> RowLayout:
    """The columns of an event list ``width`` wide holding ``rows`` rows whose last arrival time
    is ``last_t`` (an untimed source shows neither time nor gap: both would read 0)."""
    digits = max(4, len(str(max(rows - 1, 0))))
    t_width = max(5, len(f"{last_t:.3f}")) if timed else 0
    layout = RowLayout(digits, digits, t_width, GAP_WIDTH if timed else 0, TYPE_FULL)
    for drop in ("seq", "t", None):
        room = width - layout.fixed + layout.type - SUMMARY_MIN
        if room >= TYPE_FULL - len("response.") or drop is None:
            break
        layout = RowLayout(**{**layout.__dict__, drop: 0})
    room = width - layout.fixed + layout.type - SUMMARY_MIN
    return RowLayout(**{**layout.__dict__, "type": max(TYPE_MIN, min(TYPE_FULL, room))})


def visible_bytes(raw: bytes, limit: int = RAW_LIMIT, total: int | None = None) -> Text:
    """The raw bytes exactly as received, with the invisible made visible: CR ␍, LF ␊, a BOM,
    bytes that are not UTF-8 (⟨ff⟩), tabs. ``total``: the frame's size when ``raw`` is only its
    first bytes (a huge frame is not joined to be shown)."""
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
    size = len(raw) if total is None else total
    if size > limit:
        out.append(f"\n… {size - limit:,} more bytes", "dim")
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


def row_header(ev: Event, store: RowStore, row: int, *, timed: bool = True) -> Text:
    """The detail pane's first lines: row, sequence number, arrival (``timed`` False: the
    source recorded none, so say so instead of t=0), size and offset, type and item."""
    out = Text()
    out.append(f"row {row}", "bold")
    seq = ev.sequence_number
    if seq is not None:
        out.append(f"  seq {seq}")
    if timed:
        out.append(f"  t={ev.frame.t_first:.3f}…{ev.frame.t_last:.3f} s  +{secs(ev.gap)}", "dim")
    else:
        out.append("  no timing (not recorded in this file)", "dim")
    out.append(f"  {ev.frame.nbytes:,} bytes at offset {ev.frame.offset:,}", "dim")
    if ev.type:
        out.append(f"\n{ev.type}", "bold cyan")
    elif ev.kind != "event":
        out.append(f"\n{ev.kind}", "dim")
    if store.item[row] >= 0:
        out.append(f"  item {store.item[row]}", "dim")
    return out


CLIENT_MARKS = {"ok": ("✓", "green"), "error": ("✗", "bold red"), "loss": ("~", "bold yellow"),
                "hang": ("⧗", "bold magenta"), "pending": ("…", "cyan")}  # fmt: skip


def client_strip(predictions: Sequence[ClientPrediction]) -> Text:
    """Every client in a few columns each (``py✓ node✗ ai-sdk~``): the detail is on ``c``."""
    out = Text()
    for p in predictions:
        if p.client == "codex":
            continue  # the Codex line beside it says more
        mark, style = CLIENT_MARKS.get(p.outcome, ("?", ""))
        out.append(f" {SHORT_NAMES.get(p.client, p.client)}", "dim" if p.outcome == "ok" else "")
        out.append(mark, style)
    return out


def clients_report(predictions: Sequence[ClientPrediction]) -> str:
    """The ``c`` screen: each client's outcome, what its caller sees, and why."""
    lines = []
    for p in predictions:
        model = CLIENTS.get(p.client)
        lines.append(f"{p.client} {p.version}: {p.outcome.upper()}")
        lines.append(f"  {p.message}")
        if p.detail:
            lines.append(f"  why: {p.detail}")
        if model is not None:
            lines.append(f"  reads with {model.reads_with}; {model.verified}")
        lines.append("")
    return "\n".join(lines) or "no client has read this stream yet"


def prediction_line(
    codex: CodexPrediction, clients: Sequence[ClientPrediction], width: int
) -> Text:
    """The Codex prediction with the client strip at its end, fitted to ``width``."""
    strip = client_strip(clients)
    line = prediction_text(codex)
    room = width - len(strip.plain) - 4  # the "  │" between them, and a column to spare
    if width > 0 and len(line.plain) > room > 10:
        line.truncate(room, overflow="ellipsis")
    if strip.plain:
        line.append("  │", "dim")
        line.append_text(strip)
    return line


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
    note: str = "",
    width: int = 0,
) -> Text:
    """The debugger's header: what is shown and in which state on one line, then the first of
    its error, warnings or recording path. ``waiting``: what to say before the first session;
    ``note``: what the mode adds (indexing progress, the demo's scenario). ``width`` (0: any):
    the first line is fitted to it, shortening the least telling parts first (the program's
    name, then the source's head, then the word "profile"), so it never wraps."""
    if run is None:
        text = Text("ssescope ", "bold")
        text.append(redact_text(waiting), "dim")
        return text
    parts = _head_parts(run, profile, session, replay, note)
    text = _fit_line(parts, width)
    second = _second_line(run)
    if width > 0:
        second.truncate(width + 1, overflow="ellipsis")  # its leading newline takes no column
    text.append_text(second)
    return text


_Part = tuple[str, str, str]
"""(role, text, style) of one piece of the header's first line."""


def _head_parts(
    run: Run, profile: str, session: tuple[int, int], replay: Replay | None, note: str
) -> list[_Part]:
    status = run.http_status
    state = run.state if status is None else f"HTTP {status} · {run.state}"
    failed = run.state == "failed" or (status is not None and status >= 400)
    counts = run.checker.log
    parts: list[_Part] = [
        ("brand", "ssescope ", "bold"),
        ("label", redact_text(run.info.label), ""),
        ("", f"  {state}", "bold red" if failed else "dim"),
        ("", f"  {len(run.store):,} rows  ", "dim"),
        ("", f"✗{counts.count('error')} ", "red"),
        ("", f"!{counts.count('warning')} ", "yellow"),
        ("profile", f"profile {profile}", "magenta"),
    ]
    index, count = session
    if count > 1:
        parts.append(("", f"  session {index + 1}/{count}", "bold"))
    if replay is not None and run is replay.run:
        play = "▶" if replay.playing else "⏸"
        timing = f" t={replay.clock:.2f}s" if run.options.timed else ""
        parts.append(("", f"  replay {play} ×{replay.speed:g}{timing}", "cyan"))
    if note:
        parts.append(("", f"  {note}", "cyan"))
    return parts


LABEL_MIN = 12
"""The header keeps at least this much of the source's name (its end: the file, the path)."""


def _fit_line(parts: list[_Part], width: int) -> Text:
    def length() -> int:
        return sum(len(text) for _, text, _ in parts)

    def replace(role: str, text: str) -> None:
        parts[:] = [(r, text if r == role else t, s) for r, t, s in parts]

    if width > 0 and length() > width:
        replace("brand", "")
    label = next(t for r, t, _ in parts if r == "label")
    if width > 0 and length() > width:
        replace("label", _left_ellipsis(label, max(LABEL_MIN, len(label) - (length() - width))))
    if width > 0 and length() > width:
        replace("profile", next(t for r, t, _ in parts if r == "profile").split()[-1])
    text = Text()
    for _, piece, style in parts:
        text.append(piece, style)
    if width > 0:
        text.truncate(width, overflow="ellipsis")
    return text


def _left_ellipsis(text: str, room: int) -> str:
    return text if len(text) <= room else "…" + text[-(room - 1) :]


def _second_line(run: Run) -> Text:
    if run.error:
        return Text(f"\n{run.error}", "bold red")
    if run.info.warnings:
        return Text(f"\nwarning: {'; '.join(run.info.warnings)}", "yellow")
    if run.info.record_path:
        return Text(f"\nrecording to {run.info.record_path}", "dim")
    return Text()


def raw_metrics_view(run: Run | None) -> tuple[str | None, str]:
    """What ``m`` shows: (a title, the server's raw /metrics text) when there is a scrape to
    show, else (None, why there is none), worded for the situation: a capture (which keeps the
    numbers read from /metrics, not its text), a server that answered 404 or did not answer, a
    session without samples yet."""
    tracker = run.health if run is not None else None
    sample = tracker.history.latest("server") if tracker is not None else None
    if run is None or sample is None:
        if run is not None and run.info.kind != "live":
            return None, "m shows the server's raw /metrics: this file recorded no server samples"
        return None, "no server sample yet: m shows the raw /metrics once the first poll answers"
    where = f"{sample.url}/metrics"
    if sample.raw_text:
        return f"{where} ({sample.kind}) at t={sample.t:.2f}s", sample.raw_text
    if run.info.kind != "live":
        return None, (
            f"{where}: a capture keeps the numbers read from /metrics, not its text "
            "(the raw text shows live, with connect --server)"
        )
    return None, f"{where}: {_endpoint_words(sample.metrics)}"


def _endpoint_words(endpoint: Any) -> str:
    """Why a live /metrics poll has no text (a health ``Endpoint``: state, status, detail)."""
    state, status, detail = endpoint.state, endpoint.status, endpoint.detail
    if state == "absent" or status == 404:
        return (
            "the server answered 404: it serves no metrics there "
            "(llama.cpp needs --metrics; vLLM and SGLang serve them by default)"
        )
    if state in ("refused", "not-answering", "error"):
        words = {"refused": "nothing listens", "not-answering": "no answer within the poll"}
        return f"not read ({words.get(state, 'transport error')}{': ' + detail if detail else ''})"
    if status is not None and status >= 400:
        return f"the server answered HTTP {status}{': ' + detail if detail else ''}"
    return "the answer had no text (an empty scrape)"


def chat_line(line: str) -> str:
    """One ``data:`` line of an upstream Chat Completions stream, said in a few words: the text
    or reasoning it adds, the tool call fragment, the finish reason, the usage, an error.
    Anything else (a comment, an ``event:`` line, text that is not JSON) is shown as it is."""
    body = line[5:].strip() if line.startswith("data:") else None
    if body is None:
        return line
    if body == "[DONE]":
        return "[DONE]"
    try:
        chunk = json.loads(body)
    except ValueError:
        return line
    if not isinstance(chunk, dict):
        return line
    words = _chat_words(chunk)
    return "  ".join(words) if words else "(empty chunk)"


def _chat_words(chunk: dict[str, Any]) -> list[str]:
    words: list[str] = []
    if "error" in chunk:
        words.append(f"error {json.dumps(chunk['error'], ensure_ascii=False)[:200]}")
    for choice in chunk.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        words += _delta_words(_as_dict(choice.get("delta")))
        if choice.get("finish_reason"):
            words.append(f"finish {choice['finish_reason']}")
    usage = chunk.get("usage")
    if isinstance(usage, dict):
        words.append(
            f"usage {usage.get('prompt_tokens', '?')} in + {usage.get('completion_tokens', '?')} out"
        )
    return words


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _delta_words(delta: dict[str, Any]) -> list[str]:
    words: list[str] = []
    if delta.get("role"):
        words.append(f"role {delta['role']}")
    for key, name in (("content", "text"), ("reasoning_content", "reasoning"),
                      ("reasoning", "reasoning"), ("refusal", "refusal")):  # fmt: skip
        if isinstance(delta.get(key), str) and delta[key]:
            words.append(f"{name} {_clip(repr(delta[key])[1:-1], 200)!s}")
    for call in delta.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = _as_dict(call.get("function"))
        head = f"tool[{call.get('index', '?')}]"
        if call.get("id"):
            head += f" {call['id']}"
        if function.get("name"):
            head += f" {function['name']}()"
        if function.get("arguments"):
            head += f" args {function['arguments']}"
        words.append(head)
    return words
