"""Output items: appended in order, with unique ids and call ids, targeted by the right events,
opened empty and in progress, closed by ``output_item.done`` with the identity they were opened
with."""

from __future__ import annotations

from typing import Any

from .. import models as m
from ..catalogue import OFF, E, I, W, define
from ..events import Event
from ..tree import ItemNode
from . import consistency, open_responses
from .base import CheckState, is_int, on, short

define(
    "items",
    "output-index-not-appended",
    (E, E, I),
    "output_item.added's output_index is not the next index",
    'openai-node fails with "missing output at index N"; items must be appended 0, 1, 2, …',
)
define(
    "items",
    "item-unknown",
    (E, E, I),
    "An event refers to an item that was never added",
    "SDK accumulators look the item up by output_index and throw or assert; Codex logs "
    '"OutputTextDelta without active item" and loses the text from its live view.',
)
define(
    "items",
    "item-id-mismatch",
    (E, E, I),
    "`item_id` differs from the item's id",
    "openai-node throws \"expected item_id '…', got '…'\"; the GitHub Copilot proxy rotates ids "
    "this way and breaks every strict client.",
)
define(
    "items",
    "item-type-mismatch",
    (E, E, I),
    "An event targets an item of the wrong type",
    'openai-node throws "expected output item type …": e.g. text deltas aimed at a function_call.',
)
define(
    "items",
    "item-identity-changed",
    (E, E, I),
    "id, type or call_id differ between output_item.added and .done",
    "openai-node's validateCompletedOutputItemIdentity throws; clients that started a tool "
    "call from `added` answer a call_id the server no longer knows (Codex uses only .done).",
)
define(
    "items",
    "item-id-missing",
    (E, E, I),
    "An output item has no id",
    "SDKs key items by id; only function_call and custom_tool_call may omit it.",
)
define(
    "items",
    "item-id-duplicate",
    (E, E, I),
    "Two output items share an id (or call_id)",
    'openai-node v7 throws "duplicate output item identity"; tool results get routed to the '
    "wrong call.",
)
define(
    "items",
    "call-id-missing",
    (E, E, E),
    "A tool call item has no call_id",
    "Codex cannot decode the function_call and drops it silently: no tool runs and `codex exec` "
    "exits 0. The follow-up function_call_output has nothing to refer to.",
)
define(
    "items",
    "item-not-closed",
    (W, E, W),
    "An item was added but never closed with output_item.done",
    "Codex takes text and tool calls only from output_item.done: an item that never closes is "
    "lost to it even though its deltas streamed.",
)
define(
    "items",
    "item-event-after-done",
    (W, E, I),
    "Events for an item after its output_item.done",
    "Clients consider the item final at .done; later deltas are dropped or corrupt state.",
)
define(
    "items",
    "item-status",
    (W, E, I),
    "An item's status is wrong for where it is",
    "in_progress at added, completed or incomplete at done; an incomplete item must be the last "
    "one and the response must end incomplete (Open Responses MUST).",
)
define(
    "items",
    "item-added-not-empty",
    (W, W, I),
    "output_item.added does not carry zero values",
    "SDKs append deltas to the added item: content that is already there is duplicated.",
)
define(
    "items",
    "items-overlap",
    (I, I, OFF),
    "Events for an earlier item while a later one is open",
    "Allowed by the SDK accumulators, but OpenAI streams items one after another and simpler "
    "clients (Codex's active item) attach deltas to the wrong item.",
)


def resolve(
    st: CheckState,
    ev: Event,
    payload: dict[str, Any],
    *,
    check_type: bool = True,
    item_id: Any = None,
) -> ItemNode | None:
    """The item an item-scoped event targets, with the I3 checks (exists, id, type, open)."""
    oi = payload.get("output_index")
    iid = payload.get("item_id", item_id)
    node = st.tree.find(oi if is_int(oi) else None, iid)
    etype = ev.type or ""
    if node is None:
        where = f"output_index {oi}" if oi is not None else f"item_id {short(iid, 40)!r}"
        st.emit("item-unknown", f"{etype} targets {where}, which no output_item.added opened", ev)
        return None
    st.tree.touch(node, ev.index)
    if "item_id" in payload and isinstance(iid, str) and node.id is not None and iid != node.id:
        st.emit(
            "item-id-mismatch",
            f"item_id {short(iid, 40)!r}, but item {node.position} is {short(node.id, 40)!r}",
            ev,
        )
    if check_type:
        _judge_target(st, ev, node, etype)
    return node


