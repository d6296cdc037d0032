"""News sentiment per ticker and per sector in fixed UTC windows (4 hours by default), and the
alerts read from them: sentiment shifts and news bursts.

Why Python-maintained tables and not dbt: the sentiment pipeline runs every 4 hours and alerts
at once, while dbt builds once a day; the daily per-ticker and per-sector views analysts query
are the dbt models `curated.agg_ticker_daily_sentiment` / `agg_sector_daily_sentiment`, built
from the same `ml` tables.

Windows are aligned on the UTC day (00:00, 04:00, ...), so a day has the same windows whatever
time a run starts. One row per scorer version, ticker (or sector) and window; re-aggregating a
window whose articles did not change writes nothing (rows are updated only when a value moves).

Alerts, for a ticker's window w (n articles, mean score x) against its own trailing baseline
(the ticker's articles published in the `baseline_days` before w, mean mu, standard deviation s):
- shift: n >= shift_min_articles, at least baseline_min_articles in the baseline, and
  |x - mu| > k * s / sqrt(n) (k standard errors: the window's mean is not a draw from the
  baseline). s is floored so a ticker whose news was always neutral does not alert on noise.
- burst: n >= burst_min_articles and n > lam + k * sqrt(max(lam, 1)), lam the baseline's mean
  articles per window (a Poisson rate; the floor keeps quiet tickers from alerting on two).
One event alerts once: an alert's dedupe key names its kind, ticker and window, and an alert of
the same kind for the same ticker within `cooldown` of an earlier one (news of one evening
spans two windows) is the same event and is not raised again.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass
from typing import Any

from tickerhouse import alerts
from tickerhouse.database import Database

log = logging.getLogger(__name__)

ORIGIN = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
SIGMA_FLOOR = 0.1
ALERT_SOURCE = "sentiment"
KINDS = ("sentiment_drop", "sentiment_rise", "news_burst")
_STAMP = "%Y%m%dT%H%MZ"

DDL = """
create schema if not exists ml;
create table if not exists ml.ticker_sentiment_windows (
    scorer          text not null,
    scorer_version  text not null,
    ticker          text not null,
    window_start    timestamptz not null,
    window_end      timestamptz not null,
    article_count   integer not null check (article_count > 0),
    positive_count  integer not null,
    negative_count  integer not null,
    neutral_count   integer not null,
    mean_score      double precision not null,
    stddev_score    double precision,           -- null for a single article
    positive_share  double precision not null,
    negative_share  double precision not null,
    mean_vendor_score double precision,         -- Alpha Vantage's ticker scores, where given
    updated_at      timestamptz not null default now(),
    primary key (scorer, scorer_version, ticker, window_start)
);
create index if not exists ticker_sentiment_windows_window
    on ml.ticker_sentiment_windows (window_start);
create table if not exists ml.sector_sentiment_windows (
    scorer          text not null,
    scorer_version  text not null,
    sector          text not null,
    window_start    timestamptz not null,
    window_end      timestamptz not null,
    ticker_count    integer not null,
    article_count   integer not null check (article_count > 0),  -- distinct articles
    positive_count  integer not null,
    negative_count  integer not null,
    neutral_count   integer not null,
    mean_score      double precision not null,
    stddev_score    double precision,
    positive_share  double precision not null,
    negative_share  double precision not null,
    updated_at      timestamptz not null default now(),
    primary key (scorer, scorer_version, sector, window_start)
);
"""

# Rounded so that re-aggregating the same scores compares equal whatever order the sums took.
_STATS = """
    count(*)::integer as article_count,
    count(*) filter (where label = 'positive')::integer as positive_count,
    count(*) filter (where label = 'negative')::integer as negative_count,
    count(*) filter (where label = 'neutral')::integer as neutral_count,
    round(avg(score)::numeric, 10)::float8 as mean_score,
    round(stddev_samp(score)::numeric, 10)::float8 as stddev_score,
    (count(*) filter (where label = 'positive'))::float8 / count(*) as positive_share,
    (count(*) filter (where label = 'negative'))::float8 / count(*) as negative_share
