"""The Redis hot cache: the latest bar and prediction per ticker, for the backend to read fast.

Redis is only a cache here: everything in it is rebuilt from Postgres, so losing it loses nothing.
"""
