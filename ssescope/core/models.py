"""Pydantic v2 models of the Responses streaming events, output items, content parts, the Response
object and Chat Completions chunks.

The models are *strict about JSON types* (an index sent as ``"1"`` or ``1.0`` is not an integer) and
*lenient exactly where real OpenAI traffic is* (the WIRE exemptions of the reference): extra keys are
ignored (``obfuscation``), ``name`` is optional on ``function_call_arguments.done``, ``logprobs`` is
optional (the checker warns), the ``error`` event may be flat or nested, and ``keepalive`` is an
event. Nested objects whose shape depends on a discriminator (``item``, ``part``, ``response``) are
validated on their own by :func:`validate_item`, :func:`validate_part` and :func:`validate_response`
so that one bad item field does not make the whole event unusable.

Validation never raises to callers: :func:`validate_event` returns the model (or None) and a list
of :class:`FieldIssue` that name the missing field or the wrong JSON type.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

# ---------------------------------------------------------------------------------------------
# Content parts
# ---------------------------------------------------------------------------------------------


class _Model:
    """A model's declaration: its fields as annotations (and defaults), nothing else.

    The pydantic class of each declaration is built only when something needs pydantic (a
    payload the quick check cannot vouch for, or a caller asking for the class): importing
    pydantic and creating some eighty classes cost about 0.1 s, most of the time a valid stream
    needs none of it (:func:`quick_valid` judges it from these annotations), and a debugger that
    opens a file should show it first."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _DECLARED[cls.__name__] = cls


_DECLARED: dict[str, type[_Model]] = {}
"""Every declaration by name, in the order of the file (a parent before its children)."""


class LogProb(_Model):
    token: str
    logprob: float
    top_logprobs: list[dict[str, Any]] | None = None


class OutputTextPart(_Model):
    type: Literal["output_text"]
    text: str
    annotations: list[dict[str, Any]]
    logprobs: list[dict[str, Any]] | None = None


class RefusalPart(_Model):
    type: Literal["refusal"]
    refusal: str


class ReasoningTextPart(_Model):
    type: Literal["reasoning_text"]
    text: str


class SummaryTextPart(_Model):
    type: Literal["summary_text"]
    text: str


_PART_SPECS: dict[str, type[_Model]] = {
    "output_text": OutputTextPart,
    "refusal": RefusalPart,
    "reasoning_text": ReasoningTextPart,
    "summary_text": SummaryTextPart,
}

# ---------------------------------------------------------------------------------------------
# Output items
# ---------------------------------------------------------------------------------------------

ItemStatus = Literal["in_progress", "completed", "incomplete"]


class MessageItem(_Model):
    type: Literal["message"]
    id: str
    role: Literal["assistant"]
    content: list[dict[str, Any]]
    status: ItemStatus
    phase: Literal["commentary", "final_answer"] | None = None


class FunctionCallItem(_Model):
    type: Literal["function_call"]
    call_id: str
    name: str
    arguments: str
    id: str | None = None
    status: ItemStatus | None = None
    namespace: str | None = None


class CustomToolCallItem(_Model):
    type: Literal["custom_tool_call"]
    call_id: str
    name: str
    input: str
    id: str | None = None
    namespace: str | None = None


class ReasoningItem(_Model):
    type: Literal["reasoning"]
    id: str
    summary: list[dict[str, Any]]
    content: list[dict[str, Any]] | None = None
    encrypted_content: str | None = None
    status: ItemStatus | None = None


class WebSearchCallItem(_Model):
    type: Literal["web_search_call"]
    id: str
    status: Literal["in_progress", "searching", "completed", "failed"]
    action: dict[str, Any] | None = None  # required by the schema; absent while in progress


class FileSearchCallItem(_Model):
    type: Literal["file_search_call"]
    id: str
    status: Literal["in_progress", "searching", "completed", "incomplete", "failed"]
    queries: list[str]
    results: list[dict[str, Any]] | None = None


class CodeInterpreterCallItem(_Model):
    type: Literal["code_interpreter_call"]
    id: str
    status: Literal["in_progress", "completed", "incomplete", "interpreting", "failed"]
    container_id: str
    code: str | None
    outputs: list[dict[str, Any]] | None


class ImageGenerationCallItem(_Model):
    type: Literal["image_generation_call"]
    id: str
    status: Literal["in_progress", "completed", "generating", "failed"]
    result: str | None


class McpCallItem(_Model):
    type: Literal["mcp_call"]
    id: str
    server_label: str
    name: str
    arguments: str
    output: str | None = None
    error: Any = None
    status: Literal["in_progress", "completed", "incomplete", "calling", "failed"] | None = None


class McpListToolsItem(_Model):
    type: Literal["mcp_list_tools"]
    id: str
    server_label: str
    tools: list[dict[str, Any]]


class ShellCallItem(_Model):
    type: Literal["shell_call"]
    id: str
    call_id: str
    action: dict[str, Any]
    status: ItemStatus
    environment: dict[str, Any] | None


class ShellCallOutputItem(_Model):
    type: Literal["shell_call_output"]
    id: str
    call_id: str
    status: ItemStatus
    output: list[dict[str, Any]]
    max_output_length: int | None


