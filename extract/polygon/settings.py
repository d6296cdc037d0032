"""Polygon endpoints and raw tables (shapes: /work/shared/vendor-facts.md).

Declared fields are those Polygon documents for the requests we make: `otc` appears only when
`include_otc=true` is asked for, which we never do, so an `otc` field is drift.
"""

from extract.raw_schema import RawTable

VENDOR = "polygon"

# Daily bars as Polygon's aggregates carry them: "t" is the session timestamp (epoch ms); "vw"
# and "n" are missing for some tickers. Case-sensitive names ("T" and "t"): see raw_schema.py.
_BAR_FIELDS = {"v": "double", "vw": "double", "o": "double", "c": "double", "h": "double",
               "l": "double", "t": "bigint", "n": "bigint"}

GROUPED_DAILY_PATH = "/v2/aggs/grouped/locale/us/market/stocks/{date}"
# A grouped-daily answer is the whole market's session: a session fetched again replaces that
# session's rows.
GROUPED_DAILY = RawTable(VENDOR, "polygon_grouped_daily", primary_key=("T", "t"),
                         fields={"T": "text", **_BAR_FIELDS}, added={"_session_date": "date"},
                         replaced_by="_session_date")
GROUPED_DAILY_TABLE = GROUPED_DAILY.name
GROUPED_DAILY_KEY = GROUPED_DAILY.primary_key

TICKERS_PATH = "/v3/reference/tickers"
TICKERS_ENDPOINT = "tickers"
# The listing is one item (its dead letter replays the whole listing).
TICKERS_ITEM = {"market": "stocks", "active": "true"}
TICKERS_PAGE_SIZE = 1000  # Polygon's maximum
TICKERS = RawTable(VENDOR, "polygon_tickers", primary_key=("ticker",), fields={
    "ticker": "text", "name": "text", "market": "text", "locale": "text",
    "primary_exchange": "text", "type": "text", "active": "bool", "currency_name": "text",
    "currency_symbol": "text", "base_currency_name": "text", "base_currency_symbol": "text",
    "cik": "text", "composite_figi": "text", "share_class_figi": "text",
    "last_updated_utc": "text", "delisted_utc": "text",
})

RANGE_PATH = "/v2/aggs/ticker/{ticker}/range/1/day/{start}/{end}"
RANGES_ENDPOINT = "daily_ranges"
RANGE_PAGE_SIZE = 50_000  # Polygon's maximum: about 200 years of daily bars, so one page
# The rows' "ticker" is the response's own, set beside its results.
DAILY_RANGES = RawTable(VENDOR, "polygon_daily_ranges", primary_key=("ticker", "t"),
                        fields=_BAR_FIELDS, added={"ticker": "text"})

TABLES = (GROUPED_DAILY, TICKERS, DAILY_RANGES)
