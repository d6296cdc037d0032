"""NewsAPI endpoints and the raw table (shapes: /work/shared/vendor-facts.md)."""

from extract.raw_schema import RawTable

VENDOR = "newsapi"

EVERYTHING_PATH = "/v2/everything"
HEADLINES_PATH = "/v2/top-headlines"
EVERYTHING_ENDPOINT = "everything"
HEADLINES_ENDPOINT = "top_headlines"
ENDPOINTS = (EVERYTHING_ENDPOINT, HEADLINES_ENDPOINT)

EVERYTHING_PARAMS = {"language": "en", "sortBy": "publishedAt"}
HEADLINES_PARAMS = {"country": "us"}
MAX_PAGE_SIZE = 100
# The developer plan reads at most 100 results per query; asking for more costs a call that
# answers `maximumResultsReached`. None: a plan without the cap.
DEVELOPER_RESULT_CAP = 100
# The error code of a page past the plan's result cap (100 on the developer plan): the end of
# what this plan can read for the query, not a failure.
RESULT_CAP_CODE = "maximumResultsReached"

# `source` is an object ({"id", "name"}) and stays JSON.
ARTICLES = RawTable(VENDOR, "newsapi_articles", primary_key=("url",), fields={
    "source": "json", "author": "text", "title": "text", "description": "text", "url": "text",
    "urlToImage": "text", "publishedAt": "text", "content": "text",
})
ARTICLES_LIST = "articles"
TOTAL_RESULTS = "totalResults"

TABLES = (ARTICLES,)
