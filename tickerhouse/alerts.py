"""Operational alerts: one table (`ops.alerts`) and the log, written by every path.

An alert has a dedupe key: the same event raised twice (a rerun, a retried task) is one row,
whose `last_seen_at` and `occurrences` move on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tickerhouse.database import Database

log = logging.getLogger("tickerhouse.alerts")

DDL = """
create table if not exists ops.alerts (
    id            bigserial primary key,
    raised_at     timestamptz not null default now(),
    last_seen_at  timestamptz not null default now(),
    occurrences   integer not null default 1,
    severity      text not null check (severity in ('info', 'warning', 'error')),
    source        text not null,
    kind          text not null,
    subject       text not null,
    message       text not null,
    dedupe_key    text not null unique,
    resolved_at   timestamptz
);
"""


@dataclass(frozen=True)
class Alert:
    id: int
    raised_at: datetime
    severity: str
    source: str
    kind: str
    subject: str
    message: str
    occurrences: int


def ensure_table(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute("create schema if not exists ops")
        conn.execute(DDL)


def raise_alert(database: Database, *, source: str, kind: str, subject: str, message: str,
                severity: str = "error", dedupe_key: str | None = None) -> None:
    """Record (or re-see) an alert and log it. `dedupe_key` defaults to source/kind/subject."""
    key = dedupe_key or f"{source}:{kind}:{subject}"
    getattr(log, "error" if severity == "error" else severity)("%s %s %s: %s", source, kind,
                                                               subject, message)
    with database.connect(autocommit=True) as conn:
        conn.execute(
            """
            insert into ops.alerts (severity, source, kind, subject, message, dedupe_key)
            values (%s, %s, %s, %s, %s, %s)
            on conflict (dedupe_key) do update
               set last_seen_at = now(), occurrences = ops.alerts.occurrences + 1,
                   message = excluded.message, resolved_at = null
            """,
            (severity, source, kind, subject, message[:2000], key))


def open_alerts(database: Database) -> list[Alert]:
    with database.connect() as conn:
        if conn.execute("select to_regclass('ops.alerts')").fetchone()[0] is None:
            return []
        rows = conn.execute(
            "select id, raised_at, severity, source, kind, subject, message, occurrences "
            "from ops.alerts where resolved_at is null order by raised_at").fetchall()
    return [Alert(*row) for row in rows]