def _judge_target(st: CheckState, ev: Event, node: ItemNode, etype: str) -> None:
    """An event inside an item: of a type that fits it, before its .done, not while a later
    item is open."""
    allowed = m.expected_item_types(etype)
    if allowed is not None and node.type not in allowed:
        st.emit("item-type-mismatch", f"{etype} targets a {node.type} item", ev)
    if node.closed:
        st.emit(
            "item-event-after-done",
            f"{etype} for item {node.position} after its output_item.done",
            ev,
        )
    last = st.tree.items[-1]
    if node is not last and not last.closed and node.position not in st.overlap_reported:
        st.overlap_reported.add(node.position)
        st.emit(
            "items-overlap",
            f"{etype} for item {node.position} while item {last.position} is open",
            ev,
        )


def _empty_ids(
    st: CheckState, ev: Event, item: dict[str, Any], itype: str | None, where: str
) -> None:
    """An empty call_id or id counts as missing (the models accept the empty string)."""
    if itype in m.CALL_ID_ITEMS and item.get("call_id") == "":
        st.emit("call-id-missing", f"{itype} item in {where} has an empty call_id", ev)
    if item.get("id") == "" and itype not in m.ID_OPTIONAL_ITEMS:
        st.emit("item-id-missing", f"{itype} item in {where} has an empty id", ev)


def _item_field_issues(st: CheckState, ev: Event, item: dict[str, Any], where: str) -> None:
    raw_type = item.get("type")
    itype = raw_type if isinstance(raw_type, str) else None
    if raw_type is not None and itype is None:
        st.emit(
            "field-type", f"{where}: `item.type` is {type(raw_type).__name__}, not a string", ev
        )
    for issue in m.validate_item(item):
        absent = issue.kind == "missing" or issue.got == "null"
        if issue.path == "item.call_id" and absent:
            st.emit("call-id-missing", f"{itype} item in {where} has no call_id", ev)
        elif issue.path == "item.id" and absent:
            st.emit("item-id-missing", f"{itype} item in {where} has no id", ev)
        elif issue.kind == "missing":
            st.emit("field-missing", f"{where}: {issue.describe()}", ev)
        else:
            st.emit("field-type", f"{where}: {issue.describe()}", ev)
    _empty_ids(st, ev, item, itype, where)
    open_responses.item_fields(st, ev, item, where)
    if itype is not None and itype not in m.ITEM_MODELS and itype not in m.OTHER_ITEM_TYPES:
        st.emit(
            "field-type",
            f"{where}: unknown item type {itype!r} (kept as is)",
            ev,
            severity="warning",
        )


