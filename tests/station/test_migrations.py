"""Migrations build the schema, match the models, and go down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from station import migrate
from station.models import Base


def _diff(url: str) -> list:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    engine.dispose()
    return diff


def test_migrations_match_models(database_url):
    assert _diff(database_url) == []


def test_upgrade_downgrade_upgrade(database_url):
    migrate.downgrade(database_url, "base")
    engine = sa.create_engine(database_url)
    names = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert names == set()
    migrate.upgrade(database_url)
    assert _diff(database_url) == []


def test_migration_file_names_sort_by_date():
    names = sorted(p.name for p in migrate.MIGRATIONS_DIR.joinpath("versions").glob("*.py"))
    assert names, "no migrations"
    for name in names:
        assert name[:4].isdigit() and name[4] == "_", name  # YYYY_MM_DD_HHMM-rev_slug.py
