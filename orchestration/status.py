"""What `tickerhouse status` reports: is the warehouse healthy right now, and if not, why.

Read-only: every query checks that its table exists first, so a new, empty database answers
too (with the reasons it is not healthy yet). Sources are judged against the freshness SLAs
dbt declares for them (`dbt_project/models/staging/*/_*__sources.yml`, one place for both);
curated tables in trading sessions: session D is due by `DUE_AT` New York time on the weekday
after it (the daily run starts at 06:00).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from psycopg import sql

from extract.quota import FREE_TIER_LIMITS, key_fingerprint
from orchestration import ledger
from orchestration.vendors import EMULATOR_FREE_KEY, EMULATOR_PAID_KEY
from tickerhouse import calendar
from tickerhouse.database import Database
from tickerhouse.settings import PROJECT_ROOT, VENDORS, Settings

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"

DUE_AT = dt.time(8, 0)
# A run still "running" after this long has died without recording it (a killed process).
STUCK_AFTER = dt.timedelta(hours=6)
SOURCES_DIR = PROJECT_ROOT / "dbt_project" / "models" / "staging"


@dataclass(frozen=True)
class CuratedSla:
    relation: str
    column: str  # the session (date) column; the table is as fresh as its latest value
    lag: int = 0  # sessions it may trail the due session by
    required: bool = False  # missing = failing (others are just "not built yet")


CURATED_SLAS = (
    CuratedSla("curated.fct_daily_bars", "trade_date", required=True),
    CuratedSla("curated.fct_daily_indicators", "trade_date"),
    CuratedSla("curated.agg_sector_daily", "trade_date"),
    CuratedSla("curated.dim_ticker", "last_trade_date"),
    CuratedSla("curated.agg_weekly_bars", "last_trade_date"),
    CuratedSla("curated.agg_monthly_bars", "last_trade_date"),
    # News is scored in its own job and is sparse on quiet days: a few sessions of slack.
    CuratedSla("curated.agg_ticker_daily_sentiment", "session_date", lag=3),
    CuratedSla("curated.agg_sector_daily_sentiment", "session_date", lag=3),
    CuratedSla("ml.predictions", "as_of_date"),
)


@dataclass(frozen=True)
class SourceSla:
    vendor: str
    relation: str  # raw.<table>
    loaded_at: str  # dbt's loaded_at_field: a column or an SQL expression over the table
    warn_after: dt.timedelta | None
    error_after: dt.timedelta | None


@dataclass
class Freshness:
    layer: str  # source | curated
    relation: str
    state: str
    latest: Any  # datetime (sources) or date (curated); None when empty or missing
    detail: str
    sla: str
    fraction: float | None = None  # age over the SLA's limit (1 = at the limit), for gauges


@dataclass
class QuotaRow:
    vendor: str
    key: str  # a fingerprint or a label, never the key
    day: dt.date
    calls: int
    day_limit: int | None
    per_run: int | None
    throttled_until: dt.datetime | None
    state: str = OK


@dataclass
class Finding:
    state: str  # fail or warn
    area: str
    message: str


@dataclass
class Status:
    checked_at: dt.datetime
    database: str
    due_session: dt.date
    runs: list[dict[str, Any]] = field(default_factory=list)
    freshness: list[Freshness] = field(default_factory=list)
    quota: list[QuotaRow] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    dbt: dict[str, Any] | None = None
    failed_tests: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[tuple[str, int, int]] = field(default_factory=list)  # rule, all, latest
    dead_letters: dict[str, int] = field(default_factory=dict)
    served_by: dict[str, int] = field(default_factory=dict)  # latest predictions, per model arm
    findings: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.state == FAIL]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.state == WARN]

    @property
    def healthy(self) -> bool:
        return not self.problems

    def flag(self, state: str, area: str, message: str) -> None:
        if state in (FAIL, WARN):
            self.findings.append(Finding(state, area, message))


def due_session(now: dt.datetime) -> dt.date:
    """The latest session whose data should be in curated by `now`."""
    now = now.astimezone(calendar.NEW_YORK)
    session = calendar.previous_session(now)
    while now < _due(session):
        session = calendar.sessions_before(session, 1)[0]
    return session


def _due(session: dt.date) -> dt.datetime:
    day = session + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return dt.datetime.combine(day, DUE_AT, calendar.NEW_YORK)


def sessions_behind(latest: dt.date, due: dt.date) -> int:
    if latest >= due:
        return 0
    return len(calendar.sessions_between(latest, due)) - 1


def source_slas(directory: Path = SOURCES_DIR) -> list[SourceSla]:
    """Raw tables with a freshness SLA, as dbt declares them (a table's own `freshness:`
    overrides its source's; `freshness: null` turns the check off)."""
    slas = []
    for path in sorted(directory.rglob("_*__sources.yml")):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources") or []:
            if source.get("schema") != "raw":
                continue
            for table in source.get("tables") or []:
                freshness = table["freshness"] if "freshness" in table else source.get("freshness")
                loaded_at = table.get("loaded_at_field", source.get("loaded_at_field"))
                if not freshness or not loaded_at:
                    continue
                slas.append(SourceSla(source["name"], f"raw.{table['name']}", loaded_at,
                                      _period(freshness.get("warn_after")),
                                      _period(freshness.get("error_after"))))
    return slas


def _period(spec: dict | None) -> dt.timedelta | None:
    if not spec or spec.get("count") is None:
        return None
    unit = {"minute": "minutes", "hour": "hours", "day": "days"}[spec["period"]]
    return dt.timedelta(**{unit: spec["count"]})


def _exists(conn, relation: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (relation,)).fetchone()[0]


def _ident(relation: str) -> sql.Identifier:
    return sql.Identifier(*relation.split("."))


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(0, round(hours * 60))} min"
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _span(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours / 24:g} d" if hours % 24 == 0 else f"{hours:g} h"


