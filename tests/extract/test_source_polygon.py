"""Polygon sources against the emulator over HTTP, landing into a real Postgres: grouped daily,
the ticker reference (cursor pagination), per-ticker ranges (next_url), retries, dead letters
and their replay, and a circuit that opens mid-run."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pyarrow.parquet as pq
import requests
from psycopg import sql

from extract.landing import land, raw_pipeline
from extract.polygon import polygon, ranges, reference, replay
from extract.resilience import CircuitBreaker
from tests.extract.support import query

ET = ZoneInfo("America/New_York")
AS_OF = dt.datetime(2024, 1, 8, 21, 30, tzinfo=ET)
N_TICKERS = 30
KEY = "polygon-test-key"
START, END = dt.date(2023, 10, 2), dt.date(2024, 1, 5)





VENDOR = "polygon"
SEED = 5


def count(warehouse, table: str) -> int:
    with warehouse.connect() as conn:
        return conn.execute(sql.SQL("select count(*) from {}").format(
            sql.Identifier("raw", table))).fetchone()[0]


def sessions(emu, start: dt.date, end: dt.date) -> int:
    calendar = requests.get(f"{emu.url}/_emulator/calendar",
                            params={"from": start.isoformat(), "to": end.isoformat()}, timeout=10)
    return len(calendar.json()["sessions"])


def answered(emu) -> int:
    return emu.counts()["vendors"]["polygon"]["total"]["answered"]


def test_grouped_daily_lands_each_date_once_with_its_metadata(client, warehouse, tmp_path):
    days = [dt.date(2024, 1, 4), dt.date(2024, 1, 5)]
    first = land(warehouse, polygon(client, days), tmp_path)
    again = land(warehouse, polygon(client, days), tmp_path)

    assert first.rows == again.rows == {"polygon_grouped_daily": 2 * N_TICKERS}
    assert query(warehouse, 'select count(*), count(distinct ("T", t)), '
                 "count(distinct _session_date), count(_fetched_at), count(distinct _request_id),"
                 " min(_source) from raw.polygon_grouped_daily") == \
        [(2 * N_TICKERS, 2 * N_TICKERS, 2, 2 * N_TICKERS, 2, "polygon")]  # one request a date
    types = dict(query(warehouse, "select column_name, data_type from information_schema.columns"
                       " where table_schema = 'raw' and table_name = 'polygon_grouped_daily'"))
    assert {name: types[name] for name in ("T", "t", "c", "n", "_session_date", "_fetched_at")} \
        == {"T": "character varying", "t": "bigint", "c": "double precision", "n": "bigint",
            "_session_date": "date", "_fetched_at": "timestamp with time zone"}


def test_a_session_fetched_again_replaces_that_session_and_only_it(client, warehouse, tmp_path):
    days = [dt.date(2024, 1, 4), dt.date(2024, 1, 5)]
    land(warehouse, polygon(client, days), tmp_path)
    bars = 'select "T", t, o, h, l, c, v from raw.polygon_grouped_daily order by 1, 2'
    as_sent = query(warehouse, bars)
    kept_load = query(warehouse, "select distinct _dlt_load_id from raw.polygon_grouped_daily "
                      "where _session_date = '2024-01-04'")
    # raw drifts from what Polygon now says about the 5th: a changed close, a bar gone, a stray
    with warehouse.connect(autocommit=True) as conn:
        conn.execute("update raw.polygon_grouped_daily set c = c * 2 "
                     "where _session_date = '2024-01-05' and \"T\" = 'AAPL'")
        conn.execute("delete from raw.polygon_grouped_daily "
                     "where _session_date = '2024-01-05' and \"T\" = 'MSFT'")
        conn.execute("insert into raw.polygon_grouped_daily "
                     "select 'ZZZZ', v, vw, o, c, h, l, t, n, _session_date, _source, _request_id, "
                     "_fetched_at, _dlt_load_id from raw.polygon_grouped_daily "
                     "where _session_date = '2024-01-05' and \"T\" = 'AAPL'")

    again = land(warehouse, polygon(client, days[1:]), tmp_path)

    assert again.rows == {"polygon_grouped_daily": N_TICKERS}
    assert query(warehouse, bars) == as_sent  # the 5th as sent, nothing else
    assert query(warehouse, "select distinct _dlt_load_id from raw.polygon_grouped_daily "
                 "where _session_date = '2024-01-04'") == kept_load  # the 4th untouched


def test_a_load_that_died_after_its_copy_is_loaded_again_once(client, warehouse, tmp_path):
    """The window dlt cannot close alone: the COPY into raw committed, the process died before
    dlt recorded the load, so the package is still pending. The rerun must not land it twice."""
    days = [dt.date(2024, 1, 4), dt.date(2024, 1, 5)]
    land(warehouse, polygon(client, days[:1]), tmp_path)  # the table exists, one session in
    pipeline = raw_pipeline(warehouse, "polygon", tmp_path)
    pipeline.extract(polygon(client, days[1:]))
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    (job,) = pipeline.get_load_package_info(load_id).jobs["new_jobs"]
    bars = pq.read_table(job.file_path)
    with warehouse.connect() as conn, conn.cursor().copy(  # what the dead run's COPY committed
            sql.SQL("copy raw.polygon_grouped_daily ({}) from stdin").format(
                sql.SQL(", ").join(map(sql.Identifier, bars.column_names)))) as copy:
        for row in bars.to_pylist():
            copy.write_row(list(row.values()))
    assert count(warehouse, "polygon_grouped_daily") == 2 * N_TICKERS

    rerun = land(warehouse, polygon(client, []), tmp_path)  # loads the pending package first

    assert rerun.rows == {}
    assert query(warehouse, 'select count(*), count(distinct ("T", t)), count(distinct '
                 "_dlt_load_id) from raw.polygon_grouped_daily where _session_date = %s",
                 days[1]) == [(N_TICKERS, N_TICKERS, 1)]
    assert pipeline.list_normalized_load_packages() == []


def test_tickers_follow_the_cursor_to_every_ticker_once(emu, client, warehouse, tmp_path):
    first = land(warehouse, reference(client, page_size=7), tmp_path)

    assert first.rows == {"polygon_tickers": N_TICKERS}
    assert answered(emu) == math.ceil(N_TICKERS / 7)  # each next_url followed, with the key
    land(warehouse, reference(client, page_size=7), tmp_path)
    assert query(warehouse, "select count(*), count(distinct ticker), bool_and(active) "
                 "from raw.polygon_tickers") == [(N_TICKERS, N_TICKERS, True)]


def test_ranges_follow_next_url_and_land_each_bar_once(emu, client, warehouse, tmp_path):
    bars = sessions(emu, START, END)
    first = land(warehouse, ranges(client, ["AAPL", "MSFT"], START, END, page_size=20), tmp_path)

    assert first.rows == {"polygon_daily_ranges": 2 * bars}
    assert answered(emu) == 2 * math.ceil(bars / 20)
    land(warehouse, ranges(client, ["AAPL", "MSFT"], START, END, page_size=20), tmp_path)
    assert query(warehouse, "select ticker, count(*), count(distinct t) from "
                 "raw.polygon_daily_ranges group by ticker order by ticker") == \
        [("AAPL", bars, bars), ("MSFT", bars, bars)]


def test_server_errors_are_retried_after_a_backoff(emu, client, warehouse, sleeps, tmp_path,
                                                   dead_letters):
    emu.add_fault_rules([{"fault": "http_5xx", "count": 2, "vendor": "polygon",
                          "path_prefix": "/v2/aggs/ticker/AAPL"}])
    landed = land(warehouse, ranges(client, ["AAPL"], START, END, dead_letters), tmp_path)

    assert landed.rows == {"polygon_daily_ranges": sessions(emu, START, END)}
    assert len(sleeps) == 2 and len(emu.fault_log()) == 2
    assert dead_letters.open() == [] and landed.notes == []


def test_a_failing_ticker_is_one_dead_letter_and_replay_resolves_it(emu, client, warehouse,
                                                                     tmp_path, dead_letters):
    bars = sessions(emu, START, END)
    emu.add_fault_rules([{"fault": "http_5xx", "count": 3, "vendor": "polygon",
                          "path_prefix": "/v2/aggs/ticker/MSFT"}])
    landed = land(warehouse, ranges(client, ["AAPL", "MSFT", "IBM"], START, END, dead_letters),
                  tmp_path)

    letters = dead_letters.open()
    assert [(letter.vendor, letter.endpoint, letter.item, letter.kind) for letter in letters] == [
        ("polygon", "daily_ranges", {"ticker": "MSFT", "from": "2023-10-02", "to": "2024-01-05"},
         "transient")]
    assert landed.rows == {"polygon_daily_ranges": 2 * bars} and len(landed.notes) == 1

    replayed = land(warehouse, replay(client, letters, dead_letters), tmp_path)
    assert replayed.rows == {"polygon_daily_ranges": bars}
    assert dead_letters.open() == []
    assert query(warehouse, "select ticker, count(*) from raw.polygon_daily_ranges "
                 "group by ticker order by ticker") == \
        [("AAPL", bars), ("IBM", bars), ("MSFT", bars)]


def test_an_open_circuit_stops_the_resource_and_keeps_what_landed(emu, make_client, warehouse,
                                                                  tmp_path, dead_letters):
    client = make_client(breaker=CircuitBreaker("polygon", failure_threshold=2))
    emu.add_fault_rules([{"fault": "http_5xx", "count": 10, "vendor": "polygon",
                          "path_prefix": "/v2/aggs/ticker/MSFT"}])
    landed = land(warehouse, ranges(client, ["AAPL", "MSFT", "IBM"], START, END, dead_letters),
                  tmp_path)

    # AAPL landed; MSFT's two failures opened the circuit: neither MSFT nor IBM is a dead letter
    # (they stay due), and IBM was never asked for.
    assert landed.rows == {"polygon_daily_ranges": sessions(emu, START, END)}
    assert dead_letters.open() == []
    assert len(landed.notes) == 1 and "stopped after 1 of 3 items" in landed.notes[0]
    assert [f["path"].split("/")[4] for f in emu.fault_log()] == ["MSFT", "MSFT"]
    assert answered(emu) == 1
    assert count(warehouse, "polygon_daily_ranges") == sessions(emu, START, END)
