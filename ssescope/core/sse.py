"""Incremental, byte-level Server-Sent-Events framing.

Hand-written rather than taken from httpx-sse because a debugger needs what a client library throws
away: the exact raw bytes of every frame, the arrival time of its first and last byte, comment lines
(keep-alives), unknown fields and the oddities (BOM, invalid UTF-8, an unterminated final frame).
It follows the WHATWG event-stream rules (HTML §9.2.5-9.2.6) and splits lines on CR, LF and CRLF
only, never on U+2028 and friends (which is why ``httpx.Response.aiter_lines`` must not be used).

A *frame* is everything up to and including the blank line that ends it. Frames that carry no
``data`` line are still emitted (``dispatched`` is False): they are the comment keep-alives a
person wants to see even though no client dispatches them. Concatenating ``raw`` of every frame
returned by :meth:`SSEFramer.feed` and :meth:`SSEFramer.finish` gives back the input bytes.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"


@dataclass(slots=True, eq=False)
class Frame:
    """One SSE frame as it arrived on the wire."""

    index: int
    offset: int
    """Byte offset of the frame's first byte in the stream."""
    raw: bytes
    t_first: float
    """Arrival time (s since request start) of the chunk that held the first byte."""
    t_last: float
    """Arrival time of the chunk that completed the frame."""
    event: str | None = None
    data: str | None = None
    """``data`` lines joined with LF; None when the frame had no ``data`` line (not dispatched)."""
    id: str | None = None
    retry: int | None = None
    comments: tuple[str, ...] = ()
    unknown_fields: tuple[str, ...] = ()
    terminated: bool = True
    """False for a final frame that EOF cut before its blank line (spec-following clients drop it)."""
    invalid_utf8: bool = False
    bom: bool = False
    line_ending: str = "\n"
    """The line ending of the frame's first line: ``"\\n"``, ``"\\r\\n"`` or ``"\\r"``."""
    has_content: bool = True
    """False for a frame that is only blank lines (stray line ends at EOF)."""

    @property
    def dispatched(self) -> bool:
        """True when a WHATWG client would dispatch this frame as an event."""
        return self.data is not None and self.terminated

    @property
    def nbytes(self) -> int:
        """How many bytes the frame has (``len(raw)``, without joining a large frame's)."""
        return len(self.raw)

    def raw_prefix(self, limit: int) -> bytes:
        """The first ``limit`` bytes of ``raw`` (what a screen shows of a huge frame)."""
        return self.raw[:limit]


LARGE = 1 << 20
"""A frame of one ``data`` line at least this big is kept as a :class:`LargeFrame`."""


class LargeFrame(Frame):
    """A frame of one big ``data`` line (a 200 MB delta), held as its bytes once.

    A plain :class:`Frame` holds ``raw`` and the decoded ``data`` (and the JSON parse makes a
    third copy while both are alive). This one holds the frame as ``head`` (the lines before the
    value and ``data: ``) and ``body`` (the value and the blank line), valid UTF-8, and gives
    ``raw`` and ``data`` on demand; the JSON parser reads ``body`` itself (JSON allows the
    trailing line ends). Only the framer makes one, for LF-only frames whose last line is
    their one ``data`` line."""

    __slots__ = ("body", "head")

    def __init__(
        self,
        index: int,
        offset: int,
        head: bytes,
        body: bytes,
        t_first: float,
        t_last: float,
        fields: _Fields,
        bom: bool = False,
    ) -> None:
        self.index, self.offset, self.t_first, self.t_last = index, offset, t_first, t_last
        self.head, self.body = head, body
        self.event, self.id, self.retry = fields.event, fields.id, fields.retry
        self.comments, self.unknown_fields = tuple(fields.comments), tuple(fields.unknown)
        self.terminated, self.invalid_utf8, self.bom = True, fields.invalid, bom
        self.line_ending, self.has_content = "\n", True

    @property
    def raw(self) -> bytes:
        return self.head + self.body

    @raw.setter
    def raw(self, value: bytes) -> None:
        raise AttributeError("a large frame's raw bytes are its head and body")

    @property
    def data(self) -> str:
        return str(memoryview(self.body)[:-2], "utf-8")

    @data.setter
    def data(self, value: str | None) -> None:
        raise AttributeError("a large frame's data is its body")

    @property
    def nbytes(self) -> int:
        return len(self.head) + len(self.body)

    def raw_prefix(self, limit: int) -> bytes:
        head = self.head
        return head[:limit] if len(head) >= limit else head + self.body[: limit - len(head)]

    @property
    def dispatched(self) -> bool:
        return True


