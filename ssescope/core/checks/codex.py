"""What Codex will do: these rules are fired by :class:`ssescope.core.codex.CodexModel` (the model
of how Codex reads a stream), which the checker feeds the same input and whose ``(rule, message)``
pairs it reports. Only their catalogue entries live here, with the other families."""

from __future__ import annotations

from ..catalogue import OFF, E, W, define

define(
    "codex",
    "codex-idle-timeout",
    (OFF, OFF, E),
    "No complete event for longer than Codex's stream_idle_timeout",
    'Codex fails with "stream disconnected before completion: idle timeout waiting for SSE" '
    "and retries the turn (5 times by default). Comments do not reset its timer.",
)
define(
    "codex",
    "codex-event-dropped",
    (OFF, OFF, W),
    "Codex cannot decode this event and skips it",
    "A known field with the wrong type (`delta` as an object, `summary_index` as a string) or "
    "bad JSON: Codex logs `Failed to parse SSE event` at DEBUG level and moves on.",
)
define(
    "codex",
    "codex-item-dropped",
    (OFF, OFF, E),
    "Codex cannot decode this output_item.done item",
    "The item is dropped silently: a function_call without call_id or with non-string "
    "arguments never runs; a message without content or with parts not typed output_text "
    "never appears. `codex exec` still exits 0.",
)
define(
    "codex",
    "codex-text-lost",
    (OFF, OFF, E),
    "Text streamed only as deltas never reaches Codex",
    "Codex prints the answer from output_item.done; text in deltas without a decodable "
    "message item at .done is lost.",
)
define(
    "codex",
    "codex-delta-without-item",
    (OFF, OFF, W),
    "Text delta before any output_item.added",
    'Codex logs "OutputTextDelta without active item" and the delta is lost from its live view '
    "(the final text still comes from output_item.done).",
)
define(
    "codex",
    "codex-error-hidden",
    (OFF, OFF, E),
    "An `error` event Codex will not show",
    "Codex 0.169.0 ignores `error` events; without a following response.failed the user sees "
    'only "stream closed before response.completed" or an idle timeout, never the message.',
)
define(
    "codex",
    "codex-completed-invalid",
    (OFF, OFF, E),
    "response.completed that Codex cannot parse",
    'A missing string `response.id` or a malformed `usage` is fatal: "failed to parse '
    'ResponseCompleted: …".',
)
define(
    "codex",
    "codex-turn-fails",
    (OFF, OFF, E),
    "The response ends failed or incomplete",
    "Codex reports response.failed by its error code (retrying most of them) and "
    'response.incomplete as "Incomplete response returned, reason: …".',
)
