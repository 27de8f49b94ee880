"""The rule catalogue: every finding the checker can emit, its severity per profile, and why it
matters. ``ssescope rules`` prints this table, so the documentation is generated from the same
objects the checker uses and the two cannot drift. Rule ids are stable kebab-case: never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
PROFILES: tuple[str, ...] = ("openai", "open-responses", "codex")
PROFILE_HELP = {
    "openai": "OpenAI's wire behaviour: the schema with every WIRE exemption (default)",
    "open-responses": "the Open Responses 2026-04-24 MUSTs: event: equals type, [DONE] required, …",
    "codex": "what Codex CLI 0.169.0 needs: fatal and silently-lost cases are errors, the rest info",
}
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}

E, W, I, OFF = "error", "warning", "info", None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    title: str
    why: str
    severity: tuple[Severity | None, Severity | None, Severity | None]
    """Severity under (openai, open-responses, codex); None: the rule is off in that profile."""
    group: str

    def severity_in(self, profile: str) -> Severity | None:
        return self.severity[PROFILES.index(profile)]


_RULES: list[Rule] = []


def _rule(group: str, rule_id: str, sev: tuple, title: str, why: str) -> None:
    _RULES.append(Rule(rule_id, title, why, sev, group))


# -- HTTP and SSE framing --------------------------------------------------------------------
_rule(
    "http",
    "http-status",
    (E, E, E),
    "The HTTP status is not 2xx",
    "No stream follows. Codex shows 400 bodies verbatim, turns a 500 into the misleading "
    '"We\'re currently experiencing high demand", never retries a 429 from a custom provider, '
    "and reports other codes as `unexpected status`.",
)
_rule(
    "http",
    "content-type",
    (E, E, W),
    "The response is not text/event-stream",
    "Open Responses requires text/event-stream; SDKs and proxies buffer or reject other types, "
    'and a JSON body on 200 makes Codex fail with "stream closed before response.completed".',
)
_rule(
    "sse",
    "data-not-json",
    (E, E, W),
    "A data payload is not a JSON object",
    'openai-node throws "malformed server-sent event JSON" and openai-python\'s sse.json() '
    "raises; Codex skips the event silently, so whatever it carried is lost.",
)
_rule(
    "sse",
    "type-missing",
    (E, E, W),
    "A payload has no string `type`",
    "Every client dispatches on `type`; without it the event is dropped (Codex) or the stream "
    "fails to decode (SDKs). cursor2api broke Codex exactly this way.",
)
_rule(
    "sse",
    "event-name-mismatch",
    (W, E, OFF),
    "The SSE `event:` line differs from `type`",
    "Open Responses requires `event:` to equal `type`; EventSource-style clients route on "
    "`event:` and would mis-dispatch it. OpenAI SDKs and Codex ignore the line.",
)
_rule(
    "sse",
    "event-line-missing",
    (I, I, OFF),
    "Frames have no `event:` line",
    "Legal, and common from proxies (LiteLLM); clients that route on `event:` (browsers' "
    "EventSource) see every event as `message`.",
)
_rule(
    "sse",
    "done-sentinel",
    (OFF, E, OFF),
    "The stream does not end with `data: [DONE]`",
    "Open Responses requires a terminal `data: [DONE]`. OpenAI's Responses stream does not "
    "send it and SDKs tolerate either.",
)
_rule(
    "sse",
    "data-after-done",
    (E, E, W),
    "Something follows `data: [DONE]`",
    "`[DONE]` promises the end of the stream: SDKs stop reading there, so anything after it "
    "is never seen by clients.",
)
_rule(
    "sse",
    "sse-id-field",
    (I, W, OFF),
    "Frames carry `id:` lines",
    "OpenAI does not send them and Open Responses says SHOULD NOT; browsers would resend them "
    "as Last-Event-ID on reconnect, which the Responses API does not support.",
)
_rule(
    "sse",
    "sse-unknown-field",
    (W, W, W),
    "A line is not a known SSE field",
    "Unknown fields are ignored by every SSE parser; a typo such as `Data:` or `date:` silently "
    "loses the payload it was meant to carry.",
)
_rule(
    "sse",
    "sse-unterminated-frame",
    (W, W, W),
    "The final frame has no terminating blank line",
    "Spec-following SSE parsers (Codex's eventsource-stream, browsers) discard a frame that EOF "
    "cuts before its blank line: if it held the terminal event, clients never see it.",
)
_rule(
    "sse",
    "invalid-utf8",
    (W, W, W),
    "The stream contains invalid UTF-8",
    "SSE is UTF-8; decoders replace bad bytes with U+FFFD, so text and JSON arrive corrupted "
    "(or fail to parse).",
)
_rule(
    "sse",
    "sse-bom",
    (I, I, OFF),
    "The stream starts with a byte-order mark",
    "Legal (parsers strip one BOM) but some hand-written clients then fail to recognise the "
    "first field name.",
)

# -- sequence numbers --------------------------------------------------------------------------
_rule(
    "sequence",
    "sequence-missing",
    (E, E, I),
    "An event has no integer `sequence_number`",
    "Required on every event. SDKs resume with `starting_after` and order events by it; "
    "strict decoders (openai-java with validation, async-openai) reject the event. Codex "
    "does not read it.",
)
_rule(
    "sequence",
    "sequence-not-increasing",
    (E, E, I),
    "`sequence_number` goes backwards or repeats",
    "Both SDKs rely on strictly increasing numbers to resume (`starting_after`) and to drop "
    "duplicates: a repeat or a step back loses or replays events.",
)
_rule(
    "sequence",
    "sequence-gap",
    (W, W, I),
    "`sequence_number` skips values",
    "OpenAI numbers every event (keepalives included) consecutively; a gap usually means the "
    "server or a proxy dropped events.",
)
_rule(
    "sequence",
    "sequence-start",
    (W, W, OFF),
    "A fresh stream does not start at sequence 0",
    "OpenAI starts at 0 (`response.created`). A stream that starts elsewhere looks like a "
    "resumed one to tools that reconcile by sequence number.",
)

# -- response lifecycle ------------------------------------------------------------------------
_rule(
    "lifecycle",
    "created-not-first",
    (E, E, I),
    "The first event is not `response.created`",
    'openai-python raises "Expected to have received `response.created` before …" and '
    "openai-node \"expected 'response.created' event\": the SDK stream dies at the first event.",
)
_rule(
    "lifecycle",
    "created-incomplete",
    (W, W, I),
    "response.created/in_progress carries a Response without its required fields",
    "The llama.cpp bug (only {id, object, status}). SDK snapshots start from this object, so "
    "code reading `model`, `tools` or `created_at` from the first event gets nothing.",
)
_rule(
    "lifecycle",
    "created-duplicate",
    (W, W, I),
    "More than one `response.created`",
    "SDKs reset their snapshot on each created event, throwing away what was accumulated.",
)
_rule(
    "lifecycle",
    "response-id-mismatch",
    (W, W, W),
    "Lifecycle events carry different response ids",
    "Clients key the conversation on `response.id` (previous_response_id, logs, Codex's "
    "completed handling); an id that changes mid-stream points at two different responses.",
)
_rule(
    "lifecycle",
    "lifecycle-order",
    (W, W, I),
    "Lifecycle events are out of order",
    "The order is created → (queued) → in_progress → … → terminal; status-driven UIs move "
    "backwards when it is broken.",
)
_rule(
    "lifecycle",
    "terminal-missing",
    (E, E, E),
    "The stream ends without a terminal event",
    "openai-python's get_final_response() raises \"Didn't receive a `response.completed` "
    'event"; Codex fails the turn with "stream closed before response.completed" even if '
    "the whole answer was shown, and retries it up to 5 times.",
)
_rule(
    "lifecycle",
    "event-after-terminal",
    (E, E, I),
    "Events follow the terminal event",
    "Clients stop reading at the terminal event (Codex stops at response.completed): anything "
    "after it is silently lost.",
)
_rule(
    "lifecycle",
    "terminal-status-mismatch",
    (W, W, W),
    "The terminal event and its response status disagree",
    "completed must say `completed`, failed `failed` with an error, incomplete `incomplete` "
    "with a reason. vLLM's `incomplete` inside response.completed makes clients treat a cut-off "
    "answer as whole.",
)
_rule(
    "lifecycle",
    "error-event",
    (W, W, E),
    "The server sent an `error` event",
    "The response failed mid-stream. SDKs raise APIError; Codex 0.169.0 ignores the event "
    "entirely, so its message is never shown and the user sees only a disconnect or a timeout.",
)
_rule(
    "lifecycle",
    "error-not-followed-by-failed",
    (W, E, W),
    "An `error` event is followed by something other than response.failed",
    "Open Responses requires response.failed after a streaming error; clients waiting for a "
    "terminal event otherwise read on or report a truncated stream.",
)
_rule(
    "lifecycle",
    "unknown-event-type",
    (E, E, I),
    "An event type that is not in the Responses API",
    'openai-node throws "Unhandled response stream event", Java with validation rejects it '
    "and the Open Responses compliance suite fails; Codex and openai-python drop it, so "
    "whatever it carried is lost.",
)
_rule(
    "fields",
    "field-missing",
    (E, E, I),
    "A required field is missing",
    "Typed clients (openai-node, openai-java, async-openai) fail to decode the event; others "
    "read `undefined` and break later.",
)
_rule(
    "fields",
    "field-type",
    (E, E, I),
    "A field has the wrong JSON type",
    "An index sent as a string or float, an object where a string belongs: strict decoders "
    "reject the event and Codex drops it silently.",
)
_rule(
    "fields",
    "delta-not-string",
    (E, E, W),
    "A `delta` is not a string",
    "Codex drops this delta silently (the text appears only if output_item.done carries it); "
    "SDKs concatenate it as `[object Object]` or raise.",
)
_rule(
    "fields",
    "logprobs-missing",
    (W, OFF, OFF),
    "`logprobs` is missing on text events",
    "The schema requires it, but OpenAI's own traffic and many servers omit it; only clients "
    "that read log-probabilities notice.",
)

# -- output items --------------------------------------------------------------------------------
_rule(
    "items",
    "output-index-not-appended",
    (E, E, I),
    "output_item.added's output_index is not the next index",
    'openai-node fails with "missing output at index N"; items must be appended 0, 1, 2, …',
)
_rule(
    "items",
    "item-unknown",
    (E, E, I),
    "An event refers to an item that was never added",
    "SDK accumulators look the item up by output_index and throw or assert; Codex logs "
    '"OutputTextDelta without active item" and loses the text from its live view.',
)
_rule(
    "items",
    "item-id-mismatch",
    (E, E, I),
    "`item_id` differs from the item's id",
    "openai-node throws \"expected item_id '…', got '…'\"; the GitHub Copilot proxy rotates ids "
    "this way and breaks every strict client.",
)
_rule(
    "items",
    "item-type-mismatch",
    (E, E, I),
    "An event targets an item of the wrong type",
    'openai-node throws "expected output item type …": e.g. text deltas aimed at a function_call.',
)
_rule(
    "items",
    "item-identity-changed",
    (E, E, I),
    "id, type or call_id differ between output_item.added and .done",
    "openai-node's validateCompletedOutputItemIdentity throws; clients that started a tool "
    "call from `added` answer a call_id the server no longer knows (Codex uses only .done).",
)
_rule(
    "items",
    "item-id-missing",
    (E, E, I),
    "An output item has no id",
    "SDKs key items by id; only function_call and custom_tool_call may omit it.",
)
_rule(
    "items",
    "item-id-duplicate",
    (E, E, I),
    "Two output items share an id (or call_id)",
    'openai-node v7 throws "duplicate output item identity"; tool results get routed to the '
    "wrong call.",
)
_rule(
    "items",
    "call-id-missing",
    (E, E, E),
    "A tool call item has no call_id",
    "Codex cannot decode the function_call and drops it silently: no tool runs and `codex exec` "
    "exits 0. The follow-up function_call_output has nothing to refer to.",
)
_rule(
    "items",
    "item-not-closed",
    (W, E, W),
    "An item was added but never closed with output_item.done",
    "Codex takes text and tool calls only from output_item.done: an item that never closes is "
    "lost to it even though its deltas streamed.",
)
_rule(
    "items",
    "item-event-after-done",
    (W, E, I),
    "Events for an item after its output_item.done",
    "Clients consider the item final at .done; later deltas are dropped or corrupt state.",
)
_rule(
    "items",
    "item-status",
    (W, E, I),
    "An item's status is wrong for where it is",
    "in_progress at added, completed or incomplete at done; an incomplete item must be the last "
    "one and the response must end incomplete (Open Responses MUST).",
)
_rule(
    "items",
    "item-added-not-empty",
    (W, W, I),
    "output_item.added does not carry zero values",
    "SDKs append deltas to the added item: content that is already there is duplicated.",
)
_rule(
    "items",
    "items-overlap",
    (I, I, OFF),
    "Events for an earlier item while a later one is open",
    "Allowed by the SDK accumulators, but OpenAI streams items one after another and simpler "
    "clients (Codex's active item) attach deltas to the wrong item.",
)

# -- content and summary parts ---------------------------------------------------------------------
_rule(
    "parts",
    "content-index-not-appended",
    (E, E, I),
    "content_part.added's content_index is not the next index",
    'openai-node fails with "missing content at index N"; parts must be appended.',
)
_rule(
    "parts",
    "part-type-mismatch",
    (E, E, I),
    "A part event does not fit the part or item",
    "openai-node throws \"expected content to be 'output_text', got …\"; openai-python asserts.",
)
_rule(
    "parts",
    "part-order",
    (W, E, I),
    "A part's events are out of order",
    "Each part goes added → deltas → done → content_part.done; SDKs that finalise at .done lose "
    "what comes after.",
)
_rule(
    "parts",
    "part-added-not-empty",
    (W, W, I),
    "content_part.added does not carry an empty part",
    "SDKs append deltas to the added part, so pre-filled text is duplicated.",
)
_rule(
    "parts",
    "summary-index-not-appended",
    (E, E, I),
    "A reasoning summary index that is not the next one (or does not exist)",
    "openai-node's validateArrayAppend throws; Codex starts summary sections by index.",
)
_rule(
    "parts",
    "annotation-index",
    (E, E, I),
    "annotation_index skips ahead",
    "openai-node's validateArrayIndex throws.",
)

# -- consistency -----------------------------------------------------------------------------------
_rule(
    "consistency",
    "text-done-mismatch",
    (W, W, I),
    "A .done text differs from the joined deltas",
    "Clients that stream deltas show one text and store another; a translating engine dropped "
    "or duplicated a piece.",
)
_rule(
    "consistency",
    "arguments-done-mismatch",
    (W, W, I),
    "Final arguments differ from the joined argument deltas",
    "Clients that build arguments from deltas (most agents) call the tool with different "
    "arguments than clients that read .done (Codex).",
)
_rule(
    "consistency",
    "part-done-mismatch",
    (W, W, I),
    "content_part.done differs from the part's text",
    "Clients that keep the part from content_part.done store a different text than they showed.",
)
_rule(
    "consistency",
    "item-done-mismatch",
    (W, W, W),
    "output_item.done differs from what was streamed",
    "Codex uses only output_item.done: the user saw one text stream by and Codex keeps another "
    "(or runs a tool with other arguments).",
)
_rule(
    "consistency",
    "arguments-empty",
    (W, W, E),
    "A function call has empty arguments",
    'The no-argument value is "{}". Codex answers the model "failed to parse function '
    "arguments: EOF while parsing a value\" instead of running the tool; openai-python's "
    "get_final_response() raises for strict tools.",
)
_rule(
    "consistency",
    "arguments-invalid-json",
    (W, W, E),
    "Function call arguments are not valid JSON",
    "The tool cannot run: Codex sends the parse error back to the model as the tool output, "
    "openai-python raises for strict tools.",
)
_rule(
    "consistency",
    "final-output-mismatch",
    (W, W, I),
    "response.completed's output differs from the streamed items",
    "Clients that keep the final Response (openai-python's get_final_response, history replay) "
    "store items other than the ones they streamed (vLLM PR #56285).",
)
_rule(
    "consistency",
    "usage-missing",
    (W, I, I),
    "The terminal response has no usage",
    "Cost and context-window accounting (Codex's token counter) see zero tokens.",
)
_rule(
    "consistency",
    "usage-arithmetic",
    (W, W, I),
    "Usage numbers do not add up",
    "total_tokens must equal input + output, and reasoning_tokens cannot exceed output_tokens; "
    "billing and context accounting go wrong.",
)

# -- timing ------------------------------------------------------------------------------------------
_rule(
    "timing",
    "stall",
    (W, W, W),
    "A gap between events longer than --stall-warn",
    "Users see a frozen answer; clients with idle timeouts (Codex: 300 s by default) give up and "
    "retry the whole turn.",
)
_rule(
    "timing",
    "stall-after-created",
    (W, W, W),
    "Nothing but comments/keep-alives after response.created for longer than --stall-warn",
    "The commonest field failure: the server accepted the request and stalled (queued, stuck "
    "engine, long prefill). Comments do not reset Codex's idle timer, so Codex gives up after "
    "its timeout and retries, about 30 minutes in all.",
)

# -- what Codex will do ----------------------------------------------------------------------------
_rule(
    "codex",
    "codex-idle-timeout",
    (OFF, OFF, E),
    "No complete event for longer than Codex's stream_idle_timeout",
    'Codex fails with "stream disconnected before completion: idle timeout waiting for SSE" '
    "and retries the turn (5 times by default). Comments do not reset its timer.",
)
_rule(
    "codex",
    "codex-event-dropped",
    (OFF, OFF, W),
    "Codex cannot decode this event and skips it",
    "A known field with the wrong type (`delta` as an object, `summary_index` as a string) or "
    "bad JSON: Codex logs `Failed to parse SSE event` at DEBUG level and moves on.",
)
_rule(
    "codex",
    "codex-item-dropped",
    (OFF, OFF, E),
    "Codex cannot decode this output_item.done item",
    "The item is dropped silently: a function_call without call_id or with non-string "
    "arguments never runs; a message without content or with parts not typed output_text "
    "never appears. `codex exec` still exits 0.",
)
_rule(
    "codex",
    "codex-text-lost",
    (OFF, OFF, E),
    "Text streamed only as deltas never reaches Codex",
    "Codex prints the answer from output_item.done; text in deltas without a decodable "
    "message item at .done is lost.",
)
_rule(
    "codex",
    "codex-delta-without-item",
    (OFF, OFF, W),
    "Text delta before any output_item.added",
    'Codex logs "OutputTextDelta without active item" and the delta is lost from its live view '
    "(the final text still comes from output_item.done).",
)
_rule(
    "codex",
    "codex-error-hidden",
    (OFF, OFF, E),
    "An `error` event Codex will not show",
    "Codex 0.169.0 ignores `error` events; without a following response.failed the user sees "
    'only "stream closed before response.completed" or an idle timeout, never the message.',
)
_rule(
    "codex",
    "codex-completed-invalid",
    (OFF, OFF, E),
    "response.completed that Codex cannot parse",
    'A missing string `response.id` or a malformed `usage` is fatal: "failed to parse '
    'ResponseCompleted: …".',
)
_rule(
    "codex",
    "codex-turn-fails",
    (OFF, OFF, E),
    "The response ends failed or incomplete",
    "Codex reports response.failed by its error code (retrying most of them) and "
    'response.incomplete as "Incomplete response returned, reason: …".',
)

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]


def catalogue_markdown() -> str:
    """The catalogue as a Markdown document (``ssescope rules --markdown``)."""
    lines = [
        "# ssescope rule catalogue",
        "",
        "Generated by `ssescope rules --markdown` from the rule definitions in the code.",
        "Severity per profile: E error, W warning, I info, - off.",
        "",
        "| rule | openai | open-responses | codex | what | why it matters |",
        "|---|---|---|---|---|---|",
    ]
    short = {"error": "E", "warning": "W", "info": "I", None: "-"}
    for r in _RULES:
        sev = " | ".join(short[s] for s in r.severity)
        why = r.why.replace("|", "\\|")
        lines.append(f"| `{r.id}` | {sev} | {r.title} | {why} |")
    return "\n".join(lines) + "\n"
