"""Which part of a rejected request the server refuses: resend it without each suspect in turn.

The suspects are the input items but the turn's own prompt (a plain last message), the
``function_call`` + ``function_call_output`` pairs, every tool and every optional top-level key.
A suspect whose removal makes the server accept the request is a culprit. When no single removal
helps (two non-function tools that are each refused), a group is removed (all history, all
non-function tools, all tools, both) and, once the group's removal is accepted, each of its
members is put back alone: every member that brings the rejection back is a culprit.

A culprit that is a replayed history item or a tool makes the case a *thread killer*: the client
sends it again on every later turn, so the same rejection comes back forever.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..core.replay import history_items

Body = dict[str, Any]
Accepts = Callable[[Body], Awaitable[bool]]
"""Sends a body; whether the server accepted it (a 2xx status)."""

REQUIRED_KEYS = frozenset({"model", "input", "stream", "tools"})
"""Top-level keys no suspect removes (``tools`` is judged tool by tool)."""


@dataclass(frozen=True)
class Suspect:
    kind: Literal["input", "tool", "key"]
    indexes: tuple[int, ...]
    """Positions in ``input`` or ``tools`` (empty for a key)."""
    type: str
    name: str = ""
    standing: bool = False
    """Replayed history or a tool: the client resends it on every turn."""

    @property
    def where(self) -> str:
        if self.kind == "key":
            return self.name
        prefix = "input" if self.kind == "input" else "tools"
        return "+".join(f"{prefix}[{i}]" for i in self.indexes)

    def describe(self) -> str:
        if self.kind == "key":
            return f"the `{self.name}` key"
        name = f" {self.name!r}" if self.name else ""
        return f"{self.where} ({self.type}{name})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "kind": self.kind,
            "index": self.indexes[0] if self.indexes else None,
            "type": self.type,
            "name": self.name,
            "thread_killer": self.standing,
        }


def _item_type(item: Any) -> str:
    if not isinstance(item, dict):
        return type(item).__name__
    itype = str(item.get("type", "message" if "role" in item else None))
    role = item.get("role")
    return f"{itype}:{role}" if itype == "message" and isinstance(role, str) else itype


def _input_suspects(body: Body) -> list[Suspect]:
    items = body.get("input")
    if not isinstance(items, list) or len(items) < 2:
        return []
    history = {s.index: s for s in history_items(body)}
    # the turn's own prompt stays; a replayed item in last place (a function_call_output) is a
    # suspect like any other
    last = len(items) - 1
    candidates = items if last in history else items[:-1]
    out = []
    for i, item in enumerate(candidates):
        standing = history.get(i)
        name = item.get("name") if isinstance(item, dict) else None
        out.append(
            Suspect(
                "input",
                (i,),
                standing.type if standing is not None else _item_type(item),
                name if isinstance(name, str) else "",
                standing is not None,
            )
        )
    out += _call_pairs(items)
    return out


def _call_pairs(items: list[Any]) -> list[Suspect]:
    """A ``function_call`` and its output, removed together (one without the other is a request
    of its own kind, which a server may refuse for that reason)."""
    calls = {
        item.get("call_id"): i
        for i, item in enumerate(items)
        if isinstance(item, dict) and item.get("type") == "function_call"
    }
    pairs = []
    for j, item in enumerate(items):
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            i = calls.get(item.get("call_id"))
            if i is not None:
                name = items[i].get("name")
                pairs.append(
                    Suspect(
                        "input",
                        (i, j),
                        "function_call+function_call_output",
                        name if isinstance(name, str) else "",
                        True,
                    )
                )
    return pairs


def suspects(body: Body) -> list[Suspect]:
    """Every part of ``body`` a server might refuse, in the order they are tried."""
    out = _input_suspects(body)
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            tool_type = str(tool.get("type")) if isinstance(tool, dict) else "?"
            name = tool.get("name") if isinstance(tool, dict) else None
            out.append(
                Suspect("tool", (i,), tool_type, name if isinstance(name, str) else "", True)
            )
    out += [Suspect("key", (), "key", key) for key in body if key not in REQUIRED_KEYS]
    return out


def _indexes(removed: list[Suspect], kind: str) -> set[int]:
    return {i for s in removed if s.kind == kind for i in s.indexes}


def _drop(values: Any, positions: set[int]) -> Any:
    if not positions or not isinstance(values, list):
        return values
    return [v for i, v in enumerate(values) if i not in positions]


def without(body: Body, removed: list[Suspect]) -> Body:
    """``body`` with every suspect of ``removed`` taken out (positions of the original body)."""
    out = copy.deepcopy(body)
    if "input" in out:
        out["input"] = _drop(out["input"], _indexes(removed, "input"))
    if "tools" in out:
        out["tools"] = _drop(out["tools"], _indexes(removed, "tool"))
        if out["tools"] == []:  # no tools left: nothing for tool options to refer to
            for key in ("tools", "tool_choice", "parallel_tool_calls"):
                out.pop(key, None)
    for key in (s.name for s in removed if s.kind == "key"):
        out.pop(key, None)
    return out


@dataclass
class Cause:
    culprits: list[Suspect]
    how: Literal["without", "only", "none"]
    """``without``: removing a culprit alone was accepted; ``only``: putting one back into the
    accepted request brought the rejection back; ``none``: no removal was accepted."""
    requests: int

    @property
    def thread_killer(self) -> bool:
        return any(c.standing for c in self.culprits)

    def describe(self) -> str:
        if not self.culprits:
            return (
                "not caused by the history or the tools (every narrowed request was rejected too)"
            )
        return ", ".join(c.describe() for c in self.culprits)

    def to_dict(self) -> dict[str, Any]:
        return {
            "culprits": [c.to_dict() for c in self.culprits],
            "how": self.how,
            "requests": self.requests,
        }


def _groups(singles: list[Suspect]) -> list[list[Suspect]]:
    history = [s for s in singles if s.kind == "input" and s.standing and len(s.indexes) == 1]
    tools = [s for s in singles if s.kind == "tool"]
    hosted = [s for s in tools if s.type != "function"]
    groups = [history, hosted, tools, history + tools]
    out: list[list[Suspect]] = []
    for group in groups:
        if group and group not in out:
            out.append(group)
    return out


class _Narrowing:
    """One narrowing: the rejected body, the question to the server, the requests sent."""

    def __init__(self, body: Body, accepts: Accepts) -> None:
        self.body = body
        self.accepts = accepts
        self.sent = 0

    async def accepted(self, removed: list[Suspect]) -> bool:
        self.sent += 1
        return await self.accepts(without(self.body, removed))

    async def one_at_a_time(self, singles: list[Suspect]) -> list[Suspect]:
        """The suspects whose removal alone is accepted (a pair is dropped when one of its
        members is a culprit by itself)."""
        culprits = [s for s in singles if await self.accepted([s])]
        alone = {
            i for c in culprits if c.kind == "input" and len(c.indexes) == 1 for i in c.indexes
        }
        return [c for c in culprits if len(c.indexes) < 2 or not alone & set(c.indexes)]

    async def put_back(self, group: list[Suspect]) -> list[Suspect] | None:
        """With ``group`` removed and accepted: the members that bring the rejection back on
        their own (the whole group when none does alone); None when the removal is refused."""
        if not await self.accepted(group):
            return None
        culprits = [
            s for s in group if not await self.accepted([other for other in group if other != s])
        ]
        return culprits or group


async def narrow(body: Body, accepts: Accepts) -> Cause:
    """Find what of ``body`` (a rejected request) the server refuses."""
    run = _Narrowing(body, accepts)
    singles = suspects(body)
    culprits = await run.one_at_a_time(singles)
    if culprits:
        return Cause(culprits, "without", run.sent)
    for group in _groups(singles):
        found = await run.put_back(group)
        if found is not None:
            return Cause(found, "only", run.sent)
    return Cause([], "none", run.sent)
