"""Captures: the versioned JSONL format ssescope records, and readers for what people already have.

Capture format, version 1 (one JSON object per line, readable with jq)::

    {"format": "ssescope-capture", "version": 1, "created": "...", "tool": "ssescope 0.1.0",
     "request": {"method", "url", "headers", "body"},
     "response": {"status", "reason", "http_version", "headers", "t"} | null}
    {"t": 0.0123, "text": "event: response.created\\ndata: {...}\\n\\n"}   one per chunk received
    {"t": 0.0456, "base64": "..."}       a chunk that is not valid UTF-8 on its own
    {"t": 12.5, "end": "eof"}            eof | grace | max-wait | transport-error | interrupted
    {"t": 12.5, "end": "transport-error", "error": "..."}

``t`` is seconds since the request started (monotonic clock). Chunks are the exact bytes in the
order and with the boundaries they arrived, so a replay reproduces bytes and timing. Readers ignore
record kinds they do not know, so later versions can add records (health samples) compatibly.
The writer flushes after every record: a crash loses at most the chunk in flight, and a capture cut
mid-line is read up to the cut with a warning.

Readers (auto-detected): own captures; raw SSE text as ``curl -N`` saves it (LF or CRLF, with or
without ``curl -i`` headers); files with one JSON event per line (e.g. recorded fixtures).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import json
import os
import re
import select
import shutil
import stat
import sys
import tempfile
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic_core import from_json

from .. import __version__
from .ends import EndReason
from .redact import redact_body, redact_headers, redact_url
from .sse import LARGE, data_value_start

FORMAT_NAME = "ssescope-capture"
FORMAT_VERSION = 1
READ_BLOCK = 1 << 20


class SourceError(Exception):
    """The source cannot be read at all (exit status 2, one-line message)."""


# ---------------------------------------------------------------------------------------------
# writer
# ---------------------------------------------------------------------------------------------


class CaptureWriter:
    """Appends records to a capture file, flushing each one (crash-safe up to the last chunk)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        method: str = "POST",
        url: str = "",
        headers: dict[str, str] | None = None,
        body: Any = None,
        redact: bool = True,
    ) -> None:
        self.path = Path(path)
        self.error: str | None = None
        """Why the capture is not (or no longer) written: an unwritable target, a full disk.
        The session goes on without recording; ``on_error`` hears it once."""
        self.on_error: Callable[[str], None] | None = None
        self._fh: IO[str] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            self._failed(exc)
        self.redact = redact
        self.request = {
            "method": method,
            "url": redact_url(url) if redact else url,
            "headers": redact_headers(headers) if redact else dict(headers or {}),
            "body": redact_body(body) if redact else body,
        }
        self._header_written = False
        self.closed = False

    def _line(self, record: dict[str, Any]) -> None:
        if self._fh is None:
            return
        try:
            self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._fh.flush()
        except OSError as exc:
            self._failed(exc)

    def report_to(self, on_error: Callable[[str], None]) -> None:
        """Tell ``on_error`` why recording stopped: at once if it already did (the target could
        not be opened), else when it does."""
        if self.error is not None:
            on_error(self.error)
        else:
            self.on_error = on_error

    def _failed(self, exc: OSError) -> None:
        """Stop recording, keep reading: what was written stays readable (cut at the last line)."""
        self.error = f"{self.path}: cannot write the capture ({exc.strerror or exc}); not recording"
        if self._fh is not None:
            with contextlib.suppress(OSError):
                self._fh.close()
            self._fh = None
        if self.on_error is not None:
            self.on_error(self.error)

    def write_response(
        self,
        status: int | None,
        headers: dict[str, str] | list[tuple[str, str]] | None = None,
        *,
        reason: str = "",
        http_version: str = "",
        t: float = 0.0,
    ) -> None:
        """Write the header line (request + response). Call once, before any chunk."""
        if self._header_written:
            return
        response = None
        if status is not None:
            response = {
                "status": status,
                "reason": reason,
                "http_version": http_version,
                "headers": redact_headers(headers) if self.redact else dict(headers or {}),
                "t": round(t, 6),
            }
        self._line(
            {
                "format": FORMAT_NAME,
                "version": FORMAT_VERSION,
                "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
                "tool": f"ssescope {__version__}",
                "request": self.request,
                "response": response,
            }
        )
        self._header_written = True

    def write_chunk(self, t: float, chunk: bytes) -> None:
        if not self._header_written:
            self.write_response(None)
        try:
            record: dict[str, Any] = {"t": round(t, 6), "text": chunk.decode("utf-8")}
        except UnicodeDecodeError:
            record = {"t": round(t, 6), "base64": base64.b64encode(chunk).decode("ascii")}
        self._line(record)

    def write_record(self, record: dict[str, Any]) -> None:
        """Any other record (later versions: health samples). Readers skip unknown kinds."""
        if not self._header_written:
            self.write_response(None)
        self._line(record)

    def write_end(self, t: float, reason: str, error: str | None = None) -> None:
        if not self._header_written:
            self.write_response(None)
        record: dict[str, Any] = {"t": round(t, 6), "end": reason}
        if error:
            record["error"] = error
        self._line(record)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._fh is not None:
                try:
                    self._fh.close()
                except OSError as exc:  # the last flush: a full disk
                    self._fh = None
                    self._failed(exc)

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------


