"""The Redis cache: what the backend reads fast. Redis only mirrors Postgres: everything in it is
rebuilt from the warehouse, so losing it loses nothing (the pipeline skips the step with a
warning when no Redis answers, and cache/reader.py answers from Postgres meanwhile).

Key layout (namespace `tickerhouse:v2`; a change of layout bumps the version):

    tickerhouse:v2:bar:{TICKER}     hash  the latest daily bar: trade_date, open, high, low,
                                          close, volume, vwap, trade_count, source
    tickerhouse:v2:ind:{TICKER}     hash  its indicators (curated.fct_daily_indicators, without
                                          the running_* state columns)
    tickerhouse:v2:pred:{TICKER}    hash  the newest prediction: as_of_date, target_date,
                                          predicted_return, predicted_close, model_name/version
    tickerhouse:v2:fund:{TICKER}    hash  current fundamentals, per field the most recently
                                          fetched non-null vendor value, and known_at
    tickerhouse:v2:quote:{TICKER}   hash  the latest Finnhub quote (staging.stg_finnhub__quotes)
    tickerhouse:v2:board:{NAME}     zset  leaderboards, member = ticker: return_1d (ZREVRANGE
                                          gainers, ZRANGE losers), dollar_volume (most active),
                                          predicted_return (the recommendation ranking: the
                                          model has no score column yet), sentiment_shift
                                          (change of mean news sentiment since the ticker's
                                          previous session with news; both ends)
    tickerhouse:v2:board-digests    hash  board name -> content hash of its members and scores
    tickerhouse:v2:meta             hash  session mirrored, refreshed_at

Every hash holds `_h`, the content hash of its values, which is how a load invalidates exactly
the keys whose data changed (cache/hot.py). A hash whose `_h` is `-` and has no other field
records that the ticker has no data of that kind (say no quote), so reads stop asking Postgres.
Values are compact strings (floats to 10 significant digits, nulls left out); cache/layout.py
turns them back into typed values.

TTLs by freshness (cache/layout.py): quotes 5 minutes; bars, indicators, predictions and the
boards until the load after the next NYSE session is done (06:00 New York the weekday after
it, plus 3 hours; at least 1 hour, at most 7 days); fundamentals 2 days. Every key has a TTL,
so with `maxmemory` set and `maxmemory-policy volatile-lru` Redis evicts the least recently
read cache entries when full, and a reader simply finds a miss.
"""
