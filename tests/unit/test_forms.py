"""Forms, purposes and the application fee (docs/regulation.md, "Forms and fees")."""

from datetime import date
from decimal import Decimal

import pytest
from pydantic import BaseModel, ValidationError

from models.forms import (
    ALLOWED_PURPOSES,
    APPLICATION_FEE_BY_YEAR,
    FeeDecision,
    Form,
    FormInput,
    Purpose,
    application_fee,
    check_form_purpose,
    is_dmepos,
    parse_form,
    revalidates,
)

# --- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("855i", Form.CMS_855I),
        ("cms 855I", Form.CMS_855I),
        ("CMS-855I", Form.CMS_855I),
        ("CMS_855I", Form.CMS_855I),
        (" cms855a ", Form.CMS_855A),
        ("Form CMS-855B", Form.CMS_855B),
        ("855-O", Form.CMS_855O),
        ("855S", Form.CMS_855S),
        ("cms-20134", Form.CMS_20134),
        ("588", Form.CMS_588),
    ],
)
def test_parse_form_variants(text, form):
    assert parse_form(text) is form


@pytest.mark.parametrize("text", ["855R", "cms-855r", "CMS 855 R"])
def test_855r_is_refused_with_its_replacement(text):
    with pytest.raises(ValueError) as excinfo:
        parse_form(text)
    message = str(excinfo.value)
    assert "discontinued on 2023-10-31" in message
    assert "CMS-855I (5/23 version)" in message


def test_unknown_form_lists_accepted():
    with pytest.raises(ValueError, match="Unknown enrollment form 'CMS-999'") as excinfo:
        parse_form("CMS-999")
    assert "CMS-855A" in str(excinfo.value)
    assert "CMS-588" in str(excinfo.value)


def test_non_enrollment_forms_explained():
    with pytest.raises(ValueError, match="NPPES"):
        parse_form("CMS-10114")
    with pytest.raises(ValueError, match="participating"):
        parse_form("460")


class Application(BaseModel):
    form: FormInput


def test_form_input_in_model():
    assert Application(form="855s").form is Form.CMS_855S
    assert Application(form=Form.CMS_588).form is Form.CMS_588
    with pytest.raises(ValidationError) as excinfo:
        Application(form="855R")
    errors = excinfo.value.errors()
    assert errors[0]["loc"] == ("form",)
    assert "discontinued on 2023-10-31" in errors[0]["msg"]


# --- purposes ---------------------------------------------------------------------------


def test_every_form_has_purposes():
    assert set(ALLOWED_PURPOSES) == set(Form)


def test_855o_does_not_revalidate():
    assert not revalidates(Form.CMS_855O)
    assert all(revalidates(f) for f in Form if f is not Form.CMS_855O)
    with pytest.raises(ValueError, match="do not revalidate") as excinfo:
        check_form_purpose(Form.CMS_855O, Purpose.REVALIDATION)
    assert "initial, change_of_information, reactivation" in str(excinfo.value)


def test_reassignment_only_on_855i():
    check_form_purpose(Form.CMS_855I, Purpose.REASSIGNMENT)
    for form in Form:
        if form is Form.CMS_855I:
            continue
        with pytest.raises(ValueError, match=r"CMS-855I \(5/23 version\)"):
            check_form_purpose(form, Purpose.REASSIGNMENT)


def test_588_only_initial_and_change():
    assert ALLOWED_PURPOSES[Form.CMS_588] == {Purpose.INITIAL, Purpose.CHANGE_OF_INFORMATION}
    with pytest.raises(ValueError) as excinfo:
        check_form_purpose(Form.CMS_588, Purpose.REVALIDATION)
    message = str(excinfo.value)
    assert "CMS-588 cannot be filed for purpose 'revalidation'" in message
    assert "Allowed purposes for CMS-588: initial, change_of_information" in message


@pytest.mark.parametrize("form", [Form.CMS_855A, Form.CMS_855B, Form.CMS_855S, Form.CMS_20134])
def test_standard_purposes(form):
    assert ALLOWED_PURPOSES[form] == {
        Purpose.INITIAL,
        Purpose.REVALIDATION,
        Purpose.CHANGE_OF_INFORMATION,
        Purpose.REACTIVATION,
    }


def test_is_dmepos():
    assert is_dmepos(Form.CMS_855S)
    assert not any(is_dmepos(f) for f in Form if f is not Form.CMS_855S)


# --- fee amounts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "amount", "citation"),
    [
        (2023, "688", "87 FR 74422"),
        (2024, "709", "88 FR 76754"),
        (2025, "730", "89 FR 95215"),
        (2026, "750", "90 FR 55738"),
    ],
)
def test_fee_by_year(year, amount, citation):
    decision = application_fee(Form.CMS_855A, Purpose.INITIAL, date(year, 6, 15))
    assert decision == FeeDecision(
        required=True,
        amount=Decimal(amount),
        calendar_year=year,
        reason=decision.reason,
        citation=decision.citation,
    )
    assert citation in decision.citation
    assert "42 CFR 424.502" in decision.citation
    assert APPLICATION_FEE_BY_YEAR[year].amount == Decimal(amount)


