"""classify/redact on the vendors' own bodies, as collected in /work/shared/vendor-facts.md."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from extract.responses import Kind, classify, redact

NOW = datetime(2026, 1, 5, 21, 30, tzinfo=UTC).timestamp()
KEY = "Zx9PqR7tLmN2vB4kW8sD"


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


POLYGON_GROUPED = body({
    "queryCount": 1, "resultsCount": 1, "adjusted": True,
    "results": [{"T": "AAPL", "v": 70790813.0, "vw": 131.6292, "o": 130.465, "c": 130.15,
                 "h": 133.41, "l": 129.89, "t": 1673298000000, "n": 645365}],
    "status": "OK", "request_id": "6a7e466379af0a71039d60cc78e72282", "count": 1})
POLYGON_HOLIDAY = body({"queryCount": 0, "resultsCount": 0, "adjusted": True, "status": "OK",
                        "request_id": "b2170a8c5d3c4b8e9f0a1b2c3d4e5f60", "count": 0})
POLYGON_TODAY = body({
    "status": "NOT_AUTHORIZED", "request_id": "a1b2c3",
    "message": "Attempted to request today's data before end of day. Please upgrade your plan "
               "at https://polygon.io/pricing"})
POLYGON_NOT_ENTITLED = body({
    "status": "NOT_AUTHORIZED", "request_id": "a1b2c4",
    "message": "You are not entitled to this data. Please upgrade your plan at "
               "https://polygon.io/pricing"})
POLYGON_429 = body({
    "status": "ERROR", "request_id": "a1b2c5",
    "error": "You've exceeded the maximum requests per minute, please wait or upgrade your "
             "subscription to continue."})
FINNHUB_QUOTE = body({"c": 261.74, "d": -1.2, "dp": -0.46, "h": 263.31, "l": 260.68,
                      "o": 261.07, "pc": 262.94, "t": 1602705600})
FINNHUB_429 = body({"error": "API limit reached. Please try again later. Remaining Limit: 0"})
FINNHUB_PREMIUM = body({"error": "You don't have access to this resource."})
AV_DAILY = body({"Meta Data": {"1. Information": "Daily Prices (open, high, low, close) and "
                                                 "Volumes", "2. Symbol": "IBM",
                               "3. Last Refreshed": "2024-01-05", "4. Output Size": "Compact",
                               "5. Time Zone": "US/Eastern"},
                 "Time Series (Daily)": {"2024-01-05": {
                     "1. open": "160.6500", "2. high": "161.2500", "3. low": "159.6600",
                     "4. close": "160.4100", "5. volume": "3905433"}}})
AV_LIMIT = body({"Information": (
    "Thank you for using Alpha Vantage! Our standard API rate limit is 25 requests per day. "
    "Please subscribe to any of the premium plans at https://www.alphavantage.co/premium/ to "
    "instantly remove all daily rate limits.")})
AV_NOTE = body({"Note": (
    "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute "
    "and 500 calls per day. Please visit https://www.alphavantage.co/premium/ if you would like "
    "to target a higher API call frequency.")})
AV_ERROR = body({"Error Message": (
    "Invalid API call. Please retry or visit the documentation "
    "(https://www.alphavantage.co/documentation/) for TIME_SERIES_DAILY.")})
NEWSAPI_OK = body({"status": "ok", "totalResults": 1, "articles": [{
    "source": {"id": None, "name": "Reuters"}, "author": "A. Writer", "title": "Stocks rise",
    "description": "…", "url": "https://example.com/a", "urlToImage": None,
    "publishedAt": "2024-01-05T13:30:00Z", "content": "…"}]})


def newsapi_error(code: str, message: str = "See the documentation.") -> bytes:
    return body({"status": "error", "code": code, "message": message})


@pytest.mark.parametrize(("vendor", "status", "raw", "kind"), [
    ("polygon", 200, POLYGON_GROUPED, Kind.OK),
    ("polygon", 200, POLYGON_HOLIDAY, Kind.EMPTY),
    ("polygon", 403, POLYGON_TODAY, Kind.NOT_YET_AVAILABLE),
    ("polygon", 403, POLYGON_NOT_ENTITLED, Kind.NOT_ENTITLED),
    ("polygon", 429, POLYGON_429, Kind.THROTTLED),
    ("polygon", 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", Kind.TRANSIENT),
    ("polygon", 200, POLYGON_GROUPED[:-40], Kind.TRANSIENT),  # cut off mid-body
    ("finnhub", 200, FINNHUB_QUOTE, Kind.OK),
    ("finnhub", 200, b"[]", Kind.EMPTY),  # company-news with nothing in the range
    ("finnhub", 200, b"{}", Kind.EMPTY),  # profile2 of an unknown symbol
    ("finnhub", 429, FINNHUB_429, Kind.THROTTLED),
    ("finnhub", 403, FINNHUB_PREMIUM, Kind.NOT_ENTITLED),
    ("finnhub", 401, body({"error": "Invalid API key"}), Kind.AUTH_ERROR),
    ("finnhub", 500, body({"error": "Internal server error"}), Kind.TRANSIENT),
    ("alphavantage", 200, AV_DAILY, Kind.OK),
    ("alphavantage", 200, AV_LIMIT, Kind.THROTTLED),
    ("alphavantage", 200, AV_NOTE, Kind.THROTTLED),
    ("alphavantage", 200, AV_ERROR, Kind.BAD_REQUEST),
    ("alphavantage", 200, b"", Kind.TRANSIENT),
    ("newsapi", 200, NEWSAPI_OK, Kind.OK),
    ("newsapi", 200, body({"status": "ok", "totalResults": 0, "articles": []}), Kind.EMPTY),
    ("newsapi", 429, newsapi_error("rateLimited"), Kind.THROTTLED),
    ("newsapi", 426, newsapi_error("maximumResultsReached"), Kind.BAD_REQUEST),
    ("newsapi", 400, newsapi_error("parameterInvalid"), Kind.BAD_REQUEST),
    ("newsapi", 401, newsapi_error("apiKeyInvalid"), Kind.AUTH_ERROR),
    ("newsapi", 401, newsapi_error("apiKeyDisabled"), Kind.AUTH_ERROR),
    ("newsapi", 401, newsapi_error("apiKeyMissing"), Kind.AUTH_ERROR),
    ("newsapi", 503, b"Service Unavailable", Kind.TRANSIENT),
])
def test_each_vendor_answer_gets_its_outcome(vendor, status, raw, kind):
    outcome = classify(vendor, status, {}, raw, clock=lambda: NOW)
    assert outcome.kind is kind
    assert outcome.reason
    assert outcome.retryable == (kind in (Kind.THROTTLED, Kind.NOT_YET_AVAILABLE, Kind.TRANSIENT))


def test_ok_and_empty_carry_the_parsed_payload():
    assert classify("polygon", 200, {}, POLYGON_GROUPED).payload["results"][0]["T"] == "AAPL"
    assert classify("polygon", 200, {}, POLYGON_HOLIDAY).payload["resultsCount"] == 0


def test_reasons_say_why():
    today = classify("polygon", 403, {}, POLYGON_TODAY)
    assert "before end of day" in today.reason
    truncated = classify("polygon", 200, {}, POLYGON_GROUPED[:-40])
    assert "truncated or malformed JSON" in truncated.reason
    html = classify("finnhub", 502, {}, b"<!DOCTYPE html><html>Bad gateway</html>")
    assert html.reason == "HTTP 502 with an HTML page instead of JSON"
    assert len(classify("alphavantage", 200, {}, AV_LIMIT).reason) <= 200


def test_retry_after_is_read_in_seconds_or_as_an_http_date():
    seconds = classify("finnhub", 429, {"retry-after": "17"}, FINNHUB_429, clock=lambda: NOW)
    assert seconds.retry_after == 17
    dated = classify("polygon", 429, {"Retry-After": "Mon, 05 Jan 2026 21:31:30 GMT"},
                     POLYGON_429, clock=lambda: NOW)
    assert dated.retry_after == pytest.approx(90)
    assert classify("polygon", 429, {}, POLYGON_429).retry_after is None
    assert classify("polygon", 503, {"Retry-After": "5"}, b"").retry_after == 5


def test_only_the_daily_limit_message_spends_the_alpha_vantage_day():
    assert classify("alphavantage", 200, {}, AV_LIMIT).day_budget_spent
    assert not classify("alphavantage", 200, {}, AV_NOTE).day_budget_spent
    assert not classify("finnhub", 429, {}, FINNHUB_429).day_budget_spent


def test_alpha_vantage_refusals_that_are_not_rate_limits():
    premium = body({"Information": "Thank you for using Alpha Vantage! This is a premium "
                                   "endpoint. You may subscribe to any of the premium plans at "
                                   "https://www.alphavantage.co/premium/ to instantly unlock "
                                   "all premium endpoints"})
    assert classify("alphavantage", 200, {}, premium).kind is Kind.NOT_ENTITLED
    assert classify("alphavantage", 200, {}, body({})).kind is Kind.EMPTY


def test_the_key_never_appears_in_a_reason():
    echoed = newsapi_error("apiKeyInvalid", f"Your API key {KEY} is invalid. Check it at "
                                            f"https://newsapi.org/account?apiKey={KEY}")
    outcome = classify("newsapi", 401, {}, echoed, keys=[KEY])
    assert outcome.kind is Kind.AUTH_ERROR
    assert KEY not in outcome.reason and "REDACTED" in outcome.reason
    assert KEY not in repr(outcome)


@pytest.mark.parametrize(("text", "expected"), [
    ("https://api.polygon.io/v2/aggs/grouped/locale/us/market/stocks/2026-01-05?adjusted=true"
     "&apiKey=secret1", "https://api.polygon.io/v2/aggs/grouped/locale/us/market/stocks/"
                        "2026-01-05?adjusted=true&apiKey=REDACTED"),
    ("https://www.alphavantage.co/query?function=OVERVIEW&symbol=IBM&apikey=secret2",
     "https://www.alphavantage.co/query?function=OVERVIEW&symbol=IBM&apikey=REDACTED"),
    ("https://finnhub.io/api/v1/quote?token=secret3&symbol=AAPL",
     "https://finnhub.io/api/v1/quote?token=REDACTED&symbol=AAPL"),
    ("GET https://api.polygon.io/v3/reference/tickers?cursor=YWN0aXZl&next_token=x&apiKey=k#top"
     " failed", "GET https://api.polygon.io/v3/reference/tickers?cursor=YWN0aXZl&next_token=x"
                "&apiKey=REDACTED#top failed"),
    (f"header X-Finnhub-Token: {KEY} refused", "header X-Finnhub-Token: REDACTED refused"),
    ("no secrets here", "no secrets here"),
])
def test_redact_removes_key_parameters_and_literal_keys(text, expected):
    assert redact(text, [KEY]) == expected


def test_redact_catches_a_url_encoded_key():
    key = "abc+/=def"
    assert redact("https://x.test/q?key=abc%2B%2F%3Ddef and abc+/=def", [key]) == \
        "https://x.test/q?key=REDACTED and REDACTED"


def test_an_unknown_vendor_is_a_programming_error():
    with pytest.raises(ValueError, match="iex"):
        classify("iex", 200, {}, b"{}")