def _valid_utf8(body: bytes) -> bool:
    """Whether ``body`` is UTF-8, read a megabyte at a time (no second copy of a huge value)."""
    if body.isascii():
        return True
    decode = codecs.getincrementaldecoder("utf-8")().decode
    view = memoryview(body)
    try:
        for start in range(0, len(body), LARGE):
            decode(view[start : start + LARGE])
        decode(b"", True)
    except UnicodeDecodeError:
        return False
    return True


RETRY_DIGITS = 18
RETRY_MAX = 10**RETRY_DIGITS - 1
"""A ``retry:`` of more digits reads as this many milliseconds (still a field, never a crash)."""


class _Fields:
    """The fields of one frame, one line at a time, by the WHATWG field rules."""

    __slots__ = ("comments", "data", "event", "id", "invalid", "retry", "unknown")

    def __init__(self) -> None:
        self.event: str | None = None
        self.data: list[str] | None = None
        self.id: str | None = None
        self.retry: int | None = None
        self.comments: list[str] = []
        self.unknown: list[str] = []
        self.invalid = False

    def add(self, line: bytes) -> None:
        """One line of the frame, without its line end; never empty (a blank line ends it)."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
            self.invalid = True
        if text[0] == ":":
            self.comments.append(text[1:])
            return
        name, sep, value = text.partition(":")
        if sep and value[:1] == " ":
            value = value[1:]
        if name == "data":
            if self.data is None:
                self.data = [value]
            else:
                self.data.append(value)
        elif name == "event":
            self.event = value
        elif name == "id":
            if "\0" not in value:
                self.id = value
        elif name == "retry" and value.isascii() and value.isdigit():
            # Python refuses to convert over 4,300 digits, and no client waits longer than this
            self.retry = int(value) if len(value) <= RETRY_DIGITS else RETRY_MAX
        else:
            self.unknown.append(text)

    def frame(self, index: int, offset: int, raw: bytes, t_first: float, t_last: float) -> Frame:
        return Frame(
            index, offset, raw, t_first, t_last, self.event,
            "\n".join(self.data) if self.data is not None else None,
            self.id, self.retry, tuple(self.comments), tuple(self.unknown), True, self.invalid,
        )  # fmt: skip


_SMALL = 1 << 16
"""Frames up to this size take the short way, which decodes copies of their slices (a bigger
event is decoded from views instead, so it is not held twice)."""


def _block_frame(index: int, offset: int, raw: bytes, t_first: float, t_last: float) -> Frame:
    """The frame of one whole LF-only block (``raw`` ends with its blank line). The pair every
    Responses server sends, ``event: `` and one ``data: ``, is parsed here; any other block by
    :func:`_lines_frame`, and a big one by :func:`_large_block`: the same frame either way."""
    if len(raw) <= _SMALL:
        if raw[:7] == b"event: ":  # the usual pair, one ``data:``: no split
            nl = raw.find(b"\n")
            if raw[nl + 1 : nl + 7] == b"data: " and raw.find(b"\n", nl + 1) == len(raw) - 2:
                try:
                    name, value = raw[7:nl].decode("utf-8"), raw[nl + 7 : -2].decode("utf-8")
                except UnicodeDecodeError:
                    pass  # the line-by-line path replaces and flags it
                else:
                    return Frame(
                        index, offset, raw, t_first, t_last, name, value, None, None, (), (), True
                    )
    elif len(raw) >= LARGE and (large := _large_block(index, offset, raw, t_first, t_last)):
        return large
    return _lines_frame(index, offset, raw, t_first, t_last)


def _lines_frame(index: int, offset: int, raw: bytes, t_first: float, t_last: float) -> Frame:
    """A whole block line by line: ``data: `` and ``event: `` lines here, decoded from views (a
    200 MB event is not copied first); a block with any other line by :class:`_Fields`."""
    event = data = None
    invalid = False
    view = memoryview(raw)
    pos, stop = 0, len(raw) - 2
    find, startswith = raw.find, raw.startswith
    while pos <= stop:
        end = find(b"\n", pos, stop)
        end = stop if end == -1 else end
        if startswith(b"data: ", pos, end):
            value, bad = _decoded(view[pos + 6 : end])
            data = value if data is None else f"{data}\n{value}"
        elif startswith(b"event: ", pos, end):
            event, bad = _decoded(view[pos + 7 : end])
        else:
            fields = _Fields()
            for any_line in raw[:-2].split(b"\n"):
                fields.add(any_line)
            return fields.frame(index, offset, raw, t_first, t_last)
        invalid = invalid or bad
        pos = end + 1
    return Frame(
        index, offset, raw, t_first, t_last, event, data, None, None, (), (), True, invalid
    )


def data_value_start(block: bytes) -> int:
    """Where the value of ``block``'s last line starts when that line is a ``data: `` line, 0
    when it is not (``block``: one LF-only frame, ending with its blank line)."""
    start = block.rfind(b"\n", 0, len(block) - 2) + 1  # where the last line starts
    return start + 6 if block[start : start + 6] == b"data: " else 0


def _large_block(
    index: int, offset: int, raw: bytes, t_first: float, t_last: float
) -> LargeFrame | None:
    """A whole big block whose last line is its one ``data`` line, as a :class:`LargeFrame`
    (``body`` the one copy of its value); None for any other shape."""
    cut = data_value_start(raw)
    if not cut:
        return None
    fields = _Fields()
    if cut > 6:  # lines before the data line
        for line in raw[: cut - 7].split(b"\n"):
            fields.add(line)
        if fields.data is not None:
            return None
    body = raw[cut:]
    if not _valid_utf8(body):
        return None
    return LargeFrame(index, offset, raw[:cut], body, t_first, t_last, fields)


def _decoded(value: memoryview) -> tuple[str, bool]:
    """A field value as text, and whether it was not valid UTF-8 (then replaced)."""
    try:
        return str(value, "utf-8"), False
    except UnicodeDecodeError:
        return str(value, "utf-8", errors="replace"), True


class SSEFramer:
    """Feed it chunks as they arrive; it returns the frames each chunk completed.

    ``feed(chunk, t)`` never raises on malformed input: oddities are recorded on the frames.
    """

    def __init__(self) -> None:
        self._buf = b""  # bytes of an incomplete line
        self._pieces: list[bytes | bytearray] = []  # later chunks of that line, not yet joined
        self._parked = 0  # bytes in _pieces: past LARGE they grow one bytearray instead
        self._buf_t = 0.0  # arrival time of the first byte in _buf
        self._offset = 0  # stream offset of the first byte of the frame being built
        self._start_checked = False
        self._pending_lf = False  # the previous chunk ended with CR: a leading LF belongs to it
        self._strip_bom = False
        self._last_emitted: Frame | None = None
        self._reset_frame()
        self._count = 0

    def _reset_frame(self) -> None:
        self._raw: list[
            bytes | memoryview
        ] = []  # joined once, at emit: a 200 MB line is copied once
        self._t_first: float | None = None
        self._fields = _Fields()
        self._bom = False
        self._content = False
        self._ending = "\n"
        self._ending_pending = False  # first line ended with a chunk-final CR; maybe CRLF

    # -- public API -------------------------------------------------------------------------

    @property
    def framed_bytes(self) -> int:
        """How many bytes of the stream are in frames emitted so far (where the last one ends)."""
        return self._offset

    def feed(self, chunk: bytes, t: float) -> list[Frame]:
        """Consume one chunk that arrived at time ``t``; return the frames it completed."""
        out: list[Frame] = []
        if type(chunk) is not bytes:  # a frame's lines are views of it until emitted: immutable
            chunk = bytes(chunk)
        if self._pending_lf and chunk:
            chunk = self._after_cr(chunk, t)
        if not chunk:
            return out
        if self._whole_block(chunk, t, out):
            return out
        if self._pieces or len(self._buf) >= LARGE or (self._buf and len(chunk) >= LARGE):
            chunk = self._large_line(chunk, t, out)  # what is left after a big data line's frame
            if not chunk:
                return out
        data = self._with_pending(chunk, t)
        if data is None:
            return out
        if not self._start_checked and not self._check_start(data):
            self._buf = data  # too short to tell a BOM from a stream
            return out
        self._split(data, t, out)
        return out

    def _with_pending(self, chunk: bytes, t: float) -> bytes | None:
        """``chunk`` after the pending start of its line; None when it does not end that line
        (then it is parked)."""
        if not self._buf and not self._pieces:
            self._buf_t = t
        if self._start_checked and b"\n" not in chunk and b"\r" not in chunk:
            self._park(chunk)
            return None
        if self._pieces:  # one join, and the parts let go: a 200 MB line is copied once
            data = b"".join([self._buf, *self._pieces, chunk])
            self._buf, self._pieces, self._parked = b"", [], 0
            return data
        if self._buf:
            data, self._buf = self._buf + chunk, b""
            return data
        return chunk

    def finish(self, t: float) -> list[Frame]:
        """End of stream: flush a final line and frame that had no terminating blank line."""
        out: list[Frame] = []
        if self._pieces:
            self._buf = b"".join([self._buf, *self._pieces])
            self._pieces, self._parked = [], 0
        if self._buf:
            line = self._buf
            self._buf = b""
            self._line(line, b"", self._buf_t, t, out)
        if self._raw:
            self._emit(t, out, terminated=False)
        return out

    # -- internals --------------------------------------------------------------------------

    def _whole_block(self, chunk: bytes, t: float, out: list[Frame]) -> bool:
        """A chunk that is one whole LF-only frame on a frame boundary, with nothing of a line
        or frame pending (a capture's record, a proxy that writes a frame at a time): what
        :meth:`_split_blocks` would do for it, without the search."""
        if (
            chunk[-2:] != b"\n\n"
            or chunk.find(b"\n\n") != len(chunk) - 2  # one blank line: the end
            or chunk[0] == 10
            or self._buf
            or self._pieces
            or self._raw
            or not self._start_checked
            or self._strip_bom
            or b"\r" in chunk
        ):
            return False
        out.append(_block_frame(self._count, self._offset, chunk, t, t))
        self._count += 1
        self._offset += len(chunk)
        self._last_emitted = None
        return True

    def _park(self, chunk: bytes) -> None:
        """A chunk with no line end, parked until the line ends. Joining once then keeps a
        50 MB event that arrives in 4 KiB chunks linear; past LARGE the line grows as one
        bytearray instead: thousands of freed pieces would stay in the heap (and in RSS) while
        the value is parsed, a bytearray that big is its own mapping, given back when freed."""
        pieces = self._pieces
        if pieces and type(pieces[0]) is bytearray:
            pieces[0] += chunk
            return
        pieces.append(chunk)
        self._parked += len(chunk)
        if self._parked >= LARGE:
            line = bytearray(self._buf)
            for piece in pieces:
                line += piece
            self._buf, self._pieces = b"", [line]

    def _large_line(self, chunk: bytes, t: float, out: list[Frame]) -> bytes:
        """The pending line is a big ``data`` line that ``chunk`` ends, with the blank line
        after it: emit it as a :class:`LargeFrame` whose body is joined once from the parked
        line (the usual way joins it, then copies it into ``raw`` and decodes it: three copies
        at once). Returns the rest of ``chunk``; all of it when the frame is not of that shape
        (then the usual way frames it)."""
        stop = self._large_line_stop(chunk)
        if stop == -1:
            return chunk
        body = self._large_body(chunk, stop)
        head = b"".join([*self._raw, b"data: "])
        if self._t_first is None:
            self._t_first = self._buf_t
        fields = self._fields
        if not _valid_utf8(body):  # rare: the usual frame, with the replaced text and its flag
            self._raw = [head, body]
            value, fields.invalid = _decoded(memoryview(body)[:-2])
            fields.data = [value]
            self._content = True
            self._emit(t, out, terminated=True)
            return chunk[stop:]
        frame = LargeFrame(
            self._count, self._offset, head, body, self._t_first, t, fields, self._bom
        )
        self._count += 1
        self._offset += frame.nbytes
        self._last_emitted = None
        out.append(frame)
        self._reset_frame()
        return chunk[stop:]

    def _large_line_stop(self, chunk: bytes) -> int:
        """Where in ``chunk`` the frame of a big pending data line ends (after its blank line),
        when the frame has the shape a :class:`LargeFrame` holds; -1 when it has not."""
        buf, pieces = self._buf, self._pieces
        grown = pieces[0] if pieces and type(pieces[0]) is bytearray else None
        end = chunk.find(b"\n")
        shaped = (
            end != -1
            and chunk[end + 1 : end + 2] == b"\n"
            and chunk.find(b"\r", 0, end) == -1
            and (buf if grown is None else grown)[:6] == b"data: "
            and self._fields.data is None
            and not (self._strip_bom or self._ending_pending)
            and self._ending == "\n"
        )
        if not shaped:
            return -1
        if grown is None and len(buf) + sum(map(len, pieces)) + end < LARGE:
            return -1
        return end + 2

    def _large_body(self, chunk: bytes, stop: int) -> bytes:
        """The big line's value and the blank line (``chunk[:stop]`` ends them), as one bytes
        object; the pending line lets go."""
        buf, pieces = self._buf, self._pieces
        self._buf, self._pieces, self._parked = b"", [], 0
        if pieces and type(pieces[0]) is bytearray:  # copied once more, as bytes: a parser
            return b"".join([memoryview(pieces[0])[6:], chunk[:stop]])  # copies a bytearray
        if len(buf) == 6 and not pieces and stop == len(chunk):
            return chunk  # the value came as a chunk of its own: no copy at all
        return b"".join([buf[6:], *pieces, chunk[:stop]])

    def _after_cr(self, chunk: bytes, t: float) -> bytes:
        """The previous chunk ended with CR: a leading LF is the rest of that CRLF."""
        self._pending_lf = False
        if chunk[:1] != b"\n":
            self._ending_pending = False  # that CR was a line end of its own
            return chunk
        # The LF of a CRLF split across chunks: it belongs to the line that already ended.
        if self._raw:
            self._raw.append(b"\n")
            if self._ending_pending:
                self._ending = "\r\n"
                self._ending_pending = False
        elif self._last_emitted is not None and self._last_emitted.raw.endswith(b"\r"):
            # Mutating an emitted frame keeps ``raw`` independent of how the bytes were chunked.
            self._last_emitted.raw += b"\n"
            self._offset += 1
        else:
            self._raw.append(b"\n")
            if self._t_first is None:
                self._t_first = t
        return chunk[1:]

    def _check_start(self, data: bytes) -> bool:
        """Whether the stream's first bytes tell whether it starts with a BOM (noted, stripped)."""
        if len(data) < 3 and BOM.startswith(data):
            return False
        self._start_checked = True
        if data.startswith(BOM):
            self._bom = self._strip_bom = True
        return True

    def _split(self, data: bytes, t: float, out: list[Frame]) -> None:
        if b"\r" in data:
            pos = self._split_lines_cr(data, t, out)
        else:
            pos = self._split_lines_lf(data, t, out)
        n = len(data)
        self._buf = data[pos:] if pos < n else b""
        if self._buf and pos > 0:
            self._buf_t = t

    def _split_lines_lf(self, data: bytes, t: float, out: list[Frame]) -> int:
        """LF line ends only: whole blocks in one go where a frame starts, lines elsewhere."""
        pos = 0
        n = len(data)
        first_t = self._buf_t
        fast = not self._strip_bom
        if fast and not self._raw:
            pos = self._split_blocks(data, 0, first_t, t, out)
            if pos:
                first_t = t
        find = data.find
        view = memoryview(data)  # a line is copied once, into the frame's raw bytes
        while pos < n:
            end = find(b"\n", pos)
            if end == -1:
                break
            self._line(view[pos:end], b"\n", first_t, t, out)
            first_t = t
            pos = end + 1
            if fast and not self._raw and pos < n:
                pos = self._split_blocks(data, pos, t, t, out)  # back on a frame boundary
        return pos

    def _split_lines_cr(self, data: bytes, t: float, out: list[Frame]) -> int:
        """Lines ending in CR, LF or CRLF; a chunk-final CR may be the first half of a CRLF."""
        pos = 0
        n = len(data)
        first_t = self._buf_t
        find = data.find
        view = memoryview(data)
        while pos < n:
            lf = find(b"\n", pos)
            cr = find(b"\r", pos)
            end = lf if cr == -1 or (lf != -1 and lf < cr) else cr
            if end == -1:
                break
            if data[end] != 13:  # LF
                term_end = end + 1
            elif end + 1 < n:
                term_end = end + 2 if data[end + 1] == 10 else end + 1
            else:
                term_end = end + 1
                self._pending_lf = True
            self._line(view[pos:end], data[end:term_end], first_t, t, out)
            first_t = t
            pos = term_end
        return pos

    def _split_blocks(
        self, data: bytes, pos: int, first_t: float, t: float, out: list[Frame]
    ) -> int:
        """Fast path for the common case (LF line ends, whole frames in the chunk): each
        ``…\n\n`` block is one frame (:func:`_block_frame`). Returns how far it got; the
        per-line path does the rest, so both paths yield identical frames (the chunking
        property test checks this)."""
        find = data.find
        start = pos
        count, offset = self._count, self._offset
        while True:
            end = find(b"\n\n", pos)
            if end == -1 or data[pos] == 10:  # no whole block left, or a stray blank line
                break
            raw = data[pos : end + 2]
            out.append(_block_frame(count, offset, raw, first_t, t))
            count += 1
            offset += len(raw)
            first_t = t
            pos = end + 2
        if pos > start:
            self._count, self._offset = count, offset
            self._last_emitted = None  # LF-only frames: no split CRLF can extend them
        return pos

    def _line(
        self, line: bytes | memoryview, term: bytes, t_line: float, t: float, out: list[Frame]
    ) -> None:
        if self._t_first is None:
            self._t_first = t_line
        self._raw += (line, term)
        if self._strip_bom:
            self._strip_bom = False
            line = line[3:]
        if not line:
            if self._content:
                self._emit(t, out, terminated=True)
            return
        if not self._content:
            self._content = True
            self._ending = term.decode("ascii") if term else "\n"
            self._ending_pending = self._pending_lf
        fields = self._fields
        if line[:6] == b"data: ":  # the common line, as in _block_frame: decode only the value
            value, bad = _decoded(memoryview(line)[6:])
            fields.invalid = fields.invalid or bad
            if fields.data is None:
                fields.data = [value]
            else:
                fields.data.append(value)
        elif line[:7] == b"event: ":
            fields.event, bad = _decoded(memoryview(line)[7:])
            fields.invalid = fields.invalid or bad
        else:
            fields.add(bytes(line))

    def _emit(self, t: float, out: list[Frame], *, terminated: bool) -> None:
        raw = b"".join(self._raw)
        self._raw = []
        fields = self._fields
        frame = Frame(
            index=self._count,
            offset=self._offset,
            raw=raw,
            t_first=self._t_first if self._t_first is not None else t,
            t_last=t,
            event=fields.event,
            data="\n".join(fields.data) if fields.data is not None else None,
            id=fields.id,
            retry=fields.retry,
            comments=tuple(fields.comments),
            unknown_fields=tuple(fields.unknown),
            terminated=terminated,
            invalid_utf8=fields.invalid,
            bom=self._bom,
            line_ending=self._ending,
            has_content=self._content,
        )
        self._count += 1
        self._offset += len(raw)
        # Kept only while a split CRLF could still extend it (holding every last frame would keep
        # a 50 MB event alive).
        self._last_emitted = frame if raw.endswith(b"\r") else None
        out.append(frame)
        self._reset_frame()


def frame_bytes(chunks: list[tuple[float, bytes]]) -> list[Frame]:
    """Frame a whole list of ``(t, chunk)`` pairs, EOF included."""
    framer = SSEFramer()
    frames: list[Frame] = []
    t = 0.0
    for t, chunk in chunks:
        frames.extend(framer.feed(chunk, t))
    frames.extend(framer.finish(t))
    return frames
