"""The `enroll` operator commands as an operator runs them: subprocesses talking HTTP to the real
app (served in the test's event loop, a worker on the time-skipping server, a SQLite read model).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from cli.api_client import ApiProblem
from cli.deadlines import days_left
from cli.imports import csv_records, merge_import_answer
from cli.keys import default_api_key
from cli.records import parse_pairs
from tests.integration.test_api_reads import (
    OPERATOR_KEY,
    Stack,
    eventually,
    npi,
    stack,
    unique,
)

__all__ = ["stack"]  # the fixture, imported for pytest

ENROLL = Path(sys.executable).parent / "enroll"
API_ROUTES = Path(__file__).resolve().parents[2] / "api" / "routes"
HAS_IMPORTS = (API_ROUTES / "imports.py").exists()
HAS_ENROLLMENTS = (API_ROUTES / "enrollments.py").exists()


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


async def enroll(
    stack: Stack,
    *args: str,
    cwd: Path | None = None,
    url: str | None = None,
    columns: int | None = 80,
) -> Run:
    """Run `enroll ARGS` against the stack as an 80-column terminal shows it (`columns=None`:
    a pipe); never blocks the event loop serving the API."""
    env = {
        **os.environ,
        "ENROLL_API_URL": url or str(stack.http.base_url),
        "ENROLL_API_KEY": OPERATOR_KEY,
    }
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    proc = await asyncio.create_subprocess_exec(
        str(ENROLL),
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def person(n: int) -> list[str]:
    return [
        "-d",
        "legal_name=Jane Doe",
        "-d",
        f"npi={npi(n)}",
        "-d",
        "ssn=123-45-6789",
        "-d",
        "state=FL",
    ]


# --- Applications -------------------------------------------------------------------------------


async def test_applications_create_get_event_list_and_refusals(
    stack: Stack, tmp_path: Path
) -> None:
    org = unique("org")
    first, second = unique("cli"), unique("cli")

    run = await enroll(
        stack, "applications", "create", "--form", "855I", "--purpose", "initial",
        "--id", first, "--org", org, *person(11), "--reason", "new hire",
    )  # fmt: skip
    assert run.status == 0, run.stderr
    assert f"created {first}" in run.stderr
    assert first in run.stdout and "draft" in run.stdout
    assert "***-**-6789" in run.stdout and "123-45-6789" not in run.stdout
    assert "Allowed events:" in run.stdout and "submit" in run.stdout

    run = await enroll(
        stack, "applications", "create", "--form", "CMS-855I", "--purpose", "initial",
        "--id", second, "--org", org, *person(12), "--json",
    )  # fmt: skip
    assert run.status == 0, run.stderr
    created = run.json()
    assert created["application_id"] == second and created["status"] == "draft"
    assert created["details"]["npi"] == npi(12)

    # Repeating a create is idempotent, and says so.
    run = await enroll(
        stack, "applications", "create", "--form", "CMS-855I", "--purpose", "initial",
        "--id", second, "--org", org, *person(12),
    )  # fmt: skip
    assert run.status == 0 and "already exists" in run.stderr, run.stderr

    run = await enroll(
        stack, "applications", "event", first, "submit",
        "-d", "web_tracking_id=WT-2026-000777", "-r", "filed in PECOS",
    )  # fmt: skip
    assert run.status == 0, run.stderr
    assert "recorded submit → pending_signature" in run.stderr
    assert "WT-2026-000777" in run.stdout
    assert "signature" in run.stdout  # the 20-day signature clock is open
    assert "filed in PECOS" in run.stdout  # the log

    run = await enroll(stack, "applications", "get", first, "--json")
    assert run.status == 0, run.stderr
    view = run.json()
    assert view["status"] == "pending_signature"
    assert view["web_tracking_id"] == "WT-2026-000777"
    assert "signatures_completed" in view["allowed_events"]

    run = await enroll(stack, "applications", "get", first)
    assert run.status == 0, run.stderr
    assert "pending_signature" in run.stdout and "Open deadlines" in run.stdout
    assert "assignee" not in run.stdout and "Notes" not in run.stdout

    # Assignee and notes: audited events like any other, shown by `get`.
    for event, pair in (("assigned", "assignee=bea@example.org"), ("note_added", "text=W-9 due")):
        run = await enroll(stack, "applications", "event", first, event, "-d", pair, "-r", "x")
        assert run.status == 0, run.stderr
        assert f"recorded {event} → pending_signature" in run.stderr, run.stderr
    run = await enroll(stack, "applications", "get", first)
    assert run.status == 0, run.stderr
    assert "bea@example.org" in run.stdout and "Notes (latest 5)" in run.stdout
    assert "W-9 due" in run.stdout and "pending_signature" in run.stdout

    # An event the state does not allow: one red line naming the state and the allowed events.
    run = await enroll(stack, "applications", "event", first, "development_responded", "-r", "sent")
    assert run.status == 1
    assert run.stdout == ""
    line = run.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith("error: 409 Event not allowed in this state:"), line
    assert "state: pending_signature" in line
    assert "allowed events:" in line and "signatures_completed" in line and "withdrawn" in line

    # Bad data: the field errors (a date the CLI can tell is not one never reaches the API).
    run = await enroll(
        stack, "applications", "event", first, "received_by_mac",
        "-d", "receipt_date=2026-13-01", "-d", "case_number=C-1", "-r", "letter",
    )  # fmt: skip
    assert run.status == 2 and "use YYYY-MM-DD" in flat(run.stderr), run.stderr
    run = await enroll(
        stack, "applications", "event", first, "received_by_mac", "-d", "receipt_date=today",
        "-r", "letter",
    )  # fmt: skip
    assert run.status == 1
    assert "error: 422" in run.stderr and "data.case_number" in run.stderr, run.stderr

    # An unknown event names the operator events.
    run = await enroll(stack, "applications", "event", first, "teleport", "-r", "x")
    assert (
        run.status == 1
        and "not an operator event" in run.stderr
        and "fields: event" in (run.stderr)
    )

    run = await enroll(stack, "applications", "get", unique("missing"))
    assert run.status == 1 and "error: 404 Unknown application" in run.stderr, run.stderr

    async def both_listed() -> bool:
        return {first, second} <= set(await stack.ids(organization_id=org))

    await eventually(both_listed, "both applications")

    run = await enroll(stack, "applications", "list", "--org", org)
    assert run.status == 0, run.stderr
    assert first in run.stdout and second in run.stdout and "2 applications" in run.stdout

    # Page by page: one item, a cursor hint; --all follows the cursors.
    run = await enroll(stack, "applications", "list", "--org", org, "--limit", "1")
    assert run.status == 0 and "1 applications" in run.stdout
    assert "--cursor" in run.stderr and "--all" in run.stderr
    run = await enroll(
        stack, "applications", "list", "--org", org, "--limit", "1", "--all", "--json"
    )
    assert run.status == 0, run.stderr
    page = run.json()
    assert {i["application_id"] for i in page["items"]} == {first, second}
    assert page["next_cursor"] is None

    run = await enroll(
        stack, "applications", "list", "--org", org, "--status", "pending_signature", "--json"
    )
    assert [i["application_id"] for i in run.json()["items"]] == [first]

    # A bad filter value: the API's allowed values, exit 1.
    run = await enroll(stack, "applications", "list", "--status", "sleeping")
    assert run.status == 1 and "allowed status:" in run.stderr and "draft" in run.stderr

    # The support packet, as tables and as a printable page.
    run = await enroll(stack, "applications", "packet", first)
    assert run.status == 0, run.stderr
    assert "Support packet" in run.stdout and "WT-2026-000777" in run.stdout
    assert "***-*5-6789" in run.stdout
    html = tmp_path / f"{first}.html"
    run = await enroll(stack, "applications", "packet", first, "--html", str(html))
    assert run.status == 0, run.stderr
    assert html.read_text().startswith("<!DOCTYPE html>")


async def test_deadlines_screen_and_lifecycle(stack: Stack) -> None:
    org = unique("org")
    app_id = unique("dl")
    run = await enroll(
        stack, "applications", "create", "--form", "855I", "--purpose", "initial",
        "--id", app_id, "--org", org, *person(21),
    )  # fmt: skip
    assert run.status == 0, run.stderr
    run = await enroll(
        stack, "applications", "event", app_id, "submit", "-d", "web_tracking_id=WT-9", "-r", "x"
    )
    assert run.status == 0, run.stderr

    async def clock_listed() -> bool:
        page = await stack.get("/v1/deadlines", organization_id=org)
        return any(i["record"]["id"] == app_id for i in page["items"])

    await eventually(clock_listed, "the signature clock")

    run = await enroll(stack, "deadlines", "--within-days", "30", "--org", org)
    assert run.status == 0, run.stderr
    assert "Deadlines as of" in run.stdout and "ending within 30 days" in run.stdout
    [row] = [line for line in run.stdout.splitlines() if app_id in line]
    assert "Jane Doe" in row and "pending_s" in row  # a status may end in … at 80 columns
    assert "pending_s" in run.stdout and "signatur" in run.stdout

    run = await enroll(stack, "deadlines", "--org", org, "--json")
    assert run.status == 0, run.stderr
    body = run.json()
    (item,) = [i for i in body["items"] if i["record"]["id"] == app_id]
    assert item["days_left"] >= 0 and item["rule"]["key"]

    # Nothing ends within 0 days for this organization.
    run = await enroll(stack, "deadlines", "--within-days", "0", "--org", org)
    assert run.status == 0 and "0 open" in run.stdout and app_id not in run.stdout

    run = await enroll(stack, "lifecycle")
    assert run.status == 0, run.stderr
    assert "application lifecycle" in run.stdout and "draft (initial)" in run.stdout
    assert "web_tracking_id*" in run.stdout  # submit's required data field
    assert "⏰" in run.stdout

    run = await enroll(stack, "lifecycle", "--mermaid")
    assert run.status == 0 and run.stdout.startswith("stateDiagram-v2"), run.stderr

    if HAS_ENROLLMENTS:
        run = await enroll(stack, "lifecycle", "--kind", "enrollment", "--json")
        assert run.status == 0, run.stderr
        assert run.json()["name"] == "enrollment"

    run = await enroll(stack, "lifecycle", "--kind", "spaceship")
    assert run.status == 2 and "application or enrollment" in run.stderr


# --- Enrollments and roster imports ---------------------------------------------------------------


def enrollment_id(n: int) -> str:
    return f"I{uuid.uuid4().int % 10**8:08d}{n:06d}"


@pytest.mark.skipif(not HAS_ENROLLMENTS, reason="no /v1/enrollments route yet")
async def test_enrollments_import_get_event_list(stack: Stack) -> None:
    org = unique("org")
    eid = enrollment_id(1)
    args = [
        "enrollments", "import", "--id", eid, "--org", org, "--npi", npi(31),
        "--ptan", "00G577550", "--form", "CMS-855I", "--state", "FL",
        "--effective-date", "2023-04-01",
    ]  # fmt: skip
    run = await enroll(stack, *args)
    assert run.status == 0, run.stderr
    assert f"imported {eid}" in run.stderr and eid in run.stdout and "00G577550" in run.stdout

    run = await enroll(stack, *args, "--json")
    assert run.status == 0, run.stderr
    assert run.json()["enrollment_id"] == eid  # idempotent

    # The same id with other data: 409 naming the difference.
    run = await enroll(stack, *args[:-1], "2023-05-01")
    assert run.status == 1 and "error: 409" in run.stderr and "effective" in run.stderr

    run = await enroll(stack, "enrollments", "get", eid, "--json")
    assert run.status == 0, run.stderr
    view = run.json()
    assert view["npi"] == npi(31) and view["allowed_events"]

    run = await enroll(stack, "enrollments", "event", eid, "teleport", "-r", "x")
    assert run.status == 1 and "error: 422" in run.stderr, run.stderr

    async def listed() -> bool:
        page = await stack.get("/v1/enrollments", organization_id=org)
        return any(i["enrollment_id"] == eid for i in page["items"])

    await eventually(listed, "the imported enrollment")
    run = await enroll(stack, "enrollments", "list", "--org", org)
    assert run.status == 0, run.stderr
    assert eid in run.stdout and "1 enrollments" in run.stdout


@pytest.mark.skipif(not HAS_IMPORTS, reason="no /v1/imports route yet")
async def test_roster_import_in_chunks_reports_problems_by_original_line(
    stack: Stack, tmp_path: Path
) -> None:
    org = unique("org")
    ids = [enrollment_id(n) for n in range(1, 6)]
    lines = ["enrollment_id,npi,ptan,form,state,effective_date,provider_type"]
    for n, eid in enumerate(ids, 1):
        lines.append(f"{eid},{npi(40 + n)},PT{n:06d},CMS-855I,FL,04/01/2023,Family practice")
    lines[2] = lines[2].replace(npi(42), "1234567890")  # line 3: the Luhn check fails
    lines[4] = lines[4].replace("04/01/2023", "31/31/2023")  # line 5: not a date
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(lines) + "\n")

    run = await enroll(stack, "import", str(roster), "--org", org, "--chunk-rows", "2")
    assert run.status == 2, run.stderr
    assert "importing roster.csv" in run.stderr  # the progress bar
    assert "created" in run.stdout and "Problems" in run.stdout
    rows = {
        cells[0]: cells
        for line in run.stdout.splitlines()
        if (cells := [c.strip() for c in line.strip("│┃ ").split("│")]) and cells[0].isdigit()
    }
    assert set(rows) >= {"3", "5"}, run.stdout
    assert rows["3"][1] == "npi" and rows["5"][1] == "effective_date", run.stdout

    run = await enroll(stack, "import", str(roster), "--org", org, "--chunk-rows", "2", "--json")
    assert run.status == 2
    merged = run.json()
    assert merged["chunks"] == 3
    assert merged["counts"]["unchanged"] == 3 and merged["counts"]["created"] == 0
    assert sorted((p["row"], p["column"]) for p in merged["problems"]) == [
        (3, "npi"),
        (5, "effective_date"),
    ]

    good = tmp_path / "good.csv"
    good.write_text("\n".join([lines[0], lines[1], lines[3], lines[5]]) + "\n")
    run = await enroll(stack, "import", str(good), "--org", org)
    assert run.status == 0, run.stderr
    assert "Problems" not in run.stdout


async def test_connection_refused_and_missing_key(stack: Stack, tmp_path: Path) -> None:
    run = await enroll(stack, "deadlines", url="http://127.0.0.1:9")
    assert run.status == 1
    assert run.stderr.strip() == (
        "error: cannot reach the API at http://127.0.0.1:9: is `enroll dev` running?"
    )

    env_without_key = {k: v for k, v in os.environ.items() if k != "ENROLL_API_KEY"}
    proc = await asyncio.create_subprocess_exec(
        str(ENROLL), "deadlines", "--api-url", str(stack.http.base_url),
        env=env_without_key, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await proc.communicate()
    assert proc.returncode == 1
    assert "error: 401" in err.decode() and "--api-key" in err.decode()

    # `enroll dev`'s keys file in ./.enroll is found without any setup.
    (tmp_path / ".enroll").mkdir()
    (tmp_path / ".enroll" / "api-keys.json").write_text(
        json.dumps(
            {"a" * 32: {"actor": "dev-auditor", "role": "auditor"},
             OPERATOR_KEY: {"actor": "dev-operator", "role": "operator"}}
        )
    )  # fmt: skip
    proc = await asyncio.create_subprocess_exec(
        str(ENROLL), "lifecycle", "--api-url", str(stack.http.base_url), "--json",
        env=env_without_key, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert json.loads(out)["name"] == "application"


# --- Pure helpers -------------------------------------------------------------------------------


def test_pairs_strings_json_nesting_and_repeats() -> None:
    assert parse_pairs(
        ["npi=1234567893", 'items:=["a"]', "changes.provider_type=X", "tag=a", "tag=b", "n:=3"],
        "--data",
    ) == {
        "npi": "1234567893",
        "items": ["a"],
        "changes": {"provider_type": "X"},
        "tag": ["a", "b"],
        "n": 3,
    }


def test_default_key_prefers_the_operator(tmp_path: Path) -> None:
    assert default_api_key(tmp_path) is None
    (tmp_path / "api-keys.json").write_text(
        json.dumps({"k" * 32: {"role": "auditor"}, "o" * 32: {"role": "operator"}})
    )
    assert default_api_key(tmp_path) == "o" * 32


def test_overdue_is_red() -> None:
    assert days_left(-3).style == "bold red" and "3 overdue" in str(days_left(-3))
    assert str(days_left(0)) == "today"


def test_csv_records_keep_original_line_numbers() -> None:
    text = 'id,name\n1,"two\nlines"\n\n3,c\n'
    parsed = csv_records(text)
    assert parsed.header == "id,name\n"
    assert [n for _, n in parsed.records] == [2, 1, 1]
    merged: dict[str, Any] = {"counts": {}, "results": [], "problems": []}
    answer = {
        "counts": {"created": 1},
        "results": [{"row": 2, "outcome": "created"}],
        "problems": [
            {"row": 2, "column": "id", "reason": "bad", "file": "roster"},
            {"row": 7, "column": "Adjusted Due Date", "reason": "x", "file": "due_dates"},
        ],
    }
    merge_import_answer(merged, answer, 3)
    merge_import_answer(merged, {"problems": [answer["problems"][1]]}, 5)
    assert [(p["row"], p["file"]) for p in merged["problems"]] == [
        (5, "roster"),
        (7, "due_dates"),
    ]
    assert merged["results"][0]["row"] == 5 and merged["counts"]["created"] == 1


def test_problem_line_names_fields_and_allowed_events() -> None:
    import httpx

    request = httpx.Request("POST", "http://x/v1/applications/a/events")
    response = httpx.Response(
        409,
        json={
            "title": "Event not allowed in this state",
            "status": 409,
            "detail": "fee_paid is not allowed in draft",
            "state": "draft",
            "allowed_events": ["submit", "withdrawn"],
        },
        request=request,
    )
    assert ApiProblem(response).line() == (
        "409 Event not allowed in this state: fee_paid is not allowed in draft · state: draft"
        " · allowed events: submit, withdrawn"
    )


# --- An 80-column terminal ----------------------------------------------------------------------


def flat(text: str) -> str:
    """Typer's error panel, wrapped at 80 columns, as one line."""
    return " ".join(line.strip("│╭╮╰╯─ ") for line in text.splitlines() if line.strip("│─ "))