_ITEM_SPECS: dict[str, type[_Model]] = {
    "message": MessageItem,
    "function_call": FunctionCallItem,
    "custom_tool_call": CustomToolCallItem,
    "reasoning": ReasoningItem,
    "web_search_call": WebSearchCallItem,
    "file_search_call": FileSearchCallItem,
    "code_interpreter_call": CodeInterpreterCallItem,
    "image_generation_call": ImageGenerationCallItem,
    "mcp_call": McpCallItem,
    "mcp_list_tools": McpListToolsItem,
    "shell_call": ShellCallItem,
    "shell_call_output": ShellCallOutputItem,
}

OTHER_ITEM_TYPES = frozenset(
    {
        "mcp_approval_request",
        "mcp_approval_response",
        "computer_call",
        "computer_call_output",
        "local_shell_call",
        "local_shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "function_call_output",
        "custom_tool_call_output",
        "tool_search_call",
        "tool_search_output",
        "program",
        "program_output",
        "additional_tools",
        "compaction",
    }
)
"""Item types seen only in output_item.added/.done: known, but not modelled field by field."""

# Items that must carry a call_id, and items where ``id`` is optional (reference I2).
CALL_ID_ITEMS = frozenset({"function_call", "custom_tool_call", "shell_call", "shell_call_output"})
ID_OPTIONAL_ITEMS = frozenset({"function_call", "custom_tool_call"})

# ---------------------------------------------------------------------------------------------
# Response object and usage
# ---------------------------------------------------------------------------------------------


class InputTokensDetails(_Model):
    cached_tokens: int
    cache_write_tokens: int | None = None  # arrived July 2026: optional (WIRE 6)


class OutputTokensDetails(_Model):
    reasoning_tokens: int


class Usage(_Model):
    input_tokens: int
    output_tokens: int
    total_tokens: int
    input_tokens_details: InputTokensDetails
    output_tokens_details: OutputTokensDetails


class ResponseError(_Model):
    code: str | None
    message: str


class IncompleteDetails(_Model):
    reason: Literal["max_output_tokens", "content_filter"] | None = None


class Response(_Model):
    """The full Response object the schema requires in lifecycle events."""

    id: str
    object: Literal["response"]
    created_at: float
    error: ResponseError | None
    incomplete_details: IncompleteDetails | None
    output: list[dict[str, Any]]
    instructions: str | list[Any] | None
    metadata: dict[str, Any] | None
    model: str
    temperature: float | None
    top_p: float | None
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    parallel_tool_calls: bool
    status: (
        Literal["completed", "failed", "in_progress", "cancelled", "queued", "incomplete"] | None
    ) = None
    usage: Usage | None = None
    completed_at: float | None = None


class OpenResponsesError(_Model):
    code: str
    message: str


class OpenResponsesResponse(_Model):
    """The Response object as the Open Responses spec requires it in every lifecycle event
    (``ResponseResource``, openapi 2026-04-24, which its compliance suite parses every response
    with): every field present, nullable ones as null, and the sampling values numbers (OpenAI's
    own traffic sends null there and omits most of the rest, which :class:`Response` allows)."""

    id: str
    object: Literal["response"]
    created_at: int
    completed_at: int | None
    status: str
    incomplete_details: IncompleteDetails | None
    model: str
    previous_response_id: str | None
    instructions: str | None
    output: list[dict[str, Any]]
    error: OpenResponsesError | None
    tools: list[dict[str, Any]]
    tool_choice: str | dict[str, Any]
    truncation: Literal["auto", "disabled"]
    parallel_tool_calls: bool
    text: dict[str, Any]
    top_p: float
    presence_penalty: float
    frequency_penalty: float
    top_logprobs: int
    temperature: float
    reasoning: dict[str, Any] | None
    usage: Usage | None
    max_output_tokens: int | None
    max_tool_calls: int | None
    store: bool
    background: bool
    service_tier: str
    metadata: Any
    safety_identifier: str | None
    prompt_cache_key: str | None


class OpenResponsesFunctionCall(FunctionCallItem):
    """A function_call item as Open Responses requires it: its ``id`` and ``status`` too."""

    id: str
    status: ItemStatus


OPEN_RESPONSES_ITEM_MODELS: dict[str, type[_Model]] = {"function_call": OpenResponsesFunctionCall}
"""Item types whose Open Responses schema asks more than OpenAI's."""


class OpenResponsesErrorPayload(_Model):
    """The nested payload of an ``error`` event (the spec's ``ErrorPayload``): every key
    present, ``code`` and ``param`` nullable."""

    type: str
    code: str | None
    message: str
    param: str | None


# ---------------------------------------------------------------------------------------------
# Streaming events
# ---------------------------------------------------------------------------------------------


class StreamEvent(_Model):
    type: str
    sequence_number: int


class _Lifecycle(StreamEvent):
    # Validated separately (validate_response) so that a thin response keeps the event usable.
    response: dict[str, Any]


class ResponseCreated(_Lifecycle):
    type: Literal["response.created"]


class ResponseQueued(_Lifecycle):
    type: Literal["response.queued"]


class ResponseInProgress(_Lifecycle):
    type: Literal["response.in_progress"]


class ResponseCompleted(_Lifecycle):
    type: Literal["response.completed"]


class ResponseFailed(_Lifecycle):
    type: Literal["response.failed"]


class ResponseIncomplete(_Lifecycle):
    type: Literal["response.incomplete"]


