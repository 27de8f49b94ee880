"""What every client model shares: the prediction, the model record, and what a stream carried.

A client model answers one question: *given what this stream carried, what does this client
library hand its caller?* It is a function over the checker's state once the checker has seen the
stream (the reconstructed tree, the lifecycle, the HTTP status, how the read ended and which rules
fired, profile-independent), so modelling a client costs nothing per event: five models read
what the checker already keeps. A model that needs a fact no rule records reads it from the tree.

Outcomes: ``ok`` (the client delivers what the stream carried), ``error`` (it raises or reports a
failure: the message is the exception as the caller sees it), ``loss`` (no error, but text, a
tool call, arguments, reasoning or the status differ from what the stream carried: the message
says what), ``hang`` (the client waits until its own timeout) and ``pending`` (live: the stream is
still open).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..ends import EndReason

if TYPE_CHECKING:
    from ..checks.base import CheckState

Outcome = Literal["ok", "error", "loss", "hang", "pending"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """A model's answer, before it is stamped with the client's id and version."""

    outcome: Outcome
    message: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ClientPrediction:
    client: str
    version: str
    outcome: Outcome
    message: str
    """What the caller sees: the exception (type: message) for error, what is lost for loss."""
    detail: str = ""
    """Why: the event or the code path of the client that decides it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "version": self.version,
            "outcome": self.outcome,
            "message": self.message,
            "detail": self.detail,
        }


Predict = Callable[["CheckState"], Verdict]


@dataclass(frozen=True, slots=True)
class ClientModel:
    """One modelled client: who it is, where its behaviour was read, and its prediction."""

    id: str
    name: str
    version: str
    reads_with: str
    """The API the model is of (``client.responses.stream()`` + ``get_final_response()``, …)."""
    source: str
    """Where the behaviour comes from: the client's own source files, by package and version."""
    verified: str
    """How the model was checked: against the real library in the differential tests, or
    modelled from source only."""
    predict: Predict

    def prediction(self, state: CheckState) -> ClientPrediction:
        verdict = pending(state) or self.predict(state)
        version = state.codex.version.name if self.id == "codex" else self.version
        return ClientPrediction(self.id, version, verdict.outcome, verdict.message, verdict.detail)


def still_open(state: CheckState) -> bool:
    """The read ended with the server's connection still open (a stall, the grace after the
    terminal event, Ctrl-C): a client that reads to EOF is still waiting."""
    return state.end_reason in (EndReason.MAX_WAIT, EndReason.GRACE, EndReason.INTERRUPTED)


def pending(state: CheckState) -> Verdict | None:
    """Live, before the read ended: no client has decided yet (unless the HTTP status did)."""
    if state.finished:
        return None
    if state.http_status is not None and not 200 <= state.http_status < 300:
        return None
    return Verdict("pending", "the stream is still open")
