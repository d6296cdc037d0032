"""Redis cache: pre-warm of 6,000 tickers (every kind of hash) beside a naive one-command-per-key
write and a plain pipeline of the same data, measured in the same run; then cache-aside read
latency, hit against miss (Postgres plus repopulation) and with Redis down.

Run: `.venv/bin/python -m bench.bench_cache [--tickers 6000]`. Uses a scratch Postgres database
and a free Redis db number on 127.0.0.1:6379 (claimed like the tests do, flushed at the end).
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import time
import uuid

import redis

from bench._report import write_section
from cache import source
from cache.hot import connect, refresh, write_records
from cache.layout import KINDS, NAMESPACE, SEPARATOR, ttl_seconds
from cache.reader import CacheReader
from cache.source import Record

# The test suite's warehouse builder: the curated tables from their dbt contracts, filled with
# a synthetic market (a bench of the cache needs no vendor or dbt run).
from tests.cache.warehouse import SESSION, build
from tickerhouse.database import Database

SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS = "redis://127.0.0.1:6379"
CLAIM_KEY = "tickerhouse:test:claimed-by"  # the tests' claim on a db number
REPEATS = 3


def claim_redis_db() -> str:
    token = f"bench-{os.getpid()}-{uuid.uuid4().hex}"
    for number in range(15, 0, -1):
        client = redis.Redis.from_url(f"{REDIS}/{number}")
        if client.dbsize() == 0 and client.set(CLAIM_KEY, token, nx=True):
            return f"{REDIS}/{number}"
    raise SystemExit("no free Redis db number (1-15) for the bench")


def clear(client: redis.Redis) -> None:
    keys = list(client.scan_iter(f"{NAMESPACE}:*", count=5000))
    for start in range(0, len(keys), 5000):
        client.delete(*keys[start:start + 5000])


def _mapping(spec, payload: str) -> dict[str, str]:
    return {k: v for k, v in zip(spec.field_names, payload.split(SEPARATOR), strict=True) if v}


def naive(client: redis.Redis, records: dict[str, dict[str, Record]]) -> None:
    """What a first version does: HSET and EXPIRE per key, each a round trip."""
    for kind, by_ticker in records.items():
        spec = KINDS[kind]
        for ticker, (session, payload, digest) in by_ticker.items():
            client.hset(spec.key(ticker), mapping={"_h": digest, **_mapping(spec, payload)})
            client.expire(spec.key(ticker), ttl_seconds(spec, session))


def pipelined(client: redis.Redis, records: dict[str, dict[str, Record]]) -> None:
    """The same commands pipelined in batches of 1,000 keys (no compare, no script)."""
    pipe = client.pipeline(transaction=False)
    count = 0
    for kind, by_ticker in records.items():
        spec = KINDS[kind]
        for ticker, (session, payload, digest) in by_ticker.items():
            pipe.delete(spec.key(ticker))
            pipe.hset(spec.key(ticker), mapping={"_h": digest, **_mapping(spec, payload)})
            pipe.expire(spec.key(ticker), ttl_seconds(spec, session))
            count += 1
            if count % 1000 == 0:
                pipe.execute()
    pipe.execute()


def script(client: redis.Redis, records: dict[str, dict[str, Record]]) -> None:
    for kind, by_ticker in records.items():
        write_records(client, KINDS[kind], by_ticker, None)


def timed(run, client, records, *, cleared: bool = True) -> float:
    times = []
    for _ in range(REPEATS):
        if cleared:
            clear(client)
        started = time.perf_counter()
        run(client, records)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def latencies(read, tickers) -> tuple[float, float]:
    """Median and 95th percentile of one read, in microseconds."""
    times = []
    for ticker in tickers:
        started = time.perf_counter()
        read(ticker)
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=6000)
    parser.add_argument("--reads", type=int, default=1000)
    args = parser.parse_args()

    server = Database(SERVER)
    name = f"th_bench_cache_{os.getpid()}"
    with server.connect(autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    database = server.with_database(name)
    redis_url = claim_redis_db()
    client = connect(redis_url)
    try:
        started = time.perf_counter()
        market = build(database, args.tickers)
        print(f"warehouse of {args.tickers} tickers built in {time.perf_counter() - started:.1f} s")
        with database.connect() as conn:
            source.prepare(conn)
            started = time.perf_counter()
            records = {kind: source.all_records(conn, kind, SESSION) for kind in KINDS}
            read_seconds = time.perf_counter() - started
        keys = sum(len(by_ticker) for by_ticker in records.values())

        results = {
            "naive (HSET + EXPIRE per key, one round trip each)": timed(naive, client, records),
            "pipelined DEL + HSET + EXPIRE, 1,000 keys a batch": timed(pipelined, client, records),
            "compare-and-write script, pipelined (the project's)": timed(script, client, records),
        }
        unchanged = timed(script, client, records, cleared=False)
        clear(client)
        full = refresh(database, client)
        rerun = refresh(database, client)
        pipe = client.pipeline(transaction=False)
        for kind, by_ticker in records.items():
            for ticker in by_ticker:
                pipe.memory_usage(KINDS[kind].key(ticker), samples=0)
        memory = sum(size or 0 for size in pipe.execute())
        load = os.getloadavg()[0]

        sample = random.Random(1).sample(market.tickers, min(args.reads, len(market.tickers)))
        with CacheReader(database, redis_url) as reader:
            hit = latencies(reader.bar, sample)
            latencies(reader.snapshot, sample)  # caches the kinds a ticker has no data of
            hit_all = latencies(reader.snapshot, sample)
            clear(client)
            miss = latencies(reader.bar, sample)
            clear(client)
            miss_all = latencies(reader.snapshot, sample)
        with CacheReader(database, f"redis://127.0.0.1:{closed_port()}/0") as down:
            down_read = latencies(down.bar, sample)

        baseline = next(iter(results.values()))
        lines = [
            f"{args.tickers:,} tickers, {keys:,} hashes (bar, indicators, prediction; "
            f"fundamentals and quotes where the data has them). Reading them from Postgres took "
            f"{read_seconds:.2f} s. Median of {REPEATS} runs into an empty cache:",
            "",
            "| pre-warm write | seconds | vs naive |",
            "|---|---:|---:|",
            *(f"| {label} | {seconds:.3f} | {baseline / seconds:.1f}x |"
              for label, seconds in results.items()),
            f"| the script again on unchanged data (compare only, nothing written) | "
            f"{unchanged:.3f} | {baseline / unchanged:.1f}x |",
            "",
            f"A whole `refresh` (Postgres reads, hashes, leaderboards): {full.read_seconds:.2f} s "
            f"reading + {full.write_seconds:.2f} s writing, {full.keys_written:,} keys; rerun on "
            f"unchanged data: {rerun.keys_written} keys written, {rerun.write_seconds:.2f} s. "
            f"The hashes take {memory / 2**20:.1f} MiB of Redis memory (MEMORY USAGE: "
            f"{memory / args.tickers:,.0f} bytes per ticker). Load average during the run: "
            f"{load:.1f} on {os.cpu_count()} cores (other jobs share the machine).",
            "",
            f"Cache-aside reads ({len(sample):,} random tickers, one at a time, microseconds):",
            "",
            "| read | median | p95 |",
            "|---|---:|---:|",
            f"| `bar`, hit | {hit[0]:,.0f} | {hit[1]:,.0f} |",
            f"| `bar`, miss (Postgres, then repopulate) | {miss[0]:,.0f} | {miss[1]:,.0f} |",
            f"| `snapshot` (5 kinds), hit | {hit_all[0]:,.0f} | {hit_all[1]:,.0f} |",
            f"| `snapshot`, miss | {miss_all[0]:,.0f} | {miss_all[1]:,.0f} |",
            f"| `bar`, Redis down (breaker open, Postgres only) | {down_read[0]:,.0f} | "
            f"{down_read[1]:,.0f} |",
            "",
            f"A miss costs the Postgres query plus the write-back ({miss[0] / hit[0]:.1f}x a hit "
            f"for one hash, {miss_all[0] / hit_all[0]:.1f}x for a snapshot). With the breaker "
            "open a single indexed read from the local Postgres answers about as "
            "fast as a hit: the cache earns its keep on snapshots, leaderboards and a busy "
            "database, and keeps the reads off Postgres.",
        ]
        body = "\n".join(lines)
        print(body)
        write_section("cache", body)
    finally:
        client.flushdb()
        client.close()
        with server.connect(autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


if __name__ == "__main__":
    main()
