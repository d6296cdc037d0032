"""The 4-hourly news sentiment pipeline (`orchestration.sentiment.run_sentiment_window`) over one
UTC day, against the emulator's free plans over HTTP and a real Postgres and Redis.

Beside the emulator's news, two made-up tickers get scripted news landed in raw exactly as the
Finnhub extractor lands it: ZZZT has a month of calm news and then a burst of bad news in one
window that carries on into the next (one event: one burst alert and one drop alert, both in the
first window); QQQZ has a month of bad news and then three good articles in one window (a rise,
too few articles for a burst).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import dlt
import httpx
import pytest

from emulator import Emulator, EmulatorConfig
from extract.finnhub.settings import COMPANY_NEWS
from extract.landing import land
from extract.raw_schema import CONTRACT, metadata, raw_schema
from ml.sentiment.articles import canonical_url
from ml.sentiment.scorers import LexiconScorer
from ml.sentiment.store import score_window
from ml.sentiment.windows import AlertRules, find_alerts, raise_alerts
from orchestration.sentiment import run_sentiment_window
from tickerhouse.settings import load_settings

pytestmark = pytest.mark.slow

KEY = "sentiment-pipeline-free"  # a free-plan key: the emulator enforces the free limits
DAY = dt.datetime(2024, 3, 6, tzinfo=dt.UTC)  # news of the 2024-03-05 session lands after 21:00
WINDOW_ENDS = [DAY + dt.timedelta(hours=h) for h in range(4, 28, 4)]
BURST_WINDOW = DAY + dt.timedelta(hours=12)  # ZZZT's bad news: 12:00-16:00, more 16:00-20:00
RISE_WINDOW = DAY + dt.timedelta(hours=8)  # QQQZ's good news: 08:00-12:00
BUDGETS = {"newsapi": 14, "finnhub": 3, "alphavantage": 2}
BASELINE_DAYS = 30


def scripted_items() -> list[dict]:
    """Finnhub company-news items for the two scripted tickers."""
    items: list[dict] = []

    def add(ticker: str, when: dt.datetime, headline: str) -> None:
        n = len(items)
        items.append({"category": "company", "datetime": int(when.timestamp()),
                      "headline": headline, "id": 9_000_000 + n, "image": "",
                      "related": ticker, "source": "Scripted Wire",
                      "summary": "", "url": f"https://scripted.example.com/{ticker.lower()}/{n}"})

    for day in range(1, BASELINE_DAYS + 1):
        noon = DAY - dt.timedelta(days=day) + dt.timedelta(hours=15)
        add("ZZZT", noon, "Zedtest Corp reports strong quarterly results" if day % 2 else
            f"Zedtest Corp sets date {day} for annual shareholder meeting")
        add("QQQZ", noon, f"Qubit Quartz warns of losses and weak demand, note {day}")
    for i in range(6):
        add("ZZZT", BURST_WINDOW + dt.timedelta(minutes=20 + 30 * i),
            f"Zedtest Corp shares slide on lawsuit and losses, report {i}")
    for i in range(5):  # the same event, continued in the next window
        add("ZZZT", BURST_WINDOW + dt.timedelta(hours=4, minutes=15 + 30 * i),
            f"Zedtest Corp faces fraud probe as losses widen, update {i}")
    for i in range(3):
        add("QQQZ", RISE_WINDOW + dt.timedelta(minutes=40 * (i + 1)),
            f"Qubit Quartz posts record gains and strong profitability, item {i}")
    return items


def land_scripted(database, pipelines_dir) -> None:
    items = scripted_items()
    COMPANY_NEWS.check(items)
    rows = [item | metadata("finnhub", "scripted", dt.datetime.now(dt.UTC)) for item in items]

    @dlt.source(schema=raw_schema("finnhub", [COMPANY_NEWS]), schema_contract=CONTRACT,
                max_table_nesting=0)
    def finnhub():
        return dlt.resource(rows, name=COMPANY_NEWS.name, primary_key=COMPANY_NEWS.primary_key,
                            write_disposition="merge", columns=COMPANY_NEWS.columns)

    land(database, finnhub(), pipelines_dir)


@pytest.fixture(scope="module")
def emu():
    config = EmulatorConfig(seed=11, n_tickers=40, as_of=WINDOW_ENDS[0], freeze_clock=True,
                            market_start=dt.date(2022, 1, 3))
    with Emulator(config) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def warehouse(scratch_databases):
    return scratch_databases("th_sentiment_pipeline")


@pytest.fixture(scope="module")
def settings(emu, redis_url, tmp_path_factory):
    watchlist = [row["ticker"] for row in emu.universe(DAY.date())["tickers"]][:4]
    return load_settings(
        **{f"{vendor}_api_key": KEY for vendor in BUDGETS},
        **{f"{vendor}_base_url": emu.url for vendor in BUDGETS},
        **{f"sentiment_{vendor}_calls_per_window": calls for vendor, calls in BUDGETS.items()},
        polygon_api_key=None, watchlist=",".join(watchlist), sentiment_scorer="lexicon",
        sentiment_baseline_days=BASELINE_DAYS, redis_url=redis_url,
        state_dir=tmp_path_factory.mktemp("state"))


@pytest.fixture(scope="module")
def day(emu, warehouse, settings, tmp_path_factory):
    """The scripted history scored (as `tickerhouse sentiment score` would backfill it), then
    the day's six windows in order, each run twice."""
    land_scripted(warehouse, tmp_path_factory.mktemp("dlt"))
    history = score_window(warehouse, DAY - dt.timedelta(days=BASELINE_DAYS + 1),
                           DAY - dt.timedelta(hours=1), scorer=LexiconScorer())
    assert history.scored == 2 * BASELINE_DAYS
    runs = []
    for end in WINDOW_ENDS:
        emu.set_clock(end)
        first = run_sentiment_window(settings, warehouse, "live", end)
        again = run_sentiment_window(settings, warehouse, "live", end)
        runs.append((first, again))
    return runs


