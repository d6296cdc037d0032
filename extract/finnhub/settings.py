"""Finnhub endpoints and raw tables (shapes: /work/shared/vendor-facts.md)."""

from extract.raw_schema import RawTable

VENDOR = "finnhub"

QUOTE_PATH = "/api/v1/quote"
COMPANY_NEWS_PATH = "/api/v1/company-news"
PROFILE_PATH = "/api/v1/stock/profile2"
METRIC_PATH = "/api/v1/stock/metric"

# Endpoint names as the quota, the planner (extract/planner.py) and dead letters know them.
QUOTE_ENDPOINT = "quote"
COMPANY_NEWS_ENDPOINT = "company_news"
PROFILE_ENDPOINT = "profile2"
METRIC_ENDPOINT = "metric"
ENDPOINTS = (QUOTE_ENDPOINT, COMPANY_NEWS_ENDPOINT, PROFILE_ENDPOINT, METRIC_ENDPOINT)

# A stateful news run's first window: how far back the first run reaches (Finnhub keeps a year
# of company news on the free plan).
NEWS_FIRST_RUN_DAYS = 7
# Late-published articles (an edit, a feed that lags) can carry a `datetime` just before the
# cursor: each run takes this much before it again, and the merge on `id` absorbs repeats.
NEWS_LAG_SECONDS = 6 * 3600

# "t" is the quote's time (epoch s); the symbol is the one asked for (a quote does not carry it).
QUOTES = RawTable(VENDOR, "finnhub_quotes", primary_key=("symbol", "t"), fields={
    "c": "double", "d": "double", "dp": "double", "h": "double", "l": "double", "o": "double",
    "pc": "double", "t": "bigint",
}, added={"symbol": "text"})

COMPANY_NEWS = RawTable(VENDOR, "finnhub_company_news", primary_key=("id",), fields={
    "category": "text", "datetime": "bigint", "headline": "text", "id": "bigint",
    "image": "text", "related": "text", "source": "text", "summary": "text", "url": "text",
})

# estimateCurrency: in Finnhub's own examples, though not in vendor-facts.md.
PROFILES = RawTable(VENDOR, "finnhub_profiles", primary_key=("ticker",), fields={
    "country": "text", "currency": "text", "estimateCurrency": "text", "exchange": "text",
    "finnhubIndustry": "text", "ipo": "text", "logo": "text", "marketCapitalization": "double",
    "name": "text", "phone": "text", "shareOutstanding": "double", "ticker": "text",
    "weburl": "text",
})

# `metric` (about 130 ratios, a different subset per company, growing over time) and `series`
# (per-period histories) stay JSON: as columns they would trip the frozen contract on ordinary
# payloads, and dlt would explode `series` into dozens of child tables. Staging extracts the few
# it models; drift inside them is that model's tests' to catch, not the door's.
METRICS = RawTable(VENDOR, "finnhub_metrics", primary_key=("symbol",), fields={
    "metric": "json", "metricType": "text", "series": "json", "symbol": "text",
})

TABLES = (QUOTES, COMPANY_NEWS, PROFILES, METRICS)
