"""dbt, run in-process through its programmatic entry point (`dbtRunner`)."""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tickerhouse.database import Database
from tickerhouse.errors import UserError
from tickerhouse.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass
class DbtResult:
    command: str
    success: bool
    # (resource type, status) -> count, e.g. ("model", "success"): 2, ("test", "pass"): 14
    statuses: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def count(self, resource_type: str, *statuses: str) -> int:
        return sum(n for (kind, status), n in self.statuses.items()
                   if kind == resource_type and (not statuses or status in statuses))


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """`values` set in os.environ for the block; what was there before comes back after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt(database: Database, *args: str, target_path: Path | None = None,
            quiet: bool = False) -> DbtResult:
    """Invoke one dbt command against `database` and summarise node results; `quiet` keeps
    dbt's own log lines off stdout (errors still show)."""
    from dbt.cli.main import dbtRunner

    cli_args = [*(["--quiet"] if quiet else []), *args,
                "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)]
    if target_path is not None:
        cli_args += ["--target-path", str(target_path)]
    env = {**database.dbt_env(), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    with environment(env):
        outcome = dbtRunner().invoke(cli_args)

    result = DbtResult(command=" ".join(args), success=bool(outcome.success))
    if outcome.exception is not None:
        detail = " ".join(str(outcome.exception).split())
        raise UserError(f"dbt {args[0]} could not run: {detail[:400]}")
    for node_result in getattr(outcome.result, "results", None) or []:
        node = node_result.node
        status = str(getattr(node_result.status, "value", node_result.status))
        result.statuses[(str(node.resource_type), status)] += 1
        if status in ("error", "fail"):
            message = (node_result.message or "").splitlines()[0] if node_result.message else ""
            result.failures.append(f"{node.name}: {status} {message}".strip())
    return result


def build(database: Database, *, target_path: Path | None = None, quiet: bool = False) -> DbtResult:
    """`dbt build` (models, tests, in dependency order), then the docs catalog so that
    `dbt docs serve` shows what was just built."""
    result = run_dbt(database, "build", target_path=target_path, quiet=quiet)
    if result.success:
        docs = run_dbt(database, "docs", "generate", target_path=target_path, quiet=quiet)
        if not docs.success:
            result.failures.append("dbt docs generate failed")
    return result