class ErrorDetail(_Model):
    message: str
    code: str | None = None
    type: str | None = None
    param: str | None = None


class ErrorEvent(StreamEvent):
    """Flat form per the schema, or the nested ``error: {…}`` form real OpenAI traffic sends."""

    type: Literal["error"]
    message: str | None = None
    code: str | None = None
    param: str | None = None
    error: ErrorDetail | None = None


class KeepAlive(StreamEvent):
    type: Literal["keepalive"]


class OutputItemAdded(StreamEvent):
    type: Literal["response.output_item.added"]
    output_index: int
    item: dict[str, Any]


class OutputItemDone(StreamEvent):
    type: Literal["response.output_item.done"]
    output_index: int
    item: dict[str, Any]


class _ItemScoped(StreamEvent):
    item_id: str
    output_index: int


class _PartScoped(_ItemScoped):
    content_index: int


class ContentPartAdded(_PartScoped):
    type: Literal["response.content_part.added"]
    part: dict[str, Any]


class ContentPartDone(_PartScoped):
    type: Literal["response.content_part.done"]
    part: dict[str, Any]


class OutputTextDelta(_PartScoped):
    type: Literal["response.output_text.delta"]
    delta: str
    logprobs: list[LogProb] | None = None  # required by the schema; WIRE 5: warning at most


class OutputTextDone(_PartScoped):
    type: Literal["response.output_text.done"]
    text: str
    logprobs: list[LogProb] | None = None


class OutputTextAnnotationAdded(_PartScoped):
    type: Literal["response.output_text.annotation.added"]
    annotation_index: int
    annotation: dict[str, Any] | None


class RefusalDelta(_PartScoped):
    type: Literal["response.refusal.delta"]
    delta: str


class RefusalDone(_PartScoped):
    type: Literal["response.refusal.done"]
    refusal: str


class FunctionCallArgumentsDelta(_ItemScoped):
    type: Literal["response.function_call_arguments.delta"]
    delta: str


class FunctionCallArgumentsDone(_ItemScoped):
    type: Literal["response.function_call_arguments.done"]
    arguments: str
    name: str | None = None  # WIRE 1: never sent on the HTTP stream


class CustomToolCallInputDelta(_ItemScoped):
    type: Literal["response.custom_tool_call_input.delta"]
    delta: str


class CustomToolCallInputDone(_ItemScoped):
    type: Literal["response.custom_tool_call_input.done"]
    input: str


class McpCallArgumentsDelta(_ItemScoped):
    type: Literal["response.mcp_call_arguments.delta"]
    delta: str


class McpCallArgumentsDone(_ItemScoped):
    type: Literal["response.mcp_call_arguments.done"]
    arguments: str


class _SummaryScoped(_ItemScoped):
    summary_index: int


class ReasoningSummaryPartAdded(_SummaryScoped):
    type: Literal["response.reasoning_summary_part.added"]
    part: dict[str, Any]


class ReasoningSummaryPartDone(_SummaryScoped):
    type: Literal["response.reasoning_summary_part.done"]
    part: dict[str, Any]
    status: str | None = None


class ReasoningSummaryTextDelta(_SummaryScoped):
    type: Literal["response.reasoning_summary_text.delta"]
    delta: str


class ReasoningSummaryTextDone(_SummaryScoped):
    type: Literal["response.reasoning_summary_text.done"]
    text: str


class ReasoningTextDelta(_PartScoped):
    type: Literal["response.reasoning_text.delta"]
    delta: str


class ReasoningTextDone(_PartScoped):
    type: Literal["response.reasoning_text.done"]
    text: str


class CodeInterpreterCodeDelta(_ItemScoped):
    type: Literal["response.code_interpreter_call_code.delta"]
    delta: str


class CodeInterpreterCodeDone(_ItemScoped):
    type: Literal["response.code_interpreter_call_code.done"]
    code: str


class ImageGenerationPartialImage(_ItemScoped):
    type: Literal["response.image_generation_call.partial_image"]
    partial_image_b64: str
    partial_image_index: int
    size: str | None = None
    quality: str | None = None
    background: str | None = None
    output_format: str | None = None


class AudioDelta(StreamEvent):
    type: Literal["response.audio.delta", "response.audio.transcript.delta"]
    delta: str


class AudioDone(StreamEvent):
    type: Literal["response.audio.done", "response.audio.transcript.done"]


class ShellCommandAdded(StreamEvent):
    type: Literal["response.shell_call_command.added"]
    output_index: int
    command_index: int
    command: str


class ShellCommandDelta(StreamEvent):
    type: Literal["response.shell_call_command.delta"]
    output_index: int
    command_index: int
    delta: str


class ShellCommandDone(StreamEvent):
    type: Literal["response.shell_call_command.done"]
    output_index: int
    command_index: int
    command: str


class ShellOutputDelta(_ItemScoped):
    type: Literal["response.shell_call_output_content.delta"]
    command_index: int
    delta: dict[str, Any]


class ShellOutputDone(_ItemScoped):
    type: Literal["response.shell_call_output_content.done"]
    command_index: int
    output: list[dict[str, Any]]


class HostedToolProgress(_ItemScoped):
    """web_search/file_search/code_interpreter/image_generation/mcp progress: item_id + index."""


