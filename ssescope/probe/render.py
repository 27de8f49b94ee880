"""The probe's report for a person: one table row per case, then what the failures mean."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..core.clients import SHORT_NAMES
from .cases import CASES, ProbeCase

OUTCOME_STYLE = {"ok": "green", "error": "bold red", "loss": "bold red", "hang": "bold red"}


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _answer(case: dict[str, Any]) -> Text:
    return Text("accepted", "green") if case["accepted"] else Text("rejected", "bold red")


def _stream(case: dict[str, Any]) -> Text:
    """The stream's verdict: its error and warning rules, less the case's expected outcome
    (a rejected request has no stream: its findings are in the paragraph below the table)."""
    if not case["accepted"]:
        return Text("–", "dim")
    expected = CASES[case["id"]].expected if case["id"] in CASES else frozenset()
    rules = [
        f["rule"]
        for f in case["findings"]
        if f["severity"] in ("error", "warning") and f["rule"] not in expected
    ]
    if not rules:
        return Text("clean", "green")
    style = "bold red" if case["failed"] else "yellow"
    return Text(_clip(", ".join(dict.fromkeys(rules)), 48), style)


def _clients(case: dict[str, Any]) -> Text:
    clients = case["clients"] or [{"client": "codex", **case["codex"]}]
    bad = [c for c in clients if c["outcome"] != "ok"]
    if not bad:
        return Text("all ok", "green")
    outcomes = {c["outcome"] for c in bad}
    if len(bad) == len(clients) > 1 and len(outcomes) == 1:
        return Text(f"all {bad[0]['outcome']}", OUTCOME_STYLE.get(bad[0]["outcome"], "yellow"))
    expected = not case["failed"] and case["accepted"] and case["id"] in CASES
    expected = expected and bool(CASES[case["id"]].expected)
    out = Text()
    for i, c in enumerate(bad):
        out.append(", " if i else "")
        style = "yellow" if expected else OUTCOME_STYLE.get(c["outcome"], "yellow")
        name = SHORT_NAMES.get(c["client"], c["client"])  # the --json names them in full
        out.append(f"{name} {c['outcome']}", style)
    if expected:
        out.append(" (expected)", "dim")
    return out


def _killer(case: dict[str, Any]) -> Text:
    return Text("YES", "bold red") if case["thread_killer"] else Text("no", "green")


def table(report: dict[str, Any]) -> Table:
    t = Table(
        title=f"ssescope probe {escape(report['target'])} · model {escape(report['model'])}",
        title_justify="left",
        expand=False,
    )
    for name in ("case", "HTTP", "answer", "stream", "clients", "thread killer"):
        t.add_column(name, overflow="fold", no_wrap=name == "case")
    for case in report["cases"]:
        t.add_row(
            case["id"],
            str(case["status"] or "-"),
            _answer(case),
            _stream(case),
            _clients(case),
            _killer(case),
        )
    return t


def _verdict(report: dict[str, Any]) -> Text:
    s = report["summary"]
    line = Text()
    if s["thread_killers"]:
        line.append(
            f"✗ {len(s['thread_killers'])} thread killer(s): {', '.join(s['thread_killers'])}. "
            "Codex resends that part on every turn: the thread dies at the first turn that "
            "carries it.",
            "bold red",
        )
    elif s["failed"]:
        line.append(f"✗ {len(s['failed'])} case(s) failed: {', '.join(s['failed'])}", "bold red")
    else:
        line.append("✓ no thread killer, no failed case", "bold green")
    line.append(f"  ({s['cases']} cases, {s['seconds']:.2f} s)")
    return line


def _cause_lines(case: dict[str, Any], line: Text) -> None:
    cause = case["cause"]
    if cause is None:
        return
    killer = case["thread_killer"]
    line.append(
        "\n  thread killer, caused by " if killer else "\n  narrowed: ",
        "bold red" if killer else "yellow",
    )
    line.append(cause["summary"])


def _failure_lines(case: dict[str, Any], line: Text) -> None:
    """An accepted case that failed: the findings that failed it (the case's own rule first)."""
    required = CASES[case["id"]].required if case["id"] in CASES else frozenset()
    own = [f for f in case["findings"] if f["rule"] in required]
    errors = [f for f in case["findings"] if f["severity"] == "error"]
    for f in (own or errors)[:3]:
        line.append(f"\n  {f['rule']}: {_clip(f['message'], 160)}", "yellow")


def _details(report: dict[str, Any]) -> list[Text]:
    """A paragraph per rejected or failed case: the server's message, what narrowing found,
    and what the case means for a user."""
    out = []
    for case in report["cases"]:
        if case["accepted"] and not case["failed"]:
            continue
        line = Text(f"{case['id']}", "bold")
        if case["accepted"]:
            _failure_lines(case, line)
        else:
            line.append(f": HTTP {case['status']} ", "bold red")
            line.append(_clip(case["error"] or "(empty body)", 200))
            _cause_lines(case, line)
        if case["id"] in CASES:
            line.append(f"\n  {CASES[case['id']].means}", "dim")
        out.append(line)
    return out


def report_view(report: dict[str, Any]) -> Group:
    return Group(table(report), *_details(report), _verdict(report))


def case_list(cases: list[ProbeCase]) -> Table:
    t = Table(title="ssescope probe cases", title_justify="left")
    t.add_column("id", no_wrap=True)
    t.add_column("what it sends, and what a rejection means")
    for c in cases:
        t.add_row(c.id, f"{c.title}: {c.means}")
    return t
