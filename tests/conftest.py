"""Fixtures and rules shared by the whole suite (helpers live in :mod:`tests.support`).

* ``slow`` marks the end-to-end tests (real processes, real Codex or Prometheus, big inputs) and,
  by the rule below, every Hypothesis property test: ``pytest -m "not slow"`` is the inner loop.
* ``looptime`` (the looptime plugin) makes a test's event-loop time virtual: keep-alive, idle and
  grace timers fire at once, in order, instead of the test waiting for them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, ExitStack
from typing import Any

import pytest

from tests.support.cli import CliResult, run_cli
from tests.support.server import FakeServer, Script


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Property tests draw hundreds of examples each: they belong to the full run."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """``cli("check", path)``: the command line in-process, its exit status and output."""
    return run_cli


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[FakeServer]]]:
    """``server = await serve(handler, routes=..., base_path="/v1")``: a fake server in the
    test's event loop (the arguments of :class:`FakeServer`), stopped when the test ends."""
    async with AsyncExitStack() as stack:

        async def start(*args: Any, **kwargs: Any) -> FakeServer:
            return await stack.enter_async_context(FakeServer(*args, **kwargs))

        yield start


@pytest.fixture
def scripted() -> Iterator[Callable[[Script], FakeServer]]:
    """``server = scripted(Script(chunks=[...], chunked=True))``: a fake Responses endpoint
    answering every request with the script, served from a background thread (for synchronous
    code under test), stopped when the test ends."""
    with ExitStack() as stack:

        def start(script: Script) -> FakeServer:
            return stack.enter_context(FakeServer(script, base_path="/v1/responses").running())

        yield start
