"""Write the latest bar and prediction per ticker into Redis hashes with a TTL."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import redis

from tickerhouse.database import Database
from tickerhouse.errors import ServiceUnavailable

log = logging.getLogger(__name__)

# Versioned namespace: a change of layout bumps the version instead of misreading old keys.
KEY_PREFIX = "tickerhouse:v1"
# Daily data stays until the next session's load replaces it; a long weekend plus a late run
# is the longest gap between loads.
DAILY_TTL_SECONDS = 4 * 24 * 3600
_PIPELINE_BATCH = 1000


def ticker_key(ticker: str) -> str:
    return f"{KEY_PREFIX}:ticker:{ticker}"


@dataclass
class CacheResult:
    keys_written: int
    trade_date: dt.date


def connect(redis_url: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
    try:
        client.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise ServiceUnavailable(f"cannot reach Redis at {_describe(redis_url)}: {exc}") from None
    return client


def _describe(redis_url: str) -> str:
    # redis://[:password@]host:port/db -> host:port/db, without credentials.
    return redis_url.rsplit("@", 1)[-1].removeprefix("redis://")


LATEST_QUERY = """
with latest_predictions as (
    select distinct on (ticker) ticker, as_of_date, target_date, predicted_return,
           predicted_close, model_name, model_version
    from ml.predictions
    where as_of_date = %(day)s
    order by ticker, created_at desc
)
select b.ticker, b.trade_date, b.open, b.high, b.low, b.close, b.volume,
       p.target_date, p.predicted_return, p.predicted_close, p.model_name, p.model_version
from curated.fct_daily_bars b
left join latest_predictions p using (ticker)
where b.trade_date = %(day)s
"""


def refresh_latest(database: Database, client: redis.Redis, trade_date: dt.date) -> CacheResult:
    """One hash per ticker with the session's bar and (when there is one) its prediction.

    Needs `ml.predictions` to exist (`ml.baseline.ensure_tables`), even if empty."""
    with database.connect() as conn:
        cursor = conn.execute(LATEST_QUERY, {"day": trade_date})
        columns = [c.name for c in cursor.description]
        rows = cursor.fetchall()

    pipe = client.pipeline(transaction=False)
    for index, row in enumerate(rows, start=1):
        record = dict(zip(columns, row, strict=True))
        key = ticker_key(record.pop("ticker"))
        mapping = {name: _compact(value) for name, value in record.items() if value is not None}
        pipe.delete(key)  # a field that is now null must not survive from an older load
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, DAILY_TTL_SECONDS)
        if index % _PIPELINE_BATCH == 0:
            pipe.execute()
    pipe.execute()
    log.info("cache: %d tickers for %s", len(rows), trade_date)
    return CacheResult(len(rows), trade_date)


def _compact(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e-2 else f"{value:.10g}"
    return str(value)