HOSTED_PROGRESS: dict[str, tuple[str, ...]] = {
    "web_search_call": ("in_progress", "searching", "completed"),
    "file_search_call": ("in_progress", "searching", "completed"),
    "code_interpreter_call": ("in_progress", "interpreting", "completed"),
    "image_generation_call": ("in_progress", "generating", "completed"),
    "mcp_call": ("in_progress", "completed", "failed"),
    "mcp_list_tools": ("in_progress", "completed", "failed"),
}

_EVENT_SPECS: dict[str, type[_Model]] = {
    "response.created": ResponseCreated,
    "response.queued": ResponseQueued,
    "response.in_progress": ResponseInProgress,
    "response.completed": ResponseCompleted,
    "response.failed": ResponseFailed,
    "response.incomplete": ResponseIncomplete,
    "error": ErrorEvent,
    "keepalive": KeepAlive,
    "response.output_item.added": OutputItemAdded,
    "response.output_item.done": OutputItemDone,
    "response.content_part.added": ContentPartAdded,
    "response.content_part.done": ContentPartDone,
    "response.output_text.delta": OutputTextDelta,
    "response.output_text.done": OutputTextDone,
    "response.output_text.annotation.added": OutputTextAnnotationAdded,
    "response.refusal.delta": RefusalDelta,
    "response.refusal.done": RefusalDone,
    "response.function_call_arguments.delta": FunctionCallArgumentsDelta,
    "response.function_call_arguments.done": FunctionCallArgumentsDone,
    "response.custom_tool_call_input.delta": CustomToolCallInputDelta,
    "response.custom_tool_call_input.done": CustomToolCallInputDone,
    "response.mcp_call_arguments.delta": McpCallArgumentsDelta,
    "response.mcp_call_arguments.done": McpCallArgumentsDone,
    "response.reasoning_summary_part.added": ReasoningSummaryPartAdded,
    "response.reasoning_summary_part.done": ReasoningSummaryPartDone,
    "response.reasoning_summary_text.delta": ReasoningSummaryTextDelta,
    "response.reasoning_summary_text.done": ReasoningSummaryTextDone,
    "response.reasoning_text.delta": ReasoningTextDelta,
    "response.reasoning_text.done": ReasoningTextDone,
    "response.code_interpreter_call_code.delta": CodeInterpreterCodeDelta,
    "response.code_interpreter_call_code.done": CodeInterpreterCodeDone,
    "response.image_generation_call.partial_image": ImageGenerationPartialImage,
    "response.audio.delta": AudioDelta,
    "response.audio.transcript.delta": AudioDelta,
    "response.audio.done": AudioDone,
    "response.audio.transcript.done": AudioDone,
    "response.shell_call_command.added": ShellCommandAdded,
    "response.shell_call_command.delta": ShellCommandDelta,
    "response.shell_call_command.done": ShellCommandDone,
    "response.shell_call_output_content.delta": ShellOutputDelta,
    "response.shell_call_output_content.done": ShellOutputDone,
}
for _family, _steps in HOSTED_PROGRESS.items():
    for _step in _steps:
        _EVENT_SPECS[f"response.{_family}.{_step}"] = HostedToolProgress

TERMINAL_TYPES = frozenset({"response.completed", "response.failed", "response.incomplete"})
LIFECYCLE_TYPES = frozenset(
    {"response.created", "response.queued", "response.in_progress"} | TERMINAL_TYPES
)

# Open Responses names raw reasoning events otherwise than OpenAI does (its openapi's
# ResponseReasoningDelta/DoneStreamingEvent): the spec's names, and OpenAI's for the same events.
OPEN_RESPONSES_EVENT_MODELS: dict[str, type[StreamEvent]] = {
    "response.reasoning.delta": ReasoningTextDelta,
    "response.reasoning.done": ReasoningTextDone,
}
OPENAI_EVENT_NAMES: dict[str, str] = {
    "response.reasoning_text.delta": "response.reasoning.delta",
    "response.reasoning_text.done": "response.reasoning.done",
}
"""OpenAI's name → the Open Responses name of the same event."""


def open_responses_event_issues(payload: dict[str, Any]) -> tuple[FieldIssue, ...]:
    """The field issues of an event Open Responses names otherwise than OpenAI does (its
    fields are those of OpenAI's twin; ``type`` is not held to the twin's name)."""
    model = OPEN_RESPONSES_EVENT_MODELS[payload["type"]]
    issues = _validate(model, payload)[1]
    return tuple(i for i in issues if i.path != "type")


# Which item type each item-scoped event family must target (reference 4.4).
EVENT_ITEM_TYPES: dict[str, frozenset[str]] = {
    "response.output_text.": frozenset({"message"}),
    "response.refusal.": frozenset({"message"}),
    "response.content_part.": frozenset({"message", "reasoning"}),
    "response.function_call_arguments.": frozenset({"function_call"}),
    "response.custom_tool_call_input.": frozenset({"custom_tool_call"}),
    "response.mcp_call_arguments.": frozenset({"mcp_call"}),
    "response.mcp_call.": frozenset({"mcp_call"}),
    "response.mcp_list_tools.": frozenset({"mcp_list_tools"}),
    "response.reasoning_text.": frozenset({"reasoning"}),
    "response.reasoning.": frozenset({"reasoning"}),  # Open Responses' name of the same
    "response.reasoning_summary_": frozenset({"reasoning"}),
    "response.code_interpreter_call": frozenset({"code_interpreter_call"}),
    "response.file_search_call.": frozenset({"file_search_call"}),
    "response.web_search_call.": frozenset({"web_search_call"}),
    "response.image_generation_call.": frozenset({"image_generation_call"}),
    "response.shell_call_command.": frozenset({"shell_call"}),
    "response.shell_call_output_content.": frozenset({"shell_call_output"}),
}


