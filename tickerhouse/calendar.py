"""The NYSE trading calendar (exchange-calendars' XNYS: holidays, early closes, one-off closures)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

from tickerhouse.errors import UserError

NEW_YORK = ZoneInfo("America/New_York")
# exchange-calendars only reaches 20 years back by default; the emulated market and real
# backfills can start earlier, so the calendar is opened over a fixed, generous window.
_CALENDAR_START = "1995-01-03"


@lru_cache(maxsize=1)
def nyse() -> xcals.ExchangeCalendar:
    end = (pd.Timestamp.today() + pd.DateOffset(years=2)).strftime("%Y-%m-%d")
    return xcals.get_calendar("XNYS", start=_CALENDAR_START, end=end)


def _check_range(day: dt.date) -> None:
    calendar = nyse()
    if not (calendar.first_session.date() <= day <= calendar.last_session.date()):
        raise UserError(
            f"{day} is outside the NYSE calendar this project knows "
            f"({calendar.first_session.date()} to {calendar.last_session.date()})"
        )


def is_session(day: dt.date) -> bool:
    _check_range(day)
    return bool(nyse().is_session(pd.Timestamp(day)))


def is_early_close(day: dt.date) -> bool:
    return is_session(day) and pd.Timestamp(day) in nyse().early_closes


def previous_session(now: dt.datetime | None = None) -> dt.date:
    """The last session strictly before today in New York: the day a 06:00 ET run processes."""
    today = (now or dt.datetime.now(NEW_YORK)).astimezone(NEW_YORK).date()
    return _last_session_before(today)


def _last_session_before(day: dt.date) -> dt.date:
    _check_range(day)
    stamp = pd.Timestamp(day - dt.timedelta(days=1))
    return nyse().date_to_session(stamp, direction="previous").date()


def scheduled_trade_date(run_at: dt.datetime) -> dt.date:
    """The day a weekday 06:00 ET run is for: the weekday before it (Friday for a Monday run).
    It may be a holiday, in which case the run has nothing to do."""
    day = run_at.astimezone(NEW_YORK).date() - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def sessions_before(day: dt.date, count: int) -> list[dt.date]:
    """The `count` sessions strictly before `day`, oldest first."""
    if count <= 0:
        return []
    calendar = nyse()
    end_index = calendar.sessions.get_loc(pd.Timestamp(_last_session_before(day)))
    start_index = max(0, end_index - count + 1)
    return [s.date() for s in calendar.sessions[start_index : end_index + 1]]


def sessions_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Sessions from `start` to `end`, both included."""
    if end < start:
        raise UserError(f"the range ends ({end}) before it starts ({start})")
    _check_range(start)
    _check_range(end)
    return [s.date() for s in nyse().sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))]


def parse_date(text: str) -> dt.date:
    """A user-given YYYY-MM-DD date, or a one-line error."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"bad date {text!r}: expected YYYY-MM-DD, for example 2026-11-24") from None
