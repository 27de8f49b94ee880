"""Content parts, reasoning summary parts and annotations: appended in order, of a type that fits
their item, opened empty, each closed after its text."""

from __future__ import annotations

from typing import Any

from .. import models as m
from ..catalogue import E, I, W, define
from ..events import Event
from ..tree import ItemNode, PartNode
from . import consistency
from .base import CheckState, is_int, on
from .fields import report_issues
from .items import resolve

_PART_FITS = {"message": ("output_text", "refusal"), "reasoning": ("reasoning_text",)}

define(
    "parts",
    "content-index-not-appended",
    (E, E, I),
    "content_part.added's content_index is not the next index",
    'openai-node fails with "missing content at index N"; parts must be appended.',
)
define(
    "parts",
    "part-type-mismatch",
    (E, E, I),
    "A part event does not fit the part or item",
    "openai-node throws \"expected content to be 'output_text', got …\"; openai-python asserts.",
)
define(
    "parts",
    "part-order",
    (W, E, I),
    "A part's events are out of order",
    "Each part goes added → deltas → done → content_part.done; SDKs that finalise at .done lose "
    "what comes after.",
)
define(
    "parts",
    "part-added-not-empty",
    (W, W, I),
    "content_part.added does not carry an empty part",
    "SDKs append deltas to the added part, so pre-filled text is duplicated.",
)


@on("response.content_part.added")
def part_added(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    part = payload.get("part")
    if node is None or not isinstance(part, dict):
        return
    ci = payload.get("content_index")
    if is_int(ci) and ci != len(node.parts):
        st.emit("content-index-not-appended", f"content_index {ci}, expected {len(node.parts)}", ev)
    ptype = part.get("type")
    fits = _PART_FITS.get(node.type)
    if fits is not None and ptype not in fits:
        st.emit("part-type-mismatch", f"a {ptype!r} part in a {node.type} item", ev)
    report_issues(
        st, ev, "content_part.added", (i for i in m.validate_part(part) if i.path != "part.type")
    )
    if part.get("text") or part.get("refusal") or part.get("annotations"):
        st.emit("part-added-not-empty", f"the added {ptype} part already has content", ev)
    st.tree.add_part(node, str(ptype), part)


def part_for(
    st: CheckState, ev: Event, node: ItemNode, payload: dict[str, Any], want: str
) -> PartNode:
    """The content part a text event targets; one that was never added is opened implicitly
    (reported once) so its text is still rebuilt."""
    ci = payload.get("content_index")
    part = node.part(ci)
    if part is None and ci is None and node.parts:
        part = node.parts[-1]  # servers without content_index (llama.cpp): the open part
    if part is None:
        key = (node.position, ci if isinstance(ci, int | str | None) else repr(ci))
        if key not in st.missing_part_reported:
            st.missing_part_reported.add(key)
            st.emit(
                "part-type-mismatch",
                f"{ev.type} needs a {want} part at content_index {ci}, but content_part.added never opened it",
                ev,
            )
        part = st.tree.add_part(node, want, None, implicit=True)
    elif part.type != want and not part.implicit:
        st.emit("part-type-mismatch", f"{ev.type} targets a {part.type!r} part", ev)
    return part


@on("response.content_part.done")
def part_done(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    part_obj = payload.get("part")
    if node is None or not isinstance(part_obj, dict):
        return
    ci = payload.get("content_index")
    part = node.part(ci)
    if part is None:
        st.emit(
            "part-order", f"content_part.done for content_index {ci}, which was never added", ev
        )
        return
    if part.done_part is not None:
        st.emit("part-order", f"a second content_part.done for content_index {ci}", ev)
    if part.done_text is None and part.type in ("output_text", "refusal", "reasoning_text"):
        st.emit("part-order", f"content_part.done before the part's {part.type}.done", ev)
    if part_obj.get("type") != part.type and not part.implicit:
        st.emit(
            "part-type-mismatch",
            f"content_part.done has a {part_obj.get('type')!r} part, added as {part.type!r}",
            ev,
        )
    key = "refusal" if part.type == "refusal" else "text"
    consistency.judge_part_done(st, ev, f"content_part.done {key}", part, part_obj.get(key))
    consistency.share_text(part_obj, key, part.text)
    part.done_part = part_obj


define(
    "parts",
    "summary-index-not-appended",
    (E, E, I),
    "A reasoning summary index that is not the next one (or does not exist)",
    "openai-node's validateArrayAppend throws; Codex starts summary sections by index.",
)


@on("response.reasoning_summary_part.added")
def summary_part_added(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    si = payload.get("summary_index")
    if is_int(si) and si != len(node.summary):
        st.emit(
            "summary-index-not-appended",
            f"summary_index {si}, expected {len(node.summary)}",
            ev,
        )
    part = payload.get("part")
    st.tree.add_summary(node, part if isinstance(part, dict) else None)


def summary_part(st: CheckState, ev: Event, node: ItemNode, payload: dict[str, Any]) -> PartNode:
    """The summary part an event targets; one never added is opened implicitly (reported once)."""
    si = payload.get("summary_index")
    if is_int(si) and 0 <= si < len(node.summary):
        return node.summary[si]
    if si is None and node.summary:
        return node.summary[-1]
    key = (node.position, f"s{si}")
    if key not in st.missing_part_reported:
        st.missing_part_reported.add(key)
        st.emit(
            "summary-index-not-appended",
            f"{ev.type} uses summary_index {si}, which reasoning_summary_part.added never opened",
            ev,
        )
    return st.tree.add_summary(node, None, implicit=True)


@on("response.reasoning_summary_part.done")
def summary_part_done(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    part = summary_part(st, ev, node, payload)
    part_obj = payload.get("part")
    if isinstance(part_obj, dict):
        consistency.judge_part_done(
            st, ev, "reasoning_summary_part.done text", part, part_obj.get("text")
        )
        consistency.share_text(part_obj, "text", part.text)
        part.done_part = part_obj


define(
    "parts",
    "annotation-index",
    (E, E, I),
    "annotation_index skips ahead",
    "openai-node's validateArrayIndex throws.",
)


@on("response.output_text.annotation.added")
def annotation_added(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    node = resolve(st, ev, payload)
    if node is None:
        return
    part = part_for(st, ev, node, payload, "output_text")
    ai = payload.get("annotation_index")
    if is_int(ai) and ai > len(part.annotations):
        st.emit(
            "annotation-index",
            f"annotation_index {ai} with {len(part.annotations)} annotation(s) so far",
            ev,
        )
    part.annotations.append(payload.get("annotation"))
