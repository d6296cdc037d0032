"""Orchestration: the daily pipeline's steps, the `tickerhouse` CLI and the Airflow DAGs.

The CLI and the DAGs call the same step functions (`orchestration.steps`); a DAG file only wires
tasks together.
"""
