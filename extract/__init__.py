"""Extraction: vendor APIs → Postgres `raw`, through dlt, inside every vendor's limits.

One dlt source package per vendor (`extract/<vendor>/`), the shared HTTP client with quota,
backoff and error classification beside them, and `landing.py` to run sources into `raw`.
"""
