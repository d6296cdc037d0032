"""NewsAPI (developer plan) over HTTP."""

from __future__ import annotations

import datetime as dt

from .conftest import AS_OF

ARTICLE_KEYS = {"source", "author", "title", "description", "url", "urlToImage", "publishedAt", "content"}


def test_everything_shape_and_delay(client, key):
    r = client.get(
        "/v2/everything",
        params={
            "q": "stocks",
            "language": "en",
            "sortBy": "publishedAt",
            "pageSize": 100,
            "page": 1,
            "apiKey": key,
        },
    )
    assert r.status_code == 200
    body = r.json()
    assert list(body) == ["status", "totalResults", "articles"] and body["status"] == "ok"
    assert isinstance(body["totalResults"], int) and body["totalResults"] >= len(body["articles"]) > 0
    newest_allowed = AS_OF - dt.timedelta(hours=24)
    oldest_allowed = AS_OF - dt.timedelta(days=31)
    for a in body["articles"]:
        assert set(a) == ARTICLE_KEYS
        assert set(a["source"]) == {"id", "name"} and isinstance(a["source"]["name"], str)
        when = dt.datetime.strptime(a["publishedAt"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
        assert oldest_allowed <= when <= newest_allowed
        assert a["author"] is None or isinstance(a["author"], str)
    stamps = [a["publishedAt"] for a in body["articles"]]
    assert stamps == sorted(stamps, reverse=True)


def test_everything_by_company(client, key):
    body = client.get("/v2/everything", params={"q": "AAPL", "apiKey": key}).json()
    assert body["articles"] and all("AAPL" in a["title"] + a["description"] for a in body["articles"])


def test_paging_cap_and_history(client, key):
    ok = client.get("/v2/everything", params={"q": "stocks", "pageSize": 50, "page": 2, "apiKey": key})
    assert ok.status_code == 200
    r = client.get("/v2/everything", params={"q": "stocks", "pageSize": 100, "page": 2, "apiKey": key})
    assert r.status_code == 426
    assert r.json()["status"] == "error" and r.json()["code"] == "maximumResultsReached"
    r = client.get("/v2/everything", params={"q": "stocks", "from": "2023-10-01", "apiKey": key})
    assert r.status_code == 426 and r.json()["code"] == "parameterInvalid"
    r = client.get("/v2/everything", params={"apiKey": key})
    assert r.status_code == 400 and r.json()["code"] == "parametersMissing"
    paid = client.get("/v2/everything", params={"q": "stocks", "pageSize": 100, "page": 2, "apiKey": "PAID"})
    assert paid.status_code == 200


def test_auth_errors(client, key):
    cases = [
        ({}, "apiKeyMissing"),
        ({"apiKey": "BAD"}, "apiKeyInvalid"),
        ({"apiKey": "OFF"}, "apiKeyDisabled"),
    ]
    for params, code in cases:
        r = client.get("/v2/top-headlines", params={"country": "us", **params})
        assert r.status_code == 401
        body = r.json()
        assert (
            set(body) == {"status", "code", "message"} and body["status"] == "error" and body["code"] == code
        )
    r = client.get("/v2/top-headlines", params={"country": "us"}, headers={"X-Api-Key": key})
    assert r.status_code == 200


def test_top_headlines(client, key):
    body = client.get(
        "/v2/top-headlines", params={"category": "business", "country": "us", "apiKey": key}
    ).json()
    assert body["status"] == "ok" and 0 < len(body["articles"]) <= 20
    assert all(set(a) == ARTICLE_KEYS for a in body["articles"])