@on("response.output_item.added")
def item_added(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    item = payload.get("item")
    if not isinstance(item, dict):
        return  # reported as a field issue
    oi = payload.get("output_index")
    expected = len(st.tree.items)
    if is_int(oi) and oi != expected:
        st.emit("output-index-not-appended", f"output_index {oi}, expected {expected}", ev)
    _item_field_issues(st, ev, item, "output_item.added")
    for position in st.incomplete_items:
        st.emit(
            "item-status",
            f"item {position} ended incomplete, but item {expected} follows it "
            "(an incomplete item must be the last one)",
            ev,
        )
    _judge_identity(st, ev, item, expected)
    _judge_opening(st, ev, item)
    st.tree.add_item(oi, item, ev.index)


def _judge_identity(st: CheckState, ev: Event, item: dict[str, Any], position: int) -> None:
    """An added item's id and call_id are not used by an earlier item."""
    itype = item.get("type")
    iid = item.get("id")
    if isinstance(iid, str) and iid:
        if iid in st.ids:
            st.emit("item-id-duplicate", f"id {iid!r} was already used by item {st.ids[iid]}", ev)
        else:
            st.ids[iid] = position
    call_id = item.get("call_id")
    if isinstance(call_id, str) and call_id and isinstance(itype, str):
        key = (itype, call_id)
        if key in st.call_ids:
            st.emit(
                "item-id-duplicate",
                f"call_id {call_id!r} was already used by item {st.call_ids[key]}",
                ev,
            )
        else:
            st.call_ids[key] = position


_OPENED_IN_PROGRESS = ("message", "function_call", "reasoning", "custom_tool_call")


def _judge_opening(st: CheckState, ev: Event, item: dict[str, Any]) -> None:
    """An added item is in progress and carries zero values (deltas will fill it)."""
    itype = item.get("type")
    status = item.get("status")
    if itype in _OPENED_IN_PROGRESS and status not in (None, "in_progress"):
        st.emit("item-status", f"{itype} added with status {status!r}, not in_progress", ev)
    if itype == "message" and item.get("content"):
        st.emit("item-added-not-empty", "message added with non-empty content", ev)
    elif itype == "function_call" and item.get("arguments") not in ("", None):
        st.emit(
            "item-added-not-empty",
            f"function_call added with arguments {short(item.get('arguments'), 40)!r}",
            ev,
        )
    elif itype == "reasoning" and item.get("summary"):
        st.emit("item-added-not-empty", "reasoning added with a non-empty summary", ev)


@on("response.output_item.done")
def item_done(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    item = payload.get("item")
    if not isinstance(item, dict):
        return
    node = resolve(st, ev, payload, check_type=False, item_id=item.get("id"))
    if node is None:
        return
    again = node.closed
    if again:
        st.emit("item-event-after-done", f"a second output_item.done for item {node.position}", ev)
    for key in ("type", "id", "call_id"):
        before, after = node.added_item.get(key), item.get(key)
        if before != after and (before is not None or key == "type"):
            st.emit(
                "item-identity-changed",
                f"{key} {short(before, 40)!r} at output_item.added, {short(after, 40)!r} at .done",
                ev,
            )
    _item_field_issues(st, ev, item, "output_item.done")
    status = item.get("status")
    if status == "in_progress":
        st.emit("item-status", f"{node.type} done with status 'in_progress'", ev)
    if status == "incomplete" and node.position < len(st.tree.items) - 1:
        # a later item was already added
        st.emit("item-status", f"item {node.position} is incomplete but not the last item", ev)
    if not again:  # a second .done is reported above; judging what was streamed into the
        # item against it again would repeat the first one's findings, for every part
        consistency.judge_done_item(st, ev, node, item)
        consistency.judge_arguments(st, ev, node, item)
        consistency.share_item_texts(node, item)
    node.done_item = item
    if item.get("status") == "incomplete":
        st.incomplete_items.append(node.position)


def item_scoped(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    """Every known event type no family registered for: hosted-tool progress, audio, shell and
    others that only need to find their item."""
    etype = ev.type or ""
    if etype.startswith("response.audio"):
        return
    if etype.startswith("response.shell_call_command."):
        node = st.tree.find(payload.get("output_index"), None)
        if node is None:
            st.emit(
                "item-unknown",
                f"{etype} targets output_index {payload.get('output_index')}",
                ev,
            )
        elif node.type != "shell_call":
            st.emit("item-type-mismatch", f"{etype} targets a {node.type} item", ev)
        else:
            st.tree.touch(node, ev.index)
        return
    node = resolve(st, ev, payload)
    if node is not None:
        node.progress.append(etype.rsplit(".", 1)[-1])


def incomplete_items_at_completed(st: CheckState, ev: Event) -> None:
    for node in st.tree.items:
        if node.closed and node.status == "incomplete":
            st.emit(
                "item-status",
                f"item {node.position} is incomplete but the response ends completed",
                ev,
            )


def unclosed_at_terminal(st: CheckState, ev: Event, etype: str) -> None:
    """completed closes every item; failed/incomplete may leave only the last one open (I5)."""
    closing = st.tree.items if etype == "response.completed" else st.tree.items[:-1]
    for node in closing:
        if not node.closed:
            st.emit(
                "item-not-closed",
                f"{node.type} item {node.position} ({node.id or node.call_id}) was never closed with output_item.done",
                ev,
            )


def unclosed_at_end(st: CheckState) -> None:
    """The stream ended without a terminal event: every open item is lost (after an error
    event, that is expected: info)."""
    for node in st.tree.items:
        if not node.closed:
            st.emit(
                "item-not-closed",
                f"{node.type} item {node.position} was never closed",
                t=st.timing.t_end,
                severity="info" if st.error_seen else None,
            )
