"""Chat Completions chunks in, Responses API events out: one chunk at a time, no I/O.

The translator is the heart of the engine and is pure so that the same object serves the ASGI app,
the tests (fed recorded streams byte for byte) and any later proxy. Feed it the ``data`` payloads
of a chat stream (:meth:`ChatToResponses.feed_data`) or decoded chunks
(:meth:`ChatToResponses.feed_chunk`), tell it how the upstream ended (:meth:`~ChatToResponses.
finish`, :meth:`~ChatToResponses.fail`), and send every event it returns as soon as it returns it.

The mapping follows ``responses-streaming.md`` §10.1 and avoids what §11 shows real translators
get wrong:

* Full ``Response`` objects in ``created``, ``in_progress`` and the terminal event; sequence
  numbers from 0 without gaps; ``msg_``/``rs_``/``fc_``/``resp_`` ids that never change between
  ``added``, ``done`` and ``response.output``; ``call_id`` is the upstream tool-call id.
* One item is open at a time, as OpenAI streams them. Tool-call fragments are keyed by ``index``;
  a call is only closed once its arguments parse as JSON, so fragments of other calls (or text)
  that arrive while a call is still incomplete are held back and replayed in order. That keeps
  interleaved parallel calls correct without ever emitting a ``done`` whose arguments are cut.
* A fragment that carries arguments before its name is buffered until the name comes (a call
  cannot be announced without one). Qwen's continuation fragments with ``"id": ""`` continue the
  call at that index; a *different non-empty* id with a name at a used index starts a new call
  (servers that number every call 0).
* ``finish_reason`` closes every item at once (so Codex, which acts on ``output_item.done``, can
  start), but the terminal event waits for the usage chunk (or ``[DONE]``, or EOF), because usage
  comes after the finish chunk. ``length``/``content_filter`` end ``response.incomplete`` with the
  open item marked incomplete; an upstream ``{"error": …}`` or a malformed chunk becomes an
  ``error`` event then ``response.failed``; an upstream that ends before any ``finish_reason``
  ends ``response.failed``, never a fake ``completed`` (the LiteLLM bug). On failure the open item
  is left open rather than closed, so no client runs a tool call whose arguments were cut.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any, TypeGuard

from pydantic_core import from_json

from ..core.ends import EndReason

Event = dict[str, Any]
IdFactory = Callable[[str], str]

# a content part's type → (the type of its ``.done`` event, the field that carries the text)
_TEXT_DONE: dict[str, tuple[str, str]] = {
    "output_text": ("response.output_text.done", "text"),
    "refusal": ("response.refusal.done", "refusal"),
    "reasoning_text": ("response.reasoning_text.done", "text"),
}

REASONING_MODES = ("text", "summary", "open-responses")
"""How upstream reasoning streams: a ``reasoning_text`` part under OpenAI's event names (``text``),
a summary part (``summary``, which Codex shows by default), or a ``reasoning_text`` part under the
Open Responses names (``open-responses``: the spec calls raw reasoning ``response.reasoning.*``,
and its compliance suite rejects OpenAI's ``response.reasoning_text.*``)."""
RAW_REASONING_EVENTS: tuple[tuple[str, str], tuple[str, str]] = (
    ("response.reasoning_text.delta", "response.reasoning_text.done"),
    ("response.reasoning.delta", "response.reasoning.done"),
)
"""The raw reasoning delta and done event types: OpenAI's, then Open Responses'."""

# finish_reason → (terminal kind, incomplete reason)
_FINISH: dict[str, tuple[str, str | None]] = {
    "stop": ("completed", None),
    "tool_calls": ("completed", None),
    "function_call": ("completed", None),  # deprecated spelling
    "eos": ("completed", None),
    "end_turn": ("completed", None),
    "stop_sequence": ("completed", None),
    "length": ("incomplete", "max_output_tokens"),
    "max_tokens": ("incomplete", "max_output_tokens"),
    "content_filter": ("incomplete", "content_filter"),
    "error": ("failed", None),
    "abort": ("failed", None),
}


def random_id(prefix: str) -> str:
    """``msg_…``, ``fc_…``: the prefixes OpenAI uses, with 32 random hex digits."""
    return f"{prefix}_{uuid.uuid4().hex}"


def counting_ids() -> IdFactory:
    """Deterministic ids (``msg_0001``…) for tests and reproducible demos."""
    counts: dict[str, int] = {}

    def make(prefix: str) -> str:
        counts[prefix] = counts.get(prefix, 0) + 1
        return f"{prefix}_{counts[prefix]:04d}"

    return make


def map_usage(usage: Any) -> dict[str, Any] | None:
    """Chat ``usage`` → Responses ``usage`` (None when it is unusable).

    xAI counts reasoning tokens outside ``completion_tokens`` (total = prompt + completion +
    reasoning); Responses counts them inside ``output_tokens``, so they are added back there.
    DeepSeek reports cache hits as ``prompt_cache_hit_tokens``.
    """
    if not isinstance(usage, dict):
        return None
    prompt, completion, total = (
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        usage.get("total_tokens"),
    )
    if not _is_int(prompt) or not _is_int(completion):
        return None
    pdet = usage.get("prompt_tokens_details")
    cached = pdet.get("cached_tokens") if isinstance(pdet, dict) else None
    if not _is_int(cached):
        cached = usage.get("prompt_cache_hit_tokens")
    cdet = usage.get("completion_tokens_details")
    reasoning = cdet.get("reasoning_tokens") if isinstance(cdet, dict) else None
    reasoning = reasoning if _is_int(reasoning) else 0
    output = completion
    if reasoning and _is_int(total) and total == prompt + completion + reasoning:
        output = completion + reasoning
    return {
        "input_tokens": prompt,
        "input_tokens_details": {
            "cached_tokens": cached if _is_int(cached) else 0,
            "cache_write_tokens": 0,
        },
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + output,
    }


def map_logprobs(logprobs: Any) -> list[dict[str, Any]]:
    """Chat ``choices[].logprobs.content`` → the Responses ``logprobs`` list of a text delta."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return []
    out = []
    for entry in content:
        if not isinstance(entry, dict):
            continue
        tops = entry.get("top_logprobs")
        out.append(
            {
                "token": entry.get("token", ""),
                "logprob": entry.get("logprob", 0.0),
                "bytes": entry.get("bytes"),
                "top_logprobs": [
                    {"token": t.get("token", ""), "logprob": t.get("logprob", 0.0)}
                    for t in (tops if isinstance(tops, list) else [])
                    if isinstance(t, dict)
                ],
            }
        )
    return out


SAMPLING_DEFAULTS: dict[str, float] = {
    "temperature": 1.0,
    "top_p": 1.0,
    "presence_penalty": 0.0,
    "frequency_penalty": 0.0,
}
"""The sampling parameters every Response states (the Open Responses schema requires numbers,
never null): the request's value, else the default the upstream applied when none was sent."""


def _text_field(text: Any) -> dict[str, Any]:
    """The Response's ``text``: what the request asked for, with the ``format`` the schema
    requires (a request that sets only ``verbosity`` gets plain text)."""
    if not isinstance(text, dict):
        return {"format": {"type": "text"}}
    if isinstance(text.get("format"), dict):
        return text
    return {**text, "format": {"type": "text"}}


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_int(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool)


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Part:
    """A content part (or reasoning summary part) being streamed."""

    __slots__ = ("done", "index", "logprobs", "texts", "type")

    def __init__(self, ptype: str, index: int) -> None:
        self.type = ptype
        self.index = index
        self.texts: list[str] = []
        self.logprobs: list[dict[str, Any]] = []  # an output_text part's token logprobs
        self.done: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        texts = self.texts
        if len(texts) > 1:
            self.texts = texts = ["".join(texts)]
        return texts[0] if texts else ""

    def as_dict(self) -> dict[str, Any]:
        """The part as it stands (what ``content_part.done`` carries once it is closed)."""
        if self.type == "output_text":
            return {
                "type": "output_text",
                "annotations": [],
                "logprobs": list(self.logprobs),
                "text": self.text,
            }
        if self.type == "refusal":
            return {"type": "refusal", "refusal": self.text}
        return {"type": self.type, "text": self.text}


class _Call:
    """One upstream tool call, keyed by its chat ``index``."""

    __slots__ = ("args", "call_id", "checked", "complete", "index", "item", "name", "upstream_id")

    def __init__(self, index: int, upstream_id: str, call_id: str, name: str) -> None:
        self.index = index
        self.upstream_id = upstream_id
        self.call_id = call_id
        self.name = name
        self.args: list[str] = []
        self.item: _Item | None = None
        self.checked = -1  # length of the arguments when completeness was last decided
        self.complete = False

    @property
    def arguments(self) -> str:
        args = self.args
        if len(args) > 1:
            self.args = args = ["".join(args)]
        return args[0] if args else ""

    def is_complete(self) -> bool:
        """True once the arguments so far parse as JSON: no later fragment can belong to it."""
        text = self.arguments
        if self.checked != len(text):
            self.checked = len(text)
            if text.lstrip()[:1] not in ("{", "["):
                self.complete = False  # tool arguments are a JSON object; "1" is not a whole one
            else:
                try:
                    from_json(text)
                    self.complete = True
                except ValueError:
                    self.complete = False
        return self.complete


class _Item:
    """An output item: message, reasoning or function_call."""

    __slots__ = ("added", "call", "done", "id", "kind", "output_index", "part", "parts")

    def __init__(self, kind: str, output_index: int, item_id: str, added: dict[str, Any]) -> None:
        self.kind = kind
        self.output_index = output_index
        self.id = item_id
        self.added = added
        self.parts: list[_Part] = []
        self.part: _Part | None = None
        self.call: _Call | None = None
        self.done: dict[str, Any] | None = None

    def current(self) -> dict[str, Any]:
        """The item as ``response.output`` lists it: the done item, or what has streamed so far
        (exactly what a client that accumulated the events holds)."""
        if self.done is not None:
            return self.done
        item = dict(self.added)
        if self.kind == "message":
            item["content"] = [p.as_dict() for p in self.parts]
        elif self.kind == "reasoning":
            item["summary"] = [
                {"type": "summary_text", "text": p.text}
                for p in self.parts
                if p.type == "summary_text"
            ]
            content = [p.as_dict() for p in self.parts if p.type == "reasoning_text"]
            if content:
                item["content"] = content
        elif self.call is not None and self.call.args:
            item["arguments"] = self.call.arguments
        return item


class _Unnamed:
    """Fragments of a call whose name has not arrived yet."""

    __slots__ = ("args", "id")

    def __init__(self) -> None:
        self.id = ""
        self.args: list[str] = []


class ChatToResponses:
    """The incremental translator. Every public method returns the events it produced, in order.

    ``response`` holds the Response fields echoed from the request (``request.to_chat`` builds
    them); ``on_done`` is told the final Response of a completed or incomplete answer before its
    terminal event is returned (the engine stores it for ``previous_response_id``); ``reasoning`` chooses how reasoning text is streamed: ``"text"`` (a ``reasoning_text``
    content part, OpenAI's raw-reasoning form), ``"summary"`` (a summary part, which Codex shows
    by default) or ``"open-responses"`` (the ``reasoning_text`` part under the spec's event
    names, :data:`REASONING_MODES`). ``refusal`` streams upstream refusals as a ``refusal`` part (``"part"``, as
    OpenAI does) or as ordinary text (``"text"``): Codex drops messages with refusal parts.
    """

    def __init__(
        self,
        response: dict[str, Any] | None = None,
        *,
        model: str = "",
        ids: IdFactory = random_id,
        clock: Callable[[], float] = time.time,
        reasoning: str = "text",
        refusal: str = "part",
        on_warning: Callable[[str], None] | None = None,
        on_done: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if reasoning not in REASONING_MODES:
            raise ValueError(
                f"reasoning must be one of {', '.join(REASONING_MODES)}, not {reasoning!r}"
            )
        if refusal not in ("part", "text"):
            raise ValueError(f"refusal must be 'part' or 'text', not {refusal!r}")
        self._refusal_kind = "refusal" if refusal == "part" else "content"
        self._ids = ids
        self._clock = clock
        self._reasoning_part = "summary_text" if reasoning == "summary" else "reasoning_text"
        self._reasoning_delta = RAW_REASONING_EVENTS[reasoning == "open-responses"][0]
        self._text_done = {
            **_TEXT_DONE,
            "reasoning_text": (RAW_REASONING_EVENTS[reasoning == "open-responses"][1], "text"),
        }
        self._on_warning = on_warning
        self._on_done = on_done
        self.warnings: list[str] = []
        base = dict(response or {})
        self.response_id: str = base.pop("id", None) or ids("resp")
        self.model = model or base.get("model") or ""
        self._base = base
        self._created_at = int(clock())
        self._seq = 0
        self._out: list[Event] = []
        self._items: list[_Item] = []
        self._active: _Item | None = None
        self._calls: dict[int, _Call] = {}
        self._upstream_ids: set[str] = set()
        self._unnamed: dict[int, _Unnamed] = {}
        self._pending: deque[tuple[Any, ...]] = deque()
        self._force = False
        self._finish: tuple[str, str | None] | None = None
        self._usage: dict[str, Any] | None = None
        self._usage_after_finish = False
        self.started = False
        self.done = False
        self.status: str | None = None
        """The terminal status once ``done``: completed, incomplete or failed."""
        self.chunks = 0
        self.upstream_model: str | None = None

    # =========================================================================================
    # public API
    # =========================================================================================

    @property
    def finished(self) -> bool:
        """A finish_reason arrived (the terminal event may still be waiting for usage)."""
        return self._finish is not None

    @property
    def sequence_number(self) -> int:
        """The next sequence number."""
        return self._seq

    def start(self) -> list[Event]:
        """``response.created`` and ``response.in_progress``: sent as soon as the upstream
        answers 200, before the first token, so the client sees the turn start at once."""
        out: list[Event] = []
        self._out = out
        self._ensure_started()
        return out

    def feed_data(self, data: str) -> list[Event]:
        """One SSE ``data`` payload of the chat stream (``[DONE]`` included)."""
        if data == "[DONE]" or (len(data) < 16 and data.strip() == "[DONE]"):
            return self.upstream_done()
        try:
            chunk = from_json(data)
        except ValueError:
            if not data.strip():
                return []  # an empty data line: nothing to translate
            try:
                chunk = json.loads(data)
            except ValueError:
                self._out = []
                return self._fail_now(
                    "invalid_upstream_chunk",
                    f"the upstream sent a chunk that is not JSON: {_short(data)!r}",
                    error_event=True,
                )
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Any) -> list[Event]:
        """One decoded chat chunk (``chat.completion.chunk``, a usage chunk or ``{"error": …}``)."""
        out: list[Event] = []
        self._out = out
        if self.done:
            self._warn_once("chunks after the terminal event are ignored")
            return out
        self._ensure_started()
        self.chunks += 1
        if not isinstance(chunk, dict):
            return self._fail_now(
                "invalid_upstream_chunk",
                f"the upstream sent a JSON {type(chunk).__name__}, not a chunk object",
                error_event=True,
            )
        error = chunk.get("error")
        if error is not None:
            return self._upstream_error(error)
        if self.upstream_model is None and isinstance(chunk.get("model"), str):
            self.upstream_model = chunk["model"]
        choices = chunk.get("choices")
        if choices is not None:
            self._choices(choices)
            if self.done:
                return out
        if choices is None or "usage" in chunk or "x_groq" in chunk:
            self._chunk_usage(chunk, choices is not None)
        if self._finish is not None and self._usage_after_finish:
            self._terminal()
        return out

    def upstream_done(self) -> list[Event]:
        """The upstream's ``data: [DONE]``."""
        out: list[Event] = []
        self._out = out
        if self.done:
            return out
        self._ensure_started()
        if self._finish is None:
            self._warn("the upstream sent [DONE] without a finish_reason; ending completed")
            self._finish_with("stop")
        self._terminal()
        return out

    def finish(self, reason: str = EndReason.EOF) -> list[Event]:
        """The upstream stream ended (EOF), or the wait for usage after ``finish_reason`` ran
        out (``reason="grace"``). Without a finish_reason this is a cut: ``response.failed``."""
        out: list[Event] = []
        self._out = out
        if self.done:
            return out
        self._ensure_started()
        if self._finish is not None:
            self._terminal()
            return out
        return self._fail_now(
            "upstream_disconnected",
            "the upstream stream ended before a finish_reason (the answer is cut)",
            error_event=False,
        )

    def fail(self, code: str, message: str, *, error_event: bool = False) -> list[Event]:
        """End ``response.failed`` (transport errors, timeouts); optionally after an ``error``."""
        out: list[Event] = []
        self._out = out
        if self.done:
            return out
        self._ensure_started()
        return self._fail_now(code, message, error_event=error_event)

    def keepalive(self) -> list[Event]:
        """A ``keepalive`` event: a complete SSE event (unlike a comment) that resets Codex's idle
        timer while the upstream is silent, as OpenAI sends on long streams. It takes a sequence
        number, as OpenAI's does."""
        out: list[Event] = []
        self._out = out
        if self.started and not self.done:
            self._emit({"type": "keepalive"})
        return out

    def snapshot(self) -> dict[str, Any]:
        """The Response as it stands (the terminal response once ``done``)."""
        status = self.status or "in_progress"
        return self._response(status)

    # =========================================================================================
    # chunk contents
    # =========================================================================================

    def _choices(self, choices: Any) -> None:
        """A chunk's ``choices``: the first choice's delta, then its finish_reason."""
        if not isinstance(choices, list):
            self._malformed("`choices` is not an array")
            return
        for choice in choices:
            if not isinstance(choice, dict):
                self._malformed("a choice is not an object")
                return
            index = choice.get("index", 0)
            if index != 0 and index is not None:
                self._warn_once("only the first choice is translated (the request had n > 1)")
                continue
            delta = choice.get("delta")
            if delta is None:
                delta = choice.get("message")  # some servers stream whole messages
            if delta is not None:
                if not isinstance(delta, dict):
                    self._malformed("`delta` is not an object")
                    return
                self._delta(delta, choice.get("logprobs"))
                if self.done:
                    return
            reason = choice.get("finish_reason")
            if reason is not None and self._finish is None:
                self._finish_reason(reason)
                if self.done:
                    return

    def _finish_reason(self, reason: Any) -> None:
        if isinstance(reason, str):
            self._finish_with(reason)
        else:
            self._malformed("`finish_reason` is not a string")

    def _chunk_usage(self, chunk: dict[str, Any], has_choices: bool) -> None:
        """The chunk's usage (Groq's sits in ``x_groq``); it lets the terminal event go."""
        usage = chunk.get("usage")
        if usage is None:
            groq = chunk.get("x_groq")
            usage = groq.get("usage") if isinstance(groq, dict) else None
        if usage is not None:
            mapped = map_usage(usage)
            if mapped is None:
                self._warn_once("an unusable usage object was ignored")
            else:
                self._usage = mapped
                if self._finish is not None:
                    self._usage_after_finish = True
        elif not has_choices:
            self._warn_once("a chunk with neither choices nor usage was ignored")

    def _delta(self, delta: dict[str, Any], logprobs: Any) -> None:
        get = delta.get
        reasoning = get("reasoning_content") or get("reasoning")
        if reasoning:
            self._reasoning(reasoning)
        content = get("content")
        if content:
            if type(content) is str:
                self._route(
                    ("text", "content", content, map_logprobs(logprobs) if logprobs else None)
                )
            else:
                self._content(content)
                if self.done:
                    return
        refusal = get("refusal")
        if refusal:
            self._refusal(refusal)
            if self.done:
                return
        calls = get("tool_calls")
        if calls:
            if not isinstance(calls, list):
                self._malformed("`delta.tool_calls` is not an array")
                return
            for position, fragment in enumerate(calls):
                self._tool_fragment(fragment, position)
                if self.done:
                    return
        legacy = get("function_call")
        if legacy:
            self._legacy_call(legacy)

    def _reasoning(self, reasoning: Any) -> None:
        if isinstance(reasoning, str):
            self._route(("text", "reasoning", reasoning, None))
        else:
            self._warn_once("a reasoning field that is not a string was ignored")

    def _content(self, content: Any) -> None:
        """``delta.content`` that is not a string: a list of parts, or malformed."""
        if isinstance(content, list):
            self._content_parts(content)
        else:
            self._malformed("`delta.content` is not a string")

    def _refusal(self, refusal: Any) -> None:
        if isinstance(refusal, str):
            self._route(("text", self._refusal_kind, refusal, None))
        else:
            self._malformed("`delta.refusal` is not a string")

    def _legacy_call(self, legacy: Any) -> None:
        """The deprecated ``delta.function_call``: one call, at index 0."""
        if isinstance(legacy, dict):
            self._tool_fragment({"index": 0, "function": legacy}, 0)
        else:
            self._malformed("`delta.function_call` is not an object")

    def _content_parts(self, parts: list[Any]) -> None:
        """``content`` as a list of parts (Mistral's thinking blocks)."""
        for part in parts:
            if not isinstance(part, dict):
                continue
            ptype = part.get("type")
            if ptype == "text" and isinstance(part.get("text"), str) and part["text"]:
                self._route(("text", "content", part["text"], None))
            elif ptype == "thinking":
                inner = part.get("thinking")
                texts = inner if isinstance(inner, list) else [part]
                for t in texts:
                    if isinstance(t, dict) and isinstance(t.get("text"), str) and t["text"]:
                        self._route(("text", "reasoning", t["text"], None))

    def _tool_fragment(self, fragment: Any, position: int) -> None:
        if not isinstance(fragment, dict):
            self._malformed("a tool_calls entry is not an object")
            return
        index, fid, name, args = self._fragment_fields(fragment, position)
        call = self._calls.get(index)
        if call is not None and fid and name and self._starts_another_call(call, fid):
            call = None  # a new call at a used index (servers that number every call 0)
        if call is None:
            call = self._named_call(index, fid, name, args)
            if call is None:
                return
        elif name or fid:
            self._check_continuation(call, fid, name)
        if args:
            self._route(("args", call, args))

    def _fragment_fields(
        self, fragment: dict[str, Any], position: int
    ) -> tuple[int, str, str, str]:
        """(index, id, name, arguments) of a tool-call fragment, with the types fixed: a missing
        index is the index of the call with the same id, else the fragment's position."""
        index = fragment.get("index")
        fid = fragment.get("id")
        fid = fid if isinstance(fid, str) else ""
        fn = fragment.get("function")
        fn = fn if isinstance(fn, dict) else {}
        name = fn.get("name")
        name = name if isinstance(name, str) else ""
        args = fn.get("arguments")
        if args is None:
            args = ""
        elif not isinstance(args, str):
            self._warn_once("tool-call arguments sent as a JSON value were serialised to text")
            args = json.dumps(args, ensure_ascii=False)
        if not _is_int(index):
            index = next(
                (c.index for c in self._calls.values() if fid and c.upstream_id == fid), position
            )
        return index, fid, name, args

    @staticmethod
    def _starts_another_call(call: _Call, fid: str) -> bool:
        """A named fragment with a different id at the index of a call that is complete (or has
        no arguments yet) starts another call."""
        return bool(
            call.upstream_id and fid != call.upstream_id and (call.is_complete() or not call.args)
        )

    def _named_call(self, index: int, fid: str, name: str, args: str) -> _Call | None:
        """The call a fragment at a fresh index starts, once it has a name (None: the fragment
        was buffered until the name comes)."""
        buffered = self._unnamed.get(index)
        if not name:
            if buffered is None:
                buffered = self._unnamed[index] = _Unnamed()
            if fid and not buffered.id:
                buffered.id = fid
            if args:
                buffered.args.append(args)
            return None
        if buffered is not None:
            del self._unnamed[index]
        call = self._new_call(index, fid or (buffered.id if buffered else ""), name)
        self._route(("open", call))
        if buffered is not None and buffered.args:
            self._route(("args", call, "".join(buffered.args)))
        return call

    def _check_continuation(self, call: _Call, fid: str, name: str) -> None:
        if name and name != call.name and not call.name.endswith(name):
            self._warn_once(f"a later fragment renamed call {call.name!r}; the name is kept")
        if fid and not call.upstream_id:
            self._warn_once("a tool-call id arrived after the call started; call_id is kept")

    def _new_call(self, index: int, upstream_id: str, name: str) -> _Call:
        call_id = upstream_id
        if not call_id:
            call_id = self._ids("call")
        elif call_id in self._upstream_ids:
            self._warn(f"the upstream reused tool-call id {call_id!r}; a fresh call_id is used")
            call_id = self._ids("call")
        self._upstream_ids.add(call_id)
        call = _Call(index, upstream_id, call_id, name)
        self._calls[index] = call
        return call

    # =========================================================================================
    # routing: one open item at a time
    # =========================================================================================

    def _blocked(self) -> bool:
        """An open call whose arguments are not yet complete JSON holds back everything else."""
        active = self._active
        return (
            active is not None
            and active.call is not None
            and not self._force
            and not active.call.is_complete()
        )

    def _route(self, frag: tuple[Any, ...]) -> None:
        if frag[0] == "args":
            call: _Call = frag[1]
            if call.item is not None and call.item is self._active:
                self._args(call, frag[2])
                if self._pending and not self._blocked():
                    self._drain()
                return
        if self._pending or self._blocked():
            self._pending.append(frag)
            return
        self._apply(frag)

    def _drain(self) -> None:
        pending = self._pending
        while pending:
            if not self._blocked():
                self._apply(pending.popleft())
                continue
            # Still blocked: pull the open call's own fragments forward, keep the rest in order.
            active_call = self._active.call if self._active is not None else None
            for i, frag in enumerate(pending):
                if frag[0] == "args" and frag[1] is active_call:
                    del pending[i]
                    self._apply(frag)
                    break
            else:
                return

    def _apply(self, frag: tuple[Any, ...]) -> None:
        kind = frag[0]
        if kind == "text":
            self._text(frag[1], frag[2], frag[3])
        elif kind == "open":
            self._close_active()
            self._open_call(frag[1])
        else:
            self._args(frag[1], frag[2])

    def _args(self, call: _Call, text: str) -> None:
        item = call.item
        if item is None or item.done is not None:
            if text.strip():
                self._warn(
                    f"arguments for call {call.name!r} arrived after it was closed and were dropped"
                )
            return
        call.args.append(text)
        self._emit(
            {
                "type": "response.function_call_arguments.delta",
                "item_id": item.id,
                "output_index": item.output_index,
                "delta": text,
            }
        )

    def _text(self, kind: str, text: str, logprobs: list[dict[str, Any]] | None) -> None:
        target = "reasoning" if kind == "reasoning" else "message"
        item = self._active
        if item is None or item.kind != target:
            self._close_active()
            item = self._open_item(target)
        ptype = (
            self._reasoning_part
            if kind == "reasoning"
            else ("output_text" if kind == "content" else "refusal")
        )
        part = item.part
        if part is None or part.type != ptype:
            self._close_part(item)
            part = self._open_part(item, ptype)
        part.texts.append(text)
        if ptype == "output_text":
            lp = logprobs or []
            if lp:
                part.logprobs.extend(lp)
            self._emit(
                {
                    "type": "response.output_text.delta",
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "content_index": part.index,
                    "delta": text,
                    "logprobs": lp,
                }
            )
        elif ptype == "summary_text":
            self._emit(
                {
                    "type": "response.reasoning_summary_text.delta",
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "summary_index": part.index,
                    "delta": text,
                }
            )
        else:
            self._emit(
                {
                    "type": "response.refusal.delta"
                    if ptype == "refusal"
                    else self._reasoning_delta,
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "content_index": part.index,
                    "delta": text,
                }
            )

    # =========================================================================================
    # items and parts
    # =========================================================================================

    def _open_item(self, kind: str) -> _Item:
        index = len(self._items)
        if kind == "message":
            item_id = self._ids("msg")
            added: dict[str, Any] = {
                "id": item_id,
                "type": "message",
                "status": "in_progress",
                "content": [],
                "role": "assistant",
            }
        else:
            item_id = self._ids("rs")
            added = {"id": item_id, "type": "reasoning", "summary": [], "status": "in_progress"}
        item = _Item(kind, index, item_id, added)
        self._items.append(item)
        self._active = item
        self._emit({"type": "response.output_item.added", "output_index": index, "item": added})
        return item

    def _open_call(self, call: _Call) -> None:
        index = len(self._items)
        item_id = self._ids("fc")
        added = {
            "id": item_id,
            "type": "function_call",
            "status": "in_progress",
            "arguments": "",
            "call_id": call.call_id,
            "name": call.name,
        }
        item = _Item("function_call", index, item_id, added)
        item.call = call
        call.item = item
        self._items.append(item)
        self._active = item
        self._emit({"type": "response.output_item.added", "output_index": index, "item": added})

    def _open_part(self, item: _Item, ptype: str) -> _Part:
        if ptype == "summary_text":
            index = sum(1 for p in item.parts if p.type == "summary_text")
            part = _Part(ptype, index)
            self._emit(
                {
                    "type": "response.reasoning_summary_part.added",
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "summary_index": index,
                    "part": {"type": "summary_text", "text": ""},
                }
            )
        else:
            index = sum(1 for p in item.parts if p.type != "summary_text")
            part = _Part(ptype, index)
            self._emit(
                {
                    "type": "response.content_part.added",
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "content_index": index,
                    "part": part.as_dict(),
                }
            )
        item.parts.append(part)
        item.part = part
        return part

    def _close_part(self, item: _Item) -> None:
        part = item.part
        if part is None:
            return
        item.part = None
        text = part.text
        if part.type == "summary_text":
            self._close_summary(item, part, text)
            return
        done_type, field = self._text_done[part.type]
        event: Event = {
            "type": done_type,
            "item_id": item.id,
            "output_index": item.output_index,
            "content_index": part.index,
            field: text,
        }
        if part.type == "output_text":
            event["logprobs"] = list(part.logprobs)
        self._emit(event)
        part.done = part.as_dict()
        self._emit(
            {
                "type": "response.content_part.done",
                "item_id": item.id,
                "output_index": item.output_index,
                "content_index": part.index,
                "part": part.done,
            }
        )

    def _close_summary(self, item: _Item, part: _Part, text: str) -> None:
        base = {"item_id": item.id, "output_index": item.output_index}
        self._emit(
            {
                "type": "response.reasoning_summary_text.done",
                **base,
                "summary_index": part.index,
                "text": text,
            }
        )
        part.done = {"type": "summary_text", "text": text}
        self._emit(
            {
                "type": "response.reasoning_summary_part.done",
                **base,
                "summary_index": part.index,
                "part": part.done,
            }
        )

    def _close_active(self, status: str = "completed") -> None:
        item = self._active
        if item is None:
            return
        self._active = None
        if item.call is not None:
            call = item.call
            args = call.arguments
            self._emit(
                {
                    "type": "response.function_call_arguments.done",
                    "item_id": item.id,
                    "output_index": item.output_index,
                    "arguments": args,
                    "name": call.name,
                }
            )
            done: dict[str, Any] = {
                "id": item.id,
                "type": "function_call",
                "status": status,
                "arguments": args,
                "call_id": call.call_id,
                "name": call.name,
            }
        else:
            self._close_part(item)
            if item.kind == "message":
                done = {
                    "id": item.id,
                    "type": "message",
                    "status": status,
                    "content": [p.done or p.as_dict() for p in item.parts],
                    "role": "assistant",
                }
            else:
                done = {
                    "id": item.id,
                    "type": "reasoning",
                    "summary": [p.done for p in item.parts if p.type == "summary_text"],
                    "status": status,
                }
                content = [p.done for p in item.parts if p.type == "reasoning_text"]
                if content:
                    done["content"] = content
        item.done = done
        self._emit(
            {"type": "response.output_item.done", "output_index": item.output_index, "item": done}
        )

    # =========================================================================================
    # the end
    # =========================================================================================

    def _finish_with(self, reason: str) -> None:
        kind, incomplete = _FINISH.get(reason, ("completed", None))
        if reason not in _FINISH:
            self._warn(f"unknown finish_reason {reason!r}, taken as stop")
        if kind == "failed":
            self._fail_now(
                "upstream_error",
                f"the upstream ended the answer with finish_reason {reason!r}",
                error_event=True,
            )
            return
        self._finish = (kind, incomplete)
        self._force = True
        self._drain()
        for index in sorted(self._unnamed):
            buffered = self._unnamed.pop(index)
            self._warn(f"tool call {index} never got a name; it is sent with an empty name")
            call = self._new_call(index, buffered.id, "")
            self._apply(("open", call))
            if buffered.args:
                self._apply(("args", call, "".join(buffered.args)))
        self._close_active("incomplete" if kind == "incomplete" else "completed")

    def _terminal(self) -> None:
        if self.done:
            return
        assert self._finish is not None
        kind, reason = self._finish
        self.status = kind
        response = self._response(kind)
        if reason is not None:
            response["incomplete_details"] = {"reason": reason}
        self.done = True
        if self._on_done is not None:
            self._on_done(response)  # before the event is sent: a client may reply at once
        self._emit({"type": f"response.{kind}", "response": response})

    def _upstream_error(self, error: Any) -> list[Event]:
        if isinstance(error, dict):
            message = error.get("message")
            code = error.get("code")
            etype = error.get("type")
        else:
            message, code, etype = error, None, None
        message = message if isinstance(message, str) and message else _short(str(error), 300)
        code = str(code) if code is not None and not isinstance(code, bool) else "upstream_error"
        return self._fail_now(
            code,
            message,
            error_event=True,
            error_type=etype if isinstance(etype, str) else "server_error",
        )

    def _malformed(self, why: str) -> list[Event]:
        return self._fail_now(
            "invalid_upstream_chunk",
            f"the upstream sent a malformed chunk: {why}",
            error_event=True,
        )

    def _fail_now(
        self,
        code: str,
        message: str,
        *,
        error_event: bool,
        error_type: str = "server_error",
    ) -> list[Event]:
        out = self._out
        if self.done:
            return out
        self._ensure_started()
        if error_event:
            self._emit(
                {
                    "type": "error",
                    "error": {"type": error_type, "code": code, "message": message, "param": None},
                }
            )
        self._pending.clear()
        self._unnamed.clear()
        self.status = "failed"
        response = self._response("failed")
        response["error"] = {"code": code, "message": message}
        self.done = True
        self._emit({"type": "response.failed", "response": response})
        return out

    # =========================================================================================
    # plumbing
    # =========================================================================================

    def _ensure_started(self) -> None:
        if self.started:
            return
        self.started = True
        self._emit({"type": "response.created", "response": self._response("in_progress")})
        self._emit({"type": "response.in_progress", "response": self._response("in_progress")})

    def _response(self, status: str) -> dict[str, Any]:
        base = self._base
        response: dict[str, Any] = {
            "id": self.response_id,
            "object": "response",
            "created_at": self._created_at,
            "status": status,
            "background": False,
            "error": None,
            "incomplete_details": None,
            "instructions": base.get("instructions"),
            "max_output_tokens": base.get("max_output_tokens"),
            "max_tool_calls": base.get("max_tool_calls"),
            "metadata": base.get("metadata") or {},
            "model": self.model,
            "output": [item.current() for item in self._items],
            "parallel_tool_calls": base.get("parallel_tool_calls", True),
            "previous_response_id": base.get("previous_response_id"),
            "prompt_cache_key": base.get("prompt_cache_key"),
            "reasoning": base.get("reasoning") or {"effort": None, "summary": None},
            "safety_identifier": base.get("safety_identifier"),
            "store": base.get("store", False),
            "text": _text_field(base.get("text")),
            "tool_choice": base.get("tool_choice", "auto"),
            "tools": list(base.get("tools") or []),
            "truncation": base.get("truncation") or "disabled",
            "usage": self._usage if status != "in_progress" else None,
            "user": base.get("user"),
            "completed_at": int(self._clock()) if status == "completed" else None,
        }
        for key, default in SAMPLING_DEFAULTS.items():
            value = base.get(key)
            response[key] = value if _is_number(value) else default
        response["top_logprobs"] = base["top_logprobs"] if _is_int(base.get("top_logprobs")) else 0
        response["service_tier"] = "default"  # the engine has no tiers: what was used
        return response

    def _emit(self, event: Event) -> None:
        event["sequence_number"] = self._seq
        self._seq += 1
        self._out.append(event)

    def _warn(self, message: str) -> None:
        self.warnings.append(message)
        if self._on_warning is not None:
            self._on_warning(message)

    def _warn_once(self, message: str) -> None:
        if message not in self.warnings:
            self._warn(message)
