"""News sentiment: vendor news normalised, deduplicated, mapped to tickers, scored by FinBERT
(or any three-way sentiment classifier) or, when no model is available, the Loughran-McDonald
lexicon, and written to `ml.article_sentiment`; aggregated per ticker and sector in 4-hour
windows, with shift and burst alerts (`windows.py`).

    from ml.sentiment import SentimentConfig, score_window
    score_window(database, start, end, SentimentConfig(model="/models/finbert", quantize=True))

torch and transformers are imported only when a transformer is loaded.
"""

from ml.sentiment.articles import NewsArticle, TickerMention, from_alphavantage, from_finnhub, from_newsapi
from ml.sentiment.config import SentimentConfig
from ml.sentiment.dedup import deduplicate
from ml.sentiment.scorers import (
    LexiconScorer,
    ModelUnavailable,
    Scorer,
    SentimentScore,
    TransformerScorer,
    load_scorer,
)
from ml.sentiment.store import ScoringResult, ensure_tables, load_directory, score_articles, score_window
from ml.sentiment.tickers import TickerDirectory
from ml.sentiment.windows import AlertRules, SentimentAlert, aggregate_windows, find_alerts, raise_alerts

__all__ = [
    "AlertRules", "SentimentAlert", "aggregate_windows", "find_alerts", "raise_alerts",
    "LexiconScorer", "ModelUnavailable", "NewsArticle", "Scorer", "ScoringResult", "SentimentConfig",
    "SentimentScore", "TickerDirectory", "TickerMention", "TransformerScorer", "deduplicate",
    "ensure_tables", "from_alphavantage", "from_finnhub", "from_newsapi", "load_directory",
    "load_scorer", "score_articles", "score_window",
]