"""

_TICKER_SQL = f"""
with pairs as (
    select t.ticker, a.article_key, date_bin(%(step)s, a.published_at, %(origin)s) as window_start,
           max(t.vendor_sentiment_score) as vendor_score
    from ml.news_articles a
    join ml.news_article_tickers t using (article_key)
    where a.published_at >= %(start)s and a.published_at < %(end)s
    group by t.ticker, a.article_key, a.published_at
),
computed as (
    select %(scorer)s as scorer, %(version)s as scorer_version, p.ticker, p.window_start,
           p.window_start + %(step)s as window_end, {_STATS},
           round(avg(p.vendor_score)::numeric, 10)::float8 as mean_vendor_score
    from pairs p
    join ml.article_sentiment s on s.article_key = p.article_key and s.scorer = %(scorer)s
                               and s.scorer_version = %(version)s
    group by p.ticker, p.window_start
),
upserted as (
    insert into ml.ticker_sentiment_windows as w (scorer, scorer_version, ticker, window_start,
        window_end, article_count, positive_count, negative_count, neutral_count, mean_score,
        stddev_score, positive_share, negative_share, mean_vendor_score)
    select * from computed
    on conflict (scorer, scorer_version, ticker, window_start) do update
       set article_count = excluded.article_count, positive_count = excluded.positive_count,
           negative_count = excluded.negative_count, neutral_count = excluded.neutral_count,
           mean_score = excluded.mean_score, stddev_score = excluded.stddev_score,
           positive_share = excluded.positive_share, negative_share = excluded.negative_share,
           mean_vendor_score = excluded.mean_vendor_score, updated_at = now()
     where (w.article_count, w.positive_count, w.negative_count, w.mean_score, w.stddev_score,
            w.mean_vendor_score)
           is distinct from (excluded.article_count, excluded.positive_count,
            excluded.negative_count, excluded.mean_score, excluded.stddev_score,
            excluded.mean_vendor_score)
    returning 1
),
removed as (
    delete from ml.ticker_sentiment_windows w
    where w.scorer = %(scorer)s and w.scorer_version = %(version)s
      and w.window_start >= %(start)s and w.window_start < %(end)s
      and not exists (select from computed c where c.ticker = w.ticker
                      and c.window_start = w.window_start)
    returning 1
)
select (select count(*) from upserted) + (select count(*) from removed)
"""

_SECTOR_SQL = f"""
with pairs as (
    select distinct {{sector}} as sector, t.ticker, a.article_key,
           date_bin(%(step)s, a.published_at, %(origin)s) as window_start
    from ml.news_articles a
    join ml.news_article_tickers t using (article_key)
    {{join}}
    where a.published_at >= %(start)s and a.published_at < %(end)s
),
articles as (
    select distinct sector, window_start, article_key from pairs
),
computed as (
    select %(scorer)s as scorer, %(version)s as scorer_version, a.sector, a.window_start,
           a.window_start + %(step)s as window_end,
           (select count(distinct p.ticker) from pairs p
            where p.sector = a.sector and p.window_start = a.window_start)::integer as ticker_count,
           {_STATS}
    from articles a
    join ml.article_sentiment s on s.article_key = a.article_key and s.scorer = %(scorer)s
                               and s.scorer_version = %(version)s
    group by a.sector, a.window_start
),
upserted as (
    insert into ml.sector_sentiment_windows as w (scorer, scorer_version, sector, window_start,
        window_end, ticker_count, article_count, positive_count, negative_count, neutral_count,
        mean_score, stddev_score, positive_share, negative_share)
    select * from computed
    on conflict (scorer, scorer_version, sector, window_start) do update
       set ticker_count = excluded.ticker_count, article_count = excluded.article_count,
           positive_count = excluded.positive_count, negative_count = excluded.negative_count,
           neutral_count = excluded.neutral_count, mean_score = excluded.mean_score,
           stddev_score = excluded.stddev_score, positive_share = excluded.positive_share,
           negative_share = excluded.negative_share, updated_at = now()
     where (w.ticker_count, w.article_count, w.positive_count, w.negative_count, w.mean_score,
            w.stddev_score)
           is distinct from (excluded.ticker_count, excluded.article_count,
            excluded.positive_count, excluded.negative_count, excluded.mean_score,
            excluded.stddev_score)
    returning 1
),
removed as (
    delete from ml.sector_sentiment_windows w
    where w.scorer = %(scorer)s and w.scorer_version = %(version)s
      and w.window_start >= %(start)s and w.window_start < %(end)s
      and not exists (select from computed c where c.sector = w.sector
                      and c.window_start = w.window_start)
    returning 1
)
select (select count(*) from upserted) + (select count(*) from removed)
"""

_CANDIDATES_SQL = """
select w.ticker, w.window_start, w.window_end, w.article_count, w.mean_score,
       b.articles, b.mean, b.std
