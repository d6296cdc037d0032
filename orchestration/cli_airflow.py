"""`tickerhouse airflow setup` and `tickerhouse airflow start`: Airflow from code, not the UI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from tickerhouse.errors import UserError

app = typer.Typer(help="Run the DAGs on Airflow: create its pools, connections and variables, "
                       "or start a local Airflow.", no_args_is_help=True)
console = Console(soft_wrap=True)

DAG_IDS = ("daily_stock_pipeline", "sentiment_pipeline", "ml_retrain")


def _airflow_bin() -> str:
    return str(Path(sys.executable).parent / "airflow")


def _run_airflow(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([_airflow_bin(), *args], env=env, capture_output=True, text=True,
                            timeout=600)
    if result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["?"]
        raise UserError(f"airflow {' '.join(args)} failed: {last[0]}")
    return result.stdout


def _configured_externally() -> bool:
    return bool(os.environ.get("AIRFLOW_HOME") or
                os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"))


def _print_setup(report) -> None:
    for pool in report.pools:
        console.print(f"pool {pool.name}: {pool.slots} slot(s) — {pool.description}")
    console.print(f"connections: {', '.join(report.connections)}")
    for name, value in report.variables.items():
        console.print(f"variable {name} = {value}")


@app.command()
def setup(
    local: Annotated[bool, typer.Option(
        "--local", help="Use the local Airflow of `tickerhouse airflow start` (the default "
                        "when AIRFLOW_HOME and AIRFLOW__DATABASE__SQL_ALCHEMY_CONN are unset).")
    ] = False,
) -> None:
    """Migrate Airflow's metadata database, then create or update the vendor pools (sized from
    TICKERHOUSE_<VENDOR>_LIMITS), the warehouse and Redis connections and the variables."""
    from orchestration.airflow_setup import local_environment
    from tickerhouse.settings import load_settings

    settings = load_settings()
    if local or not _configured_externally():
        os.environ.update(local_environment(settings))
    _run_airflow(dict(os.environ), "db", "migrate")
    from orchestration.airflow_setup import setup as setup_airflow

    _print_setup(setup_airflow(settings))


@app.command()
def start(
    port: Annotated[int, typer.Option(help="Port of the Airflow UI and API.")] = 8080,
) -> None:
    """Start a local Airflow (standalone, LocalExecutor, metadata in Postgres): register the
    pools and connections, unpause the DAGs, print the UI address and login. Ctrl-C stops it.
    An AIRFLOW_HOME or AIRFLOW__DATABASE__SQL_ALCHEMY_CONN set in the environment is kept."""
    from orchestration.airflow_setup import local_environment
    from orchestration.airflow_setup import setup as setup_airflow
    from tickerhouse.settings import load_settings

    if port in (8793, 8794):  # Airflow's own log servers (worker, triggerer) listen there
        raise UserError(f"port {port} is taken by Airflow's log servers: pick another --port")
    settings = load_settings()
    configured_home = os.environ.get("AIRFLOW_HOME")
    env = local_environment(
        settings, port=port, home=Path(configured_home) if configured_home else None,
        metadata_url=os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN") or None)
    os.environ.update(env)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    console.print(f"Airflow home {home}; metadata in Postgres database "
                  f"{env['AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'].rsplit('/', 1)[-1]}")
    _run_airflow(dict(os.environ), "db", "migrate")
    _print_setup(setup_airflow(settings))
    _run_airflow(dict(os.environ), "dags", "reserialize")
    for dag_id in DAG_IDS:
        _run_airflow(dict(os.environ), "dags", "unpause", dag_id)
    console.print(f"unpaused: {', '.join(DAG_IDS)}")

    process = subprocess.Popen([_airflow_bin(), "standalone"], env=dict(os.environ),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    # A SIGTERM (a service manager, `kill`) stops Airflow too, not only Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    url = f"http://localhost:{port}"
    try:
        if not _wait_healthy(url, process):
            raise UserError(f"Airflow did not come up at {url}: see the logs in {home}/logs")
        user, password = _login(home)
        console.print(f"Airflow UI: {url}  login: {user} / {password}")
        console.print("Ctrl-C stops it.")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _wait_healthy(url: str, process: subprocess.Popen, timeout: float = 180) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def _login(home: Path) -> tuple[str, str]:
    """The admin login `airflow standalone` generated (Airflow 3's simple auth manager)."""
    generated = home / "simple_auth_manager_passwords.json.generated"
    for _ in range(30):
        if generated.exists():
            passwords = json.loads(generated.read_text())
            if passwords:
                user = next(iter(passwords))
                return user, passwords[user]
        time.sleep(1)
    return "admin", f"(see {generated})"
