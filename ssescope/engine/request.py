"""A Responses API request in, a Chat Completions request out. Pure: no I/O.

What a chat server cannot take is skipped with a warning rather than refused, because the client
(Codex) sends it on every turn whatever the server: hosted tools (``web_search``), ``namespace``
tools, reasoning items from earlier turns, ``include``, ``store``. A 400 there would make the
engine useless with Codex. Only a request the engine cannot make sense of at all (no model, an
``input`` of the wrong type) is a :class:`RequestError` (HTTP 400).

Mapping (``responses-streaming.md`` §10.1, Codex's request shape in ``codex-behaviour.md`` §2):

* ``instructions`` → a leading ``system`` message; ``developer`` → ``system``; adjacent system
  messages are merged (many chat templates accept only one, at the start).
* ``input_text``/``output_text`` parts → text (joined; a list of parts only when an image is
  present), ``input_image`` → ``image_url``.
* ``function_call`` items → an assistant message with ``tool_calls`` (consecutive calls share one
  message, as parallel calls do); ``function_call_output`` → a ``tool`` message.
* Reasoning items are dropped (chat servers take no reasoning input); unknown items are skipped.
* ``function`` tools → chat tools; ``tool_choice``; ``max_output_tokens`` → ``max_tokens`` (or
  ``max_completion_tokens``); ``temperature``, ``top_p``; ``text.format`` → ``response_format``;
  ``stream_options.include_usage`` is always on, so usage can reach the terminal event.

Each of these is one converter in a table: :data:`_ITEMS` per input item type, :data:`_PARTS` per
content part type, :data:`_TOOLS` per tool type, :data:`_OPTIONS` per request option. A type with
no converter is skipped with a warning, so supporting a new item, part or tool type is one entry.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeGuard

_TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "reasoning_text"})
_ROLES = {"developer": "system", "system": "system", "user": "user", "assistant": "assistant"}


class RequestError(ValueError):
    """The request cannot be translated at all (answered with HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class ChatRequest:
    body: dict[str, Any]
    """The Chat Completions request body (``stream: true``)."""
    echo: dict[str, Any]
    """Response fields echoed in every Response object (instructions, tools, model, …)."""
    warnings: list[str] = field(default_factory=list)
    stream: bool = True
    """Whether the client asked for a stream (the upstream is always asked for one)."""
    conversation: list[dict[str, Any]] = field(default_factory=list)
    """The chat messages without the ones ``instructions`` produced: what a later request that
    names this response in ``previous_response_id`` continues (instructions do not carry over)."""
    store: bool = True


def to_chat(
    request: Any,
    *,
    model: str | None = None,
    max_tokens_field: str = "max_tokens",
    history: list[dict[str, Any]] | None = None,
) -> ChatRequest:
    """Translate one ``POST /v1/responses`` body. ``model`` overrides the model sent upstream
    (the echoed model stays the client's); ``history`` is prepended (previous_response_id)."""
    client_model = _client_model(request, model)
    warnings: list[str] = []
    conversation: list[dict[str, Any]] = copy.deepcopy(history or [])
    lead = _instructions(request.get("instructions"), warnings)
    conversation.extend(_input(request.get("input"), warnings))
    messages = _merge_system(lead + conversation)
    if not messages:
        raise RequestError("the request has no input", "input")

    body: dict[str, Any] = {"model": model or client_model, "messages": messages}
    target = _Target(max_tokens_field, warnings)
    for option in _OPTIONS:
        option(request, body, target)
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}
    for key in _UNSUPPORTED:  # no equivalent: said, not refused
        if request.get(key):
            warnings.append(f"`{key}` is not supported by the translating engine and was ignored")
    return ChatRequest(
        body=body,
        echo=_echo(request, body, model, max_tokens_field),
        warnings=warnings,
        stream=request.get("stream") is True,
        conversation=conversation,
        store=request.get("store") is not False,
    )


def output_messages(output: list[Any]) -> list[dict[str, Any]]:
    """A response's output items as chat messages (reasoning dropped), to extend a stored
    conversation: output items have the shape of input items."""
    return _input_items(
        [i for i in output if isinstance(i, dict) and i.get("type") != "reasoning"], []
    )


def _client_model(request: Any, model: str | None) -> str | None:
    """The model the client named (validated; the request must name one unless overridden)."""
    if not isinstance(request, dict):
        raise RequestError("the request body must be a JSON object")
    client_model = request.get("model")
    if client_model is not None and not isinstance(client_model, str):
        raise RequestError("`model` must be a string", "model")
    if not client_model and not model:
        raise RequestError("`model` is required", "model")
    return client_model


