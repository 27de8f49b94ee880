"""openai-python reading every case of the differential corpus: the Python twin of
``run_clients.mjs`` (same stdin cases, same observation lines on stdout).

Usage: ``python -m tests.clients.run_python < cases.jsonl``. Each case is read with
``AsyncOpenAI().responses.stream(...)`` and ``get_final_response()``, which share their event
handling (``ResponseStreamState``) with the synchronous ``client.responses.stream()``; the async
client lets every case run at once, so the streams a server holds open cost one deadline in all.
A case not finished by its deadline is cancelled and reported ``hung``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import httpx
import openai

CLIENT = "openai-python"
MODEL = "gpt-4.1-mini"


def describe(error: BaseException) -> dict[str, str]:
    return {"type": type(error).__name__, "message": str(error)}


def blank() -> dict[str, Any]:
    return {
        "client": CLIENT,
        "version": openai.__version__,
        "error": None,
        "text": "",
        "streamed_text": "",
        "refusal": "",
        "tool_calls": [],
        "reasoning": "",
        "status": None,
        "hung": False,
        "error_parts": [],
        "events": 0,
    }


def take_response(obs: dict[str, Any], response: Any) -> None:
    """What the caller holds at the end: the final Response's output, item by item."""
    for item in response.output or []:
        if item.type == "message":
            for part in item.content or []:
                if part.type == "output_text":
                    obs["text"] += part.text or ""
                elif part.type == "refusal":
                    obs["refusal"] += part.refusal or ""
        elif item.type == "function_call":
            obs["tool_calls"].append(
                {"name": item.name, "call_id": item.call_id, "arguments": item.arguments}
            )
        elif item.type == "reasoning":
            obs["reasoning"] += "".join(p.text or "" for p in item.summary or [])
            obs["reasoning"] += "".join(p.text or "" for p in item.content or [])
    obs["status"] = response.status
    obs["response_error"] = response.error.model_dump() if response.error else None
    obs["output_text"] = response.output_text


async def read(api: openai.AsyncOpenAI, obs: dict[str, Any]) -> None:
    async with api.responses.stream(model=MODEL, input="hi") as stream:
        async for event in stream:
            obs["events"] += 1
            if event.type == "response.output_text.delta":
                obs["streamed_text"] += event.delta
        take_response(obs, await stream.get_final_response())


async def observe(case: dict[str, Any], http: Any) -> dict[str, Any]:
    obs = blank()
    api = openai.AsyncOpenAI(
        base_url=case["base_url"], api_key="sk-test", max_retries=0, http_client=http
    )
    started = time.monotonic()
    try:
        await asyncio.wait_for(read(api, obs), case["deadline"])
    except TimeoutError:
        obs["hung"] = True
    except Exception as error:  # the point: whatever the client raises is the observation
        obs["error"] = describe(error)
    obs["seconds"] = round(time.monotonic() - started, 3)
    return {"id": case["id"], **obs}


async def main() -> None:
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    # one connection pool for all: a client of its own per case would build an SSL context
    # each, blocking the loop long enough to eat the deadline of the cases already started
    async with openai.DefaultAsyncHttpxClient(limits=httpx.Limits(max_connections=None)) as http:
        for done in asyncio.as_completed([observe(c, http) for c in cases]):
            print(json.dumps(await done), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
