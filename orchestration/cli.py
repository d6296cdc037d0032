"""The `tickerhouse` command line. Every verb has --help; user mistakes end in one line."""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli_airflow import app as airflow_app
from orchestration.cli_ml import ml_app
from orchestration.cli_ops import register as register_ops_verbs
from tickerhouse.errors import UserError

app = typer.Typer(
    name="tickerhouse",
    help="A dbt-centric ELT warehouse for US equities, fed by free-tier market-data APIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
emulator_app = typer.Typer(help="The bundled vendor emulator (Polygon, Finnhub, Alpha Vantage, "
                                "NewsAPI on one address).", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
sentiment_app = typer.Typer(help="News sentiment: score what raw holds.", no_args_is_help=True)
app.add_typer(sentiment_app, name="sentiment")
app.add_typer(ml_app, name="ml")
app.add_typer(airflow_app, name="airflow")

console = Console(soft_wrap=True)  # long lines stay whole when piped
errors = Console(stderr=True)


@app.callback()
def _main(ctx: typer.Context,
          verbose: Annotated[bool, typer.Option("--verbose", "-v",
                                                help="Log progress to stderr.")] = False) -> None:
    ctx.obj = {"verbose": verbose}
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # dlt logs request headers (API keys) at DEBUG: never let it.
    logging.getLogger("dlt").setLevel(max(logging.INFO, logging.getLogger().level))


@app.command()
def run(
    ctx: typer.Context,
    date: Annotated[str | None, typer.Option(
        "--date", help="Session to process, YYYY-MM-DD (default: the previous NYSE session).")] = None,
    source: Annotated[str, typer.Option(
        "--source", help="emulator, live, or auto (live when any vendor key is set).")] = "auto",
) -> None:
    """Run the daily pipeline end to end: calendar, extract, dbt build, predictions, cache."""
    from orchestration.pipeline import run_daily
    from tickerhouse.calendar import parse_date
    from tickerhouse.settings import load_settings

    settings = load_settings()
    summary = run_daily(settings, parse_date(date) if date else None, source,
                        quiet=not ctx.obj["verbose"])
    _print_summary(summary)
    if summary.status == "failed":
        raise typer.Exit(1)


@app.command()
def plan(
    date: Annotated[str | None, typer.Option(
        "--date", help="Session to plan, YYYY-MM-DD (default: the previous NYSE session).")] = None,
    source: Annotated[str, typer.Option(
        "--source", help="emulator, live, or auto (live when any vendor key is set).")] = "auto",
) -> None:
    """Print the day's budget plan per vendor (calls, what they buy, time at the limits);
    nothing is fetched."""
    from orchestration.pipeline import resolve_trade_date
    from orchestration.steps import plan_for_day, prepare_warehouse
    from tickerhouse import calendar
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    settings = load_settings()
    day = resolve_trade_date(calendar.parse_date(date) if date else None)
    if not calendar.is_session(day):
        console.print(f"{day} is not an NYSE session (weekend or holiday): nothing to plan")
        return
    database = resolve_database(settings)
    prepare_warehouse(database)
    _print_plan(plan_for_day(settings, database, day, source))


@app.command()
def extract(
    date: Annotated[str | None, typer.Option(
        "--date", help="Session to extract, YYYY-MM-DD (default: the previous NYSE session).")] = None,
    source: Annotated[str, typer.Option(
        "--source", help="emulator, live, or auto (live when any vendor key is set).")] = "auto",
    replay_dead_letters: Annotated[bool, typer.Option(
        "--replay-dead-letters", help="Instead: fetch every failed request kept as a dead "
                                      "letter again.")] = False,
) -> None:
    """Only the extract step: land the day's plan in raw (or replay the dead letters)."""
    from orchestration import steps
    from orchestration.ledger import format_calls
    from orchestration.pipeline import resolve_trade_date
    from tickerhouse import calendar
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    settings = load_settings()
    if replay_dead_letters:
        database = resolve_database(settings)
        steps.prepare_warehouse(database)
        replayed = steps.replay_dead_letters(settings, database, source)
        if not replayed.letters:
            console.print("no open dead letters")
            return
        for vendor, count in replayed.letters.items():
            failure = replayed.failed_vendors.get(vendor)
            console.print(f"{vendor}: {replayed.resolved.get(vendor, 0)} of {count} dead "
                          f"letters resolved ({replayed.calls.get(vendor, 0)} API calls)"
                          + (f"; failed: {failure}" if failure else ""))
        return
    day = resolve_trade_date(calendar.parse_date(date) if date else None)
    if not calendar.is_session(day):
        console.print(f"{day} is not an NYSE session (weekend or holiday): nothing to extract")
        return
    database = resolve_database(settings)
    steps.prepare_warehouse(database)
    result = steps.extract_day(settings, database, day, source)
    for table, rows in result.rows.items():
        console.print(f"{table}: {rows:,} rows")
    console.print("API calls: " + format_calls(result.calls, result.retries, result.planned_calls))
    for vendor, reason in result.failed_vendors.items():
        errors.print(f"{vendor} failed: {reason}", markup=False, highlight=False)
    for note in result.notes:
        console.print(f"• {note}", markup=False, highlight=False)
    if result.failed_vendors:
        raise typer.Exit(1)


@app.command()
def backfill(
    start: Annotated[str, typer.Option("--start", help="First session, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--end", help="Last session, YYYY-MM-DD.")],
    source: Annotated[str, typer.Option(
        "--source", help="emulator, live, or auto (live when any vendor key is set).")] = "auto",
) -> None:
    """Land the whole market's daily bars for every NYSE session in a range, within the
    vendor's limits; rerun to resume after an interruption."""
    from orchestration.steps import backfill as run_backfill
    from orchestration.steps import prepare_warehouse
    from tickerhouse.calendar import parse_date, sessions_between
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    first, last = parse_date(start), parse_date(end)
    sessions_between(first, last)  # a bad range is an error before anything is touched
    settings = load_settings()
    database = resolve_database(settings)
    prepare_warehouse(database)
    from orchestration.progress import progress_bar

    with progress_bar(f"backfill {first} to {last}: sessions") as advance:
        result = run_backfill(settings, database, first, last, source, progress=advance)
    fetched = result.sessions - result.already_landed
    console.print(f"{result.sessions} sessions from {first} to {last}: "
                  f"{result.already_landed} already landed, {fetched} fetched "
                  f"({sum(result.rows.values()):,} rows, "
                  f"{sum(result.calls.values())} API calls)")


def _print_plan(day_plan) -> None:
    table = Table(title=f"plan for {day_plan.trade_date} — universe "
                        f"{day_plan.universe:,} tickers" if day_plan.universe else
                        f"plan for {day_plan.trade_date} — universe known once its bars land",
                  title_justify="left")
    for column in ("vendor", "budget", "calls", "buys", "time at limits"):
        table.add_column(column, justify="right" if column == "calls" else "left")
    for vendor, vendor_plan in day_plan.vendors.items():
        rows = vendor_plan.endpoints or [None]
        for index, endpoint in enumerate(rows):
            first = index == 0
            table.add_row(
                vendor if first else "", vendor_plan.budget if first else "",
                str(endpoint.calls) if endpoint else "0",
                endpoint.buys if endpoint else vendor_plan.note or "nothing due",
                _duration(vendor_plan.expected_seconds) if first else "")
    console.print(table)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _print_summary(summary) -> None:
    from orchestration import ledger

    table = Table(title=f"tickerhouse run — {summary.trade_date} ({summary.status})",
                  show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("source", summary.source)
    table.add_row("warehouse", summary.database)
    if summary.status != "skipped":
        landed = ", ".join(f"{t}: {n:,}" for t, n in summary.rows_landed.items()) or "none (already landed)"
        table.add_row("rows landed", landed)
        table.add_row("API calls", ledger.format_calls(summary.api_calls, summary.api_retries,
                                                       summary.planned_calls))
        for vendor, reason in summary.failed_vendors.items():
            table.add_row(f"{vendor} failed", reason)
        table.add_row("dbt", f"{summary.models_built} models built, {summary.tests_passed} tests passed"
                      + (f", {len(summary.dbt_failures)} failed" if summary.dbt_failures else ""))
        table.add_row("predictions", f"{summary.predictions:,}")
        table.add_row("cache", "skipped" if summary.cached_tickers is None
                      else f"{summary.cached_tickers:,} tickers")
        table.add_row("took", f"{summary.seconds:.1f} s")
    console.print(table)
    for failure in summary.dbt_failures:
        errors.print(f"[red]dbt:[/red] {failure}")
    for note in summary.notes:
        console.print(f"• {note}")
    if summary.status == "done":
        console.print(
            "\nLook at it:\n"
            f"  psql \"{summary.database_url}\" -c \"select * from curated.fct_daily_bars "
            f"where trade_date = '{summary.trade_date}' order by volume desc limit 10\"\n"
            "  (cd dbt_project && ../.venv/bin/dbt docs serve)   # lineage and column docs",
            highlight=False,
        )


@sentiment_app.command("score")
def sentiment_score(
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD (UTC).")],
    end: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD (UTC), included.")],
) -> None:
    """Deduplicate, map to tickers and score the news published in a window; articles scored
    before by the same scorer are not scored again."""
    import datetime as dt

    from ml.sentiment.config import SentimentConfig
    from ml.sentiment.store import score_window
    from tickerhouse.calendar import parse_date
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    first, last = parse_date(start), parse_date(end)
    if last < first:
        raise UserError(f"--to {last} is before --from {first}")
    settings = load_settings()
    database = resolve_database(settings)
    window = [dt.datetime.combine(day, dt.time(), dt.UTC)
              for day in (first, last + dt.timedelta(days=1))]
    from ml.sentiment.scorers import load_scorer
    from orchestration.progress import CountingScorer, progress_bar

    with progress_bar("scoring news: articles") as advance:
        scorer = CountingScorer(load_scorer(SentimentConfig.from_settings(settings)), advance)
        result = score_window(database, *window, scorer=scorer)
    console.print(f"{result.records:,} news items, {result.articles:,} distinct articles "
                  f"({result.new_articles:,} new); {result.scored:,} scored by {result.scorer}")


@sentiment_app.command("run")
def sentiment_run(
    window_end: Annotated[str | None, typer.Option(
        "--window-end", help="End of the window, YYYY-MM-DDTHH:MM (UTC unless a zone is given); "
                             "moved back onto the window grid. Default: the last window ended.")] = None,
    source: Annotated[str, typer.Option(
        "--source", help="emulator, live, or auto (live when any vendor key is set).")] = "auto",
) -> None:
    """One window of the news sentiment pipeline: collect within each vendor's budget, land,
    deduplicate and score, aggregate per ticker and sector, raise shift and burst alerts."""
    import datetime as dt

    from orchestration.sentiment import run_sentiment_window
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    end = None
    if window_end is not None:
        try:
            end = dt.datetime.fromisoformat(window_end)
        except ValueError:
            raise UserError(f"bad --window-end {window_end!r}: expected YYYY-MM-DDTHH:MM, "
                            "for example 2026-11-24T16:00") from None
    settings = load_settings()
    result = run_sentiment_window(settings, resolve_database(settings), source, end)
    console.print(f"window {result.window_start:%Y-%m-%d %H:%M} to {result.window_end:%H:%M} UTC "
                  f"({result.source})")
    vendors = ", ".join(f"{v}: {result.calls.get(v, 0)} ({result.window_calls.get(v, 0)} of "
                        f"{result.budgets[v]} for the window)" for v in result.budgets)
    console.print(f"API calls: {vendors}")
    for vendor, reason in result.failed_vendors.items():
        errors.print(f"[red]{vendor} failed:[/red] {reason}")
    console.print(f"{result.news_items:,} news items, {result.articles:,} distinct articles "
                  f"({result.new_articles:,} new); {result.scored:,} scored by {result.scorer}; "
                  f"{result.ticker_windows:,} ticker and {result.sector_windows:,} sector windows "
                  f"updated")
    console.print(f"{len(result.alerts)} new alert(s)")
    for alert in result.alerts:
        console.print(f"• {alert.kind} {alert.ticker}: {alert.message}", highlight=False)
    for note in result.notes:
        console.print(f"• {note}", highlight=False)


@emulator_app.command("serve")
def emulator_serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 8765,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    seed: Annotated[int | None, typer.Option(help="Market seed (default: setting).")] = None,
    tickers: Annotated[int | None, typer.Option(help="Universe size (default: setting).")] = None,
    plan: Annotated[list[str] | None, typer.Option(
        help="Map a key to a plan, KEY=paid (repeatable); other keys are free.")] = None,
    fault_profile: Annotated[str | None, typer.Option(help="Fault profile to inject.")] = None,
    no_limits: Annotated[bool, typer.Option("--no-limits", help="Turn every rate limit off.")] = False,
) -> None:
    """Serve all four vendor APIs on one address until interrupted."""
    plans = {}
    for item in plan or []:
        key, sep, name = item.partition("=")
        if not sep or not key or not name:
            raise UserError(f"bad --plan {item!r}: expected KEY=PLAN, e.g. mykey=paid")
        plans[key] = name

    from emulator import EmulatorConfig, serve
    from tickerhouse.settings import load_settings

    settings = load_settings()
    config = EmulatorConfig(
        seed=settings.emulator_seed if seed is None else seed,
        n_tickers=settings.emulator_tickers if tickers is None else tickers,
        plans=plans, limits_enabled=not no_limits, fault_profile=fault_profile,
    )
    console.print(f"vendor emulator on http://{host}:{port} (Ctrl-C to stop)")
    serve(config, host=host, port=port)


register_ops_verbs(app)  # status, report, resolve-alerts: listed after the pipeline verbs


def main(argv: list[str] | None = None) -> int:
    """Entry point: usage errors are click's (exit 2); a `UserError` is one line (exit 2)."""
    try:
        app(args=argv, prog_name="tickerhouse")
    except UserError as exc:
        errors.print(f"error: {exc}", highlight=False, markup=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:
        errors.print("interrupted")
        return 130
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
