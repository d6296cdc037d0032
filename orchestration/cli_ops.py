"""The operator verbs: `tickerhouse status` (a health check), `tickerhouse report` (an HTML
page), `tickerhouse resolve-alerts`. Registered on the main app by orchestration/cli.py."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tickerhouse.errors import UserError

console = Console(soft_wrap=True)

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "info": "dim"}
MARKS = {"ok": "ok", "warn": "warn", "fail": "FAIL", "info": "–"}


def _mark(state: str) -> str:
    return f"[{STYLES[state]}]{MARKS[state]}[/]"


def status(
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many recent runs to list.")] = 5,
) -> None:
    """Health check: recent runs, freshness per source and curated table against its SLA,
    API quota used today, open alerts, dbt test results, quarantine. Exits 1 when anything is
    stale or failing (the reasons are listed last), 0 otherwise."""
    from orchestration.status import collect
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    settings = load_settings()
    result = collect(resolve_database(settings), settings, run_limit=runs)
    _print_status(result)
    if not result.healthy:
        raise typer.Exit(1)


def report(
    out: Annotated[Path, typer.Option("--out", help="Where to write the HTML page.",
                                      dir_okay=False)] = Path("tickerhouse-report.html"),
) -> None:
    """Write a self-contained HTML page (no network needed to view it): freshness and quota
    gauges, rows per day by source, dbt test history, quarantine, sector returns heatmap,
    sentiment over time, predictions against realised returns."""
    from orchestration.report import build_report
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    if out.parent and not out.parent.exists():
        raise UserError(f"cannot write {out}: folder {out.parent} does not exist")
    settings = load_settings()
    page = build_report(resolve_database(settings), settings)
    try:
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot write {out}: {exc.strerror}") from None
    console.print(f"report written to {out} ({len(page) / 1024:.0f} KiB); open it in a browser")


def resolve_alerts(
    ids: Annotated[list[int] | None, typer.Argument(help="Alert ids (see `tickerhouse status`).")]
    = None,
    all_: Annotated[bool, typer.Option("--all", help="Resolve every open alert.")] = False,
) -> None:
    """Mark alerts resolved once their cause is fixed (a recurrence opens them again)."""
    from orchestration.status import resolve_alerts as resolve
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    if not ids and not all_:
        raise UserError("name the alert ids to resolve, or pass --all")
    if ids and all_:
        raise UserError("pass alert ids or --all, not both")
    count = resolve(resolve_database(load_settings()), None if all_ else list(ids or []))
    console.print(f"{count} alert(s) resolved")


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(report)
    app.command("resolve-alerts")(resolve_alerts)


def _print_status(result) -> None:
    from orchestration.ledger import format_calls

    console.print(f"[bold]tickerhouse status[/] — {result.database}, checked "
                  f"{result.checked_at:%Y-%m-%d %H:%M %Z}; due session {result.due_session}",
                  highlight=False)

    runs = Table(title="recent runs", title_justify="left")
    for column in ("run", "date", "trigger", "status", "started", "took", "rows", "API calls",
                   "dbt", "model"):
        runs.add_column(column, overflow="fold")
    for run in result.runs:
        summary = run["summary"]
        took = (f"{(run['finished_at'] - run['started_at']).total_seconds():.0f} s"
                if run["finished_at"] else "")
        dbt = summary.get("dbt") or {}
        calls = format_calls(summary["calls"], summary["retries"], summary["planned_calls"],
                             compact=True)
        state = {"done": "ok", "skipped": "info", "failed": "fail"}.get(run["status"], "warn")
        runs.add_row(escape(run["run_id"]), str(run["trade_date"] or ""), run["trigger"],
                     f"[{STYLES[state]}]{run['status']}[/]", f"{run['started_at']:%m-%d %H:%M}",
                     took, f"{sum(summary['rows'].values()):,}", calls,
                     (f"{dbt.get('models')} models, {dbt.get('tests')} tests"
                      + (f", {len(dbt['failures'])} failed" if dbt.get("failures") else ""))
                     if dbt else "", summary.get("model", ""))
    if not result.runs:
        runs.add_row("none yet", "", "", _mark("fail"), "", "", "", "", "", "")
    console.print(runs)

    fresh = Table(title="freshness against SLA", title_justify="left")
    for column in ("", "layer", "table", "latest", "SLA"):
        fresh.add_column(column, overflow="fold")
    for row in result.freshness:
        fresh.add_row(_mark(row.state), row.layer, row.relation, escape(row.detail), row.sla)
    console.print(fresh)

    quota = Table(title="API quota today", title_justify="left")
    for column in ("", "vendor", "key", "day", "calls", "daily limit", "per-run budget"):
        quota.add_column(column, justify="right" if column == "calls" else "left", overflow="fold")
    for row in result.quota:
        quota.add_row(_mark(row.state), row.vendor, row.key, str(row.day), str(row.calls),
                      str(row.day_limit) if row.day_limit is not None else "none",
                      str(row.per_run) if row.per_run is not None else "—")
    if not result.quota:
        quota.add_row(_mark("info"), "no API calls counted today", "", "", "", "", "")
    console.print(quota)

    if result.alerts:
        alerts = Table(title="open alerts", title_justify="left")
        for column in ("", "id", "last seen", "source", "kind", "subject", "message"):
            alerts.add_column(column, overflow="fold")
        for alert in result.alerts:
            alerts.add_row(_mark(alert["state"]), str(alert["id"]),
                           f"{alert['last_seen_at']:%m-%d %H:%M}", escape(alert["source"]),
                           escape(alert["kind"]), escape(alert["subject"]),
                           escape(alert["message"][:120]))
        console.print(alerts)
    else:
        console.print("open alerts: none")

    if result.dbt:
        dbt = result.dbt
        console.print(f"last dbt {dbt['command']} ({dbt['run_started_at']:%Y-%m-%d %H:%M}): "
                      f"{dbt['models_ok']} models ok, {dbt['models_failed']} failed; "
                      f"{dbt['tests_passed']} tests passed, {dbt['tests_warned']} warned, "
                      f"{dbt['tests_failed']} failed", highlight=False)
        for test in result.failed_tests:
            console.print(f"  {_mark('fail' if test['status'] != 'warn' else 'warn')} "
                          + escape(f"{test['test_name']} on {test['tested_node']}"
                                   f"{'.' + test['column_name'] if test['column_name'] else ''}: "
                                   f"{test['failures']} row(s)"), highlight=False)
    else:
        console.print("dbt: no build recorded yet")
    if result.quarantine:
        console.print("quarantined bars: " + ", ".join(
            f"{rule} {total:,} ({latest:,} on {result.due_session})"
            for rule, total, latest in result.quarantine), highlight=False)
    else:
        console.print("quarantined bars: none")
    if result.served_by:
        console.print("latest predictions served by: " + ", ".join(
            f"{arm} {count:,}" for arm, count in result.served_by.items()), highlight=False)
    if result.dead_letters:
        console.print("open dead letters: " + ", ".join(
            f"{vendor} {count}" for vendor, count in result.dead_letters.items()))

    if result.healthy:
        console.print("\n[green]healthy[/]" + (f" ({len(result.warnings)} warning(s))"
                                               if result.warnings else ""))
    else:
        console.print(f"\n[bold red]not healthy[/]: {len(result.problems)} problem(s)")
    for finding in result.problems + result.warnings:
        console.print(f"  {_mark(finding.state)} {finding.area}: {escape(finding.message)}",
                      highlight=False, markup=True)
