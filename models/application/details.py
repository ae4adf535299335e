"""What an application says about the provider, and the input that creates one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.calendar import DEFAULT_TIME_ZONE, WrittenDate, validate_time_zone
from models.checks import ApplicationFacts, ApplicationParty, KnownEnrollment, checked_parties
from models.credentials import Credential
from models.forms import Form, Purpose, check_form_purpose
from models.identifiers import EIN, NPI, PTAN, SSN, EnrollmentId, OrganizationId, StateCode
from models.records import Actor, Reason
from models.text import Line, Text200, Text300
from models.written import Flag

if TYPE_CHECKING:
    from models.application.state import ApplicationReopen

ApplicationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


# What _email_shape takes, as the document's pattern: an "@" neither first nor last, and no
# control character (a Line).
EMAIL_PATTERN = (
    r"^[^@\u0000-\u001F\u007F-\u009F][^\u0000-\u001F\u007F-\u009F]*@"
    r"[^\u0000-\u001F\u007F-\u009F]*[^@\u0000-\u001F\u007F-\u009F]$"
)


class ApplicationDetails(BaseModel):
    """The fields of the form that the engine tracks. SSN, EIN and date of birth are sensitive:
    they live only in encrypted workflow payloads, never in search attributes, ids or logs."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    legal_name: Text300 | None = None
    npi: NPI | None = None
    ein: EIN | None = None
    ssn: SSN | None = None
    date_of_birth: WrittenDate | None = None
    state: StateCode | None = None
    provider_type: Text200 | None = None
    enrollment_id: EnrollmentId | None = None
    existing_ptan: PTAN | None = None
    contact_email: Annotated[Line, Field(json_schema_extra={"pattern": EMAIL_PATTERN})] | None = (
        Field(default=None, max_length=320)
    )
    requested_effective_date: WrittenDate | None = None
    first_service_date: WrittenDate | None = None
    revalidation_due_date: WrittenDate | None = None
    change_of_ownership_date: WrittenDate | None = None
    asc_or_portable_xray: Flag = False
    physician_or_npp_organization: Flag = False
    adds_practice_location: Flag = False
    declared_disaster: Flag = False
    # An independent diagnostic testing facility (CMS-855B): its effective date follows 42 CFR
    # 410.33(i), with no retrospective billing.
    idtf: Flag = False
    # Owners and managing employees (CMS-855 sections 5 and 6), checked against the exclusion
    # lists (models/data_checks.py).
    parties: list[ApplicationParty] = Field(default_factory=list, max_length=200)
    # Licences, certifications and accreditations with their expiry (models/signatures.py).
    credentials: list[Credential] = Field(default_factory=list, max_length=50)

    @field_validator("contact_email")
    @classmethod
    def _email_shape(cls, v: str | None) -> str | None:
        if v is not None and ("@" not in v or v.startswith("@") or v.endswith("@")):
            raise ValueError("must be an email address like name@example.org")
        return v

    def facts(
        self, form: Form, purpose: Purpose, known: tuple[KnownEnrollment, ...] = ()
    ) -> ApplicationFacts:
        return ApplicationFacts(
            known_enrollments=known,
            form=form,
            purpose=purpose,
            legal_name=self.legal_name,
            npi=self.npi,
            state=self.state,
            has_ein=self.ein is not None,
            has_ssn=self.ssn is not None,
            enrollment_id=self.enrollment_id,
            requested_effective_date=self.requested_effective_date,
            revalidation_due_date=self.revalidation_due_date,
            change_of_ownership_date=self.change_of_ownership_date,
            asc_or_portable_xray=self.asc_or_portable_xray,
            physician_or_npp_organization=self.physician_or_npp_organization,
            adds_practice_location=self.adds_practice_location,
            parties=checked_parties(
                self.legal_name,
                form not in (Form.CMS_855I, Form.CMS_855O),
                self.npi,
                self.date_of_birth,
                self.parties,
            ),
            credentials=tuple(self.credentials),
        )


class ApplicationCreate(BaseModel):
    """Input of ApplicationWorkflow: a new draft."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    application_id: ApplicationId
    organization_id: OrganizationId
    form: Form
    purpose: Purpose
    time_zone: str = DEFAULT_TIME_ZONE
    details: ApplicationDetails = Field(default_factory=ApplicationDetails)
    actor: Actor
    role: str | None = None
    reason: Reason = "new application"
    # The NPI's enrollments the engine tracks (looked up by the API when it creates the
    # application): a re-enrollment bar refuses it, the same line of business is flagged.
    known_enrollments: tuple[KnownEnrollment, ...] = ()
    # A closed application reopened by an admin's audited correction (its last state): the
    # run goes on from it, and the correction is recorded next.
    reopen: ApplicationReopen | None = None
    # Which workflow patches the run takes without a marker (workflows/patches.py): 0 for runs
    # started before generations existed (their inputs do not carry it).
    generation: int = 0

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        return validate_time_zone(v)

    @model_validator(mode="after")
    def _form_purpose(self) -> ApplicationCreate:
        check_form_purpose(self.form, self.purpose)
        return self