class Boundary:
    """Between two responses in one file (JSON-lines fixtures that concatenate several)."""


BOUNDARY = Boundary()
HEAD_BYTES = 65536
"""How much of a file format detection looks at."""
WARNINGS_KEPT = 50
MAX_T = 1e9
"""The largest arrival time a record may carry (about 31 years): beyond it, or not a finite
number, a time is unusable (timing arithmetic would overflow) and is replaced."""


@dataclass
class Source:
    """A readable stream source. Iterate :meth:`chunks` once; metadata is known up front."""

    path: str
    format: str
    """capture | sse | sse-chat | jsonl-events | jsonl-chat"""
    request: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)
    end: tuple[float, str, str | None] | None = None
    """(t, reason, error) from the capture's end record, once iteration is over."""
    records: list[dict[str, Any]] = field(default_factory=list)
    """Other records of a capture (health samples: ``{"t", "sample"}``), in file order."""
    on_record: Callable[[dict[str, Any]], None] | None = None
    """Called with each such record as iteration reaches it (after the chunks before it)."""
    block_size: int = READ_BLOCK
    """How many bytes of a raw SSE file one chunk holds (set it before iterating)."""
    body_offset: int = 0
    """Where a raw SSE file's stream starts (after a ``curl -i`` head)."""
    chunk_at: int = 0
    """File offset of the record of the chunk just yielded (capture and JSON-lines files): where
    the row store reads the chunk again instead of keeping it."""
    chunk_table: ChunkTable | None = None
    """Set it before iterating a capture, and the reader fills it as it yields (see there)."""
    _more_warnings: int = 0
    _fh: IO[bytes] | None = None
    _iter: Iterator[tuple[float, bytes] | Boundary] | None = None

    @property
    def framed(self) -> bool:
        return self.format != "jsonl-events"

    @property
    def timed(self) -> bool:
        """Only a capture records arrival times (raw SSE and JSON lines read as t=0)."""
        return self.format == "capture"

    @property
    def records_chunks(self) -> bool:
        """True when each chunk is a record of its own line (else a raw SSE file)."""
        return self.format in ("capture", "jsonl-events", "jsonl-chat")

    def record_chunk(self, line: bytes) -> bytes:
        """The chunk that the record ``line`` holds: what iteration yielded for it."""
        if self.format == "capture":
            chunk = _chunk_of(_loads(line), lambda _why: None)
            return chunk if chunk is not None else b""
        return b"data: " + line.strip() + b"\n\n"

    def record_chunk_from(self, read_line: Callable[[], bytes]) -> bytes:
        """:meth:`record_chunk` of the line ``read_line()`` gives. Read here, so that a huge
        line is let go once its text is decoded (no caller holds it), its record once its
        chunk is made: two copies alive at a time, not four."""
        line = read_line()
        if len(line) < LARGE or self.format != "capture" or (text := _utf8(line)) is None:
            return self.record_chunk(line)
        del line
        try:
            record = json.loads(text)
        except (ValueError, RecursionError):
            return b""
        del text
        chunk = _chunk_of(record, lambda _why: None) if isinstance(record, dict) else None
        del record
        return chunk if chunk is not None else b""

    def warn(self, message: str) -> None:
        """A warning about the file; past WARNINGS_KEPT of them only their number grows (a
        million bad records must not become a million lines of report)."""
        kept = self.warnings
        if len(kept) < WARNINGS_KEPT:
            kept.append(message)
            return
        self._more_warnings += 1
        more = f"… and {self._more_warnings} more warning(s)"
        if self._more_warnings == 1:
            kept.append(more)
        else:
            kept[-1] = more

    def chunks(self) -> Iterator[tuple[float, bytes] | Boundary]:
        assert self._iter is not None, "chunks() can be iterated once"
        it, self._iter = self._iter, None
        return it

    def position(self) -> int:
        """How far into the file the reading is (bytes; for a progress display)."""
        try:
            return self._fh.tell() if self._fh is not None else 0
        except (OSError, ValueError):
            return 0

    def close(self) -> None:
        """Close the file when the chunks will not be iterated (a refused format)."""
        if self._fh is not None:
            self._fh.close()


