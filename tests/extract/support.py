"""Helpers the source tests share (fixtures are in conftest.py)."""


def query(warehouse, statement: str, *params):
    with warehouse.connect() as conn:
        return conn.execute(statement, params).fetchall()
