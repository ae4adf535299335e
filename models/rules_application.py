"""The rules of an application's lifecycle (docs/regulation.md, "The application")."""

from __future__ import annotations

from datetime import date

from models.rule_model import EPOCH as _EPOCH
from models.rule_model import Rule, RuleKey

APPLICATION_RULES: tuple[Rule, ...] = (
    Rule(
        key=RuleKey.SIGNATURE_WINDOW,
        name="PECOS signature window",
        citation="CMS CR 9776 (eff. 2017-01-09), Noridian JF article 10529",
        version="2017-01-09",
        effective_from=date(2017, 1, 9),
        days=20,
        reminder_offsets_days=(7, 3, 1),
        note="An application is not 'received' until every signature is in; "
        "missing signatures after 20 days reject it.",
    ),
    Rule(
        key=RuleKey.FEE_PAYMENT_WINDOW,
        name="Application fee payment window",
        citation="42 CFR 424.514; CMS MLN9658742",
        version="2020",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        note="Counted from the MAC's fee letter. A hardship request is not a payment: it "
        "stops this clock until CMS decides.",
    ),
    Rule(
        key=RuleKey.FEE_HARDSHIP_DECISION,
        name="Fee hardship exception decision",
        citation="42 CFR 424.514; Noridian JE 'Application Fee'",
        version="2019",
        effective_from=_EPOCH,
        days=60,
        confirmed=False,
        note="CMS decides a hardship request within 60 days of receiving it; a follow-up "
        "target: nothing changes when it passes. Seen only on a MAC page.",
    ),
    Rule(
        key=RuleKey.FEE_HARDSHIP_DENIED_PAYMENT,
        name="Fee payment window after a denied hardship request",
        citation="42 CFR 424.514; Noridian JE 'Application Fee'",
        version="2019",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        confirmed=False,
        note="30 days from the denial to pay, else the application is rejected.",
    ),
    Rule(
        key=RuleKey.DEVELOPMENT_RESPONSE,
        name="Development request response window",
        citation="42 CFR 424.525(a)(1); FCSO 'Life cycle of an enrollment application'; DAB CR6067",
        version="2019",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        note="30 calendar days from the date of the request; unanswered, the application "
        "is rejected and a new one (new filing date) is needed.",
    ),
    Rule(
        key=RuleKey.FINGERPRINT_SUBMISSION,
        name="Fingerprint submission window (high-risk screening)",
        citation="42 CFR 424.518(c); CMS MLN SE1427",
        version="2014-08",
        effective_from=date(2014, 8, 1),
        days=30,
        reminder_offsets_days=(7, 1),
        confirmed=False,
        note="30 days from the MAC letter, else denial; SE1427 seen only as quoted "
        "by secondary sources.",
    ),
    Rule(
        key=RuleKey.MAIL_RECEIPT_PRESUMPTION,
        name="Presumed receipt of a mailed notice",
        citation="42 CFR 498.22(b)(3); NGS 'Provider Enrollment Appeals Process'",
        version="2019",
        effective_from=_EPOCH,
        days=5,
        note="Where a window runs from receipt, receipt is presumed 5 days after the "
        "notice date unless shown otherwise.",
    ),
    Rule(
        key=RuleKey.CORRECTIVE_ACTION_PLAN,
        name="Corrective action plan (CAP) window",
        citation="42 CFR 405.809; 42 CFR 424.530(a)(1), 424.535(a)(1); Noridian JE appeals "
        "page; NGS (35 days from notice)",
        version="2019",
        effective_from=_EPOCH,
        days=30,
        reminder_offsets_days=(7, 1),
        note="30 days from receipt of the denial or revocation notice = 35 days from its "
        "date. Only a noncompliance ground (424.530(a)(1), 424.535(a)(1)) can be corrected: "
        "other grounds open no CAP window.",
    ),
    Rule(
        key=RuleKey.CORRECTIVE_ACTION_PLAN_DECISION,
        name="Corrective action plan decision target",
        citation="42 CFR 405.809; Chapman Law (MAC decides within 60 days)",
        version="2019",
        effective_from=_EPOCH,
        days=60,
        confirmed=False,
        note="Follow-up target only: nothing changes when it passes.",
    ),
    Rule(
        key=RuleKey.RECONSIDERATION_REQUEST,
        name="Reconsideration request window",
        citation="42 CFR 498.22; 42 CFR 405.803; Noridian JE appeals page; NGS (65 days "
        "from notice)",
        version="2019",
        effective_from=_EPOCH,
        days=60,
        reminder_offsets_days=(14, 7, 1),
        note="60 days from receipt of the denial or revocation notice = 65 days from its date.",
    ),
    Rule(
        key=RuleKey.RECONSIDERATION_DECISION,
        name="Reconsideration decision target",
        citation="Noridian JE appeals page (decision within 90 days of receipt)",
        version="2019",
        effective_from=_EPOCH,
        days=90,
        note="Contractor target, for follow-up only: nothing changes when it passes.",
    ),
    Rule(
        key=RuleKey.RETROSPECTIVE_BILLING,
        name="Retrospective billing before the effective date",
        citation="42 CFR 424.521(a)(1)",
        version="2008-11-19",
        effective_from=date(2009, 1, 1),
        days=30,
        note="Up to 30 days before the effective date, for the 424.520(d) types only: "
        "physicians, non-physician practitioners and their organizations (CMS-855I, and the "
        "CMS-855B suppliers other than IDTFs, ASCs and portable x-ray). Certified providers "
        "(CMS-855A, 42 CFR 489.13), IDTFs (410.33(i)) and DMEPOS suppliers (424.57(b)) get "
        "no look-back.",
    ),
    Rule(
        key=RuleKey.RETROSPECTIVE_BILLING_DISASTER,
        name="Retrospective billing before the effective date (declared disaster)",
        citation="42 CFR 424.521(a)(2)",
        version="2008-11-19",
        effective_from=date(2009, 1, 1),
        days=90,
        note="Same scope as the 30-day look-back.",
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_PART_B,
        name="Earliest submission before the effective date (Part B)",
        citation="42 CFR 424.526(a); FCSO return reasons (mod. 2024-03-29)",
        version="2024-03-29",
        effective_from=_EPOCH,
        days=60,
        note="Received more than 60 days before the effective date on the application: "
        "returned (not for 855A, ASCs, portable x-ray).",
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_INSTITUTIONAL,
        name="Earliest submission before the effective date (855A, ASC, portable x-ray)",
        citation="42 CFR 424.526(a); FCSO return reasons (mod. 2024-03-29)",
        version="2024-03-29",
        effective_from=_EPOCH,
        days=180,
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_CHOW,
        name="Earliest submission before a change of ownership",
        citation="42 CFR 424.526(a); FCSO return reasons (mod. 2024-03-29)",
        version="2024-03-29",
        effective_from=_EPOCH,
        days=90,
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_REVALIDATION,
        name="Earliest revalidation submission before the due date",
        citation="CMS MLN SE1605 (2016)",
        version="2016",
        effective_from=_EPOCH,
        months=6,
        note="Superseded by the 7-month window.",
    ),
    Rule(
        key=RuleKey.EARLY_SUBMISSION_REVALIDATION,
        name="Earliest revalidation submission before the due date",
        citation="42 CFR 424.526(a); Noridian JE/JF revalidation pages; FCSO return reasons",
        version="2024-03-29",
        # The changeover date from 6 to 7 months is not in any source we have: this is the
        # date of the earliest dated source stating 7 months (FCSO, modified 2024-03-29).
        effective_from=date(2024, 3, 29),
        months=7,
        confirmed=False,
        note="More than 7 months before the due date: returned as unsolicited. "
        "Changeover date UNCONFIRMED (earliest dated source used).",
    ),
    Rule(
        key=RuleKey.MAC_PROCESSING_INITIAL,
        name="MAC processing target (initial and revalidation)",
        citation="42 CFR 405.818",
        version="2026-04-05",
        effective_from=_EPOCH,
        days=180,
        note="Follow-up target only.",
    ),
    Rule(
        key=RuleKey.MAC_PROCESSING_CHANGE,
        name="MAC processing target (change of information, reassignment)",
        citation="42 CFR 405.818",
        version="2026-04-05",
        effective_from=_EPOCH,
        days=90,
        note="Follow-up target only.",
    ),
    Rule(
        key=RuleKey.LATE_RECORDING_GRACE,
        name="Late-recording grace after an engine-applied consequence",
        citation="Engine policy (docs/regulation.md, 'Counting days': clocks run from the "
        "event's date, which may be earlier than when it is recorded)",
        version="2",
        effective_from=_EPOCH,
        days=14,
        note="An event dated inside a window but recorded after the engine applied the window's "
        "consequence withdraws that consequence however late it is recorded, unless an "
        "outcome was recorded in between. The record stays open this long after the "
        "consequence; later, an admin reopens it with an audited correction.",
    ),
)
