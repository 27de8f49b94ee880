"""The output-item tree, rebuilt from the events alone.

response → output items → content parts / summary parts → accumulated text or arguments, each node
with its status. Accumulation follows the SDK accumulators: deltas append, ``.done`` values and
``output_item.done`` items are kept next to what was streamed so the checker can compare them, and
the reconstructed Response uses the authoritative value (the ``.done`` item when one came).

The tree is permissive on purpose: it keeps going on broken streams (missing indexes, unknown items,
deltas with no part) so that a person still sees what arrived; the checker says what was wrong.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any


class TextBuffer:
    """Append-only text that does not keep one Python object per delta.

    A list of a million one-token strings costs ~60 bytes each on top of the text. Every 1024
    pieces are joined into one block (never the whole text: re-joining everything so far would
    be quadratic); ``value`` joins the blocks once and keeps the result.
    """

    __slots__ = ("_blocks", "_len", "_parts")

    def __init__(self, text: str = "") -> None:
        self._blocks: list[str] = []
        self._parts: list[str] = [text] if text else []
        self._len = len(text)

    def append(self, text: str) -> None:
        parts = self._parts
        parts.append(text)
        self._len += len(text)
        if len(parts) >= 1024:
            self._blocks.append("".join(parts))
            self._parts = []

    @property
    def value(self) -> str:
        if self._parts:
            self._blocks.append("".join(self._parts))
            self._parts = []
        blocks = self._blocks
        if len(blocks) > 1:
            self._blocks = blocks = ["".join(blocks)]
        return blocks[0] if blocks else ""

    def head(self, n: int) -> str:
        """The first ``n`` characters, without joining the whole text (a view shows a few of a
        text that can be megabytes, several times a second while it grows)."""
        out: list[str] = []
        size = 0
        for piece in itertools.chain(self._blocks, self._parts):
            if size >= n:
                break
            out.append(piece[: n - size])
            size += len(out[-1])
        return "".join(out)

    def __len__(self) -> int:
        return self._len

    def __bool__(self) -> bool:
        return self._len > 0


_ATOMS = (str, int, float, bool, type(None))


def json_copy(value: Any) -> Any:
    """A deep copy of a parsed JSON value (dicts, lists and immutable scalars), as
    :func:`copy.deepcopy` makes it but several times faster: every client model reconstructs
    the response at the end, and a stream of a thousand tool calls copies every item each time.
    Anything else (never in a payload) is left to deepcopy."""
    kind = type(value)
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    if kind in _ATOMS:
        return value
    return copy.deepcopy(value)


@dataclass(slots=True, eq=False)
class PartNode:
    """A content part (message/reasoning content) or a reasoning summary part."""

    index: int
    type: str
    streamed: TextBuffer = field(default_factory=TextBuffer)
    delta_count: int = 0
    added_part: dict[str, Any] | None = None
    done_text: str | None = None
    """The value of the ``.done`` event (output_text.done, refusal.done, …)."""
    done_part: dict[str, Any] | None = None
    """The part carried by content_part.done / reasoning_summary_part.done."""
    annotations: list[Any] = field(default_factory=list)
    implicit: bool = False
    """Created because deltas arrived for a part that was never added."""

    @property
    def status(self) -> str:
        if self.done_part is not None:
            return "completed"
        if self.done_text is not None:
            return "done"
        return "in_progress"

    @property
    def text(self) -> str:
        """The authoritative text: the ``.done`` value when it came, else the joined deltas."""
        if self.done_text is not None:
            return self.done_text
        return self.streamed.value

    def text_head(self, n: int) -> str:
        """``text[:n]``, without joining the deltas."""
        if self.done_text is not None:
            return self.done_text[:n]
        return self.streamed.head(n)

    def to_dict(self) -> dict[str, Any]:
        if self.done_part is not None:
            return json_copy(self.done_part)
        if self.type == "refusal":
            return {"type": "refusal", "refusal": self.text}
        out: dict[str, Any] = {"type": self.type, "text": self.text}
        if self.type == "output_text":
            out["annotations"] = list(self.annotations)
            if self.added_part is not None and "logprobs" in self.added_part:
                out["logprobs"] = self.added_part.get("logprobs")
        return out


@dataclass(slots=True, eq=False)
class ItemNode:
    """One output item and everything streamed into it."""

    position: int
    """Position in arrival order (what output_index should have been)."""
    output_index: Any
    type: str
    id: str | None
    call_id: str | None
    name: str | None
    added_item: dict[str, Any]
    done_item: dict[str, Any] | None = None
    parts: list[PartNode] = field(default_factory=list)
    summary: list[PartNode] = field(default_factory=list)
    arguments: TextBuffer = field(default_factory=TextBuffer)
    """function_call/mcp_call arguments, custom_tool_call input, code_interpreter code."""
    argument_deltas: int = 0
    arguments_done: str | None = None
    progress: list[str] = field(default_factory=list)
    """Hosted-tool progress steps seen (in_progress, searching, completed, …)."""
    event_count: int = 0
    first_event: int = -1
    last_event: int = -1
    events: list[int] | None = None
    """Indexes of every event that touched this item (kept only when the tree tracks events)."""

    @property
    def closed(self) -> bool:
        return self.done_item is not None

    @property
    def status(self) -> str:
        if self.done_item is not None:
            return str(self.done_item.get("status") or "completed")
        status = self.added_item.get("status")
        return str(status) if status else "in_progress"

    @property
    def streamed_arguments(self) -> str | None:
        """Arguments as an SDK would have them before output_item.done (None: never streamed)."""
        if self.arguments_done is not None:
            return self.arguments_done
        if self.argument_deltas:
            return self.arguments.value
        return None

    def part(self, index: Any) -> PartNode | None:
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(self.parts):
            return self.parts[index]
        return None

    def to_dict(self) -> dict[str, Any]:
        """The item as a client holds it at the end: the .done item, or what was accumulated."""
        if self.done_item is not None:
            return json_copy(self.done_item)
        item = json_copy(self.added_item)
        if self.type == "message":
            item["content"] = [p.to_dict() for p in self.parts]
        elif self.type == "reasoning":
            item["summary"] = [{"type": "summary_text", "text": p.text} for p in self.summary]
            if self.parts:
                item["content"] = [p.to_dict() for p in self.parts]
        elif self.type in ("function_call", "mcp_call"):
            streamed = self.streamed_arguments
            if streamed is not None:
                item["arguments"] = streamed
        elif self.type == "custom_tool_call":
            streamed = self.streamed_arguments
            if streamed is not None:
                item["input"] = streamed
        elif self.type == "code_interpreter_call":
            streamed = self.streamed_arguments
            if streamed is not None:
                item["code"] = streamed
        return item


class ResponseTree:
    """The response being reconstructed: lifecycle snapshots plus the output items."""

    def __init__(self, *, track_events: bool = False) -> None:
        self.items: list[ItemNode] = []
        self.by_output_index: dict[Any, ItemNode] = {}
        self.by_id: dict[str, ItemNode] = {}
        self.created: dict[str, Any] | None = None
        self.snapshot: dict[str, Any] | None = None
        """The latest lifecycle ``response`` object."""
        self.terminal_type: str | None = None
        self.terminal: dict[str, Any] | None = None
        self.track_events = track_events
        self.last_touched: int | None = None
        """Position of the item the latest event touched (the session resets it per frame)."""

    # -- lookup -----------------------------------------------------------------------------

    def find(self, output_index: Any = None, item_id: Any = None) -> ItemNode | None:
        """The item an event points at: by output_index first, then by item_id."""
        if output_index is not None and not isinstance(output_index, bool):
            try:
                node = self.by_output_index.get(output_index)
            except TypeError:  # unhashable garbage
                node = None
            if node is not None:
                return node
        if isinstance(item_id, str):
            return self.by_id.get(item_id)
        return None

    # -- mutation ---------------------------------------------------------------------------

    def touch(self, node: ItemNode, event_index: int) -> None:
        self.last_touched = node.position
        node.event_count += 1
        if node.first_event < 0:
            node.first_event = event_index
        node.last_event = event_index
        if self.track_events:
            if node.events is None:
                node.events = []
            node.events.append(event_index)

    def add_item(self, output_index: Any, item: dict[str, Any], event_index: int) -> ItemNode:
        node = ItemNode(
            position=len(self.items),
            output_index=output_index,
            type=str(item.get("type")),
            id=item.get("id") if isinstance(item.get("id"), str) else None,
            call_id=item.get("call_id") if isinstance(item.get("call_id"), str) else None,
            name=item.get("name") if isinstance(item.get("name"), str) else None,
            added_item=item,
        )
        self.items.append(node)
        key = (
            output_index
            if isinstance(output_index, int) and not isinstance(output_index, bool)
            else node.position
        )
        self.by_output_index.setdefault(key, node)
        if node.id:
            self.by_id.setdefault(node.id, node)
        self.touch(node, event_index)
        return node

    def add_part(
        self,
        node: ItemNode,
        part_type: str,
        added: dict[str, Any] | None,
        *,
        implicit: bool = False,
    ) -> PartNode:
        part = PartNode(index=len(node.parts), type=part_type, added_part=added, implicit=implicit)
        node.parts.append(part)
        return part

    def add_summary(
        self, node: ItemNode, added: dict[str, Any] | None, *, implicit: bool = False
    ) -> PartNode:
        part = PartNode(
            index=len(node.summary), type="summary_text", added_part=added, implicit=implicit
        )
        node.summary.append(part)
        return part

    # -- results ----------------------------------------------------------------------------

    def reconstruct(self) -> dict[str, Any]:
        """The Response a client would hold at the end of the stream."""
        base: dict[str, Any] = {}
        if self.created is not None:
            base.update(json_copy(self.created))
        if self.snapshot is not None:
            base.update(json_copy(self.snapshot))
        if self.terminal is not None:
            base.update(json_copy(self.terminal))
        elif base:
            base["status"] = base.get("status") or "in_progress"
        base["output"] = [n.to_dict() for n in self.items]
        return base

    def output_text(self) -> str:
        """All assistant text, as SDKs' ``output_text`` convenience property joins it."""
        texts: list[str] = []
        for node in self.items:
            if node.type != "message":
                continue
            item = node.to_dict()
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") == "output_text":
                    text = part.get("text")
                    if isinstance(text, str):
                        texts.append(text)
        return "".join(texts)
