"""Run dlt sources into the warehouse's `raw` schema and report what landed.

Also the policy every resource follows for the items it fetches (`fetch_each`): an item that
fails becomes a dead letter and the next item is fetched; an open circuit or a spent quota
stops the resource, keeping what it yielded. What a resource has to say about its run (an item
skipped, a stop) and the dead letters it settled reach `land()` through `_current_run`, since a
dlt resource has no channel back to its caller besides the rows themselves.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import dlt
import pyarrow.parquet as pq
from dlt.common.pipeline import LoadInfo
from dlt.common.schema.exceptions import DataValidationError
from dlt.pipeline.exceptions import PipelineStepFailed
from psycopg import sql

from extract.deadletters import DeadLetter, DeadLetters
from extract.http import VendorError
from extract.quota import QuotaExhausted, QuotaTimeout
from extract.raw_schema import REPLACED_BY_HINT, SchemaDrift
from tickerhouse.database import Database
from tickerhouse.errors import UserError

__all__ = ["RAW_DATASET", "LandingResult", "SchemaDrift", "fetch_each", "land", "letter_items",
           "note", "raw_pipeline", "symbol_items"]

log = logging.getLogger(__name__)

RAW_DATASET = "raw"
# dlt insists on a password in Postgres credentials even under trust auth.
_DLT_PASSWORD_PLACEHOLDER = "unused"

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# With Airflow installed, dlt looks up every config value among Airflow Variables too: outside a
# task each lookup fails and logs a traceback (most of a small run's time), inside one it is a
# metadata-database query. Sources get their settings as arguments, never from dlt config.
os.environ.setdefault("PROVIDERS__ENABLE_AIRFLOW_SECRETS", "false")
# Sources yield Arrow tables (see extract/polygon); dlt adds its load id to those only when asked,
# and staging models read it (incremental merges, source freshness).
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")

Item = dict[str, Any]  # what a resource needs to make one request again, e.g. {"symbol": "AAPL"}
T = TypeVar("T")


@dataclass
class LandingResult:
    """Rows written per raw table by one pipeline run (0 for an unchanged rerun's new rows), and
    what the source's resources had to say: items skipped, resources stopped early."""

    source: str
    rows: dict[str, int] = field(default_factory=dict)
    load_ids: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


@dataclass
class _Run:
    notes: list[str]
    after_load: list[Callable[[], None]] = field(default_factory=list)


_current_run: ContextVar[_Run | None] = ContextVar("tickerhouse_landing_run", default=None)


def raw_pipeline(database: Database, source_name: str, pipelines_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline that lands one vendor source into `raw` (state kept per source)."""
    return dlt.pipeline(
        pipeline_name=f"tickerhouse_{source_name}",
        destination=dlt.destinations.postgres(
            database.url(password_placeholder=_DLT_PASSWORD_PLACEHOLDER)
        ),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(pipelines_dir),
        progress="log" if log.isEnabledFor(logging.DEBUG) else None,
    )


def land(database: Database, source: dlt.sources.DltSource, pipelines_dir: Path) -> LandingResult:
    """Extract, normalize and load `source` into raw; count the rows each resource yielded.

    Rows are counted as they pass rather than read from dlt's normalize metrics, which count
    values, not rows, for some writers. Each table loads in the file format its resource asks
    for (Polygon's bulk bars: parquet through ADBC's binary COPY) or else the destination's
    preferred one (INSERT for the small per-ticker tables, whose JSON columns stay jsonb).

    Raises `SchemaDrift` when a payload broke its table's contract, and a resource's own
    `UserError` (e.g. a `VendorError` it did not handle) as itself; nothing of the run is then
    loaded, and nothing is left pending to block the next run.
    """
    result = LandingResult(source=source.name)
    for name, resource in source.selected_resources.items():
        resource.add_map(_counter(result.rows, resource.table_name or name))
    pipeline = raw_pipeline(database, source.name, pipelines_dir)
    run = _Run(result.notes)
    token = _current_run.set(run)
    try:
        if pipeline.has_pending_data:
            # Left by a run that died between extract and load. dlt's run() would load it and
            # silently skip extracting `source`, so finish it first.
            log.warning("%s: loading what an interrupted run left pending first", source.name)
            pipeline.normalize()
            with _load_lock(database, source.name):
                _clear_replaced_rows(database, pipeline)
                pipeline.load()
        # Fetching runs in parallel across processes; loading one source's tables does not:
        # dlt's table creation and schema migration race ("relation already exists").
        pipeline.extract(source)
        pipeline.normalize()
        with _load_lock(database, source.name):
            _clear_replaced_rows(database, pipeline)
            info: LoadInfo = pipeline.load()
    except PipelineStepFailed as exc:
        cause = _schema_drift(exc) or _user_error(exc)
        if cause is None:
            raise
        # Nothing of a failed run is loaded, and nothing is left pending to block the next.
        pipeline.abort_packages()
        raise cause from None
    finally:
        _current_run.reset(token)
    result.load_ids = list(info.loads_ids)
    for settle in run.after_load:
        settle()
    return result


def _clear_replaced_rows(database: Database, pipeline: dlt.Pipeline) -> None:
    """Delete what the pending loads replace: in each table with a `replaced_by` column
    (RawTable), the rows holding any value of it that the loads' files hold.

    Those tables are appended to, so this is what makes their loads exactly once. It runs under
    the load lock, right before the load, and again before a load an interrupted run left
    pending: if that run died after its COPY committed but before dlt recorded it, the rows it
    wrote are deleted here and loaded once more, never twice. (dlt's merge would do the same
    through a staging table, writing every row twice: half the speed on a backfill.)"""
    schema = pipeline.default_schema
    owned: dict[tuple[str, str], set] = {}
    for load_id in pipeline.list_normalized_load_packages():
        package = pipeline.get_load_package_info(load_id)
        for job in (*package.jobs.get("new_jobs", ()), *package.jobs.get("started_jobs", ())):
            table = job.job_file_info.table_name
            column = schema.tables.get(table, {}).get(REPLACED_BY_HINT)
            if column is None:
                continue
            if job.job_file_info.file_format != "parquet":
                raise ValueError(f"{table}: replaced_by needs parquet load files, "
                                 f"not {job.job_file_info.file_format}")
            values = pq.read_table(job.file_path, columns=[column]).column(column).unique()
            owned.setdefault((table, column), set()).update(values.to_pylist())
    if not owned:
        return
    with database.connect() as conn:
        for (table, column), values in owned.items():
            target = sql.Identifier(RAW_DATASET, table)
            if conn.execute("select to_regclass(%s)", (target.as_string(conn),)).fetchone()[0]:
                conn.execute(sql.SQL("delete from {} where {} = any(%s)").format(
                    target, sql.Identifier(column)), (sorted(values),))


@contextmanager
def _load_lock(database: Database, source_name: str) -> Iterator[None]:
    """Hold a Postgres advisory lock for `source_name`'s loads, across processes."""
    with database.connect(autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(hashtext(%s))", (f"tickerhouse:load:{source_name}",))
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(hashtext(%s))",
                         (f"tickerhouse:load:{source_name}",))


def note(message: str) -> None:
    """Log what a resource has to say about its run, and list it in the `LandingResult`."""
    log.warning(message)
    if (run := _current_run.get()) is not None:
        run.notes.append(message)


def fetch_each(vendor: str, endpoint: str, items: Sequence[Item],
               fetch: Callable[[Item], Iterator[T]],
               dead_letters: DeadLetters | None) -> Generator[T, None, bool]:
    """What `fetch` yields for each item in turn, under the per-item failure policy; returns
    whether it stopped early.

    A `VendorError` for one item is recorded as its dead letter (`item` is all a replay needs)
    and the next item is fetched. An open circuit or a spent quota (`QuotaExhausted`,
    `QuotaTimeout`) stops here: what was yielded is kept and the items not tried stay due, with
    nothing recorded for them. An item that had an open dead letter and now succeeds has it
    resolved once the load has committed (never earlier: a failed load must leave it open).
    """
    open_items = ({_canonical(letter.item) for letter in dead_letters.open(vendor, endpoint)}
                  if dead_letters is not None else set())
    for done, item in enumerate(items):
        try:
            yield from fetch(item)
        except VendorError as exc:
            if exc.kind == "circuit_open":
                _stop(vendor, endpoint, done, len(items), exc)
                return True
            note(f"{vendor} {endpoint} {_canonical(item)}: {exc.kind}: {exc.reason}")
            if dead_letters is not None:
                dead_letters.record(vendor, endpoint, item, exc.kind, exc.reason)
            continue
        except (QuotaExhausted, QuotaTimeout) as exc:
            _stop(vendor, endpoint, done, len(items), exc)
            return True
        if dead_letters is not None and _canonical(item) in open_items:
            _after_load(partial(dead_letters.resolve, vendor, endpoint, item))
    return False


def symbol_items(symbols: Iterable[str]) -> list[Item]:
    """One {"symbol": ...} item per distinct symbol, in the order given."""
    return [{"symbol": symbol} for symbol in dict.fromkeys(symbols)]


def letter_items(letters: Iterable[DeadLetter], vendor: str,
                 endpoints: Iterable[str]) -> dict[str, list[Item]]:
    """The items of `vendor`'s letters per endpoint (every endpoint present, maybe empty);
    letters of other vendors are left out, an endpoint the vendor does not have is an error."""
    by_endpoint: dict[str, list[Item]] = {endpoint: [] for endpoint in endpoints}
    for letter in letters:
        if letter.vendor != vendor:
            continue
        if letter.endpoint not in by_endpoint:
            raise ValueError(f"{vendor} has no endpoint {letter.endpoint!r} "
                             f"(dead letter {letter.id})")
        by_endpoint[letter.endpoint].append(dict(letter.item))
    return by_endpoint


def _stop(vendor: str, endpoint: str, done: int, total: int, exc: Exception) -> None:
    note(f"{vendor} {endpoint}: stopped after {done} of {total} items, the rest stay due: {exc}")


def _after_load(settle: Callable[[], None]) -> None:
    # Outside land() nobody reports the load: the letter stays open, and a replay finds it.
    if (run := _current_run.get()) is not None:
        run.after_load.append(settle)


def _canonical(item: Mapping[str, Any]) -> str:
    return json.dumps(dict(item), sort_keys=True, default=str)


def _schema_drift(exc: BaseException) -> SchemaDrift | None:
    """The contract violation behind a failed pipeline step: ours (`RawTable.check`, raised in
    a resource) or dlt's (its frozen schema contract), if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, SchemaDrift):
            return seen
        if isinstance(seen, DataValidationError):
            return SchemaDrift(seen.schema_name, seen.table_name, seen.column_name,
                               f"breaks the frozen {seen.schema_entity} contract")
        seen = seen.__cause__ or seen.__context__
    return None


def _user_error(exc: BaseException) -> UserError | None:
    """A failure a resource raised on purpose (a `VendorError`, a spent quota), unwrapped from
    dlt's step exceptions so that callers can act on it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UserError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _counter(counts: dict[str, int], table: str):
    def count(item):
        rows = item.num_rows if hasattr(item, "num_rows") else len(item) if isinstance(item, list) else 1
        counts[table] = counts.get(table, 0) + rows
        return item

    return count
