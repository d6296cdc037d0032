import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.transform import environment

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "orchestration" / "dags"
AIRFLOW = Path(sys.executable).parent / "airflow"

# Airflow reads its configuration once, when first imported: the environment is set before any
# test imports it (only these tests do), for one Airflow home and SQLite metadata database per
# run. SQLite because dag.test() of a DAG with deadline= crashes on Postgres metadata (see
# shared stack facts); the scheduler test, which needs real parallelism, has a Postgres one.
AIRFLOW_ENV = {
    "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
}


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """An Airflow home of the test run's own, pointing at the project's DAGs folder."""
    home = tmp_path_factory.mktemp("airflow_home")
    with environment({"AIRFLOW_HOME": str(home), **AIRFLOW_ENV}):
        yield home


@pytest.fixture(scope="session")
def airflow_db(airflow_home):
    """The home's metadata database, migrated once per run (SQLite, about 3 s)."""
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=dict(os.environ), check=True,
                   capture_output=True, timeout=300)
    return airflow_home