class ChunkTable:
    """Where each chunk of a capture starts in the stream and where its record is in the file:
    what the debugger reads a row back by. The reader appends to it as it yields each chunk, a
    few operations in its own loop instead of a call per chunk."""

    __slots__ = ("records", "size", "starts")

    def __init__(self) -> None:
        self.starts = array("q")
        self.records = array("q")
        self.size = 0
        """The stream's bytes so far (the sum of the chunks' lengths)."""


_SSE_START = re.compile(rb"^(?:data|event|id|retry)(?::|\r|\n|$)|^:")


def open_source(path: str | os.PathLike[str]) -> Source:
    """Open a file and detect its format. Raises :class:`SourceError` with a one-line reason."""
    p = Path(path)
    fh = _open_file(p)
    try:
        head = fh.read(HEAD_BYTES)
        src = _detect(str(p), head, fh)
    except BaseException:
        fh.close()
        raise
    src._fh = fh
    return src


def _open_file(p: Path) -> IO[bytes]:
    if str(p) == "-":
        return _stdin()
    try:
        if p.is_dir():
            raise SourceError(f"{p}: is a directory, not a capture")
        if p.is_fifo():
            return _spooled(_fifo(p), str(p))
        fh = open(p, "rb")  # noqa: SIM115 - the Source closes it
    except FileNotFoundError:
        raise SourceError(f"{p}: no such file") from None
    except PermissionError:
        raise SourceError(f"{p}: permission denied") from None
    except OSError as exc:
        raise SourceError(f"{p}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # /dev/stdin, a pipe: no seeking back
        return _spooled(fh, str(p))
    return fh


FIFO_WAIT = 10.0
"""Seconds a named pipe may stay without a writer before reading it fails (instead of hanging)."""


def _stdin() -> IO[bytes]:
    """``-``: the stream piped in (``cat x.sse | ssescope check -``)."""
    if sys.stdin is None or sys.stdin.isatty():
        raise SourceError(
            "-: standard input is a terminal; pipe a stream in (cat x.sse | ssescope check -)"
        )
    return _spooled(sys.stdin.buffer, "standard input")


def _fifo(p: Path) -> IO[bytes]:
    """A named pipe, once a writer has opened it and written (or closed it): opening one blocks
    until a writer comes, so it is opened without blocking and waited for, FIFO_WAIT at most."""
    fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(FIFO_WAIT * 1000):
        os.close(fd)
        raise SourceError(
            f"{p}: a named pipe that no writer opened within {FIFO_WAIT:g} s; start the writer first"
        )
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def _spooled(stream: IO[bytes], name: str) -> IO[bytes]:
    """A stream that cannot seek back (a pipe) copied into an unnamed temporary file, which the
    readers can: on disk, not in memory, however big the stream."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - the Source closes it
    try:
        with stream:
            shutil.copyfileobj(stream, spool, READ_BLOCK)
    except OSError as exc:
        spool.close()
        raise SourceError(f"{name}: {exc.strerror or exc}") from None
    spool.seek(0)
    return spool


def _detect(name: str, head: bytes, fh: IO[bytes]) -> Source:
    """The format of a file from its first bytes, with its reader set up."""
    if not head:
        raise SourceError(f"{name}: empty file")
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    first_line = body.split(b"\n", 1)[0].strip()
    if first_line.startswith(b"{"):
        return _json_lines_source(name, head, body, first_line, fh)
    if body.startswith(b"HTTP/"):
        status_line, headers, offset = _parse_http_head(head)
        while 100 <= status_line[0] < 200 and _after_blank(head, offset).startswith(b"HTTP/"):
            # an interim answer (`100 Continue`, `103 Early Hints`) before the real one
            status_line, headers, offset = _parse_http_head(head, offset)
        src = Source(name, "sse", body_offset=offset)
        src.response = {
            "status": status_line[0],
            "reason": status_line[1],
            "headers": headers,
            "t": 0.0,
        }
        fh.seek(offset)
        src._iter = _raw_chunks(fh, src)
        return src
    if _SSE_START.match(body) or body.startswith(b"data:"):
        chat = first_line.startswith(b"data:") and b'"chat.completion.chunk"' in head
        src = Source(name, "sse-chat" if chat else "sse")
        fh.seek(0)
        src._iter = _raw_chunks(fh, src)
        return src
    raise SourceError(_unknown_format(name, head, body))


def _unknown_format(name: str, head: bytes, body: bytes) -> str:
    if b"\x00" in head or _mostly_binary(head):
        return f"{name}: binary data, not an SSE stream or capture"
    if body[:1] == b"<":
        return f"{name}: looks like HTML/XML, not an SSE stream or capture"
    return f"{name}: unknown format (expected an ssescope capture, raw SSE text or JSON lines)"


def _json_lines_source(
    name: str, head: bytes, body: bytes, first_line: bytes, fh: IO[bytes]
) -> Source:
    """An ssescope capture, or a file of one JSON event (or chat chunk) per line."""
    parsed = _try_json(first_line)
    meta: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    if meta.get("format") == FORMAT_NAME:
        src = Source(name, "capture")
        src.request = _request_of(meta.get("request"), src.warn)
        src.response = _response_of(meta.get("response"), src.warn)
        version = meta.get("version")
        if version != FORMAT_VERSION:
            src.warnings.append(
                f"capture format version {version!r}; this ssescope reads version {FORMAT_VERSION}"
            )
        fh.seek(0)
        src._iter = _capture_chunks(fh, src)
        return src
    if meta.get("object") == "chat.completion.chunk" or "choices" in meta:
        src = Source(name, "jsonl-chat")
    elif isinstance(meta.get("type"), str) or (
        parsed is None and b"\n" not in body and len(head) == HEAD_BYTES  # one long JSON line
    ):
        src = Source(name, "jsonl-events")
    else:
        raise SourceError(f"{name}: unknown format (a JSON line that is not an event or a capture)")
    fh.seek(0)
    src._iter = _jsonl_chunks(fh, src)
    return src


def _request_of(value: Any, warn: Callable[[str], None]) -> dict[str, Any] | None:
    """The header's request as readers use it (method, url and headers strings), whatever a
    hand-edited or foreign capture holds; what cannot be used is dropped with a warning."""
    if value is None:
        return None
    if not isinstance(value, dict):
        warn(f"capture header: `request` is {_json_type(value)}, not an object; ignored")
        return None
    request = dict(value)
    for key in ("method", "url"):
        if key in request and not isinstance(request[key], str):
            warn(f"capture header: `request.{key}` is {_json_type(request[key])}; ignored")
            del request[key]
    request["headers"] = _headers_of(request.get("headers"), "request.headers", warn)
    return request


def _response_of(value: Any, warn: Callable[[str], None]) -> dict[str, Any] | None:
    """The header's response with a usable ``status`` (an HTTP status code), ``headers``
    (strings), ``reason`` and ``t``; a response without a usable status is dropped (the stream
    is judged without its head) with a warning."""
    if value is None:
        return None
    if not isinstance(value, dict):
        warn(f"capture header: `response` is {_json_type(value)}, not an object; ignored")
        return None
    status = value.get("status")
    if isinstance(status, float) and status.is_integer():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 999:
        warn(f"capture header: response status {_shown(status)} is not an HTTP status; ignored")
        return None
    response = dict(value)
    response["status"] = status
    response["headers"] = _headers_of(value.get("headers"), "response.headers", warn)
    if not isinstance(value.get("reason", ""), str):
        response["reason"] = ""
    t = record_time(value.get("t", 0.0))
    if t is None:
        warn(f"capture header: response time {_shown(value.get('t'))} is not usable; 0 assumed")
    response["t"] = t or 0.0
    return response


def _headers_of(value: Any, where: str, warn: Callable[[str], None]) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        warn(f"capture header: `{where}` is {_json_type(value)}, not an object; ignored")
        return {}
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def record_time(value: Any) -> float | None:
    """A record's ``t`` as seconds, or None when it is not a finite number in [0, MAX_T]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and not -MAX_T <= value <= MAX_T:
        return None  # float() of a 400-digit integer overflows
    t = float(value)
    return t if 0.0 <= t <= MAX_T else None  # NaN compares false too


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    return names.get(type(value), "a number")


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _mostly_binary(head: bytes) -> bool:
    sample = head[:4096]
    text = sum(1 for b in sample if b in (9, 10, 13) or 32 <= b < 127 or b >= 128)
    return (
        text < len(sample) * 0.9
        or sample.decode("utf-8", errors="replace").count("\ufffd") > len(sample) // 20
    )


def _loads(line: bytes) -> Any:
    """One JSON line. jiter (pydantic-core's parser) reads a capture's records four times as fast
    as json.loads; json.loads decides only when jiter refuses (a lone surrogate escape, UTF-16)."""
    try:
        return from_json(line, cache_strings="keys")
    except ValueError:
        return json.loads(line)


def _try_json(line: bytes) -> Any:
    try:
        return _loads(line)
    except ValueError:
        return None


def _after_blank(head: bytes, offset: int) -> bytes:
    return head[offset:].lstrip(b"\xef\xbb\xbf \t\r\n")


def _parse_http_head(head: bytes, offset: int = 0) -> tuple[tuple[int, str], dict[str, str], int]:
    """The status line and headers of the HTTP head at ``offset``, and where what follows it
    starts."""
    start = len(head) - len(_after_blank(head, offset))
    end = head.find(b"\r\n\r\n", start)
    sep = 4
    if end == -1:
        end, sep = head.find(b"\n\n", start), 2
    if end == -1:
        raise SourceError("an HTTP head with no blank line after the headers")
    lines = head[start:end].decode("latin-1").splitlines()
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        raise SourceError(f"unreadable status line {lines[0]!r}") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip()] = value.strip()
    return (status, parts[2] if len(parts) > 2 else ""), headers, end + sep