def collect(database: Database, settings: Settings, now: dt.datetime | None = None,
            *, run_limit: int = 5) -> Status:
    now = now or dt.datetime.now(dt.UTC)
    status = Status(checked_at=now, database=database.describe(), due_session=due_session(now))
    status.runs = ledger.recent_runs(database, run_limit)
    with database.connect() as conn:
        _check_runs(status)
        _check_sources(conn, status, now)
        _check_curated(conn, status)
        _check_quota(conn, status, settings, now)
        _check_alerts(conn, status)
        _check_dbt(conn, status)
        _check_quarantine(conn, status)
        _check_dead_letters(conn, status)
        _check_models(conn, status)
    return status


def _check_runs(status: Status) -> None:
    if not status.runs:
        status.flag(FAIL, "runs", "no pipeline run recorded yet: run `tickerhouse run`")
        return
    latest_per_pipeline: dict[str, dict[str, Any]] = {}
    for run in status.runs:  # newest first
        latest_per_pipeline.setdefault(run["pipeline"], run)
    for run in latest_per_pipeline.values():
        if run["status"] == "failed":
            failed = [s for s in run["steps"] if s["status"] == "failed"]
            where = f" at step {failed[0]['step']}" if failed else ""
            error = (failed[0].get("error") or "") if failed else ""
            dbt_failures = (failed[0]["details"].get("failures") or []) if failed else []
            why = error or "; ".join(dbt_failures[:3])
            status.flag(FAIL, "runs", f"last run {run['run_id']} ({run['trade_date']}) failed"
                                      f"{where}" + (f": {why}" if why else ""))
        elif run["status"] == "running" and status.checked_at - run["started_at"] > STUCK_AFTER:
            status.flag(FAIL, "runs", f"run {run['run_id']} has been running since "
                                      f"{run['started_at']:%Y-%m-%d %H:%M %Z}: it died unrecorded "
                                      "(rerun `tickerhouse run --date "
                                      f"{run['trade_date']}`)")


