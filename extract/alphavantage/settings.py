"""Alpha Vantage functions and raw tables (shapes: /work/shared/vendor-facts.md).

Every value arrives as a string (`"None"` or `"-"` when missing) and lands as that string;
staging casts. The one exception is a news item's `overall_sentiment_score`, a JSON number.
"""

from extract.raw_schema import RawTable

VENDOR = "alphavantage"
PATH = "/query"  # every function is a query parameter of the one path

DAILY_ENDPOINT = "time_series_daily"
OVERVIEW_ENDPOINT = "overview"
NEWS_ENDPOINT = "news_sentiment"
ENDPOINTS = (DAILY_ENDPOINT, OVERVIEW_ENDPOINT, NEWS_ENDPOINT)

DAILY_PARAMS = {"function": "TIME_SERIES_DAILY", "outputsize": "compact"}  # full is premium
OVERVIEW_PARAMS = {"function": "OVERVIEW"}
# 1000 is the most a call returns (the default is 50): the free plan's 25 calls a day go far.
NEWS_PARAMS = {"function": "NEWS_SENTIMENT", "sort": "LATEST", "limit": 1000}

DAILY_SERIES = "Time Series (Daily)"
DAILY_META = "Meta Data"
# One row per symbol and date: the date is the series' key, the symbol the one asked for
# (Alpha Vantage accepts BRK-B for BRK.B), and the response's "Meta Data" (last refreshed,
# output size, time zone) rides along on each row as JSON.
DAILY = RawTable(VENDOR, "alphavantage_daily", primary_key=("symbol", "date"), fields={
    "1. open": "text", "2. high": "text", "3. low": "text", "4. close": "text",
    "5. volume": "text",
}, added={"symbol": "text", "date": "text", DAILY_META: "json"})

# The fields of Alpha Vantage's documented OVERVIEW example (vendor-facts.md lists the first few).
OVERVIEWS = RawTable(VENDOR, "alphavantage_overviews", primary_key=("Symbol",), fields=dict.fromkeys((
    "Symbol", "AssetType", "Name", "Description", "CIK", "Exchange", "Currency", "Country",
    "Sector", "Industry", "Address", "OfficialSite", "FiscalYearEnd", "LatestQuarter",
    "MarketCapitalization", "EBITDA", "PERatio", "PEGRatio", "BookValue", "DividendPerShare",
    "DividendYield", "EPS", "RevenuePerShareTTM", "ProfitMargin", "OperatingMarginTTM",
    "ReturnOnAssetsTTM", "ReturnOnEquityTTM", "RevenueTTM", "GrossProfitTTM", "DilutedEPSTTM",
    "QuarterlyEarningsGrowthYOY", "QuarterlyRevenueGrowthYOY", "AnalystTargetPrice",
    "AnalystRatingStrongBuy", "AnalystRatingBuy", "AnalystRatingHold", "AnalystRatingSell",
    "AnalystRatingStrongSell", "TrailingPE", "ForwardPE", "PriceToSalesRatioTTM",
    "PriceToBookRatio", "EVToRevenue", "EVToEBITDA", "Beta", "52WeekHigh", "52WeekLow",
    "50DayMovingAverage", "200DayMovingAverage", "SharesOutstanding", "SharesFloat",
    "PercentInsiders", "PercentInstitutions", "DividendDate", "ExDividendDate",
), "text"))

NEWS_FEED = "feed"
# `authors`, `topics` and `ticker_sentiment` are lists and stay JSON (their scores strings).
# `_symbol` is the symbol whose feed brought the article (the latest, when several feeds carry
# it): how stale each symbol's news is.
NEWS_SENTIMENT = RawTable(VENDOR, "alphavantage_news_sentiment", primary_key=("url",), fields={
    "title": "text", "url": "text", "time_published": "text", "authors": "json",
    "summary": "text", "banner_image": "text", "source": "text",
    "category_within_source": "text", "source_domain": "text", "topics": "json",
    "overall_sentiment_score": "double", "overall_sentiment_label": "text",
    "ticker_sentiment": "json",
}, added={"_symbol": "text"})

TABLES = (DAILY, OVERVIEWS, NEWS_SENTIMENT)