def _raw_chunks(fh: IO[bytes], src: Source) -> Iterator[tuple[float, bytes]]:
    with fh:
        while True:
            block = fh.read(src.block_size)
            if not block:
                break
            yield (0.0, block)
    src.end = (0.0, EndReason.EOF, None)


_CREATED = re.compile(rb'"type"\s*:\s*"response\.created"')
_TERMINAL = re.compile(rb'"type"\s*:\s*"response\.(?:completed|failed|incomplete)"')


def _jsonl_chunks(fh: IO[bytes], src: Source) -> Iterator[tuple[float, bytes] | Boundary]:
    """One JSON object per line → a data-only SSE frame each. Several concatenated responses
    (a response.created after a terminal event) are separated by a :class:`Boundary`."""
    seen_terminal = False
    pos = 0
    with fh:
        for lineno, line in enumerate(fh, 1):
            start = pos
            pos += len(line)
            stripped = line.strip()
            if not stripped:
                continue
            if not line.endswith(b"\n") and _try_json(stripped) is None:
                src.warnings.append(
                    f"line {lineno} is cut off (the file ends mid-line); read up to it"
                )
                break
            if seen_terminal and _CREATED.search(stripped[:200]):
                seen_terminal = False
                yield BOUNDARY
            if _TERMINAL.search(stripped[:200]):
                seen_terminal = True
            src.chunk_at = start
            yield (0.0, b"data: " + stripped + b"\n\n")
    src.end = (0.0, EndReason.EOF, None)


