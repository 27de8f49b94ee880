"""Exports of a session: the reconstructed Response as JSON and a Markdown report of the findings.

They go to the user data directory (``$XDG_DATA_HOME/ssescope/exports``, by default
``~/.local/share/ssescope/exports``) unless a directory is given, never silently into whatever
directory the program was started in; the paths returned are absolute, to be shown in full.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from .check import codex_version, result_of
from .rules import RULES, report_order
from .run import Run


def report_markdown(result: dict[str, Any]) -> str:
    """A findings report a person can paste into an issue."""
    codex = result["codex"]
    s = result["summary"]
    lines = [
        f"# ssescope report: {result['source']}",
        "",
        f"- profile: `{result['profile']}`",
        f"- events: {result['events']}; errors {s['errors']}, warnings {s['warnings']}, info {s['infos']}",
        f"- Codex CLI {codex_version(result)} would: **{codex['outcome']}**: {codex['message']}",
    ]
    lines.append(f"- timing: {timing_words(result['timing'])}")
    if result.get("clients"):
        lines += [
            "",
            "## What each client does",
            "",
            "| client | version | outcome | what it shows |",
        ]
        lines.append("|---|---|---|---|")
        for p in result["clients"]:
            message = str(p["message"]).replace("|", "\\|")
            lines.append(f"| {p['client']} | {p['version']} | **{p['outcome']}** | {message} |")
    lines += ["", "## Findings", ""]
    grouped: dict[str, list[dict[str, Any]]] = {}
    for f in result["findings"]:
        grouped.setdefault(f["rule"], []).append(f)
    if not grouped:
        lines.append("No findings.")
    for rule_id in sorted(grouped, key=lambda r: report_order(r, grouped[r][0]["severity"])):
        items = grouped[rule_id]
        count = result["finding_counts"].get(rule_id, len(items))
        lines.append(f"### `{rule_id}` ({items[0]['severity']}, ×{count})")
        lines.append("")
        lines.append(f"{RULES[rule_id].title}. {RULES[rule_id].why}")
        lines.append("")
        for f in items[:20]:
            where = f"row {f['event_index']}" if f["event_index"] is not None else "end of stream"
            seq = f", seq {f['sequence_number']}" if f["sequence_number"] is not None else ""
            lines.append(f"- {where}{seq}: {f['message']}")
        if count > 20:
            lines.append(f"- … and {count - 20} more")
        lines.append("")
    return "\n".join(lines) + "\n"


def timing_words(t: dict[str, Any]) -> str:
    """The report's timing line: the landmarks and the longest gap, and where it was (after
    which event, before which row), or that the source recorded no times at all."""
    if t.get("duration") is None and t.get("time_to_first_byte") is None:
        return "no timing (this source recorded no arrival times; a capture has them)"

    def secs(v: float | None) -> str:
        return "–" if v is None else f"{v} s"

    words = (
        f"first byte {secs(t.get('time_to_first_byte'))}, response.created "
        f"{secs(t.get('time_to_created'))}, first content {secs(t.get('time_to_first_content'))}"
    )
    gap = t.get("longest_gap")
    if gap:
        after = f"after {gap['after']}" if gap.get("after") else "after the request started"
        row = gap.get("event_index")
        where = f"before row {row}" if row is not None else "until the end of the stream"
        words += f", longest gap {gap['seconds']} s {after}, {where}"
    return words


def default_export_dir() -> Path:
    """Where exports go by default: ``exports`` in the user data directory (XDG on Linux)."""
    return Path(user_data_dir("ssescope")) / "exports"


def export_run(run: Run, directory: str | Path | None = None) -> list[Path]:
    """Write ``<stamp>.response.json`` and ``<stamp>.report.md`` into ``directory`` (None: the
    user data directory's ``exports``); returns their absolute paths."""
    out = (Path(directory) if directory is not None else default_export_dir()).absolute()
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now().strftime("ssescope-%Y%m%d-%H%M%S")
    result = result_of(run.session, run.info.label, run.info.kind, run.info.warnings)
    response_path = out / f"{stamp}.response.json"
    report_path = out / f"{stamp}.report.md"
    response_path.write_text(
        json.dumps(result["response"], indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    report_path.write_text(report_markdown(result), encoding="utf-8")
    return [response_path, report_path]