def _instructions(instructions: Any, warnings: list[str]) -> list[dict[str, Any]]:
    """The messages ``instructions`` lead with: a system message, or input items."""
    if isinstance(instructions, str):
        return [{"role": "system", "content": instructions}] if instructions else []
    if isinstance(instructions, list):
        return _input_items(instructions, warnings)
    if instructions is not None:
        raise RequestError("`instructions` must be a string", "instructions")
    return []


def _input(raw_input: Any, warnings: list[str]) -> list[dict[str, Any]]:
    if isinstance(raw_input, str):
        return [{"role": "user", "content": raw_input}]
    if isinstance(raw_input, list):
        return _input_items(raw_input, warnings)
    if raw_input is not None:
        raise RequestError("`input` must be a string or an array of items", "input")
    return []


def _echo(
    request: dict[str, Any], body: dict[str, Any], model: str | None, max_tokens_field: str
) -> dict[str, Any]:
    """The Response fields echoed from the request (what OpenAI echoes, as far as it is kept)."""
    instructions = request.get("instructions")
    echo: dict[str, Any] = {
        "model": request.get("model") or model,
        "instructions": instructions if isinstance(instructions, str | list) else None,
        "metadata": _typed(request.get("metadata"), dict, {}),
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get(max_tokens_field),
        "tools": [_echo_tool(t) for t in request.get("tools") or [] if _is_function_tool(t)],
        "tool_choice": request.get("tool_choice") or "auto",
        "parallel_tool_calls": _typed(request.get("parallel_tool_calls", True), bool, True),
        "previous_response_id": _typed(request.get("previous_response_id"), str, None),
        "store": request.get("store") is not False,
        "user": _typed(request.get("user"), str, None),
        "presence_penalty": body.get("presence_penalty"),
        "frequency_penalty": body.get("frequency_penalty"),
        "top_logprobs": body.get("top_logprobs"),
        "max_tool_calls": request["max_tool_calls"]
        if _is_int(request.get("max_tool_calls"))
        else None,
        "safety_identifier": _typed(request.get("safety_identifier"), str, None),
        "prompt_cache_key": _typed(request.get("prompt_cache_key"), str, None),
        "truncation": request.get("truncation") if request.get("truncation") == "auto" else None,
    }
    reasoning = request.get("reasoning")
    if isinstance(reasoning, dict):
        echo["reasoning"] = {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")}
    if isinstance(request.get("text"), dict):
        echo["text"] = request["text"]
    return echo


def _typed(value: Any, kind: type, default: Any) -> Any:
    return value if isinstance(value, kind) else default


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


# -- input items: one converter per item type --------------------------------------------------


@dataclass
class _Messages:
    """The chat messages being built from input items, and what was skipped on the way."""

    warnings: list[str]
    messages: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)


ItemConverter = Callable[[_Messages, dict[str, Any], int], None]
"""Adds the chat form of one input item (at ``input[position]``) to the messages."""


def _input_items(items: list[Any], warnings: list[str]) -> list[dict[str, Any]]:
    out = _Messages(warnings)
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise RequestError(f"input[{position}] is not an object", f"input[{position}]")
        itype = item.get("type")
        if itype is None and "role" in item:
            itype = "message"
        convert = _ITEMS.get(itype) if isinstance(itype, str) else None
        if convert is None:
            out.skipped[str(itype)] = out.skipped.get(str(itype), 0) + 1
        else:
            convert(out, item, position)
    for name, count in out.skipped.items():
        warnings.append(f"skipped {count} input item(s) of type {name!r} (no chat equivalent)")
    return out.messages


def _message_item(out: _Messages, item: dict[str, Any], position: int) -> None:
    message = _message(item, position, out.warnings)
    if message is not None:
        out.messages.append(message)


def _function_call(out: _Messages, item: dict[str, Any], position: int) -> None:
    call_id, name, arguments = item.get("call_id"), item.get("name"), item.get("arguments")
    if not isinstance(call_id, str) or not isinstance(name, str):
        raise RequestError(
            f"input[{position}]: function_call needs string call_id and name", f"input[{position}]"
        )
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments if arguments is not None else {})
    tool_call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }
    messages = out.messages
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(tool_call)  # parallel calls share one message
        if not last.get("content"):
            last["content"] = None
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})


def _function_call_output(out: _Messages, item: dict[str, Any], position: int) -> None:
    call_id = item.get("call_id")
    if not isinstance(call_id, str):
        raise RequestError(
            f"input[{position}]: function_call_output needs a string call_id",
            f"input[{position}].call_id",
        )
    if not any(tc.get("id") == call_id for m in out.messages for tc in m.get("tool_calls") or []):
        out.warnings.append(
            f"input[{position}]: function_call_output for call {call_id!r} has no "
            "matching function_call"
        )
    out.messages.append({"role": "tool", "tool_call_id": call_id, "content": _output_text(item)})


def _reasoning(out: _Messages, item: dict[str, Any], position: int) -> None:
    """Dropped: chat servers take no reasoning input, and dropping it is expected."""


