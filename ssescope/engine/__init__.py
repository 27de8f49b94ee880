"""The bundled translating engine: a Chat Completions backend served as a Responses API stream.

Many model servers speak only Chat Completions while Codex speaks only the Responses API. The
engine sits between them:

* :mod:`.translate` turns chat chunks into Responses events (pure, incremental);
* :mod:`.request` turns a Responses request into a chat request (pure);
* :mod:`.faults` is the catalogue of injectable faults and the Responses-side fault filter (pure);
* :mod:`.mock` is a Chat Completions simulator (scenarios and chat-side faults), no model needed;
* :mod:`.app` is the ASGI app (Starlette) that streams, and :mod:`.serve` runs it on uvicorn
  (also in-process, for ``ssescope demo`` and the TUI), both on the shared :mod:`ssescope.asgi`;
* :mod:`.upstream` is its chat client on :mod:`ssescope.http1`, and the one upstream-observer
  hook (``EngineConfig.observe``) that ``connect --via-engine`` and ``proxy --translate`` use;
* :mod:`.wire` is the bytes on the wire (SSE frames out, chat payloads in);
* :mod:`.command` is the ``ssescope engine`` command.

Embedding (``ssescope demo``, the TUI)::

    from ssescope.engine.serve import mock_engine

    async with mock_engine(faults=["stall-after-created"]) as base_url:
        ...  # point a Responses client (or Codex's base_url) at base_url

This package's ``__init__`` stays light (no uvicorn, no Starlette) because every ``ssescope``
command imports it to register ``ssescope engine``. Nothing here imports Textual.
"""

from __future__ import annotations

from .request import ChatRequest, RequestError, to_chat
from .translate import ChatToResponses

__all__ = ["ChatRequest", "ChatToResponses", "RequestError", "to_chat"]
