"""The differential corpus: every stream the real clients read, with a stable id and one line
saying what it is.

Three sources (ids are prefixed with theirs):

* ``sample/<file>``: every Responses stream in ``sample_streams/`` (the capture's arrival times
  are kept for ssescope's judgement; the client gets the bytes at once);
* ``real/<file>[#n]``: the recorded Responses streams of ``../shared/real_streams`` when that
  reference material is beside the checkout: observed by ``python -m tests.clients.observe``
  only, not yet by the differential tests (the models do not cover all of them yet: see the
  report's disagreements);
* ``engine/<scenario>[+fault]``: the engine's mock in-process, every fault of
  ``ssescope engine --list-faults`` on a text and on a tool scenario, plus the clean scenarios
  (:mod:`tests.clients.engine_cases`);
* ``crafted/<name>``: hand-made streams for each blind-spot class of issue 10
  (:mod:`tests.clients.crafted`).

A case is served byte for byte (:mod:`tests.clients.serving`); ``hold`` keeps the connection
open after the last byte, which is how a stall reaches a client. ssescope's own judgement of the
same bytes (:func:`judge`) is the truth the classifier compares the clients with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from ssescope.core.capture import Boundary, open_source
from ssescope.core.check import result_of
from ssescope.core.checker import CheckOptions
from ssescope.core.ends import EndReason
from ssescope.core.session import StreamSession

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "sample_streams"
REAL = ROOT.parent / "shared" / "real_streams"
HELD_FOR = 60.0
"""Seconds a held case is judged to have stayed silent before the read was given up
(``max-wait``), as a live ``ssescope check`` of a stall would end."""


@dataclass(frozen=True)
class Case:
    id: str
    description: str
    chunks: tuple[tuple[float, bytes], ...]
    """What the server sends, with the arrival times ssescope judges (served all at once)."""
    status: int = 200
    content_type: str = "text/event-stream"
    hold: bool = False
    """After the last byte the server keeps the connection open (a stall) instead of closing it."""
    tools: tuple[str, ...] = field(default=())
    """The function names the stream calls: the tools a client must have offered."""

    @property
    def body(self) -> bytes:
        return b"".join(c for _, c in self.chunks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "description": self.description,
            "status": self.status,
            "hold": self.hold,
            "bytes": len(self.body),
        }


def tool_names(body: bytes) -> tuple[str, ...]:
    """Every function name a Responses stream mentions (in items or argument events)."""
    names: list[str] = []
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event = json.loads(line[5:])
        except ValueError:
            continue
        items = [event.get("item")] if isinstance(event, dict) else []
        response = event.get("response") if isinstance(event, dict) else None
        if isinstance(response, dict) and isinstance(response.get("output"), list):
            items += response["output"]
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("name"), str):
                names.append(item["name"])
        if isinstance(event, dict) and isinstance(event.get("name"), str):
            names.append(event["name"])
    return tuple(dict.fromkeys(names))


def case(
    id: str,
    description: str,
    body: bytes | tuple[tuple[float, bytes], ...],
    *,
    status: int = 200,
    content_type: str = "text/event-stream",
    hold: bool = False,
) -> Case:
    chunks = ((0.0, body),) if isinstance(body, bytes) else body
    joined = b"".join(c for _, c in chunks)
    return Case(id, description, chunks, status, content_type, hold, tool_names(joined))


_SAMPLE_HELD = {"stall-after-created.capture.jsonl"}
"""Samples recorded as stalls: the server never closed the connection."""


def _sample_descriptions() -> dict[str, str]:
    """The 'what it shows' column of sample_streams/README.md, by file."""
    out: dict[str, str] = {}
    for line in (SAMPLES / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].startswith("`") and cells[1].endswith("`"):
            out[cells[1].strip("`")] = cells[2].replace("`", "")
    return out


def sample_cases() -> list[Case]:
    described = _sample_descriptions()
    out = []
    for path in sorted(SAMPLES.iterdir()):
        if path.suffix not in (".sse", ".jsonl"):
            continue
        src = open_source(path)
        if src.format not in ("sse", "capture", "jsonl-events"):
            continue  # chat streams are not the clients' input
        chunks = tuple(item for item in src.chunks() if not isinstance(item, Boundary))
        out.append(
            case(
                f"sample/{path.name}",
                described.get(path.name, path.name)[:160],
                chunks,
                hold=path.name in _SAMPLE_HELD,
            )
        )
    return out


def real_cases() -> list[Case]:
    """The recorded Responses streams of ``../shared/real_streams`` when they are beside the
    checkout (reference material, not part of the repository; none without it). A file holding
    several responses (an agent loop) gives one case per response, ``#n`` from 0."""
    if not REAL.is_dir():
        return []
    out = []
    for path in sorted(REAL.iterdir()):
        if path.suffix not in (".sse", ".txt"):
            continue
        src = open_source(path)
        if src.format not in ("sse", "jsonl-events"):
            continue  # chat streams are not the clients' input
        streams: list[list[tuple[float, bytes]]] = [[]]
        for item in src.chunks():
            if isinstance(item, Boundary):
                streams.append([])
            else:
                streams[-1].append(item)
        for n, chunks in enumerate(streams):
            suffix = f"#{n}" if len(streams) > 1 else ""
            out.append(case(f"real/{path.name}{suffix}", f"recorded: {path.name}", tuple(chunks)))
    return out


NOT_ASSERTED = {
    "real/vercel-ai_azure-web-search-preview-tool.1.chunks.txt": "a hosted web_search call: the "
    "harness offers no hosted tool, so @ai-sdk/openai reports an error part a real caller with "
    "the tool configured would not see",
}
"""Recorded streams the differential tests observe but do not assert, with the reason."""


def asserted_real_cases() -> list[Case]:
    return [c for c in real_cases() if c.id not in NOT_ASSERTED]


@cache
def all_cases() -> tuple[Case, ...]:
    """The corpus the differential tests assert, in id order (the engine's part is generated
    in-process, ~2 s; the recorded streams only when ``../shared`` is beside the checkout)."""
    from tests.clients.crafted import crafted_cases
    from tests.clients.engine_cases import engine_cases

    cases = [*sample_cases(), *engine_cases(), *crafted_cases(), *asserted_real_cases()]
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return tuple(sorted(cases, key=lambda c: c.id))


def judge(c: Case, profile: str = "openai") -> dict[str, Any]:
    """ssescope's ``check --json`` result for the case's bytes, ended as the client saw them
    end: EOF, or (held) ``max-wait`` after :data:`HELD_FOR` seconds of silence."""
    session = StreamSession(CheckOptions(profile=profile))
    body = "" if 200 <= c.status < 300 else c.body.decode("utf-8", "replace")
    session.on_response(c.status, {"content-type": c.content_type}, body=body)
    t = 0.0
    for t, chunk in c.chunks:
        session.feed(chunk, t)
    if c.hold:
        session.finish(t + HELD_FOR, EndReason.MAX_WAIT)
    else:
        session.finish(t, EndReason.EOF)
    return result_of(session, c.id, "sse", [])
