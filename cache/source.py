"""What the cache mirrors, read from Postgres: the same queries serve a load's refresh (every
ticker of the latest session) and a reader's miss (one ticker), so both produce the same values.

Columns follow the dbt contracts in dbt_project/models/curated/_curated__models.yml.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

import psycopg

from cache.layout import BOARD_DEPTH, BOARDS, KINDS


class Record(NamedTuple):
    """One ticker's hash of one kind, as Postgres rendered it."""

    session: dt.date | None  # the session the data is of (daily kinds), for its TTL
    payload: str  # the values in the kind's field order, joined by layout.SEPARATOR
    digest: str


# Per kind: the relation it needs, and its query with a `{where}` slot for `ticker = %(ticker)s`
# (one) or the latest-session filter (all). `%(session)s` is the latest bar session.
_RELATIONS = {
    "bar": "curated.fct_daily_bars",
    "ind": "curated.fct_daily_indicators",
    "pred": "ml.predictions",
    "fund": "curated.fct_fundamentals",
    "quote": "staging.stg_finnhub__quotes",
}


def _columns(kind: str) -> str:
    return ", ".join(KINDS[kind].field_names)


_ALL = {
    "bar": f"select ticker, {_columns('bar')} from curated.fct_daily_bars "
           "where trade_date = %(session)s",
    "ind": f"select ticker, {_columns('ind')} from curated.fct_daily_indicators "
           "where trade_date = %(session)s",
    # the newest prediction per ticker made on the latest as-of date up to the session
    "pred": f"select distinct on (ticker) ticker, {_columns('pred')} from ml.predictions "
            "where as_of_date = (select max(as_of_date) from ml.predictions "
            "                    where as_of_date <= %(session)s) "
            "order by ticker, created_at desc",
}
_ONE = {
    "bar": f"select ticker, {_columns('bar')} from curated.fct_daily_bars "
           "where ticker = %(ticker)s order by trade_date desc limit 1",
    "ind": f"select ticker, {_columns('ind')} from curated.fct_daily_indicators "
           "where ticker = %(ticker)s order by trade_date desc limit 1",
    "pred": f"select ticker, {_columns('pred')} from ml.predictions "
            "where ticker = %(ticker)s order by as_of_date desc, created_at desc limit 1",
}
# Each vendor's current observation counts; per field, the most recently fetched non-null one.
_FUND = ", ".join(
    f"(array_agg({name} order by known_at desc) filter (where {name} is not null))[1] as {name}"
    for name in KINDS["fund"].field_names if name != "known_at")
_ALL["fund"] = (f"select ticker, {_FUND}, max(known_at) as known_at from curated.fct_fundamentals "
                "where is_current group by ticker")
_ONE["fund"] = (f"select ticker, {_FUND}, max(known_at) as known_at from curated.fct_fundamentals "
                "where is_current and ticker = %(ticker)s group by ticker")
_ALL["quote"] = (f"select distinct on (ticker) ticker, {_columns('quote')} "
                 "from staging.stg_finnhub__quotes where quoted_at is not null "
                 "order by ticker, quoted_at desc, fetched_at desc")
_ONE["quote"] = (f"select ticker, {_columns('quote')} from staging.stg_finnhub__quotes "
                 "where ticker = %(ticker)s and quoted_at is not null "
                 "order by quoted_at desc, fetched_at desc limit 1")

_BOARDS = {
    "return_1d": "select ticker, return_1d from curated.fct_daily_indicators "
                 "where trade_date = %(session)s and return_1d is not null",
    "dollar_volume": "select ticker, close * volume from curated.fct_daily_bars "
                     "where trade_date = %(session)s",
    "predicted_return": "select ticker, predicted_return from (" + _ALL["pred"] + ") p",
    # Mean news sentiment of the ticker's latest session up to the bars' session, minus that of
    # its previous session with news.
    "sentiment_shift": """
        with latest as (
            select ticker, session_date, mean_sentiment_score
            from curated.agg_ticker_daily_sentiment
            where session_date = (select max(session_date) from curated.agg_ticker_daily_sentiment
                                  where session_date <= %(session)s)
        )
        select l.ticker, l.mean_sentiment_score - p.mean_sentiment_score
        from latest l
        cross join lateral (
            select mean_sentiment_score from curated.agg_ticker_daily_sentiment s
            where s.ticker = l.ticker and s.session_date < l.session_date
            order by s.session_date desc limit 1
        ) p
        where l.mean_sentiment_score is not null and p.mean_sentiment_score is not null""",
}
_BOARD_RELATIONS = {"return_1d": "curated.fct_daily_indicators",
                    "dollar_volume": "curated.fct_daily_bars",
                    "predicted_return": "ml.predictions",
                    "sentiment_shift": "curated.agg_ticker_daily_sentiment"}


