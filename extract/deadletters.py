"""Requests that failed, kept in Postgres with the reason, so they can be replayed.

A source that cannot fetch one item (a ticker's quote, a date's bars) records a dead letter and
goes on with the rest; `tickerhouse extract --replay-dead-letters` fetches the open ones again
through the same resources. Items are what the resource needs to make the request again
(`{"symbol": "AAPL"}`, `{"date": "2026-11-20"}`), never a URL, so no key can be stored.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from tickerhouse.database import Database

DDL = """
create table if not exists ops.dead_letters (
    id              bigserial primary key,
    vendor          text not null,
    endpoint        text not null,
    item            jsonb not null,
    kind            text not null,
    reason          text not null,
    attempts        integer not null default 1,
    first_failed_at timestamptz not null default now(),
    last_failed_at  timestamptz not null default now(),
    resolved_at     timestamptz
);
create unique index if not exists dead_letters_open_item
    on ops.dead_letters (vendor, endpoint, item) where resolved_at is null;
"""


@dataclass(frozen=True)
class DeadLetter:
    id: int
    vendor: str
    endpoint: str
    item: dict[str, Any]
    kind: str
    reason: str
    attempts: int
    last_failed_at: dt.datetime


class DeadLetters:
    def __init__(self, database: Database):
        self.database = database
        with database.connect(autocommit=True) as conn:
            conn.execute("create schema if not exists ops")
            conn.execute(DDL)

    def record(self, vendor: str, endpoint: str, item: Mapping[str, Any], kind: str,
               reason: str) -> None:
        """Keep one open letter per (vendor, endpoint, item); a repeat failure counts up."""
        with self.database.connect(autocommit=True) as conn:
            conn.execute(
                """
                insert into ops.dead_letters (vendor, endpoint, item, kind, reason)
                values (%s, %s, %s, %s, %s)
                on conflict (vendor, endpoint, item) where resolved_at is null
                do update set attempts = ops.dead_letters.attempts + 1,
                              kind = excluded.kind, reason = excluded.reason,
                              last_failed_at = now()
                """,
                (vendor, endpoint, Jsonb(_canonical(item)), kind, reason[:500]),
            )

    def open(self, vendor: str | None = None, endpoint: str | None = None) -> list[DeadLetter]:
        with self.database.connect() as conn:
            rows = conn.execute(
                "select id, vendor, endpoint, item, kind, reason, attempts, last_failed_at "
                "from ops.dead_letters where resolved_at is null "
                "and (%(vendor)s::text is null or vendor = %(vendor)s) "
                "and (%(endpoint)s::text is null or endpoint = %(endpoint)s) order by id",
                {"vendor": vendor, "endpoint": endpoint}).fetchall()
        return [DeadLetter(*row) for row in rows]

    def resolve(self, vendor: str, endpoint: str, item: Mapping[str, Any]) -> bool:
        """Close the open letter for this item, if any (it has now been fetched)."""
        with self.database.connect(autocommit=True) as conn:
            cursor = conn.execute(
                "update ops.dead_letters set resolved_at = now() where vendor = %s "
                "and endpoint = %s and item = %s and resolved_at is null",
                (vendor, endpoint, Jsonb(_canonical(item))))
            return cursor.rowcount > 0


def _canonical(item: Mapping[str, Any]) -> dict[str, Any]:
    # jsonb equality ignores key order; values must be JSON (dates as ISO strings).
    return json.loads(json.dumps(dict(item), default=str, sort_keys=True))
