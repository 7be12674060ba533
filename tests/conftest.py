"""Test fixtures: a migrated database per test (SQLite by default, PostgreSQL with
``STATION_TEST_DATABASE_URL``), a manual clock, the app, signed-in clients and factories.

The schema is always built by running the migrations, never ``create_all``.
Services that need PostgreSQL, Redis or Chromium fail instead of skipping when ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from station import migrate
from station.clock import ManualClock
from station.config import Config
from station.db import Database
from station.models import Base, Role
from station.services import demo, users
from station.services.actors import Actor

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_BASE_URL = os.environ.get("STATION_TEST_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("STATION_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
#: run the suite against PostgreSQL: STATION_TEST_DATABASE=postgresql
TEST_BACKEND = os.environ.get("STATION_TEST_DATABASE", "sqlite")
#: Monday 2026-11-23 09:00 in the station's zone: a working morning
START = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
PASSWORD = "correct-horse-9"


def need(service: str, available: bool, why: str = "") -> None:
    """Skip a test whose service is missing — but fail it under CI, where it must run."""
    if available:
        return
    message = f"{service} is not available{': ' + why if why else ''}"
    if IN_CI:
        pytest.fail(message + " (CI=true: tests needing it must run)")
    pytest.skip(message)


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_BASE_URL)
        with engine.connect() as c:
            c.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except Exception:
        return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: meaningful on SQLite only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run, run only tests that touch the database (others ran on SQLite)."""
    if TEST_BACKEND != "postgresql":
        return
    keep, drop = [], []
    for item in items:
        uses_db = bool({"db", "app", "database_url"} & set(getattr(item, "fixturenames", ())))
        (keep if uses_db and not item.get_closest_marker("sqlite_only") else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """scrypt costs ~100 ms a hash by design; tests hash hundreds of demo passwords."""
    original = users.PASSWORD_METHOD
    users.PASSWORD_METHOD = "pbkdf2:sha256:1000"
    yield
    users.PASSWORD_METHOD = original


# -- database ----------------------------------------------------------------------------------

@contextmanager
def migrated_pg_schema(prefix: str) -> Iterator[tuple[str, str]]:
    """A fresh PostgreSQL schema migrated to head: yields (its URL, its name); dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_BASE_URL)
    with admin.begin() as c:
        c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
        migrate.upgrade(url)
        yield url, schema
    finally:
        with admin.begin() as c:
            c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Migrate once per session: a template SQLite file, or a PostgreSQL schema."""
    if TEST_BACKEND == "postgresql":
        need("PostgreSQL", pg_available(), PG_BASE_URL)
        with migrated_pg_schema("t") as (url, schema):
            yield {"backend": "postgresql", "url": url, "schema": schema}
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield {"backend": "sqlite", "path": path}


@pytest.fixture
def database_url(_template: dict[str, Any], tmp_path: Path) -> str:
    """A freshly migrated, empty database for this test."""
    if _template["backend"] == "postgresql":
        engine = sa.create_engine(_template["url"])
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as c:
            c.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return _template["url"]
    path = tmp_path / "station.db"
    shutil.copyfile(_template["path"], path)
    return f"sqlite:///{path}"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


# -- app and clients ---------------------------------------------------------------------------

@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return Config(instance_path=tmp_path / "instance", database_url=database_url,
                  secret_key="test-secret", testing=True)


@pytest.fixture
def app(config: Config, clock: ManualClock, db: Database) -> Iterator[Any]:
    from station import create_app
    from station.testing import disconnect_app

    application = create_app(config, clock=clock, db=db)
    yield application
    disconnect_app(application)


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def create_user(db: Database, clock: ManualClock) -> Callable[..., Any]:
    """Factory: ``create_user("counter")`` → a staff member with that role (password PASSWORD)."""
    counter = iter(range(1, 10_000))

    def make(*roles: Role | str, username: str | None = None, display_name: str = "测试员"):
        with db.write() as s:
            return users.create_user(s, clock, Actor.system("test"),
                                     username=username or f"user{next(counter)}",
                                     password=PASSWORD, display_name=display_name,
                                     roles=roles or (Role.COUNTER,))

    return make


@pytest.fixture
def login(client: Any, create_user: Callable[..., Any]) -> Callable[..., Any]:
    """``login("manager")`` → signs the test client in as a new user with that role; returns
    the CSRF token to send with state-changing requests."""
    from station.testing import fetch_csrf_token

    def do(*roles: Role | str) -> str:
        user = create_user(*roles)
        token = fetch_csrf_token(client)
        response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                               "csrf_token": token})
        assert response.status_code == 302, response.data
        return fetch_csrf_token(client)

    return do


@pytest.fixture
def demo_station(db: Database, clock: ManualClock) -> demo.DemoStation:
    with db.write() as s:
        return demo.seed(s, clock)
