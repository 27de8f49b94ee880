"""Findings: what the checker says about a stream, each tied to the row that caused it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .catalogue import RULES, SEVERITY_RANK, Severity


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    severity: Severity
    message: str
    event_index: int | None
    sequence_number: int | None
    t: float | None

    @property
    def why(self) -> str:
        return RULES[self.rule].why

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "event_index": self.event_index,
            "sequence_number": self.sequence_number,
            "t": None if self.t is None else round(self.t, 6),
            "why": self.why,
        }


class FindingLog:
    """All findings, with a cap per rule so a million repeats do not grow memory.

    Counts stay exact; only the first ``keep_per_rule`` findings of each rule are kept.
    """

    def __init__(self, keep_per_rule: int | None = None) -> None:
        self.keep_per_rule = keep_per_rule
        self.kept: list[Finding] = []
        self.counts: Counter[str] = Counter()
        self.severities: dict[str, Severity] = {}

    def add(self, finding: Finding) -> bool:
        self.counts[finding.rule] += 1
        prev = self.severities.get(finding.rule)
        if prev is None or SEVERITY_RANK[finding.severity] < SEVERITY_RANK[prev]:
            self.severities[finding.rule] = finding.severity
        if self.keep_per_rule is not None and self.counts[finding.rule] > self.keep_per_rule:
            return False
        self.kept.append(finding)
        return True

    def __len__(self) -> int:
        return sum(self.counts.values())

    def count(self, severity: Severity) -> int:
        return sum(1 for f in self.kept if f.severity == severity) + sum(
            n - self.keep_per_rule
            for rule, n in self.counts.items()
            if self.keep_per_rule is not None
            and n > self.keep_per_rule
            and self.severities[rule] == severity
        )

    @property
    def has_errors(self) -> bool:
        return "error" in self.severities.values()