_EXPECTED_CACHE: dict[str, frozenset[str] | None] = {}


def expected_item_types(event_type: str) -> frozenset[str] | None:
    try:
        return _EXPECTED_CACHE[event_type]
    except KeyError:
        found = next((t for p, t in EVENT_ITEM_TYPES.items() if event_type.startswith(p)), None)
        _EXPECTED_CACHE[event_type] = found
        return found


# Retired, foreign and invented names (reference section 8): what each one is instead.
KNOWN_FOREIGN: dict[str, str] = {
    "response.reasoning.delta": "old raw-reasoning name (openai-python 1.80-1.97.0); now response.reasoning_text.delta",
    "response.reasoning.done": "old raw-reasoning name (openai-python 1.80-1.97.0); now response.reasoning_text.done",
    "response.reasoning_summary.delta": "removed in openai-python 1.99.0; use response.reasoning_summary_text.delta",
    "response.reasoning_summary.done": "removed in openai-python 1.99.0; use response.reasoning_summary_text.done",
    "response.output_text_annotation.added": "spelling of openai-python 1.80-1.94; now response.output_text.annotation.added",
    "response.code_interpreter_call.code.delta": "renamed in openai-python 1.83.0 to response.code_interpreter_call_code.delta",
    "response.code_interpreter_call.code.done": "renamed in openai-python 1.83.0 to response.code_interpreter_call_code.done",
    "response.mcp_call.arguments_delta": "renamed in openai-python 1.95.0 to response.mcp_call_arguments.delta",
    "response.mcp_call.arguments_done": "renamed in openai-python 1.95.0 to response.mcp_call_arguments.done",
    "response.reasoning_part.added": "vLLM-only; OpenAI sends response.content_part.added with a reasoning_text part",
    "response.reasoning_part.done": "vLLM-only; OpenAI sends response.content_part.done with a reasoning_text part",
    "response.done": "the Realtime API's terminal event; the Responses API ends with response.completed",
    "response.text.delta": "a Realtime beta name; the Responses API uses response.output_text.delta",
    "response.audio_transcript.delta": "a Realtime beta name; the Responses API uses response.audio.transcript.delta",
    "response.tool_call.delta": "never existed (invented by third-party code); use response.function_call_arguments.delta",
    "response.function_call.delta": "never existed (invented by third-party code); use response.function_call_arguments.delta",
    "response.cancelled": "no such event: cancelled is only a Response status",
}


def foreign_name_hint(event_type: str) -> str | None:
    """Say what a retired, foreign or invented event name is, if we know it."""
    if event_type in KNOWN_FOREIGN:
        return KNOWN_FOREIGN[event_type]
    if event_type.startswith("response.output_tool_call."):
        return (
            "never existed (invented by third-party code); use response.function_call_arguments.*"
        )
    if event_type.startswith("thread.") or event_type == "done":
        return "an Assistants API event, not part of the Responses API"
    return None


# ---------------------------------------------------------------------------------------------
# Chat Completions chunks (input of the bundled engine)
# ---------------------------------------------------------------------------------------------


class ChatToolCallFunction(_Model):
    name: str | None = None
    arguments: str | None = None


class ChatToolCallChunk(_Model):
    index: int
    id: str | None = None
    type: Literal["function"] | None = None
    function: ChatToolCallFunction | None = None


class ChatDelta(_Model):
    role: str | None = None
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ChatToolCallChunk] | None = None
    reasoning_content: str | None = None
    reasoning: str | None = None


class ChatChoice(_Model):
    index: int
    delta: ChatDelta
    finish_reason: str | None = None
    logprobs: dict[str, Any] | None = None


class ChatUsage(_Model):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: dict[str, Any] | None = None
    completion_tokens_details: dict[str, Any] | None = None


class ChatCompletionChunk(_Model):
    id: str
    object: Literal["chat.completion.chunk"]
    created: int
    model: str
    choices: list[ChatChoice]
    system_fingerprint: str | None = None
    usage: ChatUsage | None = None


# ---------------------------------------------------------------------------------------------
# Validation helpers that never raise
# ---------------------------------------------------------------------------------------------

_JSON_TYPE_NAMES = {
    "int_type": "integer",
    "int_parsing": "integer",
    "float_type": "number",
    "string_type": "string",
    "bool_type": "boolean",
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
}