RELATION_COUNT = len(set(_RELATIONS.values()) | set(_BOARD_RELATIONS.values()))


def existing(conn: psycopg.Connection) -> set[str]:
    """The relations the cache reads that exist (a fresh warehouse may lack some)."""
    wanted = sorted(set(_RELATIONS.values()) | set(_BOARD_RELATIONS.values()))
    rows = conn.execute("select name from unnest(%s::text[]) name where to_regclass(name) is not null",
                        (wanted,)).fetchall()
    return {row[0] for row in rows}


def latest_session(conn: psycopg.Connection) -> dt.date | None:
    return conn.execute("select max(trade_date) from curated.fct_daily_bars").fetchone()[0]


def kind_available(kind: str, relations: set[str]) -> bool:
    return _RELATIONS[kind] in relations


def board_available(name: str, relations: set[str]) -> bool:
    return _BOARD_RELATIONS[name] in relations


def _payload_query(kind: str, inner: str) -> str:
    """Wrap a query returning (ticker, the kind's fields) into (ticker, session, payload, digest):
    Postgres renders the values (floats to 10 significant digits, see `prepare`) and hashes
    them, which is ~10x faster than doing it per value in Python for a 6,000-ticker load."""
    spec = KINDS[kind]
    rendered = []
    for name, type_code in spec.fields:
        if type_code == "ts":
            value = f"""to_char({name} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""
        elif type_code == "d":
            value = f"to_char({name}, 'YYYY-MM-DD')"
        elif type_code == "t":
            value = f"replace({name}, chr(31), ' ')"
        else:
            value = f"{name}::text"
        rendered.append(f"coalesce({value}, '')")
    session = spec.session_field or "null::date"
    return (f"select ticker, session, payload, left(md5(payload), 16) from ("
            f"select ticker, {session} as session, concat_ws(chr(31), {', '.join(rendered)}) "
            f"as payload from ({inner}) r) p")


def prepare(conn: psycopg.Connection) -> None:
    """Floats rendered as %.10g (15 + extra_float_digits significant digits): compact values."""
    conn.execute("select set_config('extra_float_digits', '-5', false)")


def all_records(conn: psycopg.Connection, kind: str, session: dt.date) -> dict[str, Record]:
    """ticker -> (session, payload, digest), for every ticker with data of this kind as of the
    session (`prepare` the connection first)."""
    rows = conn.execute(_payload_query(kind, _ALL[kind]), {"session": session})
    return {ticker: Record(*rest) for ticker, *rest in rows}


def one_record(conn: psycopg.Connection, kind: str, ticker: str) -> Record | None:
    row = conn.execute(_payload_query(kind, _ONE[kind]), {"ticker": ticker}).fetchone()
    return None if row is None else Record(*row[1:])


def board(conn: psycopg.Connection, name: str, session: dt.date) -> list[tuple[str, float]]:
    """The board's members, best first: the top BOARD_DEPTH (and the bottom ones when two-sided)."""
    query = f"select * from ({_BOARDS[name]}) b(ticker, score) where score is not null"
    top = conn.execute(f"{query} order by score desc, ticker limit {BOARD_DEPTH}",
                       {"session": session}).fetchall()
    if not BOARDS[name]:
        return top
    bottom = conn.execute(f"{query} order by score, ticker limit {BOARD_DEPTH}",
                          {"session": session}).fetchall()
    return sorted(set(top) | set(bottom), key=lambda member: (-member[1], member[0]))


def hot_tickers(conn: psycopg.Connection, session: dt.date, watchlist: list[str],
                top: int) -> set[str]:
    """The tickers a load pre-warms: the watchlist and the top `top` by dollar volume."""
    rows = conn.execute("select ticker from curated.fct_daily_bars where trade_date = %s "
                        "order by close * volume desc nulls last, ticker limit %s",
                        (session, top)).fetchall()
    return {row[0] for row in rows} | set(watchlist)
