"""Database connections are pooled (app._init_database, issue 12): kept between
requests, and a failed request's transaction rolled back before the next one."""
import threading

import pytest
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

import models
from app import _pooled


def test_urls_get_the_pooled_scheme():
    assert _pooled("sqlite:////srv/portal.sqlite3") == "sqlite+pool:////srv/portal.sqlite3"
    assert _pooled("postgresql://portal@db/portal") == "postgresql+pool://portal@db/portal"
    assert _pooled("postgres+pool://portal@db/portal") == "postgres+pool://portal@db/portal"
    assert _pooled("sqlite:///:memory:") == "sqlite:///:memory:"


@pytest.fixture
def probe(app):
    """Two routes: one tells which driver connection served it, one writes and fails."""
    seen = []

    @app.get("/_probe")
    def _probe():
        seen.append(models.db.connection())
        return str(models.Setting.select().where(models.Setting.key == "PROBE").count())

    @app.get("/_probe/fail")
    def _probe_fail():
        models.db.begin()
        models.Setting.create(key="PROBE", value="half-written")
        raise RuntimeError("the request fails halfway")

    return seen


def test_connection_kept_between_requests(app, client, probe):
    assert isinstance(models.db.obj, PooledSqliteDatabase)
    client.get("/_probe")
    client.get("/_probe")
    assert probe[0] is probe[1]
    assert models.db.is_closed()  # given back to the pool, not held by the thread


def test_failed_request_rolls_back(app, client, probe):
    with pytest.raises(RuntimeError):
        client.get("/_probe/fail")
    assert client.get("/_probe").get_data(as_text=True) == "0"
    assert not probe[0].in_transaction


def test_threads_share_the_pool(app, probe):
    results = []

    def get():
        results.append(app.test_client().get("/_probe").status_code)

    threads = [threading.Thread(target=get) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    assert len({id(conn) for conn in probe}) <= 8


def test_postgres_pool_class():
    from playhouse.db_url import connect
    database = connect(_pooled("postgresql://portal@127.0.0.1:1/none"), max_connections=None)
    assert isinstance(database, PooledPostgresqlDatabase)
