"""Exports of a session: the reconstructed Response as JSON and a Markdown report of the findings."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

from .check import result_of
from .codex import DEFAULT_CODEX_VERSION
from .rules import RULES, report_order
from .run import Run


def _codex_version(result: dict[str, Any]) -> str:
    return next(
        (p["version"] for p in result.get("clients") or [] if p["client"] == "codex"),
        DEFAULT_CODEX_VERSION,
    )


def report_markdown(result: dict[str, Any]) -> str:
    """A findings report a person can paste into an issue."""
    codex = result["codex"]
    s = result["summary"]
    lines = [
        f"# ssescope report: {result['source']}",
        "",
        f"- profile: `{result['profile']}`",
        f"- events: {result['events']}; errors {s['errors']}, warnings {s['warnings']}, info {s['infos']}",
        f"- Codex CLI {_codex_version(result)} would: **{codex['outcome']}**: {codex['message']}",
    ]
    t = result["timing"]
    gap = t.get("longest_gap")
    lines.append(
        f"- timing: first byte {t.get('time_to_first_byte')} s, response.created {t.get('time_to_created')} s, "
        f"first content {t.get('time_to_first_content')} s"
        + (f", longest gap {gap['seconds']} s after {gap['after']}" if gap else "")
    )
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


def export_run(run: Run, directory: str | Path) -> list[Path]:
    """Write ``<stamp>.response.json`` and ``<stamp>.report.md``; returns their paths."""
    out = Path(directory)
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