def _check_sources(conn, status: Status, now: dt.datetime) -> None:
    for sla in source_slas():
        limit = sla.error_after or sla.warn_after
        sla_text = " · ".join(f"{label} {_span(value)}" for label, value in
                              (("warn", sla.warn_after), ("error", sla.error_after)) if value)
        if not _exists(conn, sla.relation):
            status.freshness.append(Freshness("source", sla.relation, INFO, None,
                                              "not landed yet", sla_text))
            continue
        table = _ident(sla.relation)
        if "_dlt_load_id" in sla.loaded_at:
            # dlt load ids are epoch seconds as text of one width: the newest is the text max,
            # which the load-id index answers without reading the table.
            query = sql.SQL("select {expr} from (select max(_dlt_load_id) as _dlt_load_id "
                            "from {table}) newest").format(expr=sql.SQL(sla.loaded_at), table=table)
        else:
            query = sql.SQL("select max({expr}) from {table}").format(
                expr=sql.SQL(sla.loaded_at), table=table)
        latest = conn.execute(query).fetchone()[0]
        if latest is None:
            status.freshness.append(Freshness("source", sla.relation, INFO, None, "empty",
                                              sla_text))
            continue
        age = now - latest
        state = OK
        if sla.error_after and age > sla.error_after:
            state = FAIL
        elif sla.warn_after and age > sla.warn_after:
            state = WARN
        detail = f"loaded {_age(age)} ago"
        status.freshness.append(Freshness("source", sla.relation, state, latest, detail, sla_text,
                                          age / limit if limit else None))
        status.flag(state, "freshness", f"{sla.relation} last loaded {_age(age)} ago "
                                        f"({sla_text})")


def _check_curated(conn, status: Status) -> None:
    due = status.due_session
    for sla in CURATED_SLAS:
        sla_text = (f"{due} by {DUE_AT:%H:%M} ET"
                    + (f" · {sla.lag} sessions slack" if sla.lag else ""))
        if not _exists(conn, sla.relation):
            state = FAIL if sla.required else INFO
            status.freshness.append(Freshness("curated", sla.relation, state, None,
                                              "not built yet", sla_text))
            status.flag(state, "freshness", f"{sla.relation} is not built yet: run "
                                            "`tickerhouse run`")
            continue
        column, table = sql.Identifier(sla.column), _ident(sla.relation)
        # Bounded first, so the tables' time indexes skip old history; unbounded only when
        # nothing is that recent.
        latest = conn.execute(sql.SQL("select max({c}) from {t} where {c} >= %s").format(
            c=column, t=table), (due - dt.timedelta(days=45),)).fetchone()[0]
        if latest is None:
            latest = conn.execute(sql.SQL("select max({c}) from {t}").format(
                c=column, t=table)).fetchone()[0]
        if latest is None:
            state = FAIL if sla.required else INFO
            status.freshness.append(Freshness("curated", sla.relation, state, None, "empty",
                                              sla_text))
            status.flag(state, "freshness", f"{sla.relation} is empty: run `tickerhouse run`")
            continue
        behind = sessions_behind(latest, due)
        state = OK if behind <= sla.lag else FAIL
        detail = (f"latest {latest}" + (f", {behind} session(s) behind" if behind else ""))
        status.freshness.append(Freshness("curated", sla.relation, state, latest, detail,
                                          sla_text, min(1.5, behind / max(sla.lag, 0.5))))
        status.flag(state, "freshness", f"{sla.relation} ends at {latest}, {behind} session(s) "
                                        f"behind {due} (allowed {sla.lag}): run "
                                        f"`tickerhouse run --date {due}`")


def key_labels(settings: Settings) -> dict[str, str]:
    """Fingerprint -> a readable name for the keys we know (never the key itself)."""
    labels = {key_fingerprint(EMULATOR_FREE_KEY): "emulator free",
              key_fingerprint(EMULATOR_PAID_KEY): "emulator paid"}
    for vendor in VENDORS:
        for index, key in enumerate(settings.api_keys(vendor), 1):
            labels[key_fingerprint(key)] = f"key {index} ({key_fingerprint(key)})"
    return labels


