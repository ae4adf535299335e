"""Every regulatory duration the engine uses, in one place, each with its citation.

Nothing else in the code base may hold a number of days, months or years that comes from a
regulation or a CMS/MAC manual: it asks this module for the rule in force on a date. Rules are
versioned and effective-dated because CMS changes them (the revalidation window went from 6 to 7
months; practice-location changes became 30-day reports for everyone on 2024-01-01), and a clock
must be explained by the rule version that set it. The rules are kept in
models/rules_application.py and models/rules_enrollment.py; docs/regulation.md says every one
of them in the project's own words with its source (a test keeps the two in step, both ways).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from models.rule_model import Rule, RuleKey, RuleRef
from models.rules_application import APPLICATION_RULES
from models.rules_enrollment import ENROLLMENT_RULES

__all__ = [
    "MINIMUM_REENROLLMENT_BAR_YEARS",
    "NO_BAR_YEARS",
    "RULES",
    "Rule",
    "RuleKey",
    "RuleRef",
    "all_rules",
    "rule",
]

_RULES: tuple[Rule, ...] = (*APPLICATION_RULES, *ENROLLMENT_RULES)


MINIMUM_REENROLLMENT_BAR_YEARS = 1  # 42 CFR 424.535(c)(1): "at least one year"
# 42 CFR 424.535(c)(1)(ii): no bar after a revocation for not answering a revalidation or
# information request.
NO_BAR_YEARS = 0


def _index(rules: tuple[Rule, ...]) -> Mapping[RuleKey, tuple[Rule, ...]]:
    by_key: dict[RuleKey, list[Rule]] = {}
    for rule in rules:
        by_key.setdefault(rule.key, []).append(rule)
    return {k: tuple(sorted(v, key=lambda r: r.effective_from)) for k, v in by_key.items()}


RULES: Mapping[RuleKey, tuple[Rule, ...]] = _index(_RULES)


def rule(key: RuleKey, on: date) -> Rule:
    """The version of a rule in force on a date (the date the event happened)."""
    versions = RULES[key]
    in_force = [r for r in versions if r.effective_from <= on]
    if not in_force:
        # Dates before a rule existed use its first version: better a stated rule than none.
        return versions[0]
    return in_force[-1]


def all_rules() -> tuple[Rule, ...]:
    return _RULES
