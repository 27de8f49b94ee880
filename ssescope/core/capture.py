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
import datetime as _dt
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic_core import from_json

from .. import __version__
from .ends import EndReason

FORMAT_NAME = "ssescope-capture"
FORMAT_VERSION = 1
READ_BLOCK = 1 << 20
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "api-key",
        "x-api-key",
        "openai-api-key",
        "cookie",
        "set-cookie",
        "x-goog-api-key",
    }
)
_SECRET_QUERY = re.compile(r"(?i)([?&](?:api[-_]?key|key|token|access_token)=)[^&#]*")


class SourceError(Exception):
    """The source cannot be read at all (exit status 2, one-line message)."""


# ---------------------------------------------------------------------------------------------
# redaction
# ---------------------------------------------------------------------------------------------


def redact_value(name: str, value: str) -> str:
    if name.lower() not in SECRET_HEADERS:
        return value
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("bearer", "basic", "token"):
        return f"{scheme} [redacted]"
    return "[redacted]"


def redact_headers(headers: dict[str, str] | list[tuple[str, str]] | None) -> dict[str, str]:
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    return {k: redact_value(k, v) for k, v in items}


def redact_url(url: str) -> str:
    return _SECRET_QUERY.sub(r"\1[redacted]", url)


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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.redact = redact
        self.request = {
            "method": method,
            "url": redact_url(url) if redact else url,
            "headers": redact_headers(headers) if redact else dict(headers or {}),
            "body": body,
        }
        self._header_written = False
        self.closed = False

    def _line(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._fh.flush()

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
            self._fh.close()

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
    _fh: IO[bytes] | None = None
    _iter: Iterator[tuple[float, bytes] | Boundary] | None = None

    @property
    def framed(self) -> bool:
        return self.format != "jsonl-events"

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

    def chunks(self) -> Iterator[tuple[float, bytes] | Boundary]:
        assert self._iter is not None, "chunks() can be iterated once"
        it, self._iter = self._iter, None
        return it

    def close(self) -> None:
        """Close the file when the chunks will not be iterated (a refused format)."""
        if self._fh is not None:
            self._fh.close()


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
    try:
        if p.is_dir():
            raise SourceError(f"{p}: is a directory, not a capture")
        return open(p, "rb")
    except FileNotFoundError:
        raise SourceError(f"{p}: no such file") from None
    except PermissionError:
        raise SourceError(f"{p}: permission denied") from None
    except OSError as exc:
        raise SourceError(f"{p}: {exc.strerror or exc}") from None


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
        src = Source(name, "capture", request=meta.get("request"), response=meta.get("response"))
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


def _parse_http_head(head: bytes) -> tuple[tuple[int, str], dict[str, str], int]:
    start = len(head) - len(head.lstrip(b"\xef\xbb\xbf \t\r\n"))
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


def _capture_chunks(fh: IO[bytes], src: Source) -> Iterator[tuple[float, bytes]]:
    t = 0.0
    with fh:
        pos = len(fh.readline())  # the header
        for lineno, line in enumerate(fh, 2):
            start = pos
            pos += len(line)
            try:
                record = from_json(line, cache_strings="keys")
            except ValueError:  # blank, cut or not JSON (or for json.loads only): said below
                record = _capture_record(line, lineno, src)
            if type(record) is not dict:
                continue
            text = record.get("text")
            if type(text) is str:  # a chunk record, nearly every line: the short way
                rt = record.get("t")
                if isinstance(rt, (int, float)):
                    t = float(rt)
                src.chunk_at = start
                encoded = text.encode("utf-8")
                del line, record, text  # a 5 MB done event is judged without its record alive
                yield (t, encoded)
                continue
            rt = record.get("t")
            if isinstance(rt, (int, float)):
                t = float(rt)
            chunk = _chunk_of(record, lambda why: src.warnings.append(f"line {lineno}: {why}"))  # noqa: B023 - called at once
            if chunk is not None:
                src.chunk_at = start
                del line, record  # a 5 MB done event is judged without its record alive
                yield (t, chunk)
            elif "text" not in record and "base64" not in record:
                _other_record(record, t, src)
    if src.end is None:
        src.end = (t, EndReason.INTERRUPTED, None)
        src.warnings.append("the capture has no end record (the recording was interrupted)")


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
            src.warnings.append(f"line {lineno} of the capture is not JSON; skipped")
        return None
    return record if isinstance(record, dict) else None


def _chunk_of(record: dict[str, Any], warn: Callable[[str], None]) -> bytes | None:
    """The bytes a chunk record holds (None for other records, or bad base64)."""
    if "text" in record:
        return str(record["text"]).encode("utf-8")
    if "base64" in record:
        try:
            return base64.b64decode(record["base64"])
        except ValueError:
            warn("bad base64; skipped")
    return None


def _other_record(record: dict[str, Any], t: float, src: Source) -> None:
    if "end" in record:
        src.end = (t, str(record["end"]), record.get("error"))
    elif "sample" in record:
        src.records.append(record)
        if src.on_record is not None:
            src.on_record(record)
