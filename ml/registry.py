"""MLflow tracking and model registry: backend store in the warehouse's own Postgres (schema
`mlflow`), artifacts on disk under the state directory.

One registered model, REGISTERED_MODEL, holds every trained version (the gradient-boosting and
the sequence models alike); aliases say which serves: `champion`, `challenger`, and
`previous_champion` (the first fallback when the champion cannot load or fails).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from tickerhouse.database import Database

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

log = logging.getLogger(__name__)

REGISTERED_MODEL = "tickerhouse_return_5d"
EXPERIMENT = "tickerhouse_return_5d"
SCHEMA = "mlflow"
CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous_champion"


def tracking_uri(database: Database) -> str:
    url = database.url().replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{url}?options={quote(f'-csearch_path={SCHEMA}', safe='')}"


def alias_versions(database: Database) -> dict[str, str]:
    """alias -> version, straight from the registry's tables: no MLflow import (seconds) and no
    schema creation when nothing was ever trained."""
    with database.connect() as conn:
        if not conn.execute("select to_regclass(%s) is not null",
                            (f"{SCHEMA}.registered_model_aliases",)).fetchone()[0]:
            return {}
        rows = conn.execute(f"select alias, version::text from {SCHEMA}.registered_model_aliases "
                            "where name = %s", (REGISTERED_MODEL,)).fetchall()
    return dict(rows)


@dataclass
class Registry:
    database: Database
    artifact_root: Path | None = None

    def __post_init__(self) -> None:
        import mlflow
        from mlflow import MlflowClient

        with self.database.connect(autocommit=True) as conn:
            conn.execute(f"create schema if not exists {SCHEMA}")
        self.uri = tracking_uri(self.database)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        self._mlflow = mlflow

    def experiment_id(self) -> str:
        experiment = self.client.get_experiment_by_name(EXPERIMENT)
        if experiment is not None:
            return experiment.experiment_id
        if self.artifact_root is None:
            raise ValueError("an artifact root is needed to create the experiment")
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        return self.client.create_experiment(EXPERIMENT,
                                             artifact_location=self.artifact_root.resolve().as_uri())

    def log_model(self, model, *, params: dict, metrics: dict, tags: dict) -> tuple[str, str]:
        """One run with the params, metrics, tags and the pickled model; registered as a new
        version. Returns (run_id, version)."""
        from ml.pyfunc import ServedModel

        mlflow = self._mlflow
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        if not self._has_model():
            self.client.create_registered_model(REGISTERED_MODEL)
        with mlflow.start_run(experiment_id=self.experiment_id(), run_name=model.name) as run:
            mlflow.log_params({k: str(v)[:500] for k, v in params.items()})
            mlflow.log_metrics({k: float(v) for k, v in metrics.items() if v == v})  # drop NaN
            mlflow.set_tags(tags)
            # cloudpickle: the model objects are ours (and torch state), not skops-trusted types
            info = mlflow.pyfunc.log_model(name="model", python_model=ServedModel(model),
                                           pip_requirements=["scikit-learn", "torch", "pandas"])
            version = self.client.create_model_version(REGISTERED_MODEL, info.model_uri,
                                                       run.info.run_id, tags={"kind": model.name})
        return run.info.run_id, str(version.version)

    def _has_model(self) -> bool:
        from mlflow.exceptions import MlflowException

        try:
            self.client.get_registered_model(REGISTERED_MODEL)
            return True
        except MlflowException:
            return False

    def load(self, version: str):
        """(model object, run id) of a version."""
        mlflow = self._mlflow
        mlflow.set_tracking_uri(self.uri)
        mlflow.set_registry_uri(self.uri)
        model_version = self.client.get_model_version(REGISTERED_MODEL, version)
        loaded = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}/{version}")
        return loaded.unwrap_python_model().model, model_version.run_id

    def version_kind(self, version: str) -> str:
        return self.client.get_model_version(REGISTERED_MODEL, version).tags.get("kind", "")

    def set_alias(self, alias: str, version: str) -> None:
        self.client.set_registered_model_alias(REGISTERED_MODEL, alias, version)

    def delete_alias(self, alias: str) -> None:
        self.client.delete_registered_model_alias(REGISTERED_MODEL, alias)

    def aliases(self) -> dict[str, str]:
        return alias_versions(self.database)

    def promote(self, version: str) -> None:
        """`version` becomes the champion; the champion it replaces becomes previous_champion."""
        current = self.aliases()
        if current.get(CHAMPION) and current[CHAMPION] != version:
            self.set_alias(PREVIOUS, current[CHAMPION])
        self.set_alias(CHAMPION, version)
        if current.get(CHALLENGER) == version:
            self.delete_alias(CHALLENGER)
