"""Brussels calendar dates, DST-correct midnights, month arithmetic and Belgian working days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.calendar import BRUSSELS, add_days, add_months, brussels_date, brussels_midnight
from vangnet.rulebooks import working_days
from vangnet.rulebooks.working_days import add_working_days, is_working_day


def test_brussels_date_around_midnight() -> None:
    # 22:30 UTC on 2024-07-01 is 00:30 on 2024-07-02 in Brussels (summer time, UTC+2)
    assert brussels_date(datetime(2024, 7, 1, 22, 30, tzinfo=UTC)) == date(2024, 7, 2)
    assert brussels_date(datetime(2024, 7, 1, 21, 59, tzinfo=UTC)) == date(2024, 7, 1)
    # winter time, UTC+1
    assert brussels_date(datetime(2024, 1, 1, 23, 0, tzinfo=UTC)) == date(2024, 1, 2)
    assert brussels_date(datetime(2024, 1, 1, 22, 59, tzinfo=UTC)) == date(2024, 1, 1)
    # any aware zone is accepted
    new_york_winter = timezone(timedelta(hours=-5))
    assert brussels_date(datetime(2024, 1, 1, 18, 0, tzinfo=new_york_winter)) == date(2024, 1, 2)


def test_brussels_date_refuses_naive() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        brussels_date(datetime(2024, 1, 1, 12, 0))


@pytest.mark.parametrize(
    ("day", "utc"),
    [
        (date(2024, 1, 15), datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),
        (date(2024, 7, 15), datetime(2024, 7, 14, 22, 0, tzinfo=UTC)),
        # clocks go forward at 02:00 on 2024-03-31: midnight is still winter time
        (date(2024, 3, 31), datetime(2024, 3, 30, 23, 0, tzinfo=UTC)),
        (date(2024, 4, 1), datetime(2024, 3, 31, 22, 0, tzinfo=UTC)),
        # clocks go back at 03:00 on 2024-10-27: midnight is still summer time
        (date(2024, 10, 27), datetime(2024, 10, 26, 22, 0, tzinfo=UTC)),
        (date(2024, 10, 28), datetime(2024, 10, 27, 23, 0, tzinfo=UTC)),
    ],
)
def test_brussels_midnight_dst(day: date, utc: datetime) -> None:
    midnight = brussels_midnight(day)
    assert midnight == utc
    assert midnight.utcoffset() == timedelta(0)
    assert brussels_date(midnight) == day
    assert brussels_date(midnight - timedelta(microseconds=1)) == day - timedelta(days=1)


def test_dst_days_are_23_and_25_hours_long() -> None:
    spring = brussels_midnight(date(2024, 4, 1)) - brussels_midnight(date(2024, 3, 31))
    autumn = brussels_midnight(date(2024, 10, 28)) - brussels_midnight(date(2024, 10, 27))
    assert (spring, autumn) == (timedelta(hours=23), timedelta(hours=25))


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31)))
def test_midnight_round_trip(day: date) -> None:
    assert brussels_date(brussels_midnight(day)) == day
    assert brussels_midnight(day).astimezone(BRUSSELS).time().hour == 0


def test_add_days() -> None:
    assert add_days(date(2024, 2, 28), 1) == date(2024, 2, 29)
    assert add_days(date(2024, 3, 1), -1) == date(2024, 2, 29)
    assert add_days(date(2024, 12, 2), 30) == date(2025, 1, 1)


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2023, 1, 31), 1, date(2023, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 1, 15), 6, date(2024, 7, 15)),
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2024, 12, 31), 2, date(2025, 2, 28)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
        (date(2024, 1, 15), -1, date(2023, 12, 15)),
        (date(2024, 1, 15), 0, date(2024, 1, 15)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
    ],
)
def test_add_months_clamps(start: date, n: int, expected: date) -> None:
    assert add_months(start, n) == expected


def test_add_months_out_of_range() -> None:
    with pytest.raises(OverflowError):
        add_months(date(9999, 12, 1), 1)


# ---- working days ------------------------------------------------------------------------------------------


def test_working_days_over_christmas_and_new_year() -> None:
    # Fri 2024-12-20: 23, 24, (25 Christmas), 26, 27, 30, 31, (1 Jan), 2, 3, 6, 7
    assert add_working_days(date(2024, 12, 20), 10) == date(2025, 1, 7)
    assert not is_working_day(date(2024, 12, 25))
    assert not is_working_day(date(2025, 1, 1))


def test_working_days_skip_weekends() -> None:
    assert add_working_days(date(2024, 6, 7), 1) == date(2024, 6, 10)  # Friday -> Monday
    assert add_working_days(date(2024, 6, 8), 1) == date(2024, 6, 10)  # Saturday -> Monday
    assert add_working_days(date(2024, 6, 3), 5) == date(2024, 6, 10)
    assert add_working_days(date(2024, 6, 3), 0) == date(2024, 6, 3)


def test_working_days_skip_moving_and_fixed_holidays() -> None:
    # Easter Monday 2024-04-01; Ascension Thu 2024-05-09; Whit Monday 2024-05-20; National Day Mon 2025-07-21
    assert add_working_days(date(2024, 3, 29), 1) == date(2024, 4, 2)
    assert add_working_days(date(2024, 5, 8), 1) == date(2024, 5, 10)
    assert add_working_days(date(2024, 5, 17), 1) == date(2024, 5, 21)
    assert add_working_days(date(2025, 7, 18), 1) == date(2025, 7, 22)
    # Labour Day, Assumption, All Saints, Armistice
    for holiday in (date(2024, 5, 1), date(2024, 8, 15), date(2024, 11, 1), date(2024, 11, 11)):
        assert not is_working_day(holiday)


def test_working_days_backwards() -> None:
    assert add_working_days(date(2025, 1, 7), -10) == date(2024, 12, 20)
    assert add_working_days(date(2024, 6, 10), -1) == date(2024, 6, 7)


def test_warm_loads_this_year_and_next_before_the_first_claim() -> None:
    working_days._belgian_holidays.cache_clear()
    working_days.warm(date(2031, 12, 15))
    loaded = working_days._belgian_holidays.cache_info()
    assert loaded.currsize == 2
    assert add_working_days(date(2031, 12, 19), 10) == date(2032, 1, 6)  # Christmas, New Year: both years known
    assert working_days._belgian_holidays.cache_info().misses == loaded.misses
