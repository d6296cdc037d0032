import os
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "orchestration" / "dags"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """An Airflow home of the test run's own, pointing at the project's DAGs folder."""
    home = tmp_path_factory.mktemp("airflow_home")
    settings = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    yield home
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
