"""Polygon.io as a dlt source: grouped daily bars (the whole US market for a date, one call)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

import dlt
import pyarrow as pa

from extract.http import VendorClient, VendorError
from extract.polygon.settings import GROUPED_DAILY_KEY, GROUPED_DAILY_PATH, GROUPED_DAILY_TABLE
from extract.raw_schema import raw_schema


@dlt.source(schema=raw_schema("polygon"))
def polygon(client: VendorClient, session_dates: Iterable[dt.date]):
    return grouped_daily(client, sorted(set(session_dates)))


@dlt.resource(
    name=GROUPED_DAILY_TABLE,
    primary_key=GROUPED_DAILY_KEY,
    write_disposition="merge",
    columns={"_session_date": {"data_type": "date", "nullable": False}},
)
def grouped_daily(client: VendorClient, session_dates: list[dt.date]) -> Iterator[list[dict]]:
    """One request per session date; rows verbatim plus the request they came from.

    Dates are chosen by the caller from the NYSE calendar (a holiday would cost a call for an
    empty answer), so this resource has no cursor of its own: the merge key makes a repeated
    date a no-op and a corrected one an update.
    """
    for session_date in session_dates:
        try:
            outcome = client.get(GROUPED_DAILY_PATH.format(date=session_date.isoformat()),
                                 params={"adjusted": "true"}, endpoint="grouped_daily")
        except VendorError as exc:
            if exc.kind == "not_yet_available":
                continue  # the day's bars are not final yet; the next run picks the date up
            raise
        payload = outcome.payload if isinstance(outcome.payload, dict) else {}
        rows = payload.get("results") or []
        if rows:
            yield as_arrow(rows, request_id=payload.get("request_id"), session_date=session_date)


def as_arrow(rows: list[dict], *, request_id: str | None, session_date: dt.date) -> pa.Table:
    """The payload's rows as an Arrow table, field names and values as sent, plus load metadata.

    Arrow lets dlt load a 6,000-row page without normalising it row by row in Python (about 4x
    faster on a backfill); the columns are still exactly the payload's keys.
    """
    table = pa.Table.from_pylist(rows)
    count = table.num_rows
    table = (table
             .append_column("_source", pa.array(["polygon"] * count, pa.string()))
             .append_column("_request_id", pa.array([request_id] * count, pa.string()))
             .append_column(pa.field("_session_date", pa.date32(), nullable=False),
                            pa.array([session_date] * count, pa.date32())))
    # The merge key is not nullable in the dlt schema; say so in the Arrow schema too.
    key_fields = [field.with_nullable(False) if field.name in GROUPED_DAILY_KEY else field
                  for field in table.schema]
    return table.cast(pa.schema(key_fields))
