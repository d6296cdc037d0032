"""Write seeds/nyse_calendar_exceptions.csv: the NYSE calendar from 1995 through 2028, as the
exceptions to "every weekday, 09:30 to 16:00 New York".

The warehouse needs the trading calendar in SQL (no curated row on a non-trading day, calendar-aware
anomaly tests, sessions for the validation rules). It comes from exchange-calendars' XNYS, the
same calendar `tickerhouse.calendar` uses, and is committed as a seed so `dbt build` stays
offline. Only the exceptions are stored (about 400 rows: closures and early closes), because dbt
reloads every seed on every build and 8,500 sessions would cost seconds each time; the
`dim_trading_sessions` model expands them into one row per session. Before writing, the script
checks that the expansion gives exactly exchange-calendars' sessions, opens and closes.
Rerun after upgrading exchange-calendars or to extend the range:

    .venv/bin/python dbt_project/scripts/generate_nyse_calendar.py
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pandas as pd

FIRST_DAY = dt.date(1995, 1, 1)
LAST_DAY = dt.date(2028, 12, 31)
REGULAR_OPEN, REGULAR_CLOSE = dt.time(9, 30), dt.time(16, 0)
NEW_YORK = ZoneInfo("America/New_York")
OUTPUT = Path(__file__).resolve().parent.parent / "seeds" / "nyse_calendar_exceptions.csv"
COLUMNS = ("calendar_date", "kind", "open_time", "close_time", "description")


def holiday_names(calendar: xcals.ExchangeCalendar) -> dict[dt.date, str]:
    names = calendar.regular_holidays.holidays(
        start=pd.Timestamp(FIRST_DAY), end=pd.Timestamp(LAST_DAY), return_name=True)
    return {day.date(): str(name) for day, name in names.items()}


def exceptions(calendar: xcals.ExchangeCalendar) -> list[dict[str, str]]:
    names = holiday_names(calendar)
    schedule = {day.date(): (times["open"].tz_convert(NEW_YORK).time(),
                             times["close"].tz_convert(NEW_YORK).time())
                for day, times in calendar.schedule.iterrows()}
    rows = []
    day = FIRST_DAY
    while day <= LAST_DAY:
        if day.weekday() < 5:
            if day not in schedule:
                rows.append({"calendar_date": day.isoformat(), "kind": "closed", "open_time": "",
                             "close_time": "", "description": names.get(day, "Special closure")})
            elif schedule[day] != (REGULAR_OPEN, REGULAR_CLOSE):
                opens, closes = schedule[day]
                rows.append({"calendar_date": day.isoformat(), "kind": "irregular_hours",
                             "open_time": opens.strftime("%H:%M"),
                             "close_time": closes.strftime("%H:%M"),
                             "description": "Early close" if closes < REGULAR_CLOSE else "Irregular hours"})
        elif day in schedule:
            raise SystemExit(f"{day} is a weekend session: the exceptions format cannot express it")
        day += dt.timedelta(days=1)
    return rows


def expand(rows: list[dict[str, str]]) -> dict[dt.date, tuple[dt.time, dt.time]]:
    """What dim_trading_sessions computes from the exceptions, in Python, to check them."""
    by_day = {dt.date.fromisoformat(row["calendar_date"]): row for row in rows}
    sessions = {}
    day = FIRST_DAY
    while day <= LAST_DAY:
        row = by_day.get(day)
        if day.weekday() < 5 and (row is None or row["kind"] != "closed"):
            if row is None:
                sessions[day] = (REGULAR_OPEN, REGULAR_CLOSE)
            else:
                sessions[day] = (dt.time.fromisoformat(row["open_time"]),
                                 dt.time.fromisoformat(row["close_time"]))
        day += dt.timedelta(days=1)
    return sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args()
    calendar = xcals.get_calendar("XNYS", start=FIRST_DAY.isoformat(), end=LAST_DAY.isoformat())
    rows = exceptions(calendar)
    expected = {day.date(): (times["open"].tz_convert(NEW_YORK).time(),
                             times["close"].tz_convert(NEW_YORK).time())
                for day, times in calendar.schedule.iterrows()}
    if expand(rows) != expected:
        raise SystemExit("the exceptions do not reproduce exchange-calendars' schedule")
    with args.output.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{args.output}: {len(rows)} exceptions; {len(expected)} sessions "
          f"from {min(expected)} to {max(expected)}")


if __name__ == "__main__":
    main()
