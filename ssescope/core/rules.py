"""The rule catalogue: every finding the checker can emit, its severity per profile, and why it
matters. ``ssescope rules`` prints this table, so the documentation is generated from the same
objects the checker uses and the two cannot drift.

Each rule is defined beside the check that fires it (``ssescope/core/checks/<family>.py``);
importing this module imports every family, so :data:`RULES` is complete.
"""

from __future__ import annotations

from . import checks  # noqa: F401 (defines every rule)
from .catalogue import (
    PROFILE_HELP,
    PROFILES,
    RULES,
    SEVERITY_RANK,
    Rule,
    Severity,
    catalogue_markdown,
    report_order,
)

__all__ = [
    "PROFILES",
    "PROFILE_HELP",
    "RULES",
    "SEVERITY_RANK",
    "Rule",
    "Severity",
    "catalogue_markdown",
    "report_order",
]