def test_fee_table_covers_2019_to_2026_with_citations():
    assert sorted(APPLICATION_FEE_BY_YEAR) == list(range(2019, 2027))
    assert all(fee.citation for fee in APPLICATION_FEE_BY_YEAR.values())


def test_fee_uses_year_of_submission_at_year_boundary():
    assert application_fee(Form.CMS_855B, Purpose.INITIAL, date(2024, 12, 31)).amount == 709
    assert application_fee(Form.CMS_855B, Purpose.INITIAL, date(2025, 1, 1)).amount == 730


@pytest.mark.parametrize("year", [2018, 2027])
def test_year_without_amount_says_what_to_do(year):
    with pytest.raises(ValueError) as excinfo:
        application_fee(Form.CMS_855S, Purpose.REVALIDATION, date(year, 3, 1))
    message = str(excinfo.value)
    assert f"calendar year {year}" in message
    assert "Federal Register" in message
    assert "models/forms.py" in message


def test_no_fee_case_does_not_need_an_amount_on_record():
    decision = application_fee(Form.CMS_855I, Purpose.INITIAL, date(2030, 1, 1))
    assert not decision.required
    assert decision.amount is None


def test_fee_decision_is_frozen():
    decision = application_fee(Form.CMS_855A, Purpose.INITIAL, date(2025, 1, 1))
    with pytest.raises(ValidationError):
        decision.required = False  # type: ignore[misc]


# --- who pays ---------------------------------------------------------------------------

D2025 = date(2025, 5, 1)
PAYING_PURPOSES = [Purpose.INITIAL, Purpose.REVALIDATION, Purpose.REACTIVATION]


@pytest.mark.parametrize("form", [Form.CMS_855A, Form.CMS_855B, Form.CMS_855S])
@pytest.mark.parametrize("purpose", PAYING_PURPOSES)
def test_institutional_providers_pay(form, purpose):
    decision = application_fee(form, purpose, D2025)
    assert decision.required
    assert decision.amount == Decimal("730")
    assert decision.calendar_year == 2025


@pytest.mark.parametrize("form", [Form.CMS_855A, Form.CMS_855B, Form.CMS_855S])
def test_change_of_information_pays_only_when_adding_a_practice_location(form):
    plain = application_fee(form, Purpose.CHANGE_OF_INFORMATION, D2025)
    assert not plain.required
    assert "practice location" in plain.reason
    adding = application_fee(
        form, Purpose.CHANGE_OF_INFORMATION, D2025, adds_practice_location=True
    )
    assert adding.required
    assert adding.amount == Decimal("730")


@pytest.mark.parametrize("purpose", [*PAYING_PURPOSES, Purpose.CHANGE_OF_INFORMATION])
def test_physician_or_npp_organization_on_855b_does_not_pay(purpose):
    decision = application_fee(
        Form.CMS_855B,
        purpose,
        D2025,
        physician_or_npp_organization=True,
        adds_practice_location=True,
    )
    assert not decision.required
    assert decision.amount is None
    assert "physician" in decision.reason


@pytest.mark.parametrize("form", [Form.CMS_855I, Form.CMS_855O, Form.CMS_588])
def test_individuals_orderers_and_eft_never_pay(form):
    for purpose in ALLOWED_PURPOSES[form]:
        decision = application_fee(form, purpose, D2025, adds_practice_location=True)
        assert not decision.required, (form, purpose)
        assert decision.amount is None
        assert decision.calendar_year is None


def test_855i_reassignment_no_fee():
    assert not application_fee(Form.CMS_855I, Purpose.REASSIGNMENT, D2025).required


def test_mdpp_paid_before_2022_only():
    before = application_fee(Form.CMS_20134, Purpose.INITIAL, date(2021, 12, 31))
    assert before.required
    assert before.amount == Decimal("599")
    after = application_fee(Form.CMS_20134, Purpose.INITIAL, date(2022, 1, 1))
    assert not after.required
    assert "2022-01-01" in after.reason
    assert "MLN9658742" in after.citation


def test_fee_refuses_impossible_form_purpose():
    with pytest.raises(ValueError, match="do not revalidate"):
        application_fee(Form.CMS_855O, Purpose.REVALIDATION, D2025)


def test_reactivation_reason_says_it_is_treated_as_re_enrollment():
    decision = application_fee(Form.CMS_855A, Purpose.REACTIVATION, D2025)
    assert "re-enrollment" in decision.reason