_ITEMS: dict[str, ItemConverter] = {
    "message": _message_item,
    "function_call": _function_call,
    "function_call_output": _function_call_output,
    "reasoning": _reasoning,
}


def _output_text(item: dict[str, Any]) -> str:
    output = item.get("output")
    if isinstance(output, str):
        return output
    if isinstance(output, list):
        return "\n".join(
            p["text"]
            for p in output
            if isinstance(p, dict)
            and p.get("type") in _TEXT_PARTS
            and isinstance(p.get("text"), str)
        )
    return "" if output is None else json.dumps(output)


def _merge_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: list[dict[str, Any]] = []
    for message in messages:
        prev = merged[-1] if merged else None
        if (
            prev is not None
            and message["role"] == "system"
            and prev["role"] == "system"
            and isinstance(prev.get("content"), str)
            and isinstance(message.get("content"), str)
        ):
            merged[-1] = {"role": "system", "content": f"{prev['content']}\n\n{message['content']}"}
        else:
            merged.append(message)
    return merged


# -- message content: one converter per part type -----------------------------------------------


@dataclass
class _Content:
    """A message's content being converted: its texts, and its chat parts once an image makes
    a list of parts necessary."""

    role: str
    texts: list[str] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    has_image: bool = False

    def add_text(self, text: str) -> None:
        self.texts.append(text)
        self.parts.append({"type": "text", "text": text})


PartConverter = Callable[[_Content, dict[str, Any]], bool]
"""Adds the chat form of one content part; False when it has none (skipped with a warning)."""


def _message(item: dict[str, Any], position: int, warnings: list[str]) -> dict[str, Any] | None:
    role = item.get("role")
    chat_role = _ROLES.get(role) if isinstance(role, str) else None
    if chat_role is None:
        warnings.append(f"input[{position}]: unknown role {role!r} sent as user")
        chat_role = "user"
    content = item.get("content")
    if isinstance(content, str):
        return {"role": chat_role, "content": content}
    if not isinstance(content, list):
        raise RequestError(
            f"input[{position}]: message content must be a string or an array",
            f"input[{position}].content",
        )
    converted = _Content(chat_role)
    for part in content:
        if not isinstance(part, dict):
            continue
        ptype = part.get("type")
        convert = _PARTS.get(ptype) if isinstance(ptype, str) else None
        if convert is None or not convert(converted, part):
            warnings.append(f"input[{position}]: skipped a {ptype!r} content part")
    if converted.has_image:
        return {"role": chat_role, "content": converted.parts}
    if not converted.texts and chat_role != "assistant":
        warnings.append(f"input[{position}]: a {role} message with no text was skipped")
        return None
    return {"role": chat_role, "content": "\n".join(converted.texts)}


def _text_part(content: _Content, part: dict[str, Any]) -> bool:
    text = part.get("text")
    if not isinstance(text, str):
        return False
    content.add_text(text)
    return True


def _refusal_part(content: _Content, part: dict[str, Any]) -> bool:
    """A refusal from an earlier turn, sent back as the text it was."""
    refusal = part.get("refusal")
    if not isinstance(refusal, str):
        return False
    content.add_text(refusal)
    return True


def _image_part(content: _Content, part: dict[str, Any]) -> bool:
    """``input_image`` → ``image_url`` (chat takes images from users only). An image with only
    a ``file_id`` (an upload to the provider's file store) is skipped with a warning: a chat
    server cannot resolve it, and sent as a URL it is a 400 that Codex would replay every turn
    (``ssescope probe``'s ``history-input-image-no-url``)."""
    if content.role != "user":
        return False
    url = part.get("image_url")
    if not isinstance(url, str) or not url:
        return False
    image: dict[str, Any] = {"url": url}
    if isinstance(part.get("detail"), str):
        image["detail"] = part["detail"]
    content.parts.append({"type": "image_url", "image_url": image})
    content.has_image = True
    return True


_PARTS: dict[str, PartConverter] = {
    **dict.fromkeys(_TEXT_PARTS, _text_part),
    "refusal": _refusal_part,
    "input_image": _image_part,
}


# -- tools: one converter per tool type ----------------------------------------------------------


ToolConverter = Callable[[dict[str, Any]], "dict[str, Any] | None"]
"""The chat tool for one Responses tool (None: it has none, and is skipped with a warning)."""


def _is_function_tool(tool: Any) -> bool:
    return (
        isinstance(tool, dict)
        and tool.get("type") == "function"
        and isinstance(tool.get("name"), str)
    )


