"""Small Responses servers that refuse what real servers are known to refuse, on 127.0.0.1.

Each validator is written from the server's own code or its bug reports, and answers the way
that server does (status, error envelope, message), so the probe is tested against the failures
users hit, not against ones made up to pass:

* :func:`llamacpp_error`: llama-server's ``/v1/responses`` conversion before llama.cpp PR #21174
  (``convert_responses_to_chatcmpl`` in ``tools/server/server-common.cpp``; the same code is in
  ik_llama.cpp): a reasoning item needs a non-empty ``content`` array whose first part has
  ``text`` (Codex replays ``content: null`` with ``encrypted_content``: ``item['content'] is not
  an array``); an assistant message may hold only ``output_text`` parts; ``input_image`` needs
  ``image_url``; ``input_file`` is not supported; every tool must be a function tool (``'type'
  of tool must be 'function'``, openai/codex#10635). Errors are HTTP 400 with ``{"error":
  {"code": 400, "message": …, "type": "invalid_request_error"}}``.
* :func:`lmstudio_error`: LM Studio 0.4.11's request schema (lmstudio-ai/lmstudio-bug-tracker
  #1810, #1812, lmstudio-ai/lms#537): a tool whose type is not ``function`` fails validation
  with ``{"error": {"message": "Invalid", "type": "invalid_request_error", "param":
  "tools.N.type", "code": "invalid_string"}}``.

What they accept they answer with a short, valid Responses stream. ``length_label`` says what a
length cut ends with: llama.cpp labelled it ``completed`` (the ``completed-at-token-limit``
case).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.support.server import Request

Validator = Callable[[dict[str, Any]], "tuple[str, str | None] | None"]
"""A request body → None (accepted), or (message, param) of the 400."""


def _reasoning_error(item: dict[str, Any]) -> str | None:
    content = item.get("content")
    if not isinstance(item.get("summary"), list):
        return "Cannot determine type of 'item'"
    if not isinstance(content, list):
        return "item['content'] is not an array"
    if not content:
        return "item['content'] is empty"
    if not isinstance(content[0], dict) or not isinstance(content[0].get("text"), str):
        return "item['content']['text'] is not a string"
    return None


def _message_error(item: dict[str, Any]) -> str | None:
    content = item.get("content")
    if isinstance(content, str):
        return None
    if not isinstance(content, list):
        return "Cannot determine type of 'item'"
    if item.get("role") == "assistant":
        if any(not isinstance(p, dict) or p.get("type") != "output_text" for p in content):
            return "'type' must be 'output_text'"
        return None
    for part in content:
        ptype = part.get("type") if isinstance(part, dict) else None
        if ptype == "input_image" and "image_url" not in part:
            return "'image_url' is required"
        if ptype == "input_file":
            return "'input_file' is not supported by llamacpp at this moment"
        if ptype not in ("input_text", "input_image"):
            return "'type' must be one of 'input_text', 'input_image', or 'input_file'"
    return None


def _item_error(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "'input' must be a string or array of objects"
    itype = item.get("type", "message")
    if itype == "reasoning":
        return _reasoning_error(item)
    if itype == "message":
        return _message_error(item)
    if itype == "function_call":
        needed = ("arguments", "call_id", "name")
        return None if all(isinstance(item.get(k), str) for k in needed) else "bad function_call"
    if itype == "function_call_output":
        return None if isinstance(item.get("call_id"), str) else "bad function_call_output"
    return "Cannot determine type of 'item'"


def llamacpp_error(body: dict[str, Any], *, tools: bool = True) -> tuple[str, str | None] | None:
    """llama-server before PR #21174 (``tools=False``: a build that already skips hosted tools
    but still refuses replayed reasoning)."""
    items = body.get("input")
    for item in items if isinstance(items, list) else []:
        message = _item_error(item)
        if message is not None:
            return message, None
    for tool in body.get("tools") or []:
        if tools and tool.get("type") != "function":
            return "'type' of tool must be 'function'", None
    return None


def lmstudio_error(body: dict[str, Any]) -> tuple[str, str | None] | None:
    for index, tool in enumerate(body.get("tools") or []):
        if tool.get("type") != "function":
            return "Invalid", f"tools.{index}.type"
    return None


def _error_body(message: str, param: str | None) -> bytes:
    error: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
    if param is None:
        error["code"] = 400
    else:
        error.update(param=param, code="invalid_string")
    return json.dumps({"error": error}).encode()


def _event(payload: dict[str, Any]) -> bytes:
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def answer_frames(body: dict[str, Any], length_label: str = "incomplete") -> list[bytes]:
    """A valid stream with one message; cut at ``max_output_tokens`` when the request has one,
    ending ``response.<length_label>``."""
    limit = body.get("max_output_tokens")
    cut = isinstance(limit, int)
    words = ["Hello", " from", " the", " fake", " server."][: limit if cut else None]
    text = "".join(words)
    output_tokens = limit if cut else len(words)
    status = length_label if cut else "completed"
    msg_id = "msg_fake_1"
    done_item = {
        "type": "message",
        "id": msg_id,
        "role": "assistant",
        "status": "incomplete" if status == "incomplete" else "completed",
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }

    def response(state: str, output: list[Any], usage: Any = None) -> dict[str, Any]:
        return {
            "id": "resp_fake_1",
            "object": "response",
            "created_at": 1767225600,
            "status": state,
            "error": None,
            "incomplete_details": {"reason": "max_output_tokens"}
            if state == "incomplete"
            else None,
            "instructions": None,
            "metadata": {},
            "model": body.get("model"),
            "temperature": 1,
            "top_p": 1,
            "output": output,
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": usage,
        }

    ids = {"item_id": msg_id, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 10 + output_tokens,
    }
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": response("in_progress", [])},
        {"type": "response.in_progress", "response": response("in_progress", [])},
        {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {**done_item, "status": "in_progress", "content": []},
        },
        {"type": "response.content_part.added", **ids, "part": part},
        *({"type": "response.output_text.delta", **ids, "delta": w, "logprobs": []} for w in words),
        {"type": "response.output_text.done", **ids, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **ids, "part": {**part, "text": text}},
        {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        {"type": f"response.{status}", "response": response(status, [done_item], usage)},
    ]
    return [_event({**e, "sequence_number": i}) for i, e in enumerate(events)]


def responses_server(
    validator: Validator, *, length_label: str = "incomplete"
) -> Callable[[Request], Any]:
    """A handler for ``POST /v1/responses``: the validator's 400, else a stream."""

    async def handler(request: Request) -> None:
        body = request.json
        refused = validator(body)
        if refused is not None:
            await request.reply(400, _error_body(*refused))
            return
        await request.stream(answer_frames(body, length_label))

    return handler