from ml.ticker_sentiment_windows w
cross join lateral (
    select count(*) as articles, avg(s.score) as mean, stddev_samp(s.score) as std
    from (select distinct t.article_key from ml.news_article_tickers t
          where t.ticker = w.ticker) t
    join ml.news_articles a on a.article_key = t.article_key
         and a.published_at >= w.window_start - %(baseline)s and a.published_at < w.window_start
    join ml.article_sentiment s on s.article_key = a.article_key and s.scorer = w.scorer
         and s.scorer_version = w.scorer_version
) b
where w.scorer = %(scorer)s and w.scorer_version = %(version)s
  and w.window_start >= %(start)s and w.window_start < %(end)s
  and w.article_count >= %(min_articles)s
order by w.window_start, w.ticker
"""


def ensure_tables(database: Database) -> None:
    with database.connect(autocommit=True) as conn:
        conn.execute(DDL)


def window_floor(moment: dt.datetime, hours: int) -> dt.datetime:
    """The start of the `hours`-long UTC window holding `moment`."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    step = dt.timedelta(hours=hours)
    # A plain datetime: subclasses (pendulum's, from Airflow) do their own arithmetic.
    moment = dt.datetime.fromtimestamp(moment.timestamp(), dt.UTC)
    return ORIGIN + (moment - ORIGIN) // step * step


@dataclass(frozen=True)
class AggregateResult:
    ticker_rows: int  # ticker-window rows written or removed (0 when nothing changed)
    sector_rows: int


def aggregate_windows(database: Database, scorer: str, scorer_version: str, start: dt.datetime,
                      end: dt.datetime, hours: int) -> AggregateResult:
    """(Re)compute every ticker and sector window starting in [start, end) from one scorer
    version's scores; `start` and `end` fall on window boundaries."""
    step = dt.timedelta(hours=hours)
    if window_floor(start, hours) != start or window_floor(end, hours) != end:
        raise ValueError(f"start and end must fall on {hours}-hour UTC window boundaries")
    params = {"scorer": scorer, "version": scorer_version, "start": start, "end": end,
              "step": step, "origin": ORIGIN}
    ensure_tables(database)
    with database.connect() as conn, conn.transaction():
        ticker_rows = conn.execute(_TICKER_SQL, params).fetchone()[0]
        sector_sql = _SECTOR_SQL.format(sector="'Unclassified'::text", join="")
        if conn.execute("select 1 from information_schema.columns where table_schema = 'curated' "
                        "and table_name = 'dim_ticker' and column_name = 'sector'").fetchone():
            sector_sql = _SECTOR_SQL.format(
                sector="coalesce(d.sector, 'Unclassified')::text",
                join="left join curated.dim_ticker d on d.ticker = t.ticker")
        sector_rows = conn.execute(sector_sql, params).fetchone()[0]
    return AggregateResult(int(ticker_rows), int(sector_rows))


@dataclass(frozen=True)
class AlertRules:
    baseline_days: int = 30
    baseline_min_articles: int = 5
    shift_k: float = 3.0
    shift_min_articles: int = 3
    burst_k: float = 3.0
    burst_min_articles: int = 5
    cooldown: dt.timedelta = dt.timedelta(hours=24)

    @classmethod
    def from_settings(cls, settings: Any) -> AlertRules:
        return cls(baseline_days=settings.sentiment_baseline_days,
                   baseline_min_articles=settings.sentiment_baseline_min_articles,
                   shift_k=settings.sentiment_shift_k,
                   shift_min_articles=settings.sentiment_shift_min_articles,
                   burst_k=settings.sentiment_burst_k,
                   burst_min_articles=settings.sentiment_burst_min_articles,
                   cooldown=dt.timedelta(hours=settings.sentiment_alert_cooldown_hours))


