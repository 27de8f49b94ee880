"""Who each rule breaks: the modelled clients a violation trips, and how, per rule id.

:func:`ssescope.core.catalogue.define` appends the entry to the rule's why-text, so every finding
says which of the clients in :mod:`ssescope.core.clients` it breaks. The entries follow the client
models and the differential tests against the real libraries (``tests/clients``);
``tests/test_effects.py`` checks that every client a rule's trigger streams trip is named here.
A rule that breaks no modelled client says which strict reader it is for, or that none is
known to mind.
"""

from __future__ import annotations

NONE_KNOWN = "No modelled client fails on it"

CLIENT_EFFECTS: dict[str, str] = {
    "http-status": "Every client fails: openai-python and openai-node raise the status's "
    "APIStatusError (BadRequestError, RateLimitError, …), the AI SDK reports AI_APICallError, "
    "async-openai an ApiError, codex prints its own message.",
    "content-type": "openai-python and openai-node parse nothing and raise \"Didn't receive a "
    '`response.completed` event" / return no response; codex reports a closed stream.',
    "data-not-json": "openai-python raises JSONDecodeError, openai-node SyntaxError, "
    "ai-sdk-open-responses reports AI_JSONParseError, async-openai JSONDeserialize; codex skips "
    "the event.",
    "type-missing": 'openai-node throws "Unhandled response stream event: unknown", '
    "async-openai fails to deserialize (missing field `type`); a payload with a top-level "
    "`error` makes openai-python and openai-node raise APIError.",
    "event-name-mismatch": f"{NONE_KNOWN}: all of them route on the payload's `type`.",
    "event-line-missing": f"{NONE_KNOWN}.",
    "done-sentinel": f"{NONE_KNOWN}: the openai SDKs stop reading at `[DONE]` when it comes, "
    "and read to EOF otherwise.",
    "data-after-done": "openai-python and openai-node stop reading at `[DONE]`: whatever follows "
    "is lost to them.",
    "sse-id-field": f"{NONE_KNOWN}.",
    "sse-unknown-field": f"{NONE_KNOWN}: SSE parsers ignore unknown fields.",
    "sse-unterminated-frame": "codex never dispatches the last frame (a stream that ends "
    'without a blank line loses its response.completed: "stream closed before '
    'response.completed").',
    "invalid-utf8": "openai-python and openai-node decode with replacement characters: the text "
    "they return differs from the bytes sent.",
    "sse-bom": f"{NONE_KNOWN}.",
    "sequence-missing": "async-openai (serde: `sequence_number: u64` is required) fails to "
    "deserialize every event; openai-python, openai-node, the AI SDK and codex deliver the "
    "whole answer.",
    "sequence-not-increasing": f"{NONE_KNOWN} on a first read; the openai SDKs resume a stream "
    "with `starting_after` by sequence number, which then drops or repeats events.",
    "sequence-gap": f"{NONE_KNOWN}.",
    "sequence-start": f"{NONE_KNOWN}.",
    "created-not-first": 'openai-python raises "Expected to have received `response.created` '
    "before …\", openai-node \"When snapshot hasn't been set yet, expected 'response.created' "
    'event".',
    "created-incomplete": "ai-sdk (@ai-sdk/openai) reports AI_TypeValidationError and finishes "
    "'error' when `created_at`, `model` or `id` is missing, although the text arrives.",
    "created-duplicate": f"{NONE_KNOWN}.",
    "response-id-mismatch": 'openai-python and openai-node raise "Lifecycle response identity '
    'changed."',
    "lifecycle-order": f"{NONE_KNOWN}.",
    "terminal-missing": 'openai-python raises "Didn\'t receive a `response.completed` event.", '
    'codex fails with "stream closed before response.completed"; openai-node and the AI SDK '
    "return the partial answer (status in_progress, finish 'interrupted'/'other').",
    "event-after-terminal": "codex stops at response.completed: what follows is lost to it.",
    "terminal-status-mismatch": "Each client trusts a different copy: the event type (codex, "
    "the AI SDK) or `response.status` (openai-node's returned response).",
    "error-event": "openai-python raises APIError only for the nested form, openai-node for "
    "both, the AI SDK reports an error part (ai-sdk-open-responses throws a TypeError on the flat "
    "form), codex ignores it.",
    "error-not-followed-by-failed": "Without response.failed, openai-python raises \"Didn't "
    'receive a `response.completed` event" (flat form) and codex reports a closed stream.',
    "unknown-event-type": 'openai-node throws "Unhandled response stream event: unknown"; '
    "async-openai fails to deserialize (unknown variant); openai-python, the AI SDK and codex "
    "drop it.",
    "field-missing": "async-openai fails on every missing required field; the AI SDK's chunk "
    "schema refuses missing `item_id`/`delta`/`output_index` (AI_TypeValidationError); without "
    '`output_index` (llama.cpp) openai-node throws "missing output at index undefined" and '
    "without `content_index` openai-python raises TypeError.",
    "field-type": "async-openai fails to deserialize (invalid type); the AI SDK's schema refuses "
    "wrong types in the fields it reads.",
    "delta-not-string": "openai-python raises TypeError (str += dict), ai-sdk reports "
    "AI_TypeValidationError, async-openai fails to deserialize, ai-sdk-open-responses and "
    "openai-node's live snapshot append '[object Object]'.",
    "logprobs-missing": f"{NONE_KNOWN}.",
    "open-responses-field": f"{NONE_KNOWN}: they read OpenAI's schema, which asks less; the "
    "Open Responses compliance suite fails the response.",
    "open-responses-event-name": f"{NONE_KNOWN}: they all read OpenAI's names (ai-sdk drops raw "
    "reasoning under either name); the Open Responses compliance suite rejects the event.",
    "output-index-not-appended": f"{NONE_KNOWN} (openai-node remaps positions, openai-python "
    "keys items by index); index-addressed readers of `response.output` (the Open Responses "
    "compliance suite) see the wrong item.",
    "item-unknown": 'openai-python raises "Received a content event for output index N before '
    'receiving its output item", openai-node "missing output at index N", '
    'ai-sdk-open-responses reports "text part … not found".',
    "item-id-mismatch": "openai-node throws \"expected item_id 'a', got 'b'\"; "
    'ai-sdk-open-responses routes deltas by item_id and reports "text part … not found" '
    "(@ai-sdk/openai follows output_index and copes).",
    "item-type-mismatch": "openai-python fails an assertion (AssertionError), openai-node throws "
    '"expected output item type …".',
    "item-identity-changed": 'openai-python raises "Completed output item identity changed.", '
    'openai-node "expected output item call_id …"; ai-sdk-open-responses keeps the first '
    "call_id.",
    "item-id-missing": 'openai-node throws "expected a non-empty output item id", ai-sdk '
    "refuses the item (AI_TypeValidationError), async-openai fails on a missing `item_id`.",
    "item-id-duplicate": f"{NONE_KNOWN}.",
    "call-id-missing": 'codex drops the call silently, openai-node throws "expected a '
    'non-empty output item call_id", ai-sdk refuses the item (AI_TypeValidationError).',
    "item-not-closed": "Both AI SDK providers lose the item (they take tool calls only from "
    'output_item.done); openai-python raises "Cannot complete response with unfinished output '
    'items." unless response.completed carries it.',
    "item-event-after-done": "openai-python and openai-node keep the .done item: the later "
    "deltas are lost.",
    "item-status": f"{NONE_KNOWN}.",
    "item-added-not-empty": f"{NONE_KNOWN}.",
    "items-overlap": f"{NONE_KNOWN}.",
    "content-index-not-appended": 'openai-node throws "missing content at index N".',
    "part-type-mismatch": "openai-python raises IndexError for a delta into a part never added; "
    "the AI SDK (both providers) builds its text from the deltas, so a part of the wrong type "
    "changes what it returns.",
    "part-order": f"{NONE_KNOWN}.",
    "part-added-not-empty": f"{NONE_KNOWN}.",
    "summary-index-not-appended": "openai-python and openai-node return the .done reasoning, "
    "not the streamed summary.",
    "annotation-index": f"{NONE_KNOWN}.",
    "text-done-mismatch": "openai-python and openai-node return the .done text; the AI SDK "
    "returns the deltas: the two disagree.",
    "arguments-done-mismatch": "openai-python and openai-node run the .done arguments; the AI "
    "SDK the item's.",
    "part-done-mismatch": f"{NONE_KNOWN}.",
    "item-done-mismatch": "openai-python and openai-node return the .done item; the AI SDK "
    "(both providers) what streamed: its answer differs from the final item.",
    "arguments-empty": "codex answers the model 'failed to parse function arguments'; the AI "
    'SDK reads "" as {}.',
    "arguments-invalid-json": "Both AI SDK providers report AI_InvalidToolInputError instead of "
    "the call; codex answers the model with a parse error.",
    "completed-while-unfinished": "Every client reports success: openai-python, openai-node, "
    "the AI SDK and async-openai hand over the truncated text or arguments as complete, codex "
    "shows nothing (the item never reached output_item.done).",
    "final-output-mismatch": "openai-python and openai-node return response.completed's output; "
    "codex and the AI SDK what streamed: someone loses.",
    "usage-missing": f"{NONE_KNOWN} (usage comes back null).",
    "usage-arithmetic": f"{NONE_KNOWN}.",
    "stall": f"{NONE_KNOWN} below their timeouts (600 s for the openai SDKs, 300 s for codex).",
    "stall-after-created": "Every client waits: codex until its idle timeout, the openai SDKs "
    "until their read timeout, the AI SDK without limit.",
    "history-rejected": "codex resends the same history every turn: every later turn gets the "
    "same rejection.",
    "completed-at-token-limit": "codex and every SDK take the cut answer as complete.",
}
"""Rule id → which modelled clients it breaks and how (a sentence appended to its why-text)."""
