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
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

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
    if not isinstance(request, dict):
        raise RequestError("the request body must be a JSON object")
    warnings: list[str] = []
    client_model = request.get("model")
    if client_model is not None and not isinstance(client_model, str):
        raise RequestError("`model` must be a string", "model")
    if not client_model and not model:
        raise RequestError("`model` is required", "model")

    conversation: list[dict[str, Any]] = copy.deepcopy(history or [])
    instructions = request.get("instructions")
    lead: list[dict[str, Any]] = []
    if isinstance(instructions, str) and instructions:
        lead = [{"role": "system", "content": instructions}]
    elif isinstance(instructions, list):
        lead = _input_items(instructions, warnings)
    elif instructions is not None and not isinstance(instructions, str):
        raise RequestError("`instructions` must be a string", "instructions")

    raw_input = request.get("input")
    if isinstance(raw_input, str):
        conversation.append({"role": "user", "content": raw_input})
    elif isinstance(raw_input, list):
        conversation.extend(_input_items(raw_input, warnings))
    elif raw_input is not None:
        raise RequestError("`input` must be a string or an array of items", "input")
    messages = _merge_system(lead + conversation)
    if not messages:
        raise RequestError("the request has no input", "input")

    body: dict[str, Any] = {"model": model or client_model, "messages": messages}
    tools, names = _tools(request.get("tools"), warnings)
    if tools:
        body["tools"] = tools
        choice = _tool_choice(request.get("tool_choice"), names, warnings)
        if choice is not None:
            body["tool_choice"] = choice
        if isinstance(request.get("parallel_tool_calls"), bool):
            body["parallel_tool_calls"] = request["parallel_tool_calls"]
    elif request.get("tool_choice") not in (None, "auto", "none"):
        warnings.append("tool_choice dropped: no function tool is left to choose")

    for key in ("temperature", "top_p"):
        value = request.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            body[key] = value
    max_out = request.get("max_output_tokens")
    if isinstance(max_out, int) and not isinstance(max_out, bool):
        body[max_tokens_field] = max_out
    top_logprobs = request.get("top_logprobs")
    include = request.get("include") or []
    if isinstance(top_logprobs, int) and not isinstance(top_logprobs, bool) and top_logprobs > 0:
        body["logprobs"] = True
        body["top_logprobs"] = top_logprobs
    elif isinstance(include, list) and "message.output_text.logprobs" in include:
        body["logprobs"] = True
    fmt = _response_format(request.get("text"), warnings)
    if fmt is not None:
        body["response_format"] = fmt
    if isinstance(request.get("user"), str):
        body["user"] = request["user"]
    body["stream"] = True
    body["stream_options"] = {"include_usage": True}

    for key in ("background", "conversation", "prompt"):  # no equivalent: said, not refused
        if request.get(key):
            warnings.append(f"`{key}` is not supported by the translating engine and was ignored")

    kept_tools = [t for t in request.get("tools") or [] if _is_function_tool(t)]
    echo: dict[str, Any] = {
        "model": client_model or model,
        "instructions": instructions if isinstance(instructions, str | list) else None,
        "metadata": request.get("metadata") if isinstance(request.get("metadata"), dict) else {},
        "temperature": body.get("temperature"),
        "top_p": body.get("top_p"),
        "max_output_tokens": body.get(max_tokens_field),
        "tools": [_echo_tool(t) for t in kept_tools],
        "tool_choice": request.get("tool_choice") or "auto",
        "parallel_tool_calls": request.get("parallel_tool_calls", True)
        if isinstance(request.get("parallel_tool_calls", True), bool)
        else True,
        "previous_response_id": request.get("previous_response_id")
        if isinstance(request.get("previous_response_id"), str)
        else None,
        "store": request.get("store") is not False,
        "user": request.get("user") if isinstance(request.get("user"), str) else None,
    }
    if isinstance(request.get("reasoning"), dict):
        reasoning = request["reasoning"]
        echo["reasoning"] = {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")}
    if isinstance(request.get("text"), dict):
        echo["text"] = request["text"]
    stream = request.get("stream")
    return ChatRequest(
        body=body,
        echo=echo,
        warnings=warnings,
        stream=stream is True,
        conversation=conversation,
        store=request.get("store") is not False,
    )


def output_messages(output: list[Any]) -> list[dict[str, Any]]:
    """A response's output items as chat messages (reasoning dropped), to extend a stored
    conversation: output items have the shape of input items."""
    return _input_items(
        [i for i in output if isinstance(i, dict) and i.get("type") != "reasoning"], []
    )


# -- input items ---------------------------------------------------------------------------


def _input_items(items: list[Any], warnings: list[str]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    skipped: dict[str, int] = {}
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise RequestError(f"input[{position}] is not an object", f"input[{position}]")
        itype = item.get("type")
        if itype is None and "role" in item:
            itype = "message"
        if itype == "message":
            message = _message(item, position, warnings)
            if message is not None:
                messages.append(message)
        elif itype == "function_call":
            _function_call(item, messages, position)
        elif itype == "function_call_output":
            call_id = item.get("call_id")
            if not isinstance(call_id, str):
                raise RequestError(
                    f"input[{position}]: function_call_output needs a string call_id",
                    f"input[{position}].call_id",
                )
            if not any(
                tc.get("id") == call_id for m in messages for tc in m.get("tool_calls") or []
            ):
                warnings.append(
                    f"input[{position}]: function_call_output for call {call_id!r} has no "
                    "matching function_call"
                )
            messages.append(
                {"role": "tool", "tool_call_id": call_id, "content": _output_text(item)}
            )
        elif itype == "reasoning":
            continue  # chat servers take no reasoning input; dropping it is expected
        else:
            name = str(itype)
            skipped[name] = skipped.get(name, 0) + 1
    for name, count in skipped.items():
        warnings.append(f"skipped {count} input item(s) of type {name!r} (no chat equivalent)")
    return messages


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
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    has_image = False
    for part in content:
        if not isinstance(part, dict):
            continue
        ptype = part.get("type")
        if ptype in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
            parts.append({"type": "text", "text": part["text"]})
        elif ptype == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
            parts.append({"type": "text", "text": part["refusal"]})
        elif ptype == "input_image" and chat_role == "user":
            url = part.get("image_url") or part.get("file_id")
            if isinstance(url, str):
                image: dict[str, Any] = {"url": url}
                if isinstance(part.get("detail"), str):
                    image["detail"] = part["detail"]
                parts.append({"type": "image_url", "image_url": image})
                has_image = True
        else:
            warnings.append(f"input[{position}]: skipped a {ptype!r} content part")
    if has_image:
        return {"role": chat_role, "content": parts}
    if not texts and chat_role != "assistant":
        warnings.append(f"input[{position}]: a {role} message with no text was skipped")
        return None
    return {"role": chat_role, "content": "\n".join(texts)}


def _function_call(item: dict[str, Any], messages: list[dict[str, Any]], position: int) -> None:
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
    last = messages[-1] if messages else None
    if last is not None and last["role"] == "assistant":
        last.setdefault("tool_calls", []).append(tool_call)  # parallel calls share one message
        if not last.get("content"):
            last["content"] = None
    else:
        messages.append({"role": "assistant", "content": None, "tool_calls": [tool_call]})


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


# -- tools -------------------------------------------------------------------------------------


def _is_function_tool(tool: Any) -> bool:
    return (
        isinstance(tool, dict)
        and tool.get("type") == "function"
        and isinstance(tool.get("name"), str)
    )


def _tools(tools: Any, warnings: list[str]) -> tuple[list[dict[str, Any]], set[str]]:
    if not isinstance(tools, list):
        return [], set()
    out: list[dict[str, Any]] = []
    skipped: list[str] = []
    for tool in tools:
        if _is_function_tool(tool):
            fn: dict[str, Any] = {"name": tool["name"]}
            if isinstance(tool.get("description"), str):
                fn["description"] = tool["description"]
            params = tool.get("parameters")
            fn["parameters"] = (
                params if isinstance(params, dict) else {"type": "object", "properties": {}}
            )
            if isinstance(tool.get("strict"), bool):
                fn["strict"] = tool["strict"]
            out.append({"type": "function", "function": fn})
        elif isinstance(tool, dict):
            label = str(tool.get("type"))
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


def _response_format(text: Any, warnings: list[str]) -> dict[str, Any] | None:
    fmt = text.get("format") if isinstance(text, dict) else None
    if not isinstance(fmt, dict):
        return None
    ftype = fmt.get("type")
    if ftype == "json_schema":
        schema: dict[str, Any] = {
            "name": fmt.get("name") or "response",
            "schema": fmt.get("schema"),
        }
        for key in ("strict", "description"):
            if key in fmt:
                schema[key] = fmt[key]
        return {"type": "json_schema", "json_schema": schema}
    if ftype == "json_object":
        return {"type": "json_object"}
    if ftype not in (None, "text"):
        warnings.append(f"text.format {ftype!r} has no chat equivalent and was ignored")
    return None
