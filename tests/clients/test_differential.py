"""The client models against the real clients: every case of the corpus, read by every installed
client, must come out as the model of that client predicts (``"clients"`` of the check result).

The real libraries read the corpus once per test run (:func:`differential` in the conftest);
each test then only compares. The harness tests below check the harness itself (every case
observed, the pinned versions running, a clean stream delivered whole, a held one hanging),
so they stay meaningful before the models exist.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest

from tests.clients.classify import classify, truth_of
from tests.clients.conftest import require
from tests.clients.corpus import Case, asserted_real_cases, judge
from tests.clients.crafted import BUILDERS
from tests.clients.engine_cases import CLEAN, fault_requests
from tests.clients.harness import CLIENTS, HERE

# One worker runs them all: the corpus is run through the real clients once (10 s), and a second
# worker would otherwise wait for it instead of running other tests (pyproject: --dist loadgroup).
pytestmark = pytest.mark.xdist_group("client-differential")

Differential = tuple[dict[str, Case], dict[str, dict[str, dict[str, Any]]]]


def corpus_ids() -> list[str]:
    """The corpus's ids without building it (the engine part is generated per run)."""
    samples = [
        f"sample/{p.name}"
        for p in sorted((HERE.parents[1] / "sample_streams").iterdir())
        if p.suffix in (".sse", ".jsonl")
    ]
    engine = [r.id for r in (*CLEAN, *fault_requests())]
    real = [c.id for c in asserted_real_cases()]
    return sorted([*samples, *engine, *(f"crafted/{n}" for n in BUILDERS), *real])


def _models_reason() -> str | None:
    try:
        importlib.import_module("ssescope.core.clients")
    except ImportError:
        return "client models not on this branch (ssescope.core.clients)"
    return None


def observation(differential: Differential, client: str, case_id: str) -> dict[str, Any]:
    require(client)
    return differential[1][client][case_id]


# -- the harness -----------------------------------------------------------------------------------


def test_the_corpus_ids_are_the_built_corpus(differential: Differential) -> None:
    assert sorted(differential[0]) == corpus_ids()


@pytest.mark.parametrize("client", CLIENTS)
def test_every_case_is_observed_by_the_pinned_client(
    differential: Differential, client: str
) -> None:
    require(client)
    observed = differential[1][client]
    assert set(observed) == set(differential[0])
    versions = {o["version"] for o in observed.values()}
    pins = json.loads((HERE / "package.json").read_text())["dependencies"]
    expected = {
        "openai-python": importlib.import_module("openai").__version__,
        "openai-node": pins["openai"],
        "ai-sdk": f"ai {pins['ai']} + @ai-sdk/openai {pins['@ai-sdk/openai']}",
        "ai-sdk-open-responses": (
            f"ai {pins['ai']} + @ai-sdk/open-responses {pins['@ai-sdk/open-responses']}"
        ),
    }[client]
    assert versions == {expected}


@pytest.mark.parametrize("client", CLIENTS)
def test_a_clean_stream_is_delivered_whole(differential: Differential, client: str) -> None:
    obs = observation(differential, client, "sample/text.sse")
    truth = truth_of(judge(differential[0]["sample/text.sse"]))
    assert obs["text"] == truth.text == "The capital of France is Paris."
    assert classify(client, obs, truth).outcome == "ok"


@pytest.mark.parametrize("client", CLIENTS)
def test_a_held_stream_hangs_every_client(differential: Differential, client: str) -> None:
    obs = observation(differential, client, "crafted/stall-mid-answer")
    assert obs["hung"] is True


# -- the models ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", corpus_ids())
@pytest.mark.parametrize("client", CLIENTS)
def test_the_model_predicts_what_the_client_does(
    differential: Differential, client: str, case_id: str, request: pytest.FixtureRequest
) -> None:
    reason = _models_reason()
    if reason is not None:
        pytest.skip(reason)
    obs = observation(differential, client, case_id)
    result = judge(differential[0][case_id])
    verdict = classify(client, obs, truth_of(result))
    predicted = {p["client"]: p for p in result.get("clients") or []}.get(client)
    assert predicted is not None, f"no model prediction for {client}"
    agree = predicted["outcome"] == verdict.outcome
    request.node.user_properties.append(("client_agreement", (client, agree)))
    assert agree, (
        f"{client} on {case_id}: model says {predicted['outcome']} ({predicted['message']}), "
        f"the real client: {verdict.outcome} ({verdict.detail})"
    )
