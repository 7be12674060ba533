"""Database backups (station/services/backup.py): a verified, consistent copy taken while the
station serves, the newest kept, the outcome reported by the health endpoint; on SQLite and,
in the PostgreSQL run, with pg_dump."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from station.cli import main
from station.db import Database
from station.jobs import BackupPlan, backup_job
from station.models import Role, Vehicle
from station.runtime import RuntimeLock
from station.services import appointments, backup
from station.services.actors import Actor
from tests.conftest import migrated_pg_schema


def _walk_in(db, clock, plate: str) -> None:
    with db.write() as s:
        appointments.walk_in(s, clock, Actor.system("t"), plate_type="02", plate=plate)


def _plates_in(made: Path, dialect: str) -> str:
    """The vehicles' plates as the backup holds them."""
    if dialect == "sqlite":
        copy = sqlite3.connect(made)
        try:
            return " ".join(row[0] for row in copy.execute("SELECT plate FROM vehicles"))
        finally:
            copy.close()
    done = subprocess.run(["pg_restore", "--data-only", "--table=vehicles", "--file=-", str(made)],
                          capture_output=True, text=True, check=True)
    return done.stdout


def test_a_backup_is_a_verified_copy_taken_while_a_writer_works(db, clock, database_url, tmp_path):
    _walk_in(db, clock, "浙A10001")
    folder = tmp_path / "backups"
    with db.write() as s:  # a writer is in the middle of a transaction: it is not waited for
        appointments.walk_in(s, clock, Actor.system("t"), plate_type="02", plate="浙A10002")
        s.flush()
        made = backup.make(database_url, folder, clock, keep=3)
    assert made.path.parent == folder and made.path.name.startswith("station-")
    assert made.path.suffix == (".db" if db.dialect == "sqlite" else ".dump")
    assert made.size == made.path.stat().st_size > 0
    plates = _plates_in(made.path, db.dialect)
    assert "浙A10001" in plates and "浙A10002" not in plates  # committed data only
    assert [p.name for p in folder.iterdir() if p.name.endswith(".partial")] == []
    assert backup.last(folder) == {"at": made.at.isoformat(), "ok": True, "file": made.path.name,
                                   "size": made.size}
    with db.read() as s:  # the station's data is untouched: the writer's row was committed
        assert s.scalar(sa.select(sa.func.count()).select_from(Vehicle)) == 2


def test_the_newest_backups_are_kept(db, clock, database_url, tmp_path):
    folder = tmp_path / "backups"
    made = []
    for _ in range(4):
        made.append(backup.make(database_url, folder, clock, keep=2))
        clock.advance(timedelta(days=1))
    assert backup.backups(folder) == [m.path for m in made[2:]]
    assert made[2].pruned == (made[0].path,) and made[3].pruned == (made[1].path,)


@pytest.mark.sqlite_only
def test_a_failed_backup_keeps_nothing_and_says_why(clock, tmp_path):
    folder = tmp_path / "backups"
    with pytest.raises(backup.BackupError, match="no SQLite database"):
        backup.make(f"sqlite:///{tmp_path / 'missing.db'}", folder, clock, keep=2)
    assert backup.backups(folder) == [] and not list(folder.glob("*.partial"))
    last = backup.last(folder)
    assert last["ok"] is False and "no SQLite database" in last["error"]
    # a copy that does not pass its check is not kept either
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4000)
    with pytest.raises(backup.BackupError):
        backup.make(f"sqlite:///{bad}", folder, clock, keep=2)
    assert backup.backups(folder) == []


def test_the_nightly_job_backs_up_and_logs_a_failure_without_raising(db, clock, database_url,
                                                                      tmp_path, caplog):
    folder = tmp_path / "nightly"
    job = backup_job(BackupPlan(database_url, folder, keep=5), clock)
    assert job.id == "backup.nightly"
    job.func()
    assert len(backup.backups(folder)) == 1
    broken = backup_job(BackupPlan("sqlite:////nonexistent/station.db", tmp_path / "x", keep=5),
                        clock)
    with caplog.at_level(logging.ERROR):
        broken.func()  # never raised into the scheduler
    assert "the nightly backup failed" in caplog.text


def test_the_health_endpoint_tells_the_last_backups_outcome(app, client, db, clock,
                                                           database_url):
    assert client.get("/api/v1/health").get_json()["last_backup"] is None
    folder = app.extensions["station.config"].backup_path
    made = backup.make(database_url, folder, clock, keep=2)
    health = client.get("/api/v1/health").get_json()
    assert health["last_backup"] == {"at": made.at.isoformat(), "ok": True}  # no file names