def _other_time(record: dict[str, Any], t: float, lineno: int, src: Source) -> float:
    """The time of a record whose ``t`` is not a plain float in range (kept ``t`` if unusable)."""
    checked = record_time(record.get("t", t))
    if checked is not None:
        return checked
    src.warn(f"line {lineno}: time {_shown(record.get('t'))} is not usable; kept {t}")
    return t


def _large_chunk(t: float, chunk: bytes) -> Iterator[tuple[float, bytes]]:
    """A big record's chunk, with its value as a chunk of its own where it has the shape: the
    framer keeps that chunk as the frame's body (a LargeFrame) instead of copying the value out
    of the record's chunk while the chunk is still alive."""
    cut = _value_start(chunk)
    if not cut:
        yield (t, chunk)
        return
    head, body = chunk[:cut], chunk[cut:]
    del chunk
    yield (t, head)
    yield (t, body)


def _value_start(chunk: bytes) -> int:
    """Where the value of a big record's one ``data`` line starts, when the record is one
    LF-only frame that ends with that line (0 for any other shape)."""
    if chunk[-2:] != b"\n\n" or chunk.find(b"\n\n") != len(chunk) - 2 or b"\r" in chunk:
        return 0
    return data_value_start(chunk)


def _capture_chunks(fh: IO[bytes], src: Source) -> Iterator[tuple[float, bytes]]:
    t = 0.0
    table = src.chunk_table
    if table is not None:
        add_start, add_record = table.starts.append, table.records.append
    with fh:
        pos = len(fh.readline())  # the header
        lineno = 1
        for line in fh:  # not enumerate: its reused result tuple would keep the last line alive
            lineno += 1
            start = pos
            pos += len(line)
            if len(line) >= LARGE:
                box = [line]
                del line  # the helper takes it from the box: then nothing here holds it
                record = _large_record(box, lineno, src)
            else:
                try:
                    record = from_json(line, cache_strings="keys")
                except ValueError:  # blank, cut, not JSON (or only json.loads reads it): said there
                    record = _capture_record(line, lineno, src)
                del line  # a 200 MB record line lets go before its chunk is made
            if type(record) is not dict:
                continue
            rt = record.get("t", t)
            if type(rt) is float and 0.0 <= rt <= MAX_T:  # nearly every record: the short way
                t = rt
            else:
                t = _other_time(record, t, lineno, src)
            text = record.get("text")
            try:  # nearly every record: a text chunk of UTF-8 (the short way, no call)
                chunk = text.encode("utf-8") if type(text) is str else None
            except UnicodeEncodeError:
                chunk = None
            if chunk is None:
                chunk = _chunk_of(record, lambda why: src.warn(f"line {lineno}: {why}"))  # noqa: B023 - called at once
            if chunk is not None:
                src.chunk_at = start
                del record, text  # a 5 MB done event is judged without its record alive
                if table is not None:
                    add_start(table.size)
                    add_record(start)
                    table.size += len(chunk)
                if len(chunk) >= LARGE:
                    parts = _large_chunk(t, chunk)
                    del chunk  # held by the parts alone, which let it go
                    yield from parts
                    continue
                yield (t, chunk)
            else:
                _other_record(record, t, src)
    if src.end is None:
        src.end = (t, EndReason.INTERRUPTED, None)
        src.warnings.append("the capture has no end record (the recording was interrupted)")


