"""Polygon endpoints and table names (shapes: ../shared/vendor-facts.md)."""

GROUPED_DAILY_PATH = "/v2/aggs/grouped/locale/us/market/stocks/{date}"
GROUPED_DAILY_TABLE = "polygon_grouped_daily"
# The payload's own keys: "T" ticker, "t" session timestamp (epoch ms); both case-sensitive,
# which is why raw tables use dlt's case-sensitive naming (see extract/raw_schema.py).
GROUPED_DAILY_KEY = ("T", "t")
