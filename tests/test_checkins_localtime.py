"""Local days and wall-clock times across midnight and DST changes."""

from datetime import UTC, date, datetime, time

import pytest

from bot.localtime import at_local, iso_week, local_date, month, parse_hhmm


def test_dst_gap_moves_forward_and_repeated_time_means_the_first():
    # London skips 01:00-02:00 on 2026-03-29: 01:30 does not exist, read as 02:30 BST.
    assert at_local(date(2026, 3, 29), time(1, 30), "Europe/London") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC)
    # 01:30 happens twice on 2026-10-25: the first one, still BST (00:30 UTC).
    assert at_local(date(2026, 10, 25), time(1, 30), "Europe/London") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC)
    # The evening before and after the change is an hour apart in UTC.
    before = at_local(date(2026, 3, 28), time(20, 0), "Europe/London")
    after = at_local(date(2026, 3, 29), time(20, 0), "Europe/London")
    assert (after - before).total_seconds() == 23 * 3600


@pytest.mark.parametrize("zone, offset", [
    ("America/Mexico_City", -6), ("America/Bogota", -5), ("Asia/Jakarta", 7)])
def test_zones_without_dst_keep_their_offset_all_year(zone, offset):
    for day in (date(2026, 1, 15), date(2026, 4, 5), date(2026, 7, 15), date(2026, 11, 1)):
        due = at_local(day, time(20, 0), zone)
        assert due.hour == (20 - offset) % 24
        assert local_date(due, zone) == day


def test_midnight_boundaries():
    instant = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    assert local_date(instant, "Europe/London") == date(2026, 3, 2)
    assert local_date(instant, "Asia/Jakarta") == date(2026, 3, 3)
    assert local_date(instant, "America/Bogota") == date(2026, 3, 2)


def test_periods_and_times():
    assert iso_week(date(2026, 1, 1)) == "2026-W01" and iso_week(date(2027, 1, 1)) == "2026-W53"
    assert month(date(2026, 3, 2)) == "2026-03"
    assert parse_hhmm("8:30") == time(8, 30) and parse_hhmm("20h00") == time(20, 0)
    assert parse_hhmm("24:00") is None and parse_hhmm("noon") is None
