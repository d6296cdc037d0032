"""One adapter per vendor, each written from that vendor's published behaviour."""

from .alphavantage import AlphaVantage
from .finnhub import Finnhub
from .newsapi import NewsAPI
from .polygon import Polygon

ADAPTERS = [Polygon(), Finnhub(), AlphaVantage(), NewsAPI()]

__all__ = ["ADAPTERS", "AlphaVantage", "Finnhub", "NewsAPI", "Polygon"]
