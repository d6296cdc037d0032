"""The dlt schema every raw source uses.

Raw tables keep vendor payloads verbatim, field names included. Polygon's aggregates carry
both `T` (ticker) and `t` (timestamp); dlt's default snake_case naming would fold them into one
column, so raw schemas use the case-sensitive `sql_cs_v1` convention and staging models quote
the few mixed-case names they read.
"""

import dlt


def raw_schema(source_name: str) -> dlt.Schema:
    return dlt.Schema(source_name, normalizers={"names": "sql_cs_v1"})
