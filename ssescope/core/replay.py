"""What a Responses request carries that a client resends on every turn.

Codex (and every agent that keeps no server-side state) sends the whole conversation each turn:
earlier reasoning items, the ``function_call`` items it received, their outputs, attachments,
assistant messages, and the same tool list, non-function tools included. A server that refuses
one of those with a 4xx does not fail one turn but every later one: the refused item is part of
the thread now. This module names those *standing* parts of a request (the ``history-rejected``
rule and ``ssescope probe`` both read it) and tells which one a server's error message points at.
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Literal

PLAIN_PART_TYPES = {"assistant": frozenset({"output_text"})}
"""The content parts a message of each role usually holds (else: ``input_text``); any other
part (an image, a file, a refusal) is named in the item's type."""


@dataclass(frozen=True, slots=True)
class Standing:
    """One input item or tool that the client sends again on every turn."""

    kind: Literal["input", "tool"]
    index: int
    """Its position in ``input`` or ``tools``."""
    type: str
    """What it is: the item type (``reasoning``, ``function_call``, ``message``), with the role
    or part that makes a message history (``message:assistant``, ``message:input_image``); the
    tool type (``web_search``, ``namespace``)."""
    name: str = ""
    """The tool's or call's name, when it has one."""

    @property
    def where(self) -> str:
        """``input[3]`` / ``tools[8]``: where it is in the request."""
        return f"{'input' if self.kind == 'input' else 'tools'}[{self.index}]"

    def describe(self) -> str:
        """``input[3] (reasoning)``, ``tools[8] (namespace 'multi_agent_v1')``."""
        name = f" {self.name!r}" if self.name else ""
        return f"{self.where} ({self.type}{name})"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "index": self.index, "type": self.type, "name": self.name}


def _message_label(item: dict[str, Any]) -> str | None:
    """Why a message item is history (an assistant turn, an attachment, a refusal), or None for
    a plain user/developer/system text message."""
    role = item.get("role")
    content = item.get("content")
    parts = [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []
    plain = PLAIN_PART_TYPES.get(str(role), frozenset({"input_text"}))
    unusual = [str(p.get("type")) for p in parts if p.get("type") not in plain]
    if role == "assistant":
        return "message:assistant" + (f":{unusual[0]}" if unusual else "")
    if unusual:
        return f"message:{unusual[0]}"
    return None


def history_items(body: Any) -> list[Standing]:
    """The input items that are replayed history: anything but a plain text message from the
    user, the developer or the system (those are the turn's own prompt)."""
    raw = body.get("input") if isinstance(body, dict) else None
    if not isinstance(raw, list):
        return []
    out = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict):
            continue
        itype = item.get("type", "message" if "role" in item else None)
        label = _message_label(item) if itype == "message" else str(itype)
        if label is not None:
            name = item.get("name")
            out.append(Standing("input", index, label, name if isinstance(name, str) else ""))
    return out


def non_function_tools(body: Any) -> list[Standing]:
    """The tools that are not ``function`` tools (``web_search``, ``namespace``, ``custom``, …):
    what servers that speak only chat-style tools refuse."""
    tools = body.get("tools") if isinstance(body, dict) else None
    if not isinstance(tools, list):
        return []
    out = []
    for index, tool in enumerate(tools):
        if isinstance(tool, dict) and tool.get("type") != "function":
            name = tool.get("name")
            out.append(
                Standing(
                    "tool", index, str(tool.get("type")), name if isinstance(name, str) else ""
                )
            )
    return out


def standing_parts(body: Any) -> list[Standing]:
    """Every history item and non-function tool of a request, in that order."""
    return history_items(body) + non_function_tools(body)


def error_text(body: str) -> str:
    """The message of an OpenAI-style error body (``{"error": {"message": …}}``), else the body."""
    try:
        doc = json.loads(body)
    except ValueError:
        return body.strip()
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    if isinstance(error, str):
        return error
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return doc["message"]
    return body.strip()


def error_clues(body: str) -> str:
    """What in an error body can point at a part of the request: the message and, in the
    OpenAI envelope, ``param`` and ``code`` (LM Studio says only ``"Invalid"`` with
    ``param: "tools.8.type"``)."""
    clues = [error_text(body)]
    try:
        doc = json.loads(body)
    except ValueError:
        return clues[0]
    error = doc.get("error") if isinstance(doc, dict) else None
    if isinstance(error, dict):
        clues += [str(error[k]) for k in ("param", "code") if isinstance(error.get(k), str)]
    return " ".join(clues)


_INDEX = re.compile(r"\b(input|tools)\s*(?:\[\s*(\d+)\s*\]|\.(\d+)\b)")
_TOOL_WORDS = ("tool", "'type' of tool", "tools")
_ALIASES = {
    "encrypted_content": "reasoning",
    "reasoning": "reasoning",
    "refusal": "refusal",
}


def _by_index(message: str, parts: list[Standing]) -> list[Standing]:
    found = []
    for match in _INDEX.finditer(message):
        kind = "input" if match.group(1) == "input" else "tool"
        index = int(match.group(2) or match.group(3))
        found += [p for p in parts if p.kind == kind and p.index == index]
    return found


def _by_type(message: str, parts: list[Standing]) -> list[Standing]:
    """The parts whose type (or a word that means it) the message names; the longest names
    first, so ``function_call_output`` is not also read as ``function_call``."""
    words = {w for w in re.findall(r"[a-z_]+", message)}
    hits = []
    for part in parts:
        pieces = part.type.split(":")
        names = {pieces[0] if pieces[0] != "message" else ""} | set(pieces[1:]) | {part.name}
        aliases = {a for w, a in _ALIASES.items() if w in words}
        if (names - {""}) & (words | aliases):
            hits.append(part)
    return hits


def pointed_at(message: str, body: Any) -> list[Standing]:
    """The history items or tools of ``body`` that a server's error ``message`` names: by
    position (``input[3]``, ``tools.8``), else by type (``reasoning``, ``web_search``), else, for
    a message about tools (``'type' of tool must be 'function'``), every non-function tool.
    Empty when the message does not say."""
    parts = standing_parts(body)
    if not parts:
        return []
    lower = message.lower()
    found = _by_index(lower, parts) or _by_type(lower, parts)
    if not found and any(word in lower for word in _TOOL_WORDS):
        found = [p for p in parts if p.kind == "tool"]
    return found
