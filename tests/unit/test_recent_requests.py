"""The update ids a record remembers so that a retry never applies twice (workflows/requests.py):
bounded in age and number, and telling a reused Idempotency-Key from a retry."""

from __future__ import annotations

from datetime import date, timedelta

from workflows.requests import MAX_REMEMBERED, RETENTION_DAYS, RecentRequests

DAY = date(2026, 11, 30)


def test_remembered_ids_are_kept_30_days_and_500_at_most() -> None:
    assert (RETENTION_DAYS, MAX_REMEMBERED) == (30, 500)
    requests = RecentRequests()
    requests.remember("req-old", DAY - timedelta(days=31))
    requests.remember("req-month", DAY - timedelta(days=30))
    requests.remember("req-now", DAY)
    assert "req-old" not in requests
    assert "req-month" in requests and "req-now" in requests
    for n in range(MAX_REMEMBERED + 10):
        requests.remember(f"req-{n}", DAY)
    carried = requests.carried()
    assert len(carried) == MAX_REMEMBERED
    assert f"req-{MAX_REMEMBERED + 9}" in carried and "req-0" not in carried
    # What a run hands its next run reads back the same.
    assert RecentRequests(carried).carried() == carried


def test_a_key_with_another_request_is_a_reuse_and_a_retry_is_not() -> None:
    requests = RecentRequests()
    requests.remember("key-aaaa-1111", DAY)
    assert not requests.reuses_key("key-aaaa-1111")  # the same key and request: a retry
    assert requests.reuses_key("key-aaaa-2222")  # the same key, another request
    assert not requests.reuses_key("key-bbbb-2222")  # another key
    assert not requests.reuses_key("req-2222")  # no key