def json_type(value: Any) -> str:
    """The JSON type name of a decoded value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class FieldIssue:
    """A field that is missing or has the wrong JSON type."""

    path: str
    kind: Literal["missing", "type", "value"]
    expected: str
    got: str

    def describe(self) -> str:
        if self.kind == "missing":
            return f"`{self.path}` is missing (expected {self.expected})"
        if self.kind == "value":
            return f"`{self.path}` is {self.got}, expected {self.expected}"
        return f"`{self.path}` is {self.got}, expected {self.expected}"


def _loc_path(prefix: str, loc: tuple[Any, ...]) -> str:
    parts: list[str] = [prefix] if prefix else []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif isinstance(p, str) and p.startswith(("function-", "lax-", "json-")):
            continue
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts).lstrip(".")


def _annotation_json_type(annotation: Any) -> str:
    """Describe a field annotation in JSON terms, for "expected …" in messages."""
    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_annotation_json_type(a) for a in typing.get_args(annotation)]
        return " or ".join(dict.fromkeys(names))
    if origin is typing.Literal:
        return " or ".join(repr(a) for a in typing.get_args(annotation))
    if origin is list or annotation is list:
        return "array"
    if origin is dict or annotation is dict:
        return "object"
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if annotation in simple:
        return simple[annotation]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return "a value"


def _expected_missing(model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    from pydantic import BaseModel

    current: Any = model
    annotation: Any = None
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return "a value"
        info = current.model_fields.get(part) if isinstance(part, str) else None
        if info is None:
            return "a value"
        annotation = info.annotation
        current = annotation
    return _annotation_json_type(annotation) if annotation is not None else "a value"


def _issues(exc: ValidationError, prefix: str, model: type[BaseModel]) -> list[FieldIssue]:
    out: list[FieldIssue] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False, include_context=True):
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and "[" in p))
        path = _loc_path(prefix, loc)
        if path in seen:
            continue  # a union reports one error per member; one per field is enough
        seen.add(path)
        etype = err["type"]
        value = err.get("input")
        if etype == "missing":
            out.append(FieldIssue(path, "missing", _expected_missing(model, loc), "missing"))
        elif etype == "literal_error":
            expected = str(err.get("ctx", {}).get("expected", "an allowed value"))
            out.append(FieldIssue(path, "value", f"one of {expected}", repr(value)))
        else:
            expected = _JSON_TYPE_NAMES.get(etype, etype.replace("_type", ""))
            out.append(FieldIssue(path, "type", expected, json_type(value)))
    return out


# ---------------------------------------------------------------------------------------------
# The pydantic classes, built from the declarations on first use
# ---------------------------------------------------------------------------------------------

_BUILT: dict[str, type[BaseModel]] = {}


def pydantic_model(declaration: type[_Model] | str) -> type[BaseModel]:
    """The pydantic class of a declaration (or of its name), building every class on the first
    call: strict about JSON types, extra keys ignored, each schema built when first validated."""
    if not _BUILT:
        _build_all()
    return _BUILT[declaration if isinstance(declaration, str) else declaration.__name__]


def _build_all() -> None:
    from pydantic import BaseModel, ConfigDict

    class _Strict(BaseModel):
        model_config = ConfigDict(strict=True, extra="ignore", defer_build=True)

    namespace = dict(globals())  # annotations name other models: their pydantic classes
    built: dict[str, type[BaseModel]] = {}
    for name, declaration in _DECLARED.items():
        parent = declaration.__bases__[0]
        base = _Strict if parent is _Model else built[parent.__name__]
        own = inspect.get_annotations(declaration)
        body: dict[str, Any] = {
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": declaration.__doc__,
            "__annotations__": {field: eval(ann, namespace) for field, ann in own.items()},
        }
        body.update(
            {field: declaration.__dict__[field] for field in own if field in declaration.__dict__}
        )
        model = types.new_class(name, (base,), exec_body=partial(_fill, body))
        built[name] = namespace[name] = model
    _BUILT.update(built)


def _fill(body: dict[str, Any], namespace: dict[str, Any]) -> None:
    namespace.update(body)


class _Models(Mapping[str, "type[BaseModel]"]):
    """A name → pydantic class table whose keys (all a hot path asks: ``etype in EVENT_MODELS``)
    are known without building anything; looking up a value builds the classes."""

    def __init__(self, declarations: dict[str, type[_Model]]) -> None:
        self._declarations = declarations

    def __getitem__(self, key: str) -> type[BaseModel]:
        return pydantic_model(self._declarations[key])

    def __contains__(self, key: object) -> bool:
        return key in self._declarations

    def __iter__(self) -> Iterator[str]:
        return iter(self._declarations)

    def __len__(self) -> int:
        return len(self._declarations)


PART_MODELS: Mapping[str, type[BaseModel]] = _Models(_PART_SPECS)
ITEM_MODELS: Mapping[str, type[BaseModel]] = _Models(_ITEM_SPECS)
EVENT_MODELS: Mapping[str, type[BaseModel]] = _Models(_EVENT_SPECS)


def __getattr__(name: str) -> Any:
    """``BaseModel``, for code that asks whether an annotation is a model class."""
    if name == "BaseModel":
        from pydantic import BaseModel

        return BaseModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _hints(declaration: type[_Model]) -> dict[str, Any]:
    """The fields of a declaration with their annotations evaluated (declarations stand for the
    models they name), parents' fields first, as pydantic orders them."""
    cached = _HINTS.get(declaration)
    if cached is None:
        cached = {}
        for klass in reversed(declaration.__mro__):
            for field, ann in inspect.get_annotations(klass).items():
                cached[field] = eval(ann, globals())
        _HINTS[declaration] = cached
    return cached


_HINTS: dict[type[_Model], dict[str, Any]] = {}


