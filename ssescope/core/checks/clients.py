"""What the modelled clients do: one error finding per client that fails, loses data or hangs.

The client models (:mod:`ssescope.core.clients`) predict each library's outcome from what the
checker saw; when the read ends, every client whose outcome is not ``ok`` becomes a finding, so a
stream that some real client chokes on always fails CI, even when every rule it trips is a
warning or off in the profile. The message is what that client's caller sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..catalogue import RULES, E, define

if TYPE_CHECKING:
    from .base import CheckState

define(
    "clients",
    "client-error",
    (E, E, E),
    "A modelled client raises or reports a failure on this stream",
    "The message is what the client's caller sees (the exception type and text, or the error "
    "the SDK reports). The rule that explains it is among the other findings.",
)
define(
    "clients",
    "client-loss",
    (E, E, E),
    "A modelled client returns success but loses or changes what the stream carried",
    "No exception: the caller gets a truncated or different answer, a missing tool call, "
    "missing reasoning or the wrong status, and nothing tells it so.",
)
define(
    "clients",
    "client-hang",
    (E, E, E),
    "A modelled client waits until its own timeout",
    "The stream never ends in a way the client accepts, so it blocks until its read timeout "
    "(600 s for the openai SDKs, 300 s of silence for Codex) or forever.",
)

_RULE_OF = {"error": "client-error", "loss": "client-loss", "hang": "client-hang"}


def _codex_already_said(st: CheckState) -> bool:
    """Under the codex profile the Codex model's own findings tell Codex's story."""
    return st.profile == "codex" and any(
        RULES[rule].group == "codex" and sev == "error" for rule, sev in st.log.severities.items()
    )


def failure_reported(st: CheckState) -> bool:
    """The server said the response failed (an HTTP error, response.failed, an ``error`` event):
    a client that raises is then delivering that failure, not breaking on the stream (which
    ``http-status`` and the lifecycle rules judge)."""
    status = st.http_status
    return (
        (status is not None and not 200 <= status < 300)
        or st.tree.terminal_type == "response.failed"
        or st.error_seen
    )


def judge_clients(
    st: CheckState, predictions: Iterable[tuple[str, str, str]], t_end: float
) -> None:
    """The read ended: a finding per client (of ``--client``) that does not deliver.

    ``predictions``: ``(client with version, outcome, message)``, passed in by the checker (the
    rules do not import the client models, which read the rules' state)."""
    reported = failure_reported(st)
    # The codex profile judges for Codex: the other clients count only when --client asks.
    codex_only = st.profile == "codex" and st.options.clients is None
    for client, outcome, message in predictions:
        rule = _RULE_OF.get(outcome)
        is_codex = client.startswith("codex ")
        if rule is None or (is_codex and _codex_already_said(st)) or (codex_only and not is_codex):
            continue
        if rule == "client-error" and reported:
            continue
        st.emit(rule, f"{client}: {message}", t=t_end)
