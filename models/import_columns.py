"""The columns an import reads, by name: the roster's and the CMS Revalidation Due Date List's
(models/roster.py and models/due_date_list.py read the files).

Plain constants, no pydantic, so that `enroll import --help` (and every `enroll` command, since
the command line is built whole) can name them without loading the enrollment models.
"""

from __future__ import annotations

DATE_FORMATS = "MM/DD/YYYY or YYYY-MM-DD"

# Roster columns (canonical name -> other spellings seen in exports, already normalised).
REQUIRED = ("enrollment_id", "npi", "ptan", "form", "state", "effective_date")
OPTIONAL = ("organization_id", "provider_type", "revalidation_due_date", "legal_name")
ALIASES = {
    "enrlmt_id": "enrollment_id",
    "national_provider_identifier": "npi",
    "state_cd": "state",
    "state_code": "state",
    "enrollment_state_code": "state",
    "provider_type_text": "provider_type",
    "name": "legal_name",
    "provider_name": "legal_name",
    "legal_business_name": "legal_name",
}

# CMS Revalidation Due Date List columns (data.cms.gov), normalised.
CMS_ENROLLMENT_ID = "enrollment_id"
CMS_NPI = "national_provider_identifier"
CMS_DUE = "revalidation_due_date"
CMS_ADJUSTED = "adjusted_due_date"
CMS_FIRST = "first_name"
CMS_LAST = "last_name"
CMS_ORGANIZATION = "organization_name"
CMS_REQUIRED = (CMS_ENROLLMENT_ID, CMS_DUE)
CMS_HEADERS = {
    CMS_ENROLLMENT_ID: "Enrollment ID",
    CMS_NPI: "National Provider Identifier",
    CMS_DUE: "Revalidation Due Date",
    CMS_ADJUSTED: "Adjusted Due Date",
    CMS_FIRST: "First Name",
    CMS_LAST: "Last Name",
    CMS_ORGANIZATION: "Organization Name",
}
