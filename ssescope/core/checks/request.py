"""The answer against the request: rules that need to know what the client asked for.

They fire only where the reader told the checker the request (``Checker.on_request``): ``check
URL``, a capture's ``request`` record, the proxy, ``connect`` and ``ssescope probe``. A stream
read without its request (raw SSE from curl) is judged without them.
"""

from __future__ import annotations

from typing import Any

from ..catalogue import E, W, define
from ..events import Event
from ..replay import error_clues, history_items, non_function_tools, pointed_at
from .base import CheckState, is_int, on

define(
    "http",
    "history-rejected",
    (E, E, E),
    "A 4xx answer to a request that replays history or carries non-function tools",
    "Codex resends the whole conversation and the same tool list on every turn: the reasoning "
    "item, function_call, attachment or hosted tool the server refused is now part of the "
    "thread, so every later turn gets the same 4xx and the thread is dead (llama.cpp PR #21174 "
    "on replayed reasoning items; LM Studio and older llama.cpp: `'type' of tool must be "
    "'function'`). openai-python, openai-node and the AI SDK raise the same 400 on every retry "
    "of the conversation.",
)

REJECTING_STATUSES = frozenset({400, 422})
"""The statuses of a request the server could not take as it was (not auth, not a wrong path,
not a rate limit)."""


def history_rejected(
    st: CheckState, status: int, headers: dict[str, str], body: str, t: float
) -> None:
    request = st.request
    if status not in REJECTING_STATUSES or request is None:
        return
    history, tools = history_items(request), non_function_tools(request)
    if not history and not tools:
        return
    carried = []
    if history:
        carried.append(f"replays {len(history)} history item(s) ({_types(history)})")
    if tools:
        carried.append(f"carries {len(tools)} non-function tool(s) ({_types(tools)})")
    named = pointed_at(error_clues(body), request)
    cause = (
        "the server's message points at " + ", ".join(p.describe() for p in named)
        if named
        else "the server's message does not say which part"
    )
    st.emit(
        "history-rejected",
        f"HTTP {status} to a request that {' and '.join(carried)}: {cause}; Codex resends "
        f"it on every turn, so every later turn gets the same {status}",
        t=t,
    )


def _types(parts: list[Any]) -> str:
    seen: list[str] = []
    for part in parts:
        if part.type not in seen:
            seen.append(part.type)
    return ", ".join(seen[:5]) + (", …" if len(seen) > 5 else "")


define(
    "lifecycle",
    "completed-at-token-limit",
    (W, W, E),
    "response.completed although output_tokens reached max_output_tokens",
    "A length cut must end `response.incomplete` with reason `max_output_tokens` (llama.cpp "
    "labels it `completed`). Codex then takes the truncated answer (or a half-written tool "
    "call) as the final one and ends the turn; SDK users checking `status` never see the cut.",
)


@on("response.completed")
def completed_at_token_limit(st: CheckState, ev: Event, payload: dict[str, Any]) -> None:
    request = st.request
    limit = request.get("max_output_tokens") if request is not None else None
    response = payload.get("response")
    usage = response.get("usage") if isinstance(response, dict) else None
    used = usage.get("output_tokens") if isinstance(usage, dict) else None
    if is_int(limit) and is_int(used) and limit > 0 and used >= limit:
        st.emit(
            "completed-at-token-limit",
            f"response.completed with usage.output_tokens {used} at the request's "
            f"max_output_tokens {limit}: a length cut labelled complete",
            ev,
        )
