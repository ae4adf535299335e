"""The web app's read-model queries on real SQLite and PostgreSQL, against what the rows say
when worked out in Python: Today's order, buckets, search, filters and pages; the Portfolio's
months and counts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.web.portfolio import fetch_portfolio
from api.web.today_query import TodayFilters, fetch_today
from bench.read_endpoints import build
from models.calendar import add_months, last_day_of_month
from models.read_model import ApplicationRow, DeadlineRow, EnrollmentRow
from tests.integration.test_read_model import engine  # noqa: F401  (the fixture)

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 15, tzinfo=UTC)
ZONE = "America/New_York"


def _seed(engine: Engine) -> None:  # noqa: F811
    build(engine, 1500, TODAY, seed=11)
    with Session(engine) as s:
        for n in range(40):
            due = last_day_of_month(add_months(TODAY, n % 7 - 2))
            standing = due < TODAY
            s.add(
                EnrollmentRow(
                    enrollment_id=f"I2024{n:010d}",
                    workflow_id=f"enrollment-I2024{n:010d}",
                    organization_id="org-e",
                    npi=f"1{n:09d}",
                    ptan=f"PT{n:04d}",
                    form="CMS-855I",
                    legal_name=f"Enrolled {n}",
                    state="FL" if n % 2 else "TX",
                    mac_jurisdiction="JN" if n % 2 else "JH",
                    status="stayed" if standing else "active",
                    action_since=due + timedelta(days=1) if standing else None,
                    action_required="Submit the revalidation" if standing else None,
                    effective_date=date(2021, 1, 1),
                    revalidation_due_date=due,
                    unbillable_days=n % 3,
                    created_at=NOW,
                    updated_at=NOW - timedelta(days=n),
                )
            )
        s.commit()


def _all(engine: Engine, f: TodayFilters) -> list[str]:  # noqa: F811
    page = fetch_today(engine, f, TODAY, ZONE, page=1, per_page=100_000)
    return [i.deadline.deadline_id for i in page.items]


def test_today_orders_buckets_and_pages_as_the_rows_say(engine: Engine) -> None:  # noqa: F811
    _seed(engine)
    with Session(engine) as s:
        clocks = list(s.exec(select(DeadlineRow)))
        stayed = list(s.exec(select(EnrollmentRow).where(EnrollmentRow.action_since != None)))  # noqa: E711
    everything = fetch_today(engine, TodayFilters(), TODAY, ZONE, page=1, per_page=100_000)
    assert everything.total == len(clocks) + len(stayed) == len(everything.items)
    kinds = [i.bucket for i in everything.items]
    assert kinds[: len(stayed)] == ["standing"] * len(stayed)
    days = [i.deadline.days_left for i in everything.items[len(stayed) :]]
    assert days == sorted(days)
    for item in everything.items[len(stayed) :]:
        d = item.deadline.days_left
        want = "overdue" if d < 0 else "week" if d <= 7 else "month" if d <= 30 else "later"
        assert item.bucket == want
    ids = [i.deadline.deadline_id for i in everything.items]
    pages = [
        fetch_today(engine, TodayFilters(), TODAY, ZONE, page=n, per_page=37).items
        for n in range(1, everything.total // 37 + 2)
    ]
    assert [i.deadline.deadline_id for p in pages for i in p] == ids
    # Following each page's keyset gives the same pages as counting rows.
    walked, after, n = [], None, 1
    while True:
        page = fetch_today(engine, TodayFilters(), TODAY, ZONE, page=n, per_page=37, after=after)
        walked += [i.deadline.deadline_id for i in page.items]
        if n == page.pages:
            break
        after, n = page.next_after, n + 1
    assert walked == ids
    assert (
        fetch_today(  # a keyset it did not issue: the page by its number
            engine, TodayFilters(), TODAY, ZONE, page=3, per_page=37, after="bm90IGEga2V5c2V0"
        ).items
        == pages[2]
    )
    last = fetch_today(engine, TodayFilters(), TODAY, ZONE, page=10_000, per_page=37)
    assert last.page == last.pages  # past the end: the last page


def test_today_search_and_filters_match_the_rows(engine: Engine) -> None:  # noqa: F811
    _seed(engine)
    with Session(engine) as s:
        apps = {a.workflow_id: a for a in s.exec(select(ApplicationRow))}
        clocks = list(s.exec(select(DeadlineRow)))
    name = "provider 12"
    want = {c.deadline_id for c in clocks if name in (apps[c.workflow_id].legal_name or "").lower()}
    assert want and set(_all(engine, TodayFilters(q="Provider 12"))) == want
    some = clocks[5]
    assert _all(engine, TodayFilters(q=some.npi)) == [some.deadline_id]
    wtid = apps[some.workflow_id].web_tracking_id
    assert _all(engine, TodayFilters(q=wtid)) == [some.deadline_id]
    fl = {c.deadline_id for c in clocks if apps[c.workflow_id].state == "FL"}
    stayed_fl = {
        i.deadline.deadline_id
        for i in fetch_today(
            engine, TodayFilters(states=("FL",)), TODAY, ZONE, page=1, per_page=10_000
        ).items
        if i.bucket == "standing"
    }
    assert set(_all(engine, TodayFilters(states=("FL",)))) == fl | stayed_fl
    assert all(i.endswith("/standing") for i in stayed_fl) and stayed_fl
    within = {c.deadline_id for c in clocks if (c.last_day - TODAY).days <= 30}
    only_clocks = tuple(sorted({c.clock_kind for c in clocks}))
    assert set(_all(engine, TodayFilters(kinds=only_clocks, within_days=30))) == within
    org = TodayFilters(organization_id="org-07", statuses=("screening",))
    assert set(_all(engine, org)) == {
        c.deadline_id
        for c in clocks
        if c.organization_id == "org-07" and c.record_status == "screening"
    }


def test_the_portfolio_counts_what_the_rows_hold(engine: Engine) -> None:  # noqa: F811
    _seed(engine)
    first = TODAY.replace(day=1)
    data = fetch_portfolio(engine, first, NOW, None)
    with Session(engine) as s:
        enrollments = list(s.exec(select(EnrollmentRow)))
        apps = list(s.exec(select(ApplicationRow)))
    per_month = Counter(
        e.revalidation_due_date.replace(day=1)
        for e in enrollments
        if e.revalidation_due_date and first <= e.revalidation_due_date < add_months(first, 36)
    )
    assert len(data.months) == 36 and data.months[0][0] == first
    assert dict((m, n) for m, n in data.months if n) == dict(per_month)
    assert sum(data.enrollments.values()) == len(enrollments)
    assert data.enrollments[("stayed", "JN")] == sum(
        1 for e in enrollments if e.status == "stayed" and e.mac_jurisdiction == "JN"
    )
    assert sum(data.applications.values()) == len(apps)
    assert data.unbillable_days == sum(e.unbillable_days for e in enrollments)
    only = fetch_portfolio(engine, first, NOW, "org-e")
    assert sum(only.applications.values()) == 0 and sum(only.enrollments.values()) == 40
