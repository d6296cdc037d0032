"""Run dlt sources into the warehouse's `raw` schema and report what landed."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import dlt
from dlt.common.pipeline import LoadInfo

from tickerhouse.database import Database

log = logging.getLogger(__name__)

RAW_DATASET = "raw"
# dlt insists on a password in Postgres credentials even under trust auth.
_DLT_PASSWORD_PLACEHOLDER = "unused"

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
# Sources yield Arrow tables (see extract/polygon); dlt adds its load id to those only when asked,
# and staging models read it (incremental merges, source freshness).
os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")


@dataclass
class LandingResult:
    """Rows written per raw table by one pipeline run (0 for an unchanged rerun's new rows)."""

    source: str
    rows: dict[str, int] = field(default_factory=dict)
    load_ids: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def raw_pipeline(database: Database, source_name: str, pipelines_dir: Path) -> dlt.Pipeline:
    """The dlt pipeline that lands one vendor source into `raw` (state kept per source)."""
    return dlt.pipeline(
        pipeline_name=f"tickerhouse_{source_name}",
        destination=dlt.destinations.postgres(
            database.url(password_placeholder=_DLT_PASSWORD_PLACEHOLDER)
        ),
        dataset_name=RAW_DATASET,
        pipelines_dir=str(pipelines_dir),
        progress="log" if log.isEnabledFor(logging.DEBUG) else None,
    )


def land(database: Database, source: dlt.sources.DltSource, pipelines_dir: Path) -> LandingResult:
    """Extract, normalize and load `source` into raw; count the rows each resource yielded.

    Rows are counted as they pass rather than read from dlt's normalize metrics, which count
    values, not rows, for the csv writer. csv is the loader format because dlt loads it into
    Postgres with COPY.
    """
    result = LandingResult(source=source.name)
    for name, resource in source.selected_resources.items():
        resource.add_map(_counter(result.rows, resource.table_name or name))
    pipeline = raw_pipeline(database, source.name, pipelines_dir)
    info: LoadInfo = pipeline.run(source, loader_file_format="csv")
    result.load_ids = list(info.loads_ids)
    return result


def _counter(counts: dict[str, int], table: str):
    def count(item):
        rows = item.num_rows if hasattr(item, "num_rows") else len(item) if isinstance(item, list) else 1
        counts[table] = counts.get(table, 0) + rows
        return item

    return count