def per_run_budgets(settings: Settings) -> dict[str, int | None]:
    return {"polygon": None, "finnhub": settings.finnhub_calls_per_run,
            "alphavantage": settings.alphavantage_calls_per_run,
            "newsapi": settings.newsapi_calls_per_run}


def _check_quota(conn, status: Status, settings: Settings, now: dt.datetime) -> None:
    if not _exists(conn, "ops.api_quota_daily"):
        return
    labels, budgets = key_labels(settings), per_run_budgets(settings)
    throttles: dict[tuple[str, str], dt.datetime] = {}
    if _exists(conn, "ops.api_key_state"):
        throttles = {(vendor, key_id): until for vendor, key_id, until in conn.execute(
            "select vendor, key_id, throttled_until from ops.api_key_state "
            "where throttled_until > %s", (now,))}
    for vendor in VENDORS:
        day = FREE_TIER_LIMITS[vendor].day_of(now.timestamp())
        rows = conn.execute("select key_id, calls, day_limit from ops.api_quota_daily "
                            "where vendor = %s and day = %s order by key_id",
                            (vendor, day)).fetchall()
        for key_id, calls, day_limit in rows:
            row = QuotaRow(vendor, labels.get(key_id, key_id), day, calls, day_limit,
                           budgets.get(vendor), throttles.get((vendor, key_id)))
            if (day_limit is not None and calls >= day_limit) or row.throttled_until:
                row.state = WARN
                why = (f"throttled until {row.throttled_until:%H:%M %Z}" if row.throttled_until
                       else f"all {day_limit} calls of {day} spent")
                status.flag(WARN, "quota", f"{vendor} {row.key}: {why}")
            status.quota.append(row)


def _check_alerts(conn, status: Status) -> None:
    if not _exists(conn, "ops.alerts"):
        return
    # An open alert is current when seen during or after the latest successful run; older
    # ones did not stop that run from succeeding: listed, but they do not fail the check.
    done = [run["started_at"] for run in status.runs if run["status"] == "done"]
    since = max(done) if done else None
    for row in conn.execute(
            "select id, severity, source, kind, subject, message, occurrences, raised_at, "
            "last_seen_at from ops.alerts where resolved_at is null order by last_seen_at desc"):
        alert = dict(zip(("id", "severity", "source", "kind", "subject", "message",
                          "occurrences", "raised_at", "last_seen_at"), row, strict=True))
        current = since is None or alert["last_seen_at"] >= since
        alert["state"] = (FAIL if alert["severity"] == "error" and current
                          else WARN if alert["severity"] != "info" else INFO)
        status.alerts.append(alert)
        status.flag(alert["state"], "alerts",
                    f"alert #{alert['id']} {alert['source']} {alert['kind']} {alert['subject']}: "
                    f"{alert['message'][:160]}")


def _check_dbt(conn, status: Status) -> None:
    if not _exists(conn, "ops.dbt_invocations"):
        return
    row = conn.execute(
        "select invocation_id, command, run_started_at, models_ok, models_failed, tests_passed, "
        "tests_warned, tests_failed, tests_skipped from ops.dbt_invocations "
        "order by run_started_at desc limit 1").fetchone()
    if row is None:
        return
    status.dbt = dict(zip(("invocation_id", "command", "run_started_at", "models_ok",
                           "models_failed", "tests_passed", "tests_warned", "tests_failed",
                           "tests_skipped"), row, strict=True))
    if _exists(conn, "ops.dbt_test_results"):
        status.failed_tests = [
            dict(zip(("test_name", "tested_node", "column_name", "status", "failures", "message"),
                     r, strict=True))
            for r in conn.execute(
                "select test_name, tested_node, column_name, status, failures, message "
                "from ops.dbt_test_results where invocation_id = %s "
                "and status not in ('pass', 'skipped') order by status, test_name",
                (status.dbt["invocation_id"],))]
    if status.dbt["tests_failed"] or status.dbt["models_failed"]:
        names = ", ".join(f"{t['test_name']}({t['tested_node'] or ''})" for t in
                          status.failed_tests if t["status"] not in ("warn",))[:300]
        status.flag(FAIL, "quality", f"last dbt {status.dbt['command']}: "
                                     f"{status.dbt['tests_failed']} test(s) failed, "
                                     f"{status.dbt['models_failed']} model(s) failed or skipped"
                                     + (f": {names}" if names else ""))


