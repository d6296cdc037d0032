"""The dlt schema every raw source uses, and the contract its tables are held to.

Raw tables keep vendor payloads verbatim, field names included. Polygon's aggregates carry
both `T` (ticker) and `t` (timestamp); dlt's default snake_case naming would fold them into one
column, so raw schemas use the case-sensitive `sql_cs_v1` convention and staging models quote
the few mixed-case names they read. Names that are not SQL identifiers are still normalized
(Alpha Vantage's "1. open" lands as `_1_open`, "52WeekHigh" as `_52WeekHigh`).

Contract: every table and every payload field is declared (`RawTable`), with its JSON type, and
the tables are frozen, so a vendor that renames a field, adds one or sends a number as a string
stops that source's run instead of reshaping raw. Two layers enforce it:
- `RawTable.check`, called by each resource on the rows it is about to yield: it fails at the
  first drifted row, before more calls are spent, and it checks value types, which dlt does not
  (dlt coerces "1.5" into a double column, and keeps declared types over Arrow's);
- dlt's `schema_contract` (`CONTRACT`), which rejects any column or table nobody declared.
  The tables are registered in the schema up front (`raw_schema`): dlt lets a table's first load
  add columns freely, so without that the contract would only hold from the second load on.
Nested values (lists, objects) stay JSON (`max_table_nesting=0` on every source): no child
tables to drift, and any new nested field is a new column the contract catches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import dlt
import pyarrow as pa
from dlt.common.schema.typing import TColumnSchema, TSchemaContractDict
from dlt.common.schema.utils import new_table, normalize_table_identifiers

from tickerhouse.errors import UserError

CONTRACT: TSchemaContractDict = {"tables": "freeze", "columns": "freeze", "data_type": "freeze"}

# Columns every raw row carries beside its payload (dlt adds `_dlt_load_id`).
METADATA: dict[str, str] = {
    "_source": "text",  # the vendor
    "_request_id": "text",  # the vendor's request id, else `request_id()` of our request
    "_fetched_at": "timestamp",  # when the answer arrived
}

# The JSON types a value of each declared type may arrive as. Exact types: `True` is no number.
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "text": (str,),
    "double": (float, int),
    "bigint": (int,),
    "bool": (bool,),
    "json": (dict, list),
}
_ARROW_TYPES: dict[str, pa.DataType] = {
    "text": pa.string(),
    "double": pa.float64(),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}


class SchemaDrift(UserError):
    """A vendor payload no longer matches the declared raw table: nothing of that source's run
    was loaded."""

    def __init__(self, source: str, table: str, field: str, problem: str):
        self.source, self.table, self.field = source, table, field
        super().__init__(
            f"{source}: schema drift in raw.{table}: field {field!r} {problem}; nothing from this "
            f"{source} run was loaded. If the vendor changed its payload for good, declare the "
            f"change in extract/{source}/settings.py and in the staging model")


@dataclass(frozen=True)
class RawTable:
    """One raw table: the payload fields a vendor sends (exact names, dlt data types), the
    columns we add from the request (`added`, e.g. the symbol a quote was asked for) and the
    merge key. Fields outside the key are optional: a vendor may leave any of them out."""

    source: str
    name: str
    primary_key: tuple[str, ...]
    fields: Mapping[str, str]
    added: Mapping[str, str] = field(default_factory=dict)
    # A column whose values a load owns: the table is appended to, and a load first deletes
    # the rows holding any value its own rows hold (extract.landing does it). For a payload
    # that is a whole partition, such as a session of the whole market.
    replaced_by: str | None = None

    @property
    def write_disposition(self) -> str:
        return "append" if self.replaced_by else "merge"

    def __post_init__(self) -> None:
        if missing := [key for key in self.primary_key if key not in {**self.fields, **self.added}]:
            raise ValueError(f"{self.name}: primary key {missing} not declared")
        if self.replaced_by is not None and self.replaced_by not in self.added:
            raise ValueError(f"{self.name}: replaced_by {self.replaced_by!r} is not an added column")
        if odd := {t for t in self.fields.values() if t not in _JSON_TYPES}:
            raise ValueError(f"{self.name}: payload fields are JSON, not {odd}")
        if odd := {t for t in self.added.values() if t not in {*_JSON_TYPES, *_ARROW_TYPES}}:
            raise ValueError(f"{self.name}: unknown data types {odd}")

    @cached_property
    def columns(self) -> dict[str, TColumnSchema]:
        """Column hints for the dlt resource and schema. Only the key is NOT NULL: a column
        declared later must be nullable to be added to a table that has rows. `nullable` is
        explicit on every column: dlt's Arrow path reads a missing flag as a changed data type
        under a frozen contract."""
        columns: dict[str, TColumnSchema] = {}
        for name, data_type in {**self.fields, **self.added, **METADATA}.items():
            key = name in self.primary_key
            column: TColumnSchema = {"name": name, "data_type": data_type, "nullable": not key}
            if key:
                column["primary_key"] = True
            columns[name] = column
        return columns

    @cached_property
    def arrow_schema(self) -> pa.Schema:
        """The table's columns as Arrow fields, in declaration order (for Arrow-path sources;
        JSON columns have no Arrow form here)."""
        if any(c["data_type"] == "json" for c in self.columns.values()):
            raise ValueError(f"{self.name} has JSON columns: land it as rows, not Arrow")
        return pa.schema([pa.field(name, _ARROW_TYPES[c["data_type"]], nullable=c["nullable"])
                          for name, c in self.columns.items()])

    @cached_property
    def _accepted(self) -> dict[str, tuple[type, ...]]:
        return {name: _JSON_TYPES[data_type] for name, data_type in self.fields.items()}

    @cached_property
    def _required(self) -> tuple[str, ...]:
        return tuple(key for key in self.primary_key if key in self.fields)

    def check(self, rows: Iterable[Any]) -> None:
        """Raise `SchemaDrift` at the first payload field that is undeclared (new, or renamed),
        of another JSON type than declared, or a key field that is missing."""
        accepted, required = self._accepted, self._required
        for row in rows:
            if not isinstance(row, dict):
                raise SchemaDrift(self.source, self.name, "(row)",
                                  f"is a {type(row).__name__}, not an object")
            for name, value in row.items():
                types = accepted.get(name)
                if types is None:
                    raise SchemaDrift(self.source, self.name, name,
                                      "is not declared (a new or renamed field)")
                if value is not None and type(value) not in types:
                    raise SchemaDrift(self.source, self.name, name,
                                      f"holds {type(value).__name__} {str(value)[:40]!r} where "
                                      f"{self.fields[name]} is declared")
            for name in required:
                if row.get(name) is None:
                    raise SchemaDrift(self.source, self.name, name, "is missing (a key field)")

    def row(self, payload: Any) -> dict[str, Any]:
        """A payload that is one row (an object), checked."""
        row = self.part(payload, None, dict)
        self.check([row])
        return row

    def rows(self, payload: Any, name: str | None = None) -> list[dict[str, Any]]:
        """The list of rows at `payload[name]` (the payload itself for None), checked."""
        rows = self.part(payload, name, list)
        self.check(rows)
        return rows

    def part(self, payload: Any, name: str | None, kind: type) -> Any:
        """`payload[name]` (`payload` itself for None), which must be a `kind`: the envelope
        a table's rows come in."""
        value = payload if name is None else \
            payload.get(name) if isinstance(payload, Mapping) else None
        if not isinstance(value, kind):
            raise SchemaDrift(self.source, self.name, name or "(response)",
                              "is missing from the response" if value is None else
                              f"is a {type(value).__name__} where a {kind.__name__} is expected")
        return value


