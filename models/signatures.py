"""Who signs an application.

Pure. The certification statement binds the provider only when signed by the right kind of
person (docs/regulation.md, "Who signs"): an organisation's initial application by an
authorized official; its later ones by an authorized or a delegated official; a practitioner's
own application by the practitioner; a reassignment by both the practitioner and the group's
authorized or delegated official.
"""

from __future__ import annotations

from typing import Literal

from models.forms import Form, Purpose

SignerKind = Literal["authorized_official", "delegated_official", "practitioner"]

SIGNER_CITATION = "42 CFR 424.502 (authorized and delegated official); 42 CFR 424.510(d)(3)"
_INDIVIDUAL = (Form.CMS_855I, Form.CMS_855O)
_OFFICIALS = frozenset({"authorized_official", "delegated_official"})


def signer_rule(form: Form, purpose: Purpose) -> tuple[str, list[frozenset[str]]]:
    """The rule in words, and the sets of signer kinds any one of which must all have signed."""
    if form in _INDIVIDUAL and purpose == Purpose.REASSIGNMENT:
        return (
            "a reassignment is signed by both parties: the practitioner and the group's "
            "authorized or delegated official",
            [frozenset({"practitioner", o}) for o in sorted(_OFFICIALS)],
        )
    if form in _INDIVIDUAL:
        return (f"a {form} is signed by the practitioner", [frozenset({"practitioner"})])
    if form == Form.CMS_588:
        return (
            "a CMS-588 is signed by an authorized or delegated official, or the practitioner",
            [frozenset({k}) for k in ("authorized_official", "delegated_official", "practitioner")],
        )
    if purpose == Purpose.INITIAL:
        return (
            f"an initial {form} is signed by an authorized official (a delegated official may "
            "sign only once the enrollment exists)",
            [frozenset({"authorized_official"})],
        )
    return (
        f"a {form} {purpose.value.replace('_', ' ')} is signed by an authorized or delegated "
        "official",
        [frozenset({o}) for o in sorted(_OFFICIALS)],
    )


def signer_problem(form: Form, purpose: Purpose, signers: list[str]) -> str | None:
    """Why these signers do not make a valid signature (the rule), or None."""
    words, accepted = signer_rule(form, purpose)
    given = set(signers)
    if any(need <= given for need in accepted):
        return None
    shown = ", ".join(sorted(given)) or "nobody"
    return f"Signed by {shown}, but {words} ({SIGNER_CITATION})."
