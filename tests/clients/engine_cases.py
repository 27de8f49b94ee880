"""The engine's part of the corpus: its mock in-process on 127.0.0.1, every fault of the catalogue
(:data:`ssescope.engine.faults.FAULTS`) chosen by the model suffix (``mock-text+delta-object``)
on a text and on a tool scenario, and the clean scenarios in each of the engine's renderings.

The bytes are what the engine sent, recorded with their arrival times. The timings are made
short (a slow token is 5 ms, the upstream stall times out after 0.3 s), so generating the whole
set takes about a second; the two faults that make the engine hold the connection
(``stall-after-created``, ``keepalive-comments``) are read for :data:`HOLD_READ` seconds and
served to the clients as held streams.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ssescope.engine.app import EngineConfig
from ssescope.engine.faults import FAULTS, ChatFault, ResponsesFault
from ssescope.engine.mock import MockOptions
from ssescope.engine.serve import serve
from tests.clients.corpus import Case, case
from tests.engine.helpers import WEATHER

HOLD_READ = 0.4
"""Seconds a held engine stream is recorded before the recording stops."""


@dataclass(frozen=True)
class Request:
    id: str
    description: str
    model: str
    held: bool = False
    config: dict[str, Any] = field(default_factory=dict)
    """EngineConfig fields beyond the fast defaults (one engine per distinct set)."""


CLEAN: tuple[Request, ...] = (
    Request("engine/text", "clean text answer", "mock-text"),
    Request(
        "engine/text+done-marker",
        "clean text, ending with data: [DONE]",
        "mock-text",
        config={"done_marker": True},
    ),
    Request("engine/reasoning", "raw reasoning as reasoning_text, then text", "mock-reasoning"),
    Request(
        "engine/reasoning-summary",
        "reasoning as a summary, then text",
        "mock-reasoning",
        config={"reasoning": "summary"},
    ),
    Request(
        "engine/reasoning-open-responses",
        "raw reasoning under the Open Responses names (response.reasoning.delta), then text",
        "mock-reasoning",
        config={"reasoning": "open-responses"},
    ),
    Request("engine/tool", "one function call", "mock-tool"),
    Request("engine/parallel", "two function calls", "mock-parallel"),
    Request(
        "engine/length",
        "text cut by max_output_tokens: a correct response.incomplete",
        "mock-length",
    ),
    Request("engine/refusal", "a refusal content part", "mock-refusal"),
    Request(
        "engine/refusal-as-text",
        "a refusal rendered as output_text",
        "mock-refusal",
        config={"refusal": "text"},
    ),
    # the pairings the catalogue recommends
    Request(
        "engine/text+cut+fake-completed",
        "a cut upstream reported as response.completed",
        "mock-text+cut+fake-completed",
    ),
    Request(
        "engine/tool+cut+fake-completed",
        "a cut tool call upstream reported as response.completed",
        "mock-tool+cut+fake-completed",
    ),
    Request(
        "engine/length+incomplete-in-completed",
        "a length-limited answer ended by response.completed with status incomplete",
        "mock-length+incomplete-in-completed",
    ),
)


def fault_requests() -> list[Request]:
    out = []
    for name, fault in FAULTS.items():
        needs = fault.scenario if isinstance(fault, ChatFault) else None
        scenarios = [needs] if needs else ["text", "tool"]
        held = isinstance(fault, ResponsesFault) and fault.stalls
        for scenario in scenarios:
            out.append(
                Request(
                    f"engine/{scenario}+{name}",
                    f"{fault.does} ({scenario})",
                    f"mock-{scenario}+{name}",
                    held=held,
                )
            )
    return out


def _fast(extra: dict[str, Any]) -> EngineConfig:
    return EngineConfig(
        mock=MockOptions(slow_delay=0.005, prefill_delay=0.05),
        heartbeat=0.05,
        upstream_idle_timeout=0.3,
        finish_grace=0.2,
        **extra,
    )


async def _record(client: httpx.AsyncClient, base_url: str, request: Request) -> Case:
    body = {"model": request.model, "input": "hello", "stream": True, "tools": [WEATHER]}
    chunks: list[tuple[float, bytes]] = []
    start = time.monotonic()
    async with client.stream("POST", f"{base_url}/responses", json=body) as response:
        try:
            async with asyncio.timeout(HOLD_READ if request.held else 30):
                async for data in response.aiter_raw():
                    chunks.append((round(time.monotonic() - start, 6), data))
        except TimeoutError:
            if not request.held:
                raise
        ctype = response.headers.get("content-type", "")
    return case(
        request.id,
        request.description,
        tuple(chunks) or ((0.0, b""),),
        status=response.status_code,
        content_type=ctype,
        hold=request.held,
    )


async def _generate(requests: list[Request]) -> list[Case]:
    groups: dict[tuple[tuple[str, Any], ...], list[Request]] = {}
    for r in requests:
        groups.setdefault(tuple(sorted(r.config.items())), []).append(r)
    out: list[Case] = []
    async with httpx.AsyncClient(timeout=30) as client:
        for config, members in groups.items():
            async with serve(_fast(dict(config))) as engine:
                out += await asyncio.gather(*(_record(client, engine.base_url, r) for r in members))
    return out


def engine_cases() -> list[Case]:
    """Run the engine and record every request (in a fresh event loop of its own)."""
    return asyncio.run(_generate([*CLEAN, *fault_requests()]))