def test_station_db_backup_on_the_command_line(db, database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_DATABASE_URL", database_url)
    monkeypatch.setenv("STATION_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("STATION_SECRET_KEY", "t")
    result = CliRunner().invoke(main, ["db", "backup", "--to", str(tmp_path / "out"), "--keep", "1"])
    assert result.exit_code == 0, result.output
    assert "备份完成 backed up" in result.output and len(backup.backups(tmp_path / "out")) == 1
    monkeypatch.setenv("STATION_DATABASE_URL", "sqlite:////nonexistent/station.db")
    result = CliRunner().invoke(main, ["db", "backup", "--to", str(tmp_path / "out")])
    assert result.exit_code == 1 and "备份失败 Backup failed" in result.output


def test_the_staff_overview_says_how_the_backups_go(app, client, db, clock, database_url, login):
    login(Role.COUNTER)
    folder = app.extensions["station.config"].backup_path

    def line() -> str:
        page = client.get("/staff/").get_data(as_text=True)
        return page.split('id="backup-state"', 1)[1].split("</p>", 1)[0]

    assert "尚无备份" in line()
    backup.make(database_url, folder, clock, keep=2)
    assert "成功" in line() and "error" not in line()
    clock.advance(timedelta(hours=40))  # nights without a backup (the server was off)
    assert "超过一天未成功" in line() and 'class="msg error show"' in line()
    with pytest.raises(backup.BackupError):
        backup.make("sqlite:////nonexistent/station.db", folder, clock, keep=2)
    assert "数据备份失败" in line() and "no SQLite database" in line()


@pytest.fixture
def own_url(database_url, db):
    """A database of this test's own: on PostgreSQL a fresh schema (a restore drops and
    recreates tables, which other tests' connections must not see)."""
    if db.dialect == "sqlite":
        yield database_url
        return
    with migrated_pg_schema("r") as (url, _schema):
        yield url


def _plates(url: str) -> set[str]:
    database = Database(url)
    try:
        with database.read() as s:
            return set(s.scalars(sa.select(Vehicle.plate)))
    finally:
        database.dispose()


def test_a_backup_is_restored_and_the_database_as_it_was_is_kept(own_url, clock, tmp_path):
    database = Database(own_url)
    _walk_in(database, clock, "浙A20001")
    made = backup.make(own_url, tmp_path / "backups", clock, keep=3)
    _walk_in(database, clock, "浙A20002")  # after the backup
    database.dispose()
    clock.advance(timedelta(minutes=1))
    before = backup.restore(own_url, made.path, clock)
    assert _plates(own_url) == {"浙A20001"}
    assert before is not None and before.parent == made.path.parent
    assert before.name.startswith("before-restore-") and before not in backup.backups(before.parent)
    # what the restore replaced can itself be restored
    backup.restore(own_url, before, clock)
    assert _plates(own_url) == {"浙A20001", "浙A20002"}


@pytest.mark.sqlite_only
def test_a_restore_refuses_what_is_not_a_station_backup(db, clock, database_url, tmp_path):
    _walk_in(db, clock, "浙A30001")
    not_ours = tmp_path / "other.db"
    sqlite3.connect(not_ours).execute("CREATE TABLE t (x)").connection.commit()
    for source, why in ((not_ours, "not a station database"), (tmp_path / "x.dump", "not a sqlite backup")):
        if source.suffix == ".dump":
            source.write_bytes(b"PGDMP")
        with pytest.raises(backup.BackupError, match=why):
            backup.restore(database_url, source, clock)
    assert _plates(database_url) == {"浙A30001"}  # untouched
    assert not list(tmp_path.glob("before-restore-*"))


@pytest.mark.sqlite_only
def test_a_restore_onto_a_new_machine_and_while_the_station_runs(db, clock, database_url, tmp_path,
                                                                 monkeypatch):
    _walk_in(db, clock, "浙A40001")
    made = backup.make(database_url, tmp_path / "backups", clock, keep=3)
    fresh = tmp_path / "new-machine"
    fresh.mkdir()
    monkeypatch.setenv("STATION_DATABASE_URL", f"sqlite:///{fresh / 'station.db'}")
    monkeypatch.setenv("STATION_INSTANCE_PATH", str(fresh))
    monkeypatch.setenv("STATION_SECRET_KEY", "t")
    result = CliRunner().invoke(main, ["db", "restore", str(made.path), "--yes"])
    assert result.exit_code == 0, result.output
    assert "已恢复 restored" in result.output and "as it was" not in result.output  # nothing was there
    assert _plates(f"sqlite:///{fresh / 'station.db'}") == {"浙A40001"}
    # the station is running (it holds the runtime lock): refused, nothing changed
    lock = RuntimeLock(Database(f"sqlite:///{fresh / 'station.db'}"), fresh)
    assert lock.acquire()
    try:
        _walk_in(Database(f"sqlite:///{fresh / 'station.db'}"), clock, "浙A40002")
        result = CliRunner().invoke(main, ["db", "restore", str(made.path), "--yes"])
        assert result.exit_code == 1 and "请先停止" in result.output
        assert _plates(f"sqlite:///{fresh / 'station.db'}") == {"浙A40001", "浙A40002"}
    finally:
        lock.release()


@pytest.mark.sqlite_only
def test_a_folder_that_cannot_be_written_fails_and_says_so(clock, database_url, tmp_path, caplog):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with caplog.at_level(logging.WARNING), pytest.raises(backup.BackupError):
        backup.make(database_url, blocked, clock, keep=2)
    assert "could not record the backup's outcome" in caplog.text  # not lost in silence
