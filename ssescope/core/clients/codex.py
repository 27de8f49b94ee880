"""Codex CLI as one client among the others: the :class:`ssescope.core.codex.CodexModel`'s
prediction in the shared outcome vocabulary.

The Codex model is the one client model that runs per event (its idle timer and its decode rules
need it, see ``codex.py``); here its three outcomes become the shared ones: ``empty`` (exit 0,
nothing shown) is a loss when the stream carried something, and the idle timeout is a hang.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..codex import DEFAULT_CODEX_VERSION, MSG_IDLE
from .base import ClientModel, Verdict
from .content import carried

if TYPE_CHECKING:
    from ..checks.base import CheckState


def predict(state: CheckState) -> Verdict:
    p = state.codex.prediction()
    detail = "; ".join(p.detail)
    if p.outcome == "pending":
        return Verdict("pending", p.message, detail)
    if p.outcome == "error":
        return Verdict("hang" if p.message == MSG_IDLE else "error", p.message, detail)
    truth = carried(state.tree)
    if p.outcome == "empty":
        if truth.text or truth.tool_calls or truth.refusal:
            return Verdict("loss", p.message, detail)
        return Verdict("ok", p.message, detail)
    if state.codex.items_dropped:
        return Verdict("loss", f"{p.message} ({state.codex.items_dropped} item(s) dropped)", detail)
    return Verdict("ok", p.message, detail)


MODEL = ClientModel(
    id="codex",
    name="Codex CLI",
    version=DEFAULT_CODEX_VERSION,
    reads_with='codex exec / the TUI over wire_api = "responses"',
    source="openai/codex codex-rs/codex-api (sse/responses.rs), read for ../shared/docs/"
    "codex-behaviour.md; see ssescope/core/codex.py",
    verified="run: the real Codex CLI against the engine's faults (tests/engine)",
    predict=predict,
)