@dataclass(frozen=True)
class SentimentAlert:
    kind: str  # one of KINDS
    ticker: str
    window_start: dt.datetime
    window_end: dt.datetime
    articles: int
    z: float
    message: str

    @property
    def dedupe_key(self) -> str:
        return f"{ALERT_SOURCE}:{self.kind}:{self.ticker}:{self.window_start.astimezone(dt.UTC):{_STAMP}}"


def _span(start: dt.datetime, end: dt.datetime) -> str:
    return f"{start.astimezone(dt.UTC):%Y-%m-%d %H:%M}-{end.astimezone(dt.UTC):%H:%M} UTC"


def find_alerts(database: Database, scorer: str, scorer_version: str, start: dt.datetime,
                end: dt.datetime, rules: AlertRules) -> list[SentimentAlert]:
    """Every ticker window starting in [start, end) that breaks a rule (nothing is raised)."""
    params = {"scorer": scorer, "version": scorer_version, "start": start, "end": end,
              "baseline": dt.timedelta(days=rules.baseline_days),
              "min_articles": min(rules.shift_min_articles, rules.burst_min_articles)}
    ensure_tables(database)
    with database.connect() as conn:
        rows = conn.execute(_CANDIDATES_SQL, params).fetchall()
    found = []
    for ticker, w_start, w_end, n, mean, base_n, base_mean, base_std in rows:
        span = _span(w_start, w_end)
        if n >= rules.shift_min_articles and base_n >= rules.baseline_min_articles:
            sigma = max(base_std or 0.0, SIGMA_FLOOR)
            z = (mean - base_mean) / (sigma / math.sqrt(n))
            if abs(z) > rules.shift_k:
                kind = "sentiment_drop" if z < 0 else "sentiment_rise"
                found.append(SentimentAlert(
                    kind, ticker, w_start, w_end, n, z,
                    f"{ticker} news sentiment {mean:+.2f} over {n} articles in {span}, against "
                    f"{base_mean:+.2f} (sd {base_std or 0.0:.2f}, {base_n} articles) over the "
                    f"previous {rules.baseline_days} days: z = {z:+.1f}"))
        if n >= rules.burst_min_articles:
            windows = rules.baseline_days * dt.timedelta(days=1) / (w_end - w_start)
            rate = base_n / windows
            z = (n - rate) / math.sqrt(max(rate, 1.0))
            if z > rules.burst_k:
                found.append(SentimentAlert(
                    "news_burst", ticker, w_start, w_end, n, z,
                    f"{ticker}: {n} articles in {span}, against {rate:.2f} a window over the "
                    f"previous {rules.baseline_days} days: z = {z:+.1f}"))
    return found


def raise_alerts(database: Database, found: list[SentimentAlert],
                 cooldown: dt.timedelta) -> list[SentimentAlert]:
    """Write the alerts not raised before to `ops.alerts` (and the log); returns those. An alert
    whose key exists (a rerun), or of the same kind and ticker within `cooldown` of one raised
    before, belongs to an event already alerted."""
    if not found:
        return []
    alerts.ensure_table(database)
    with database.connect() as conn:
        rows = conn.execute("select kind, subject, dedupe_key from ops.alerts "
                            "where source = %s and kind = any(%s) and subject = any(%s)",
                            (ALERT_SOURCE, list(KINDS), sorted({a.ticker for a in found}))).fetchall()
    seen: dict[tuple[str, str], list[dt.datetime]] = {}
    for kind, subject, key in rows:
        stamp = dt.datetime.strptime(key.rsplit(":", 1)[-1], _STAMP).replace(tzinfo=dt.UTC)
        seen.setdefault((kind, subject), []).append(stamp)
    raised = []
    for alert in sorted(found, key=lambda a: (a.window_start, a.kind, a.ticker)):
        earlier = seen.setdefault((alert.kind, alert.ticker), [])
        if any(moment == alert.window_start or abs(moment - alert.window_start) < cooldown
               for moment in earlier):
            continue
        alerts.raise_alert(database, source=ALERT_SOURCE, kind=alert.kind, subject=alert.ticker,
                           message=alert.message, severity="warning", dedupe_key=alert.dedupe_key)
        earlier.append(alert.window_start)
        raised.append(alert)
    return raised
