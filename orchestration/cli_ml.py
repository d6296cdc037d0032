"""`tickerhouse ml ...`: train, predict, report, ab."""

from __future__ import annotations

import math
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tickerhouse.errors import UserError

ml_app = typer.Typer(help="The ML sidecar: train and backtest, predict a day, report, A/B.",
                     no_args_is_help=True)
console = Console(soft_wrap=True)

DATE = typer.Option("--date", help="As-of session, YYYY-MM-DD (default: the previous NYSE session).")


def _context(date: str | None):
    from tickerhouse.calendar import is_session, parse_date, previous_session
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    day = parse_date(date) if date else previous_session()
    if not is_session(day):
        raise UserError(f"{day} is not an NYSE session")
    settings = load_settings()
    return settings, resolve_database(settings), day


def _number(value, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:.{digits}f}"


def print_report(frame) -> None:
    if frame.empty:
        raise UserError("no backtest report yet: run `tickerhouse ml train` first")
    first = frame.iloc[0]
    table = Table(title=f"Backtest as of {first['as_of_date']} (features {first['feature_version']}, "
                        f"{first['data_from']}..{first['data_through']}, {first['folds']} folds, "
                        f"{first['test_days']} test days)")
    for column in ("model", "dir. acc.", "IC mean", "IC t-stat", "IC hit rate", "MAE", "rows"):
        if column == "model":  # never shortened: on a narrow terminal the numbers wrap instead
            table.add_column(column, no_wrap=True, min_width=len("baseline_sector_mean"))
        else:
            table.add_column(column, justify="right")
    for row in frame.itertuples(index=False):
        table.add_row(row.model_name, _number(row.direction_accuracy, 3), _number(row.ic_mean),
                      _number(row.ic_tstat, 2), _number(row.ic_hit_rate, 3), _number(row.mae),
                      f"{row.predictions:,}")
    console.print(table)


@ml_app.command("train")
def train(date: Annotated[str | None, DATE] = None,
          if_needed: Annotated[bool, typer.Option(
              "--if-needed", help="Train only when a trigger fires (no champion, the weekly "
                                  "schedule, drift); the decision is logged either way.")] = False
          ) -> None:
    """Backtest and train the models on the history up to a date; register them (champion /
    challenger) and show the backtest."""
    from orchestration.ml_jobs import report, retrain_if_needed

    settings, database, day = _context(date)
    decision = retrain_if_needed(settings, database, day, force=not if_needed)
    console.print(f"{day}: {'trained' if decision.triggered else 'not trained'} ({decision.reason})")
    if decision.result is not None:
        aliases = ", ".join(f"{alias} = v{version}" for alias, version in decision.result.aliases.items())
        console.print(f"registered: {aliases}")
        print_report(report(database))


@ml_app.command("predict")
def predict(date: Annotated[str | None, DATE] = None) -> None:
    """Predictions of every active ticker for a date (champion, challenger arm, fallbacks)."""
    from orchestration.steps import predict as predict_step

    _, database, day = _context(date)
    result = predict_step(database, day)
    if result.skipped_reason:
        raise UserError(f"no predictions for {day}: {result.skipped_reason}")
    table = Table(title=f"Predictions for {day}")
    table.add_column("served by")
    table.add_column("rows", justify="right")
    for served_by, count in (getattr(result, "served", None) or {result.model: result.written}).items():
        table.add_row(served_by, f"{count:,}")
    console.print(table)
    console.print(f"{result.written:,} predictions ({result.changed:,} new or changed) by {result.model}")
    for failure in getattr(result, "failures", []):
        console.print(f"[yellow]fallback:[/yellow] {failure}")


@ml_app.command("report")
def report() -> None:
    """The latest backtest: every model beside the baselines."""
    from orchestration.ml_jobs import report as latest
    from tickerhouse.database import resolve_database
    from tickerhouse.settings import load_settings

    print_report(latest(resolve_database(load_settings())))


@ml_app.command("ab")
def ab(date: Annotated[str | None, DATE] = None) -> None:
    """Score the champion and challenger arms on realised returns; promote when meaningful."""
    from orchestration.ml_jobs import ab_evaluate

    settings, database, day = _context(date)
    result = ab_evaluate(settings, database, day)
    table = Table(title=f"A/B as of {day}: {result.decision}")
    for column in ("arm", "version", "mean daily IC"):
        table.add_column(column)
    table.add_row("champion", str(result.champion_version), _number(result.ic_champion))
    table.add_row("challenger", str(result.challenger_version), _number(result.ic_challenger))
    console.print(table)
    console.print(f"{result.days} days, difference {_number(result.mean_difference)}, "
                  f"t = {_number(result.t_stat, 2)} (needs {settings.ml_ab_min_days} days and "
                  f"t > {settings.ml_ab_min_tstat})")