REPLACED_BY_HINT = "x-tickerhouse-replaced-by"


def raw_schema(source_name: str, tables: Iterable[RawTable] = ()) -> dlt.Schema:
    """The dlt schema of one source, its tables registered so the contract holds from the first
    load (dlt applies programmatic schema changes without the contract)."""
    schema = dlt.Schema(source_name, normalizers={"names": "sql_cs_v1"})
    for table in tables:
        declared = new_table(table.name, write_disposition=table.write_disposition,
                             columns=list(table.columns.values()))
        if table.replaced_by:
            declared[REPLACED_BY_HINT] = table.replaced_by  # type: ignore[literal-required]
        schema.update_table(normalize_table_identifiers(declared, schema.naming))
    return schema


def request_id(vendor: str, path: str, params: Mapping[str, Any] | None = None) -> str:
    """A stable id for a request the vendor gave no id to: the same request, the same id.

    Built from the vendor, the path and the sorted query (of `params` and of an absolute
    `path`, such as a `next_url`, whose host is left out); keys travel in headers or are added
    by the client, so they are not part of it, and it is a digest anyway."""
    url = urlsplit(path)
    query = sorted([*parse_qsl(url.query), *((k, str(v)) for k, v in (params or {}).items())])
    digest = hashlib.sha256(json.dumps([vendor, url.path, query]).encode())
    return digest.hexdigest()[:32]


def metadata(vendor: str, request: str, fetched_at: dt.datetime) -> dict[str, Any]:
    """The `METADATA` columns of every row from one answer."""
    return {"_source": vendor, "_request_id": request, "_fetched_at": fetched_at}
