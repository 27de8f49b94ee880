"""Client models: what each real client library does with a stream.

One module per client, each a :class:`~.base.ClientModel` whose ``predict`` reads the checker's
state at the end of a read (or at any moment live). :data:`CLIENTS` is the registry, in the order
reports list them; adding a client is one module here, one row below and its fixtures in the
differential tests (``tests/clients``), which run the real library on every stream of a corpus
and compare its outcome with the model's.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from . import ai_sdk, async_openai, codex, openai_node, openai_python
from .base import ClientModel, ClientPrediction, Outcome, Verdict

if TYPE_CHECKING:
    from ..checks.base import CheckState

CLIENTS: dict[str, ClientModel] = {
    m.id: m
    for m in (
        codex.MODEL,
        openai_python.MODEL,
        openai_node.MODEL,
        ai_sdk.AI_SDK,
        ai_sdk.AI_SDK_OPEN_RESPONSES,
        async_openai.MODEL,
    )
}
"""Every modelled client by id, in report order."""


def predict_all(state: CheckState, only: Collection[str] | None = None) -> list[ClientPrediction]:
    """Every client's prediction (or those of ``only``), in report order."""
    return [m.prediction(state) for cid, m in CLIENTS.items() if only is None or cid in only]


SHORT_NAMES = {
    "codex": "codex",
    "openai-python": "py",
    "openai-node": "node",
    "ai-sdk": "ai-sdk",
    "ai-sdk-open-responses": "ai-or",
    "async-openai": "rust",
}
"""Names short enough for a strip of every client on an 80-column line."""


def summarize(predictions: Collection[ClientPrediction]) -> str:
    """One line: how many deliver, and who does not (``4 ok; openai-python error, …``)."""
    ok = sum(1 for p in predictions if p.outcome == "ok")
    others = [f"{p.client} {p.outcome}" for p in predictions if p.outcome != "ok"]
    return "; ".join(part for part in (f"{ok} ok" if ok else "", ", ".join(others)) if part)


__all__ = [
    "CLIENTS",
    "SHORT_NAMES",
    "ClientModel",
    "ClientPrediction",
    "Outcome",
    "Verdict",
    "predict_all",
    "summarize",
]
