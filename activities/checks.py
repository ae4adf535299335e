"""Data checks of an application, run as an activity."""

from __future__ import annotations

from temporalio import activity

from models.checks import Finding, presubmission_findings
from models.contracts import CHECK_APPLICATION, CheckRequest


@activity.defn(name=CHECK_APPLICATION)
async def check_application(req: CheckRequest) -> list[Finding]:
    """The pre-submission findings of a draft as of `req.as_of`.

    Today these are the pure rules of `models.checks`. This is the seam where checks that need
    I/O (NPPES NPI lookup, OIG LEIE / SAM exclusion lists, state licence boards) will be added:
    they will run here, heartbeat, and report business rejections as non-retryable
    ApplicationErrors while transient failures retry.
    """
    return presubmission_findings(req.facts, req.as_of)