def query(warehouse, sql: str, *params):
    with warehouse.connect() as conn:
        return conn.execute(sql, params).fetchall()


def test_budgets_hold_across_the_day_and_reruns_spend_nothing(day, emu, warehouse):
    spent = Counter()
    for first, again in day:
        assert first.failed_vendors == {}, first.failed_vendors
        assert all(first.window_calls.get(v, 0) <= budget for v, budget in BUDGETS.items())
        assert sum(again.calls.values()) == 0 and again.window_calls == first.window_calls
        spent.update(first.calls)
    # Every window: market headlines and ten sector searches (one call each), company news for
    # the three first watchlist tickers. Alpha Vantage takes the watchlist's four tickers in
    # turns, each once a day (the test has no universe beyond the watchlist).
    assert spent == {"newsapi": 6 * 11, "finnhub": 6 * 3, "alphavantage": 4}
    counts = emu.counts()
    assert counts["total"]["throttled"] == 0
    answered = {vendor: counts["vendors"][vendor]["total"]["answered"] for vendor in BUDGETS}
    assert answered == spent
    daily = dict(query(warehouse, "select vendor, sum(calls)::int from ops.api_quota_daily group by 1"))
    assert daily == spent
    assert daily["newsapi"] + 12 <= 100 and daily["alphavantage"] + 10 <= 25  # the daily run fits


def test_rerunning_a_window_scores_and_writes_nothing(day, warehouse):
    assert sum(first.scored for first, _ in day) > 50
    for first, again in day:
        assert (again.scored, again.new_articles, again.ticker_windows, again.sector_windows,
                again.alerts) == (0, 0, 0, 0, [])
        assert again.articles == first.articles
    scored = query(warehouse, "select count(*), count(distinct article_key) from ml.article_sentiment")
    assert scored[0][0] == scored[0][1]


def alerts_of(warehouse, ticker: str) -> list[tuple]:
    return query(warehouse, "select kind, dedupe_key, occurrences from ops.alerts "
                            "where source = 'sentiment' and subject = %s order by kind", ticker)


