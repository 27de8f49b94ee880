"""Every rule says which modelled clients it breaks (``ssescope.core.effects``), and what it says
agrees with the client models on the rule tests' own trigger streams."""

from __future__ import annotations

import re

import pytest

from ssescope.core.checks.clients import failure_reported
from ssescope.core.clients import CLIENTS
from ssescope.core.effects import CLIENT_EFFECTS
from ssescope.core.rules import RULES
from tests.test_rules import TRIGGERS, Case

ALIASES = {
    "every client": set(CLIENTS),
    "every sdk": {"openai-python", "openai-node", "ai-sdk", "ai-sdk-open-responses"},
    "the openai sdks": {"openai-python", "openai-node"},
    "both ai sdk providers": {"ai-sdk", "ai-sdk-open-responses"},
    "the ai sdk": {"ai-sdk", "ai-sdk-open-responses"},
}
OWN_GROUPS = ("codex", "clients")
"""Rules about one client model (codex's) or about all of them name them already."""


def named(text: str) -> set[str]:
    """The client ids a sentence names (ids, or the aliases above)."""
    lower = text.lower()
    found = {cid for cid in CLIENTS if re.search(rf"(?<![\w-]){re.escape(cid)}(?![\w-])", lower)}
    for alias, ids in ALIASES.items():
        if alias in lower:
            found |= ids
    return found


def test_every_rule_says_who_it_breaks() -> None:
    missing = [
        r.id for r in RULES.values() if r.group not in OWN_GROUPS and r.id not in CLIENT_EFFECTS
    ]
    assert missing == []
    assert set(CLIENT_EFFECTS) <= set(RULES)


def test_the_why_text_carries_the_effects() -> None:
    assert RULES["created-incomplete"].why.endswith(CLIENT_EFFECTS["created-incomplete"])
    assert "Clients:" in RULES["sequence-missing"].why


def _alone(case: Case) -> bool:
    """A trigger whose stream breaks only this rule (beside the client verdicts)."""
    checker = case.build().run(case.profile)
    rules = {f.rule for f in checker.findings if RULES[f.rule].group not in OWN_GROUPS}
    return rules == {case.rule}


SOLO = [
    c
    for c in TRIGGERS
    if RULES[c.rule].group not in OWN_GROUPS and c.profile == "openai" and _alone(c)
]
"""The openai-profile triggers that break only their own rule: their client verdicts are that
rule's (a trigger that breaks others too says nothing about this rule alone)."""


@pytest.mark.parametrize("case", SOLO, ids=lambda c: c.id)
def test_a_rule_names_every_client_its_trigger_breaks(case: Case) -> None:
    checker = case.build().run(case.profile)
    # A client that raises on a failure the server reported delivers that failure faithfully.
    faithful = ("ok", "pending", "error") if failure_reported(checker) else ("ok", "pending")
    broken = {p.client for p in checker.client_predictions() if p.outcome not in faithful}
    assert broken <= named(CLIENT_EFFECTS[case.rule]), (case.rule, broken)