def _utf8(line: bytes) -> str | None:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _large_record(box: list[bytes], lineno: int, src: Source) -> Any:
    """A huge line of a capture (the one item of ``box``) as a record, parsed from its text:
    json.loads of a str needs only its result besides it, where a parser of the line's bytes
    (jiter's too) holds a decoded copy as well, so the line is let go once decoded. A line
    that is not UTF-8, or that json.loads refuses, takes the usual way, with its warnings."""
    line = box.pop()
    text = _utf8(line)
    if text is None:
        return _capture_record(line, lineno, src)
    del line
    try:
        record = json.loads(text)
    except (ValueError, RecursionError):
        return _capture_record(text.encode("utf-8"), lineno, src)
    return record if isinstance(record, dict) else None


def _capture_record(line: bytes, lineno: int, src: Source) -> dict[str, Any] | None:
    """One line of a capture as a record, None for a blank line or one that cannot be one."""
    if not line.strip():
        return None
    try:
        record = _loads(line)
    except ValueError:
        if not line.endswith(b"\n"):
            src.warnings.append(
                f"the capture is cut off in line {lineno} (the writer was interrupted); read up to it"
            )
        else:
            src.warn(f"line {lineno} of the capture is not JSON; skipped")
        return None
    return record if isinstance(record, dict) else None


def _chunk_of(record: dict[str, Any], warn: Callable[[str], None]) -> bytes | None:
    """The bytes a chunk record holds (None for other records, or bad base64)."""
    if "text" in record:
        text = record["text"]
        if not isinstance(text, str):
            warn(f"`text` is {_json_type(text)}, not a string; skipped")
            return None
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape: no UTF-8 holds it
            warn("`text` holds a lone surrogate (\\ud800-\\udfff), not UTF-8; read as its bytes")
            return text.encode("utf-8", errors="surrogatepass")
    if "base64" in record:
        data = record["base64"]
        try:
            if not isinstance(data, str):
                raise ValueError(data)
            return base64.b64decode(data)
        except ValueError:
            warn("bad base64; skipped")
    return None


def _other_record(record: dict[str, Any], t: float, src: Source) -> None:
    """A record that holds no chunk: the end, a health sample (a chunk record whose chunk was
    not usable was warned of already)."""
    if "text" in record or "base64" in record:
        return
    if "end" in record:
        error = record.get("error")
        src.end = (t, str(record["end"]), None if error is None else str(error))
    elif "sample" in record:
        src.records.append(record)
        if src.on_record is not None:
            src.on_record(record)
