"""The rows of a session, kept compact so a million-event capture stays browsable.

One row per frame (event, comment keep-alive, [DONE], undecodable data). What every row needs
while a file is indexed lives in typed arrays (where it starts, when it arrived, its kind and
mark: 18 bytes a row); the item it belongs to is kept only where it changes, and what the row
says (its type, sequence number, one-line summary, payload) is decoded from its bytes only for
rows someone looks at, through a bounded cache (toolong's approach: index, then read lazily).
Each array append is work on every row of a million-event file, so a fact earns one only when a
screen or a count needs it for every row.

A row's raw bytes are a range of the stream: a live session keeps the stream in memory
(:class:`MemoryBytes`), a file keeps only where each chunk starts in it and reads a row's bytes
back from a memory map when the row is shown (:class:`RawFileBytes`, :class:`RecordFileBytes`),
so memory stays flat in the number of rows apart from those arrays.

Appends come from one writer (the session's thread or task) while the UI reads: an array append
is atomic under the GIL and readers only look below ``len(store)``.
"""

from __future__ import annotations

import bisect
import json
import mmap
import re
from array import array
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from .capture import ChunkTable, Source
from .events import Event, decode_frame
from .findings import Finding
from .sse import LARGE, SSEFramer
from .tree import ResponseTree

EventSink = Callable[[Event, list[Finding]], None]

KIND_CODES = {"event": 0, "done": 1, "comment": 2, "invalid": 3, "blank": 4}
KINDS = {v: k for k, v in KIND_CODES.items()}
MARKS = {"info": 1, "warning": 2, "error": 3}
MARK_NAMES = {v: k for k, v in MARKS.items()}
_MARKED = re.compile(rb"[^\x00]")
SUMMARY_CACHE = 4096
"""Rows whose decoded facts (summary, type, sequence number) are kept: a few screens' worth, so
scrolling back and forth does not decode again."""
CHUNK_CACHE = 64
"""Decoded capture records kept: a frame that spans chunks, or a chunk that holds many frames,
is decoded once for the whole screen."""


# -- where the stream's bytes are --------------------------------------------------------------


class StreamBytes(Protocol):
    """The bytes of one stream, addressed by stream offset (what frames' offsets count)."""

    @property
    def size(self) -> int:
        """How many bytes the stream has received."""

    def add(self, chunk: bytes, t: float) -> None:
        """The stream received ``chunk`` at ``t`` (the source has just read it). The signature
        of a session's chunk callback, so a file's run hands this method to its session."""

    def read(self, start: int, end: int) -> bytes:
        """The stream's bytes ``[start, end)``."""


class MemoryBytes:
    """A live stream: there is no file to read back from (yet), so the bytes are kept."""

    def __init__(self) -> None:
        self.data = bytearray()

    @property
    def size(self) -> int:
        return len(self.data)

    def add(self, chunk: bytes, t: float = 0.0) -> None:
        self.data += chunk

    def read(self, start: int, end: int) -> bytes:
        return bytes(self.data[start:end])