def fits(run: Run, width: int = 80) -> None:

    too_wide = [line for line in run.stdout.splitlines() if len(line) > width]
    assert not too_wide, "\n".join(too_wide)


async def test_80_columns_dates_draft_edits_findings_and_feeds(
    stack: Stack, tmp_path: Path
) -> None:
    org = unique("org")
    app_id = f"{unique('eighty')}-clinic-application"  # a long id: it must never fold
    run = await enroll(
        stack, "applications", "create", "--form", "855I", "--purpose", "initial",
        "--id", app_id, "--org", org, "-d", "legal_name=Jane Doe", "-d", f"npi={npi(61)}",
        "-d", "state=FL", "--reason", "new hire",
    )  # fmt: skip
    assert run.status == 0, run.stderr
    fits(run)
    # A missing SSN is known at create time: the open findings say so before `submit` does.
    assert "Open findings" in run.stdout and "ssn" in run.stdout, run.stdout

    # Draft edits the way people think: flags, or -d for any detail.
    run = await enroll(
        stack, "applications", "update", app_id, "--ssn", "123-45-6789",
        "--legal-name", "Jane Q. Doe", "-d", "first_service_date=yesterday", "-r", "W-9 came",
    )  # fmt: skip
    assert run.status == 0, run.stderr
    assert "recorded update_draft → draft" in run.stderr
    assert "***-**-6789" in run.stdout and "123-45-6789" not in run.stdout
    assert "Open findings" not in run.stdout, run.stdout
    run = await enroll(stack, "applications", "get", app_id, "--json")
    view = run.json()
    today = await stack.today()
    assert view["details"]["legal_name"] == "Jane Q. Doe"
    assert view["details"]["first_service_date"] == (today - timedelta(days=1)).isoformat()
    run = await enroll(stack, "applications", "update", app_id, "-r", "nothing")
    assert run.status == 2 and "nothing to change" in flat(run.stderr), run.stderr

    # Dates: ISO or today/yesterday, and a US date is refused with the format to use.
    run = await enroll(
        stack, "applications", "event", app_id, "submit", "-d", "web_tracking_id=WT-80",
        "-d", "signed_on=11/30/2026", "-r", "filed",
    )  # fmt: skip
    assert run.status == 2, run.stderr
    assert "use YYYY-MM-DD, e.g. 2026-11-30" in flat(run.stderr), run.stderr
    assert "signed_on" in flat(run.stderr)
    run = await enroll(
        stack, "applications", "event", app_id, "submit", "-d", "web_tracking_id=WT-80",
        "-d", "signed_on=today", "-r", "filed",
    )  # fmt: skip
    assert run.status == 0, run.stderr
    assert "→ submitted" in run.stderr
    for event, *data in (
        ("received_by_mac", "receipt_date=today", "case_number=JN-80"),
        ("development_requested", "request_date=today", 'items:=["State license"]'),
    ):
        pairs = [arg for pair in data for arg in ("-d", pair)]
        run = await enroll(stack, "applications", "event", app_id, event, *pairs, "-r", "letter")
        assert run.status == 0, run.stderr
    view = (await enroll(stack, "applications", "get", app_id, "--json")).json()
    [clock] = view["clocks"]
    assert clock["last_day"] == (today + timedelta(days=30)).isoformat()  # dated today
    run = await enroll(stack, "applications", "list", "--deadline-before", "12/31/2026")
    assert run.status == 2 and "use YYYY-MM-DD" in flat(run.stderr), run.stderr

    async def listed() -> bool:
        return app_id in await stack.ids(organization_id=org)

    await eventually(listed, "the application")
    for args in (("applications", "list", "--org", org), ("deadlines", "--org", org)):
        run = await enroll(stack, *args)
        assert run.status == 0, run.stderr
        fits(run)
        # The id is whole on one line, never folded.
        assert any(app_id in line for line in run.stdout.splitlines()), run.stdout
    run = await enroll(stack, "applications", "get", app_id)
    assert run.status == 0, run.stderr
    fits(run)
    assert app_id in run.stdout and "Open deadlines" in run.stdout

    # The deadlines' rule is cut at 80 columns and whole with --wide.
    run = await enroll(stack, "deadlines", "--org", org, "--json")
    rule = run.json()["items"][0]["rule"]
    full = f"{rule['key']} v{rule['version']} ({rule['citation']})"
    run = await enroll(stack, "deadlines", "--org", org)
    assert full not in run.stdout and "Rule" not in run.stdout  # in `get` and with --wide
    [row] = [line for line in run.stdout.splitlines() if app_id in line]
    assert rule["key"][:9] in row  # what is due (the clock) stays legible at 80 columns
    run = await enroll(stack, "deadlines", "--org", org, "--wide")
    assert full in run.stdout

    # The same clocks as a spreadsheet and as a calendar.
    sheet = tmp_path / "deadlines.csv"
    run = await enroll(stack, "deadlines", "--org", org, "--format", "csv", "-o", str(sheet))
    assert run.status == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(sheet.read_text())))
    assert [r["record_id"] for r in rows] == [app_id]
    assert rows[0]["legal_name"] == "Jane Q. Doe" and rows[0]["rule_citation"] == rule["citation"]
    run = await enroll(stack, "deadlines", "--org", org, "--format", "ics")
    assert run.status == 0, run.stderr
    ics = run.stdout
    assert ics.startswith("BEGIN:VCALENDAR\r\n") and ics.endswith("END:VCALENDAR\r\n")
    assert ics.count("BEGIN:VEVENT") == 1 and "Jane" not in ics
    last_day = date.fromisoformat(rows[0]["last_day"])
    assert f"DTSTART;VALUE=DATE:{last_day:%Y%m%d}" in ics
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    run = await enroll(stack, "deadlines", "--format", "pdf")
    assert run.status == 2 and "use csv or ics" in flat(run.stderr), run.stderr