def test_a_burst_of_bad_news_alerts_once_in_its_window(day, warehouse):
    stamp = f"{BURST_WINDOW:%Y%m%dT%H%MZ}"
    assert alerts_of(warehouse, "ZZZT") == [
        ("news_burst", f"sentiment:news_burst:ZZZT:{stamp}", 1),
        ("sentiment_drop", f"sentiment:sentiment_drop:ZZZT:{stamp}", 1)]
    raised = [(a.kind, a.ticker, a.window_start) for first, _ in day for a in first.alerts
              if a.ticker == "ZZZT"]
    assert sorted(raised) == [("news_burst", "ZZZT", BURST_WINDOW),
                              ("sentiment_drop", "ZZZT", BURST_WINDOW)]
    # Raised by the run of that window, not later.
    burst_run = WINDOW_ENDS.index(BURST_WINDOW + dt.timedelta(hours=4))
    assert {a.kind for a in day[burst_run][0].alerts if a.ticker == "ZZZT"} == {
        "news_burst", "sentiment_drop"}
    # The next window qualifies on its own (five more bad articles) and is the same event.
    windows = dict(query(warehouse, "select window_start, article_count from "
                                    "ml.ticker_sentiment_windows where ticker = 'ZZZT' "
                                    "and window_start >= %s", DAY))
    next_window = BURST_WINDOW + dt.timedelta(hours=4)
    assert windows == {BURST_WINDOW: 6, next_window: 5}
    lexicon = LexiconScorer()
    found = find_alerts(warehouse, lexicon.name, lexicon.version, next_window,
                        next_window + dt.timedelta(hours=4), AlertRules(baseline_days=BASELINE_DAYS))
    assert {(a.kind, a.ticker) for a in found} >= {("news_burst", "ZZZT"), ("sentiment_drop", "ZZZT")}
    assert raise_alerts(warehouse, found, AlertRules().cooldown) == []


def test_good_news_against_a_bad_baseline_is_a_rise_without_a_burst(day, warehouse):
    assert alerts_of(warehouse, "QQQZ") == [
        ("sentiment_rise", f"sentiment:sentiment_rise:QQQZ:{RISE_WINDOW:%Y%m%dT%H%MZ}", 1)]
    row = query(warehouse, "select article_count, positive_share, negative_share, mean_score "
                           "from ml.ticker_sentiment_windows where ticker = 'QQQZ' "
                           "and window_start >= %s", DAY)
    assert row == [(3, 1.0, 0.0, 1.0)]


def test_each_event_alerts_once(day, warehouse):
    rows = query(warehouse, "select kind, subject, dedupe_key, occurrences from ops.alerts "
                            "where source = 'sentiment'")
    assert rows and all(occurrences == 1 for *_, occurrences in rows)
    by_event = Counter((kind, subject) for kind, subject, _, _ in rows)
    assert max(by_event.values()) == 1  # one day: no kind twice for one ticker


def test_sector_windows_roll_up_the_ticker_windows(day, warehouse):
    tickers = dict(query(warehouse, "select window_start, sum(article_count) from "
                                    "ml.ticker_sentiment_windows group by 1"))
    sectors = query(warehouse, "select window_start, sector, article_count, ticker_count "
                               "from ml.sector_sentiment_windows")
    assert sectors and {s for _, s, _, _ in sectors} == {"Unclassified"}  # no dim_ticker here
    for window_start, _, articles, ticker_count in sectors:
        assert articles <= tickers[window_start] and ticker_count >= 1


def test_lexicon_accuracy_against_the_emulators_labels(day, emu, warehouse, record_property):
    """What the pipeline stored, scored by the lexicon, against the emulator's ground truth."""
    with httpx.Client(base_url=emu.url, timeout=60) as client:
        labels = client.get("/_emulator/news/labels", params={
            "from": (DAY - dt.timedelta(days=3)).date().isoformat(),
            "to": DAY.date().isoformat()}).json()["labels"]
    truth = {canonical_url(row["url"]): row["label"] for row in labels}
    rows = query(warehouse, "select a.url, s.label from ml.news_articles a "
                            "join ml.article_sentiment s using (article_key)")
    pairs = [(truth[url], label) for url, label in rows if url in truth]
    assert len(pairs) >= 30
    accuracy = sum(t == p for t, p in pairs) / len(pairs)
    majority = Counter(t for t, _ in pairs).most_common(1)[0][1] / len(pairs)
    record_property("lexicon_accuracy", round(accuracy, 3))
    print(f"\nlexicon accuracy on {len(pairs)} pipeline-scored emulator articles: {accuracy:.1%} "
          f"(always the commonest label: {majority:.1%})")
    # Measured: 53.5% on 43 articles (seed 11), against 37.2% for the commonest label.
    assert accuracy > majority + 0.1
