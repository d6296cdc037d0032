import datetime as dt

import pytest

from tickerhouse import calendar
from tickerhouse.errors import UserError

NY = calendar.NEW_YORK


def at(day: str, hour: int = 6) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour), tzinfo=NY)


def test_previous_session_skips_weekends_and_holidays():
    # Friday after Thanksgiving 2026: the previous session is Wednesday the 25th.
    assert calendar.previous_session(at("2026-11-27")) == dt.date(2026, 11, 25)
    # Monday: Friday's session (an early close is still a session).
    assert calendar.previous_session(at("2026-11-30")) == dt.date(2026, 11, 27)
    # The day after MLK day 2026 (Jan 19): Friday Jan 16.
    assert calendar.previous_session(at("2026-01-20")) == dt.date(2026, 1, 16)


def test_scheduled_date_is_the_weekday_before_so_holidays_show_up():
    assert calendar.scheduled_trade_date(at("2026-11-27")) == dt.date(2026, 11, 26)
    assert not calendar.is_session(dt.date(2026, 11, 26))
    assert calendar.scheduled_trade_date(at("2026-11-30")) == dt.date(2026, 11, 27)


def test_sessions_before_and_between():
    assert calendar.sessions_before(dt.date(2026, 11, 30), 3) == [
        dt.date(2026, 11, 24), dt.date(2026, 11, 25), dt.date(2026, 11, 27)]
    assert calendar.sessions_before(dt.date(2026, 11, 30), 0) == []
    between = calendar.sessions_between(dt.date(2025, 1, 6), dt.date(2025, 1, 10))
    assert dt.date(2025, 1, 9) not in between  # the national day of mourning closure
    assert len(between) == 4
    assert calendar.is_early_close(dt.date(2026, 11, 27))


def test_user_mistakes_are_one_line():
    with pytest.raises(UserError, match="expected YYYY-MM-DD"):
        calendar.parse_date("11/24/2026")
    with pytest.raises(UserError, match="ends .* before it starts"):
        calendar.sessions_between(dt.date(2026, 2, 1), dt.date(2026, 1, 1))
    with pytest.raises(UserError, match="outside the NYSE calendar"):
        calendar.is_session(dt.date(1900, 1, 2))
