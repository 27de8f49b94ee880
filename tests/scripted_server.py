"""The live-reading tests' server: one scripted reply to every request, requests kept as raw
bytes. A thin face on :class:`tests.support.server.FakeServer` (see there for the script)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.server import FakeServer
from tests.support.server import Script as Reply

__all__ = ["Reply", "ScriptedServer"]


class ScriptedServer:
    """``reply`` on every request, at ``url`` (a Responses endpoint)."""

    def __init__(self, reply: Reply) -> None:
        self.server = FakeServer(reply, base_path="/v1/responses")

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def requests(self) -> list[bytes]:
        """Every request exactly as it arrived."""
        return [request.raw for request in self.server.requests]

    @contextmanager
    def running(self) -> Iterator[ScriptedServer]:
        with self.server.running():
            yield self

    async def __aenter__(self) -> ScriptedServer:
        """Served in the test's own loop (``async with``), e.g. on virtual loop time."""
        await self.server.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.__aexit__(*exc)