class FileView:
    """A read-only memory map of a file, mapped again when a read reaches past its end (a
    capture that is still being written has grown since)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._map = self._open()

    def _open(self) -> mmap.mmap:
        with open(self.path, "rb") as fh:
            return mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)

    def _cover(self, end: int) -> mmap.mmap:
        if end > len(self._map):
            self._map = self._open()
        return self._map

    def slice(self, start: int, end: int) -> bytes:
        if end - start >= LARGE:  # read, not mapped: the mapped pages would stay in RSS too
            with open(self.path, "rb") as fh:
                fh.seek(start)
                return fh.read(end - start)
        return self._cover(end)[start:end]

    def line(self, start: int) -> bytes:
        """The line that starts at ``start``, with its line end."""
        end = self._map.find(b"\n", start, start + LARGE)
        if end == -1 and len(self._map) - start > LARGE:  # a huge line: read, not mapped
            with open(self.path, "rb") as fh:
                fh.seek(start)
                return fh.readline()
        end = self._map.find(b"\n", start)
        if end == -1:
            self._map = self._open()  # the last line may have been completed since
            end = self._map.find(b"\n", start)
        stop = len(self._map) if end == -1 else end + 1
        return self._map[start:stop]


class RawFileBytes:
    """A raw SSE file: the stream is the file from ``base`` on (after a ``curl -i`` head)."""

    def __init__(self, view: FileView, base: int) -> None:
        self.view = view
        self.base = base
        self.size = 0

    def add(self, chunk: bytes, t: float = 0.0) -> None:
        self.size += len(chunk)

    def read(self, start: int, end: int) -> bytes:
        return self.view.slice(self.base + start, self.base + end)


class RecordFileBytes:
    """A file of records, one chunk each (a capture's text/base64 lines, JSON event lines): per
    chunk, where it starts in the stream and where its record is in the file (16 bytes); a
    read decodes the records again, as the source did. A capture's reader fills that table
    itself as it yields (``fed_by_source``: no call per chunk); JSON event lines come through
    :meth:`add`."""

    def __init__(self, view: FileView, source: Source) -> None:
        self.view = view
        self.source = source
        """Knows where the record of the chunk it has just yielded is (``chunk_at``), and how a
        record line becomes its chunk (``record_chunk``)."""
        self.table = ChunkTable()
        self.starts, self.records = self.table.starts, self.table.records
        self.fed_by_source = source.format == "capture"
        if self.fed_by_source:
            source.chunk_table = self.table
        self._cache: OrderedDict[int, bytes] = OrderedDict()

    @property
    def size(self) -> int:
        return self.table.size

    def add(self, chunk: bytes, t: float = 0.0) -> None:
        table = self.table
        size = table.size
        table.size = size + len(chunk)
        self.starts.append(size)
        self.records.append(self.source.chunk_at)

    def _chunk(self, i: int) -> bytes:
        cached = self._cache.get(i)
        if cached is not None:
            self._cache.move_to_end(i)
            return cached
        at = self.records[i]
        chunk = self.source.record_chunk_from(lambda: self.view.line(at))
        if len(chunk) >= LARGE:  # a huge record is decoded again when needed, never kept
            return chunk
        self._cache[i] = chunk
        if len(self._cache) > CHUNK_CACHE:
            self._cache.popitem(last=False)
        return chunk

    def read(self, start: int, end: int) -> bytes:
        first = i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        parts: list[bytes] = []
        pos = self.starts[first] if self.starts else 0
        while pos < end and i < len(self.starts):
            chunk = self._chunk(i)
            parts.append(chunk)
            pos += len(chunk)
            i += 1
        skip = start - (self.starts[first] if self.starts else 0)
        return b"".join(parts)[skip : skip + end - start]


class _Gaps:
    """Seconds since the previous row arrived: what the checker's timing computes, derived from
    the arrival times rather than stored (``store.gap[row]`` reads like an array)."""

    __slots__ = ("_t",)

    def __init__(self, t: array[float]) -> None:
        self._t = t

    def __len__(self) -> int:
        return len(self._t)

    def __getitem__(self, row: int) -> float:
        t = self._t
        if row < 0:
            row += len(t)
        return t[row] - (t[row - 1] if row > 0 else 0.0)


class _FirstTimes:
    """When each row's first byte arrived (``store.t_first[row]``): the row's arrival time
    (``t``, its last byte) except for the few frames that span chunks, kept by row."""

    __slots__ = ("_early", "_t")

    def __init__(self, t: array[float], early: dict[int, float]) -> None:
        self._t, self._early = t, early

    def __len__(self) -> int:
        return len(self._t)

    def __getitem__(self, row: int) -> float:
        if row < 0:
            row += len(self._t)
        early = self._early.get(row)
        return self._t[row] if early is None else early


class _Items:
    """The output item each row belongs to (``store.item[row]``, -1 for none), kept as runs:
    a stream touches one item for many rows in a row, so only where it changes is stored."""

    __slots__ = ("_rows", "starts", "values")

    def __init__(self, rows: Callable[[], int]) -> None:
        self.starts = array("q")
        """The first row of each run."""
        self.values = array("i")
        """The item of each run."""
        self._rows = rows

    def __len__(self) -> int:
        return self._rows()

    def __getitem__(self, row: int) -> int:
        if row < 0:
            row += self._rows()
        if not 0 <= row < self._rows():
            raise IndexError(row)
        run = bisect.bisect_right(self.starts, row) - 1
        return self.values[run] if run >= 0 else -1

    def _end(self, run: int) -> int:
        return self.starts[run + 1] if run + 1 < len(self.starts) else self._rows()

    def rows_of(self, item: int) -> list[int]:
        rows: list[int] = []
        for i, value in enumerate(self.values):
            if value == item:
                rows.extend(range(self.starts[i], self._end(i)))
        return rows


class _Decoded:
    """One decoded fact of each row (``store.seq[row]``), read like an array."""

    __slots__ = ("_field", "_store")

    def __init__(self, store: RowStore, field: int) -> None:
        self._store, self._field = store, field

    def __len__(self) -> int:
        return len(self._store)

    def __getitem__(self, row: int) -> Any:
        return self._store.facts(row)[self._field]


# -- the rows -----------------------------------------------------------------------------------


class RowStore:
    def __init__(
        self,
        stream: StreamBytes | None = None,
        *,
        rows_end: Callable[[], int] | None = None,
        keep_findings_per_rule: int = 5000,
    ) -> None:
        self.stream: StreamBytes = stream if stream is not None else MemoryBytes()
        """Where the rows' raw bytes are (ranges of it, by ``offset``)."""
        self.offset = array("q")
        """Stream offset of each row's first byte; a row ends where the next one starts."""
        self.rows_end: Callable[[], int] = rows_end or (lambda: self.stream.size)
        """Where the last row ends: the run's framer knows (the bytes it has framed); a store
        filled without one ends it with the stream. Not kept per row: a million writes for the
        one row that needs it."""
        self.t = array("d")
        """When each row's last byte arrived."""
        self._early: dict[int, float] = {}
        """The first byte's time of the rows that span chunks (the others' is ``t``)."""
        self.t_first = _FirstTimes(self.t, self._early)
        self.gap = _Gaps(self.t)
        self.kind = bytearray()
        self.marks = bytearray()
        self.item = _Items(self.__len__)
        self.seq = _Decoded(self, 2)
        """Each row's sequence number, -1 when it has none (decoded when asked for)."""
        self.findings: list[Finding] = []
        """Findings in the order they were made (capped per rule; marks keep every row)."""
        self.rule_counts: dict[str, int] = {}
        self.by_row: dict[int, list[Finding]] = {}
        self.keep_findings_per_rule = keep_findings_per_rule
        self._facts: OrderedDict[int, tuple[str, str, int]] = OrderedDict()
        self._changes = 0
        """Changes other than a new row (findings added)."""
        self.findings_version = 0
        """Bumped when findings are added (a row without findings leaves it alone)."""

    def __len__(self) -> int:
        return len(self.marks)

    # -- writing ------------------------------------------------------------------------------

    def append_bytes(self, chunk: bytes) -> None:
        self.stream.add(chunk, 0.0)

    def event_sink(self, tree: ResponseTree) -> EventSink:
        """The session's event callback: one row per event, in the item the checker's ``tree``
        touched last. A closure over the arrays' appends, because it runs once per event of a
        million-event file and so avoids every look-up it can."""
        offsets, t_lasts, kinds, marks = self.offset.append, self.t.append, self.kind, self.marks
        kind_append, mark_append = kinds.append, marks.append
        early = self._early
        item_starts, item_values = self.item.starts.append, self.item.values.append
        kind_codes = KIND_CODES
        last_item = -2  # no run yet

        def add_row(ev: Event, findings: list[Finding]) -> None:
            nonlocal last_item
            frame = ev.frame
            offsets(frame.offset)
            t = frame.t_last
            t_lasts(t)
            if frame.t_first != t:
                early[len(marks)] = frame.t_first
            kind_append(kind_codes[ev.kind])
            item = tree.last_touched
            if item is None:
                item = -1
            if item != last_item:
                last_item = item
                item_starts(len(marks))
                item_values(item)
            mark_append(0)  # the row count: every row changes ``version``
            if findings:
                self.add_findings(findings)

        return add_row

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
            self._changes += 1
            self.findings_version += 1

    # -- reading ------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Grows on every change (a row, findings), so views know when to redraw."""
        return len(self.marks) + self._changes

    @property
    def data(self) -> bytes | bytearray:
        """The stream's bytes, in arrival order (the whole stream: for tests and exports)."""
        stream = self.stream
        if isinstance(stream, MemoryBytes):
            return stream.data
        return stream.read(0, stream.size)

    def raw(self, row: int) -> bytes:
        start = self.offset[row]
        end = self.offset[row + 1] if row + 1 < len(self.offset) else self.rows_end()
        return self.stream.read(start, end)

    def facts(self, row: int) -> tuple[str, str, int]:
        """What ``row`` says, decoded from its bytes: its one-line summary, its event type
        ("" for none) and its sequence number (-1 for none); cached for SUMMARY_CACHE rows."""
        cached = self._facts.get(row)
        if cached is not None:
            self._facts.move_to_end(row)
            return cached
        ev = self.event(row)
        seq = ev.sequence_number
        facts = (summarize(ev), ev.type or "", -1 if seq is None else seq)
        self._facts[row] = facts
        if len(self._facts) > SUMMARY_CACHE:
            self._facts.popitem(last=False)
        return facts

    def type_of(self, row: int) -> str:
        return self.facts(row)[1]

    def kind_of(self, row: int) -> str:
        return KINDS[self.kind[row]]

    def mark_of(self, row: int) -> str | None:
        return MARK_NAMES.get(self.marks[row])

    def event(self, row: int) -> Event:
        """The row decoded again from its bytes (for the detail pane)."""
        framer = SSEFramer()
        raw = self.raw(row)
        frames = framer.feed(raw, self.t[row]) + framer.finish(self.t[row])
        del raw  # a huge row's frame holds its one copy (a LargeFrame's body)
        frame = frames[0]
        frame.index, frame.offset, frame.t_first = row, self.offset[row], self.t_first[row]
        ev = decode_frame(frame)
        ev.gap = self.gap[row]
        return ev

    def summary(self, row: int) -> str:
        return self.facts(row)[0]

    def next_marked(self, row: int, step: int = 1) -> int | None:
        """The next (step 1) or previous (step -1) row with a finding."""
        if step > 0:
            m = _MARKED.search(self.marks, row + 1)
            return m.start() if m else None
        before = self.marks[: max(row, 0)].rstrip(b"\x00")
        return len(before) - 1 if before else None

    def rows_of_item(self, position: int) -> list[int]:
        return self.item.rows_of(position)


# -- one-line summaries ---------------------------------------------------------------------------


SUMMARY_SOURCE = 240
"""How much of a text a row's summary reads (it shows 120 characters)."""


def _clip(text: str, n: int = 120) -> str:
    if len(text) > n:  # cut first: a 200 MB delta's summary copies 119 characters, not 200 MB
        return text[: n - 1].replace("\r", "␍").replace("\n", "⏎") + "…"
    return text.replace("\r", "␍").replace("\n", "⏎")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _delta(p: dict[str, Any], etype: str) -> str | None:
    if "delta" not in p:
        return None
    delta = p["delta"]
    if isinstance(delta, str):
        return _clip(repr(delta[:SUMMARY_SOURCE])[1:-1])
    return _clip(json.dumps(delta, ensure_ascii=False))


def _output_item(p: dict[str, Any], etype: str) -> str | None:
    if not etype.startswith("response.output_item."):
        return None
    item = _dict(p.get("item"))
    bits = [str(item.get("type")), str(item.get("id") or item.get("call_id") or "")]
    if item.get("name"):
        bits.append(f"{item['name']}()")
    if item.get("status"):
        bits.append(str(item["status"]))
    return _clip(" ".join(b for b in bits if b))


def _response(p: dict[str, Any], etype: str) -> str | None:
    if not isinstance(p.get("response"), dict):
        return None
    r = p["response"]
    bits = [str(r.get("id", "")), str(r.get("status", ""))]
    if isinstance(r.get("error"), dict):
        bits.append(str(r["error"].get("message", "")))
    if isinstance(r.get("incomplete_details"), dict):
        bits.append(str(r["incomplete_details"].get("reason", "")))
    return _clip(" ".join(b for b in bits if b))


def _error(p: dict[str, Any], etype: str) -> str | None:
    if etype != "error":
        return None
    e = p["error"] if isinstance(p.get("error"), dict) else p
    return _clip(f"{e.get('code') or ''} {e.get('message') or ''}".strip())


def _text_field(p: dict[str, Any], etype: str) -> str | None:
    for key in ("text", "arguments", "refusal", "input", "code"):
        if isinstance(p.get(key), str):
            return _clip(repr(p[key][:SUMMARY_SOURCE])[1:-1])
    return None


def _part(p: dict[str, Any], etype: str) -> str | None:
    if isinstance(p.get("part"), dict):
        return _clip(f"{p['part'].get('type')} part")
    return None


def _item_id(p: dict[str, Any], etype: str) -> str | None:
    return _clip(str(p["item_id"])) if "item_id" in p else None


PAYLOAD_SUMMARIES: tuple[Callable[[dict[str, Any], str], str | None], ...] = (
    _delta,
    _output_item,
    _response,
    _error,
    _text_field,
    _part,
    _item_id,
)
"""What an event's summary shows, first match wins: the delta text, the item id, the status, the
error, the text of a done event…"""

KIND_SUMMARIES: dict[str, Callable[[Event], str]] = {
    "comment": lambda ev: _clip(":" + ":".join(ev.frame.comments)),
    "blank": lambda ev: "(blank lines)",
    "done": lambda ev: "[DONE]",
    "invalid": lambda ev: _clip(f"{ev.error}: {(ev.frame.data or '')[:SUMMARY_SOURCE]}"),
}
"""Rows that are not events summarise their frame."""


def summarize(ev: Event) -> str:
    """A one-line summary of a row: the delta text, the item id, the status, the error…"""
    by_kind = KIND_SUMMARIES.get(ev.kind)
    if by_kind is not None:
        return by_kind(ev)
    payload = ev.payload or {}
    etype = ev.type or ""
    for summary in PAYLOAD_SUMMARIES:
        text = summary(payload, etype)
        if text is not None:
            return text
    return ""