def _function_tool(tool: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(tool.get("name"), str):
        return None
    fn: dict[str, Any] = {"name": tool["name"]}
    if isinstance(tool.get("description"), str):
        fn["description"] = tool["description"]
    params = tool.get("parameters")
    fn["parameters"] = params if isinstance(params, dict) else {"type": "object", "properties": {}}
    if isinstance(tool.get("strict"), bool):
        fn["strict"] = tool["strict"]
    return {"type": "function", "function": fn}


_TOOLS: dict[str, ToolConverter] = {"function": _function_tool}


def _tools(tools: Any, warnings: list[str]) -> tuple[list[dict[str, Any]], set[str]]:
    if not isinstance(tools, list):
        return [], set()
    out: list[dict[str, Any]] = []
    skipped: list[str] = []
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        ttype = tool.get("type")
        convert = _TOOLS.get(ttype) if isinstance(ttype, str) else None
        chat_tool = convert(tool) if convert is not None else None
        if chat_tool is not None:
            out.append(chat_tool)
            continue
        label = str(ttype)
        if isinstance(tool.get("name"), str):
            label += f" {tool['name']!r}"
        skipped.append(label)
    if skipped:
        warnings.append(
            f"skipped non-function tool(s) a chat server cannot take: {', '.join(skipped)}"
        )
    return out, {t["function"]["name"] for t in out}


def _echo_tool(tool: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": tool["name"],
        "description": tool.get("description"),
        "parameters": tool.get("parameters"),
        "strict": tool.get("strict", False),
    }


def _tool_choice(choice: Any, names: set[str], warnings: list[str]) -> Any:
    if choice is None:
        return None
    if choice in ("auto", "none", "required"):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if name in names:
            return {"type": "function", "function": {"name": name}}
        warnings.append(f"tool_choice names {name!r}, which is not a function tool; using auto")
        return "auto"
    warnings.append(f"tool_choice {json.dumps(choice)[:80]} has no chat equivalent; using auto")
    return "auto"


# -- options: one converter per request option, in the order the chat body lists them -----------


@dataclass(frozen=True, slots=True)
class _Target:
    """What an option converter needs besides the request and the body it fills."""

    max_tokens_field: str
    warnings: list[str]


OptionConverter = Callable[[dict[str, Any], dict[str, Any], _Target], None]
"""Sets the chat body's fields for one option of the request."""


def _tools_option(request: dict[str, Any], body: dict[str, Any], target: _Target) -> None:
    tools, names = _tools(request.get("tools"), target.warnings)
    if tools:
        body["tools"] = tools
        choice = _tool_choice(request.get("tool_choice"), names, target.warnings)
        if choice is not None:
            body["tool_choice"] = choice
        if isinstance(request.get("parallel_tool_calls"), bool):
            body["parallel_tool_calls"] = request["parallel_tool_calls"]
    elif request.get("tool_choice") not in (None, "auto", "none"):
        target.warnings.append("tool_choice dropped: no function tool is left to choose")


def _sampling_option(request: dict[str, Any], body: dict[str, Any], target: _Target) -> None:
    for key in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
        if _is_number(request.get(key)):
            body[key] = request[key]


def _max_output_tokens_option(
    request: dict[str, Any], body: dict[str, Any], target: _Target
) -> None:
    if _is_int(request.get("max_output_tokens")):
        body[target.max_tokens_field] = request["max_output_tokens"]


def _logprobs_option(request: dict[str, Any], body: dict[str, Any], target: _Target) -> None:
    top_logprobs = request.get("top_logprobs")
    include = request.get("include") or []
    if _is_int(top_logprobs) and top_logprobs > 0:
        body["logprobs"] = True
        body["top_logprobs"] = top_logprobs
    elif isinstance(include, list) and "message.output_text.logprobs" in include:
        body["logprobs"] = True


def _text_format_option(request: dict[str, Any], body: dict[str, Any], target: _Target) -> None:
    """``text.format`` → ``response_format``."""
    text = request.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict):
        return
    ftype = fmt.get("type")
    if ftype == "json_schema":
        schema: dict[str, Any] = {
            "name": fmt.get("name") or "response",
            "schema": fmt.get("schema"),
        }
        for key in ("strict", "description"):
            if key in fmt:
                schema[key] = fmt[key]
        body["response_format"] = {"type": "json_schema", "json_schema": schema}
    elif ftype == "json_object":
        body["response_format"] = {"type": "json_object"}
    elif ftype not in (None, "text"):
        target.warnings.append(f"text.format {ftype!r} has no chat equivalent and was ignored")


def _user_option(request: dict[str, Any], body: dict[str, Any], target: _Target) -> None:
    if isinstance(request.get("user"), str):
        body["user"] = request["user"]


_OPTIONS: tuple[OptionConverter, ...] = (
    _tools_option,
    _sampling_option,
    _max_output_tokens_option,
    _logprobs_option,
    _text_format_option,
    _user_option,
)
_UNSUPPORTED = ("background", "conversation", "prompt")
"""Request fields with no chat equivalent: a warning each, never a refusal."""