def _check_quarantine(conn, status: Status) -> None:
    if not _exists(conn, "quarantine.quarantined_daily_bars"):
        return
    status.quarantine = [tuple(r) for r in conn.execute(
        "select primary_rule, count(*), count(*) filter (where trade_date = %s) "
        "from quarantine.quarantined_daily_bars group by primary_rule order by 2 desc",
        (status.due_session,))]


def _check_dead_letters(conn, status: Status) -> None:
    if not _exists(conn, "ops.dead_letters"):
        return
    status.dead_letters = dict(conn.execute(
        "select vendor, count(*) from ops.dead_letters where resolved_at is null "
        "group by vendor order by vendor").fetchall())
    for vendor, count in status.dead_letters.items():
        status.flag(WARN, "dead letters", f"{vendor}: {count} failed request(s) kept: "
                                          "`tickerhouse extract --replay-dead-letters`")


# What serves predictions when all is well; anything else is the fallback chain at work.
SERVING_ARMS = ("champion", "challenger")


def _check_models(conn, status: Status) -> None:
    has_column = conn.execute(
        "select exists (select from information_schema.columns where table_schema = 'ml' "
        "and table_name = 'predictions' and column_name = 'served_by')").fetchone()[0]
    if not has_column:
        return
    latest = conn.execute("select max(as_of_date) from ml.predictions").fetchone()[0]
    if latest is None:
        return
    # Rows without an arm come from the bootstrap baseline (ml/baseline.py), which predicts
    # until `ml train` registers a champion: no fallback, a model not trained yet.
    counts = conn.execute(
        "select served_by, model_name, count(*) from ml.predictions where as_of_date = %s "
        "group by 1, 2 order by 3 desc", (latest,)).fetchall()
    status.served_by = {}
    for served_by, model_name, n in counts:
        arm = served_by or model_name
        status.served_by[arm] = status.served_by.get(arm, 0) + n
    bootstrap = sum(n for served_by, _, n in counts if served_by is None)
    if bootstrap:
        status.flag(WARN, "models", f"predictions for {latest} come from the bootstrap baseline "
                                    f"({bootstrap:,}): no champion is registered yet, train one "
                                    f"with `tickerhouse ml train --date {latest}`")
    fallback: dict[str, int] = {}
    for served_by, _, n in counts:
        if served_by is not None and served_by not in SERVING_ARMS:
            fallback[served_by] = fallback.get(served_by, 0) + n
    if fallback:
        status.flag(WARN, "models", f"predictions for {latest} partly served by the fallback "
                                    "chain (" + ", ".join(f"{arm} {n:,}" for arm, n in
                                                          fallback.items())
                    + "): see `tickerhouse ml report`, retrain with `tickerhouse ml train`")


def resolve_alerts(database: Database, ids: list[int] | None) -> int:
    """Mark open alerts resolved (all of them when `ids` is None); returns how many."""
    with database.connect(autocommit=True) as conn:
        if not _exists(conn, "ops.alerts"):
            return 0
        cursor = conn.execute(
            "update ops.alerts set resolved_at = now() where resolved_at is null "
            "and (%(ids)s::bigint[] is null or id = any(%(ids)s::bigint[]))", {"ids": ids})
        return cursor.rowcount
