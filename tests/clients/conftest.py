"""The differential run, once per test session: the corpus and every installed client's
observations of it.

Under ``pytest -n 2`` each xdist worker is a session of its own, so the run is shared through a
file in the workers' common temporary directory, written by the first worker under a lock and
read by the other: the real clients read the corpus once per test run, not once per worker.
A client that is not installed is skipped with the reason, except under ``CI=true``, where
``.ci/run`` has installed it and its absence is a failure.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.clients.corpus import Case, all_cases
from tests.clients.harness import CLIENTS, missing_reason, run_all

AGREEMENT: dict[str, Counter[str]] = {}
"""Per client, the differential assertions that held (``agree``) and all of them (``cases``)."""


def require(client: str) -> None:
    """Skip (or, under CI, fail) when ``client`` cannot run here."""
    reason = missing_reason(client)
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; .ci/run installs it")
    pytest.skip(reason)


def _encode(cases: tuple[Case, ...]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "description": c.description,
            "chunks": [[t, base64.b64encode(b).decode()] for t, b in c.chunks],
            "status": c.status,
            "content_type": c.content_type,
            "hold": c.hold,
            "tools": list(c.tools),
        }
        for c in cases
    ]


def _decode(rows: list[dict[str, Any]]) -> tuple[Case, ...]:
    return tuple(
        Case(
            r["id"],
            r["description"],
            tuple((t, base64.b64decode(b)) for t, b in r["chunks"]),
            r["status"],
            r["content_type"],
            r["hold"],
            tuple(r["tools"]),
        )
        for r in rows
    )


def _run() -> dict[str, Any]:
    cases = all_cases()
    installed = [c for c in CLIENTS if missing_reason(c) is None]
    observed = run_all(cases, installed) if installed else {}
    return {"cases": _encode(cases), "observed": observed}


def _shared_run(tmp_path_factory: pytest.TempPathFactory, worker: str) -> dict[str, Any]:
    if worker == "master":
        return _run()
    shared = Path(tmp_path_factory.getbasetemp()).parent / "client-differential.json"
    with (shared.with_suffix(".lock")).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if shared.is_file():
            return dict(json.loads(shared.read_text()))
        run = _run()
        shared.write_text(json.dumps(run))
        return run


@pytest.fixture(scope="session")
def differential(
    tmp_path_factory: pytest.TempPathFactory, worker_id: str
) -> tuple[dict[str, Case], dict[str, dict[str, dict[str, Any]]]]:
    """(cases by id, observations by client and case id) of this test run."""
    run = _shared_run(tmp_path_factory, worker_id)
    cases = {c.id: c for c in _decode(run["cases"])}
    return cases, run["observed"]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the differential assertions (also those run by xdist workers, whose reports
    reach the controller with their user properties)."""
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name == "client_agreement":
            client, agree = value
            tally = AGREEMENT.setdefault(client, Counter())
            tally["cases"] += 1
            tally["agree"] += bool(agree)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The README's agreement figures: per client, the cases whose model outcome held."""
    for client, tally in sorted(AGREEMENT.items()):
        terminalreporter.write_line(
            f"client differential {client}: {tally['agree']}/{tally['cases']} cases agree"
        )
