"""The rows of a session, kept compact so a million-event capture stays browsable.

One row per frame (event, comment keep-alive, [DONE], undecodable data). Per-row facts live in
typed arrays (a few dozen bytes a row); the raw bytes in one buffer; the one-line summary and the
decoded payload are computed only for rows someone looks at (toolong's approach: index, then read
lazily). Appends come from one writer (the session's thread or task) while the UI reads: an array
append is atomic under the GIL and readers only look below ``len(store)``.
"""

from __future__ import annotations

import json
import re
from array import array
from collections import OrderedDict
from typing import Any

from .events import Event, decode_frame
from .findings import Finding
from .sse import SSEFramer

KIND_CODES = {"event": 0, "done": 1, "comment": 2, "invalid": 3, "blank": 4}
KINDS = {v: k for k, v in KIND_CODES.items()}
MARKS = {"info": 1, "warning": 2, "error": 3}
MARK_NAMES = {v: k for k, v in MARKS.items()}
_MARKED = re.compile(rb"[^\x00]")


class RowStore:
    def __init__(self, *, keep_findings_per_rule: int = 5000) -> None:
        self.data = bytearray()
        """The stream's bytes, in arrival order (row raw bytes are slices of it)."""
        self.offset = array("q")
        self.length = array("l")
        self.t_first = array("d")
        self.t = array("d")
        self.gap = array("d")
        self.seq = array("q")
        self.kind = bytearray()
        self.type_code = array("H")
        self.item = array("l")
        self.marks = bytearray()
        self.types: list[str] = [""]
        self._type_ids: dict[str, int] = {"": 0}
        self.findings: list[Finding] = []
        """Findings in the order they were made (capped per rule; marks keep every row)."""
        self.rule_counts: dict[str, int] = {}
        self.by_row: dict[int, list[Finding]] = {}
        self.keep_findings_per_rule = keep_findings_per_rule
        self._summaries: OrderedDict[int, str] = OrderedDict()
        self.version = 0
        """Bumped on every change, so views know when to redraw."""

    def __len__(self) -> int:
        return len(self.marks)

    # -- writing ------------------------------------------------------------------------------

    def append_bytes(self, chunk: bytes) -> None:
        self.data += chunk

    def add_row(self, ev: Event, findings: list[Finding], item: int | None) -> None:
        frame = ev.frame
        self.offset.append(frame.offset)
        self.length.append(len(frame.raw))
        self.t_first.append(frame.t_first)
        self.t.append(frame.t_last)
        self.gap.append(ev.gap)
        seq = ev.sequence_number
        self.seq.append(-1 if seq is None else seq)
        self.kind.append(KIND_CODES[ev.kind])
        name = ev.type or ""
        code = self._type_ids.get(name)
        if code is None:
            code = self._type_ids[name] = len(self.types)
            self.types.append(name)
        self.type_code.append(code)
        self.item.append(-1 if item is None else item)
        self.marks.append(0)
        self.add_findings(findings)
        self.version += 1

    def add_findings(self, findings: list[Finding]) -> None:
        """Findings tied to rows (or to the end of the stream: event_index None)."""
        for f in findings:
            n = self.rule_counts.get(f.rule, 0) + 1
            self.rule_counts[f.rule] = n
            row = f.event_index
            if row is not None and 0 <= row < len(self.marks):
                mark = MARKS[f.severity]
                if mark > self.marks[row]:
                    self.marks[row] = mark
            if n <= self.keep_findings_per_rule:
                self.findings.append(f)
                if row is not None:
                    self.by_row.setdefault(row, []).append(f)
        if findings:
            self.version += 1

    # -- reading ------------------------------------------------------------------------------

    def raw(self, row: int) -> bytes:
        start = self.offset[row]
        return bytes(self.data[start : start + self.length[row]])

    def type_of(self, row: int) -> str:
        return self.types[self.type_code[row]]

    def kind_of(self, row: int) -> str:
        return KINDS[self.kind[row]]

    def mark_of(self, row: int) -> str | None:
        return MARK_NAMES.get(self.marks[row])

    def event(self, row: int) -> Event:
        """The row decoded again from its bytes (for the detail pane)."""
        framer = SSEFramer()
        raw = self.raw(row)
        frames = framer.feed(raw, self.t[row]) + framer.finish(self.t[row])
        frame = frames[0]
        frame.index, frame.offset, frame.t_first = row, self.offset[row], self.t_first[row]
        ev = decode_frame(frame)
        ev.gap = self.gap[row]
        return ev

    def summary(self, row: int) -> str:
        cached = self._summaries.get(row)
        if cached is not None:
            self._summaries.move_to_end(row)
            return cached
        text = summarize(self.event(row))
        self._summaries[row] = text
        if len(self._summaries) > 4096:
            self._summaries.popitem(last=False)
        return text

    def next_marked(self, row: int, step: int = 1) -> int | None:
        """The next (step 1) or previous (step -1) row with a finding."""
        if step > 0:
            m = _MARKED.search(self.marks, row + 1)
            return m.start() if m else None
        for r in range(min(row - 1, len(self.marks) - 1), -1, -1):
            if self.marks[r]:
                return r
        return None

    def rows_of_item(self, position: int) -> list[int]:
        return [i for i, p in enumerate(self.item) if p == position]


def _clip(text: str, n: int = 120) -> str:
    text = text.replace("\r", "␍").replace("\n", "⏎")
    return text if len(text) <= n else text[: n - 1] + "…"


def summarize(ev: Event) -> str:
    """A one-line summary of a row: the delta text, the item id, the status, the error…"""
    if ev.kind == "comment":
        return _clip(":" + ":".join(ev.frame.comments))
    if ev.kind == "blank":
        return "(blank lines)"
    if ev.kind == "done":
        return "[DONE]"
    if ev.kind == "invalid":
        return _clip(f"{ev.error}: {ev.frame.data or ''}")
    p: dict[str, Any] = ev.payload or {}
    etype = ev.type or ""
    if "delta" in p:
        delta = p["delta"]
        return _clip(
            json.dumps(delta, ensure_ascii=False)
            if not isinstance(delta, str)
            else repr(delta)[1:-1]
        )
    if etype.startswith("response.output_item."):
        item = p.get("item") if isinstance(p.get("item"), dict) else {}
        bits = [str(item.get("type")), str(item.get("id") or item.get("call_id") or "")]
        if item.get("name"):
            bits.append(f"{item['name']}()")
        if item.get("status"):
            bits.append(str(item["status"]))
        return _clip(" ".join(b for b in bits if b))
    if isinstance(p.get("response"), dict):
        r = p["response"]
        bits = [str(r.get("id", "")), str(r.get("status", ""))]
        if isinstance(r.get("error"), dict):
            bits.append(str(r["error"].get("message", "")))
        if isinstance(r.get("incomplete_details"), dict):
            bits.append(str(r["incomplete_details"].get("reason", "")))
        return _clip(" ".join(b for b in bits if b))
    if etype == "error":
        e = p.get("error") if isinstance(p.get("error"), dict) else p
        return _clip(f"{e.get('code') or ''} {e.get('message') or ''}".strip())
    for key in ("text", "arguments", "refusal", "input", "code"):
        if isinstance(p.get(key), str):
            return _clip(repr(p[key])[1:-1])
    if isinstance(p.get("part"), dict):
        return _clip(f"{p['part'].get('type')} part")
    if "item_id" in p:
        return _clip(str(p["item_id"]))
    return ""
