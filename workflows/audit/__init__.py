"""The audit trail of a workflow, read from its Temporal event history (issue #7).

Temporal's history is the record: every operator event entered it as an accepted update, every
regulatory consequence as a timer that fired and the activities that followed. This module turns
the raw history of every run of a continued-as-new chain into a timeline a person can read
(who, in which role, why, state before -> after, clocks opened and closed, timer firings,
checks and notifications), exports it as JSON, CSV or a printable HTML report, and verifies an
export later.

Payloads are decoded with the production data converter (the one that encrypted them), so this
package lives beside :mod:`workflows.converter`. The timeline never carries form details: an
edit lists the fields it changed, never their values, and any SSN- or EIN-shaped text is
masked (``***-**-6789``, ``**-***4567``) as :mod:`models.privacy` says.

Every export carries ``history_sha256``: SHA-256 over the serialized protobuf ``History`` of
each run, oldest run first (``History.SerializeToString(deterministic=True)``, concatenated).
The JSON export embeds the raw history (``WorkflowHistory.to_json()`` per run, still encrypted)
and the HTML report embeds the JSON export, so either can be checked offline with
:func:`verify_export`; any change to the embedded history changes the digest.

This package performs no I/O except :func:`fetch_chain`, which reads histories from Temporal.

- :mod:`~workflows.audit.chain`: reading the chain, and the digest over its history;
- :mod:`~workflows.audit.builder`: the timeline's entries and the state shared while walking;
- :mod:`~workflows.audit.renderers`: the tables of what each history event or activity shows;
- :mod:`~workflows.audit.timeline`: walking a chain through those tables;
- :mod:`~workflows.audit.exports`: the JSON export (its CSV, text and HTML renderings, pure
  functions of it, are :mod:`models.audit_report`);
- :mod:`~workflows.audit.verify`: checking an export against the history it embeds.
"""

from models.audit_report import CSV_COLUMNS, HTML_EXPORT_ID, render_csv, render_html, render_text
from models.privacy import mask_text
from workflows.audit.builder import ENGINE, AuditEntry
from workflows.audit.chain import DIGEST_ALGORITHM, fetch_chain, history_digest
from workflows.audit.exports import EXPORT_FORMAT, build_export
from workflows.audit.timeline import build_timeline
from workflows.audit.verify import AuditExportError, VerifyResult, export_from_text, verify_export

__all__ = [
    "CSV_COLUMNS",
    "DIGEST_ALGORITHM",
    "ENGINE",
    "EXPORT_FORMAT",
    "HTML_EXPORT_ID",
    "AuditEntry",
    "AuditExportError",
    "VerifyResult",
    "build_export",
    "build_timeline",
    "export_from_text",
    "fetch_chain",
    "history_digest",
    "mask_text",
    "render_csv",
    "render_html",
    "render_text",
    "verify_export",
]