def event_field_types(event_type: str) -> dict[str, Any]:
    """The fields the model of ``event_type`` declares and their annotations (``str``,
    ``int | None``, …), without building pydantic (Codex's decoder model asks at import)."""
    return _hints(_EVENT_SPECS[event_type])


# ---------------------------------------------------------------------------------------------
# The quick check: certainly valid, or ask pydantic
# ---------------------------------------------------------------------------------------------

# A plan per model for a quick, conservative check: it accepts only payloads that are certainly
# valid for the strict pydantic model (plain JSON types, literals, nested models and lists of
# them checked the same way); anything else goes through pydantic, which names the issue.
# Generated from the declarations' own annotations so it cannot disagree with them. It exists
# because deltas are most of a stream and pydantic costs more than the JSON parse per event, and
# because a valid stream then needs no pydantic at all.
_STRICT_TYPES: dict[Any, tuple[type, ...]] = {
    str: (str,),
    int: (int,),
    float: (int, float),
    bool: (bool,),
}
_ANY_JSON = (str, int, float, bool, list, dict)
_MISSING = object()

_Deep = Callable[[Any], bool]
_Accepts = tuple[tuple[type, ...], _Deep | None]
"""The value types a field accepts and, when they are not the whole story, a deeper check."""
_Plan = tuple[tuple[str, tuple[type, ...], bool, bool, _Deep | None], ...]


def _accepts(ann: Any) -> tuple[tuple[type, ...], _Deep | None, bool] | None:
    """(types, deeper check, nullable) of an annotation, or None when the quick check cannot
    vouch for it."""
    if ann is Any:
        return _ANY_JSON, None, True
    if ann is type(None):
        return (), None, True
    origin = typing.get_origin(ann)
    if origin in (typing.Union, types.UnionType):
        return _accepts_union(typing.get_args(ann))
    if origin is typing.Literal:
        allowed = typing.get_args(ann)
        if not all(type(a) is str for a in allowed):
            return None
        return (str,), frozenset(allowed).__contains__, False
    if ann in _STRICT_TYPES:
        return _STRICT_TYPES[ann], None, False
    if ann is dict or (origin is dict and typing.get_args(ann)[1] is Any):
        return (dict,), None, False
    if ann is list or origin is list:
        return _accepts_list(typing.get_args(ann))
    if isinstance(ann, type) and issubclass(ann, _Model):
        return (dict,), lambda value, model=ann: quick_valid(model, value), False
    return None


def _accepts_union(members: tuple[Any, ...]) -> tuple[tuple[type, ...], _Deep | None, bool] | None:
    parts = []
    for member in members:
        accepts = _accepts(member)
        if accepts is None:
            return None
        parts.append(accepts)
    kinds = tuple(t for p in parts for t in p[0])
    if len(kinds) != len(set(kinds)):
        return None  # two members take the same JSON type: let pydantic decide
    nullable = any(p[2] for p in parts)
    typed = [p for p in parts if p[0]]
    if len(typed) == 1:  # ``X | None``: X's own check
        return kinds, typed[0][1], nullable
    deeper = {t: p[1] for p in typed if p[1] is not None for t in p[0]}
    return kinds, partial(_by_type, deeper) if deeper else None, nullable


def _by_type(deeper: dict[type, _Deep], value: Any) -> bool:
    deep = deeper.get(type(value))
    return deep is None or deep(value)


def _accepts_list(args: tuple[Any, ...]) -> tuple[tuple[type, ...], _Deep | None, bool] | None:
    if not args or args[0] is Any:
        return (list,), None, False
    element = _accepts(args[0])
    if element is None or element[2]:
        return None  # nullable elements: rare, left to pydantic
    kinds, deep = element[0], element[1]

    def every(value: list[Any]) -> bool:
        for item in value:
            if type(item) not in kinds or (deep is not None and not deep(item)):
                return False
        return True

    return (list,), every, False


def _plan(declaration: type[_Model], skip: str = "") -> _Plan | None:
    plan = []
    for name, ann in _hints(declaration).items():
        if name == skip:
            continue
        accepts = _accepts(ann)
        if accepts is None:
            return None
        kinds, deep, nullable = accepts
        owner = next(k for k in declaration.__mro__ if name in inspect.get_annotations(k))
        required = name not in owner.__dict__  # the class that annotates it last decides
        plan.append((name, kinds, required, nullable, deep))
    return tuple(plan)


_Check = Callable[[dict[str, Any]], bool]
_CHECKS: dict[object, _Check | None] = {}
_EVENT_CHECKS: dict[str, _Check | None] = {}
"""Per event type: its model's check without the ``type`` field, which the type chose."""


