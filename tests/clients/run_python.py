"""openai-python reading every case of the differential corpus: the Python twin of
``run_clients.mjs`` (same stdin cases, same observation lines on stdout).

Usage: ``python -m tests.clients.run_python < cases.jsonl``. Each case is read with the
synchronous ``client.responses.stream(...)`` and ``get_final_response()``, as the issue names
them (the async twin differs: after ``data: [DONE]`` it drains the rest of an HTTP/1.1 body,
see ``openai/_streaming.py``), each on a thread of its own so that every case runs at once and
the streams a server holds open cost one deadline in all. A case not finished by its deadline is
reported ``hung`` (the clock starts at the response head, as in ``run_clients.mjs``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

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


def read(api: openai.OpenAI, obs: dict[str, Any]) -> None:
    with api.responses.stream(model=MODEL, input="hi") as stream:
        for event in stream:
            obs["events"] += 1
            if event.type == "response.output_text.delta":
                obs["streamed_text"] += event.delta
        take_response(obs, stream.get_final_response())


class Heads:
    """One connection pool for every case (building an SSL context per client costs ~40 ms of
    CPU each, seconds over the corpus), and per case the moment its response head arrived: the
    deadline starts there."""

    def __init__(self, cases: list[dict[str, Any]]) -> None:
        self.events = {c["base_url"] + "/": threading.Event() for c in cases}
        self.http = openai.DefaultHttpxClient(event_hooks={"response": [self._arrived]})

    def _arrived(self, response: Any) -> None:
        url = str(response.request.url)
        for base, event in self.events.items():
            if url.startswith(base):
                event.set()


def attempt(case: dict[str, Any], heads: Heads, obs: dict[str, Any]) -> None:
    api = openai.OpenAI(
        base_url=case["base_url"], api_key="sk-test", max_retries=0, http_client=heads.http
    )
    try:
        read(api, obs)
    except Exception as error:  # the point: whatever the client raises is the observation
        obs["error"] = describe(error)


def observe(case: dict[str, Any], heads: Heads) -> dict[str, Any]:
    """One case on a thread of its own. The deadline runs from the response head (the server
    sends the whole case right after it); past it the thread is left blocked in the client's
    read (the process exits under it) and the case is ``hung``."""
    obs = blank()
    started = time.monotonic()
    worker = threading.Thread(target=attempt, args=(case, heads, obs), daemon=True)
    worker.start()
    if heads.events[case["base_url"] + "/"].wait(case["head_deadline"]):
        worker.join(case["deadline"])
    if worker.is_alive():
        obs = {**blank(), "hung": True}  # what the blocked thread may still write is not seen
    obs["seconds"] = round(time.monotonic() - started, 3)
    return {"id": case["id"], **obs}


def main() -> None:
    cases = [json.loads(line) for line in sys.stdin if line.strip()]
    heads = Heads(cases)
    closing = [c for c in cases if not c["held"]]
    held = [c for c in cases if c["held"]]
    # the held cases last, all at once (each waits out its deadline), so that the CPU the others
    # take on a loaded machine cannot eat their deadline; the others 16 at a time (the GIL
    # parses one event at a time anyway)
    for batch, workers in ((closing, 16), (held, max(len(held), 1))):
        with ThreadPoolExecutor(workers) as pool:
            for done in as_completed([pool.submit(observe, c, heads) for c in batch]):
                print(json.dumps(done.result()), flush=True)
    sys.stdout.flush()
    os._exit(0)  # the threads of hung cases are still blocked in their reads


if __name__ == "__main__":
    main()