def _compile(plan: _Plan) -> _Check:
    """A plan as one straight-line function: a field costs a ``get`` and a type test or two,
    where walking the plan cost a loop turn and five comparisons (a third of a delta's
    judgement went here). The code comes only from the declarations' own annotations."""
    lines = ["def check(payload):", "    get = payload.get"]
    names: dict[str, Any] = {"MISSING": _MISSING}
    for i, (field, kinds, required, nullable, deep) in enumerate(plan):
        names[f"K{i}"] = kinds[0] if len(kinds) == 1 else kinds
        wrong = f"type(v) is not K{i}" if len(kinds) == 1 else f"type(v) not in K{i}"
        if deep is not None:
            names[f"D{i}"] = deep
            look = "(v or type(v) is not list) and " if list in kinds else ""  # [] needs no look
            wrong = f"{wrong} or ({look}not D{i}(v))"
        if required and not nullable:  # None and missing fail the type test
            lines += [f"    v = get({field!r})", f"    if {wrong}:", "        return False"]
        elif not required and nullable:
            lines += [f"    v = get({field!r})", f"    if v is not None and ({wrong}):"]
            lines.append("        return False")
        else:
            lines.append(f"    v = get({field!r}, MISSING)")
            if required:  # required but nullable: present, null or of its type
                lines += ["    if v is MISSING:", "        return False"]
                lines += [f"    if v is not None and ({wrong}):", "        return False"]
            else:  # optional, never null: absent or of its type
                lines += [f"    if v is not MISSING and ({wrong}):", "        return False"]
    lines.append("    return True")
    exec("\n".join(lines), names)
    check: _Check = names["check"]
    return check


def _check_of(declaration: type[_Model], skip: str = "") -> _Check | None:
    plan = _plan(declaration, skip)
    return None if plan is None else _compile(plan)


def _event_check(event_type: str) -> _Check | None:
    declaration = _EVENT_SPECS[event_type]
    type_only = _plan(declaration)
    type_only = None if type_only is None else tuple(f for f in type_only if f[0] == "type")
    chosen = type_only is not None and _compile(type_only)({"type": event_type})
    check = _EVENT_CHECKS[event_type] = _check_of(declaration, "type" if chosen else "")
    return check


def quick_valid(model: type[_Model] | type[BaseModel], payload: dict[str, Any]) -> bool:
    """True only if ``payload`` is certainly valid for ``model`` (a declaration or its pydantic
    class; False: ask pydantic)."""
    try:
        check = _CHECKS[model]
    except KeyError:
        check = _CHECKS[model] = _check_of(_DECLARED[model.__name__])
    return check is not None and check(payload)


def _validate(
    declaration: type[_Model], payload: dict[str, Any], prefix: str = ""
) -> tuple[Any, list[FieldIssue]]:
    from pydantic import ValidationError

    model = pydantic_model(declaration)
    try:
        return model.model_validate(payload), []
    except ValidationError as exc:
        return None, _issues(exc, prefix, model)


def _issues_of(declaration: type[_Model], payload: dict[str, Any], prefix: str) -> list[FieldIssue]:
    """Only the issues: none without pydantic when the quick check vouches for the payload."""
    if quick_valid(declaration, payload):
        return []
    return _validate(declaration, payload, prefix)[1]


def validate_event(payload: dict[str, Any]) -> tuple[BaseModel | None, list[FieldIssue]]:
    """Validate a decoded event payload against its model. Unknown types return ``(None, [])``."""
    declaration = _EVENT_SPECS.get(payload.get("type"))  # type: ignore[arg-type]
    if declaration is None:
        return None, []
    return _validate(declaration, payload)


def event_issues(payload: dict[str, Any]) -> tuple[FieldIssue, ...]:
    """Only the issues (the hot path): skips pydantic when the quick check passes."""
    etype: Any = payload.get("type")
    try:
        check = _EVENT_CHECKS[etype]
    except KeyError:
        if etype not in _EVENT_SPECS:
            return ()
        check = _event_check(etype)
    if check is not None and check(payload):
        return ()
    return tuple(_validate(_EVENT_SPECS[etype], payload)[1])


def validate_item(
    item: dict[str, Any], prefix: str = "item", model: type[_Model] | None = None
) -> list[FieldIssue]:
    """Field issues of an output item (unknown item types are not checked field by field);
    ``model`` overrides the one of its type (``OPEN_RESPONSES_ITEM_MODELS``)."""
    itype = item.get("type")
    if model is None:
        model = _ITEM_SPECS.get(itype) if isinstance(itype, str) else None
    if model is None:
        return []
    return _issues_of(model, item, prefix)


def validate_error_payload(error: dict[str, Any], prefix: str = "error") -> list[FieldIssue]:
    """Field issues of an ``error`` event's nested payload as Open Responses requires it."""
    return _issues_of(OpenResponsesErrorPayload, error, prefix)


def validate_part(part: dict[str, Any], prefix: str = "part") -> list[FieldIssue]:
    ptype = part.get("type")
    declaration = _PART_SPECS.get(ptype) if isinstance(ptype, str) else None
    if declaration is None:
        return [FieldIssue(f"{prefix}.type", "value", "a known part type", repr(part.get("type")))]
    return _issues_of(declaration, part, prefix)


def validate_response(
    response: dict[str, Any], prefix: str = "response", model: type[_Model] = Response
) -> list[FieldIssue]:
    """Field issues of a Response (``model``: :class:`OpenResponsesResponse` for that spec)."""
    return _issues_of(model, response, prefix)


def validate_usage(usage: Any, prefix: str = "response.usage") -> list[FieldIssue]:
    if not isinstance(usage, dict):
        return [FieldIssue(prefix, "type", "object", json_type(usage))]
    return _issues_of(Usage, usage, prefix)


def validate_chat_chunk(
    payload: dict[str, Any],
) -> tuple[BaseModel | None, list[FieldIssue]]:
    return _validate(ChatCompletionChunk, payload)
