"""SQLite is set up to keep every committed row and to serialise writers without errors."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading

import pytest
import sqlalchemy as sa

from station.db import Database

pytestmark = pytest.mark.sqlite_only


def test_sqlite_pragmas(db: Database):
    if not db.sqlite:
        pytest.skip("SQLite only")
    with db.read() as s:
        assert s.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert s.execute(sa.text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert s.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        assert s.execute(sa.text("PRAGMA busy_timeout")).scalar() >= 5000


def _read_then_write(db: Database, use_immediate: bool, errors: list, barrier: threading.Barrier):
    """Read a counter, wait until the other thread has read too, then write it."""
    try:
        ctx = db.write() if use_immediate else _deferred(db)
        with ctx as s:
            value = s.execute(sa.text("SELECT value FROM day_counters WHERE name='x'")).scalar()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)  # only a deferred transaction gets here concurrently
            s.execute(sa.text("UPDATE day_counters SET value=:v WHERE name='x'"), {"v": value + 1})
    except sa.exc.OperationalError as exc:
        errors.append(str(exc))


class _deferred:
    def __init__(self, db: Database) -> None:
        self.db = db

    def __enter__(self):
        self.s = self.db._read()
        return self.s

    def __exit__(self, exc_type, *_):
        if exc_type is None:
            self.s.commit()
        else:
            self.s.rollback()
        self.s.close()


@pytest.mark.parametrize("immediate", [False, True])
def test_begin_immediate_prevents_lock_errors(db: Database, immediate: bool):
    """Two read-then-write transactions: DEFERRED fails with "database is locked" (a lock
    upgrade cannot wait), IMMEDIATE waits its turn and both succeed with no lost update."""
    if not db.sqlite:
        pytest.skip("SQLite only")
    with db.write() as s:
        s.execute(sa.text("INSERT INTO day_counters (name, day, value) VALUES ('x', '2026-11-23', 0)"))
    errors: list[str] = []
    barrier = threading.Barrier(2)
    threads = [threading.Thread(target=_read_then_write, args=(db, immediate, errors, barrier))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    with db.read() as s:
        value = s.execute(sa.text("SELECT value FROM day_counters WHERE name='x'")).scalar()
    if immediate:
        assert errors == [] and value == 2
    else:
        assert any("locked" in e for e in errors), errors
        assert value == 1


def test_committed_row_survives_kill_9(tmp_path):
    """A row committed by a process that is then killed with SIGKILL is still there."""
    from station import migrate

    url = f"sqlite:///{tmp_path / 'k.db'}"
    migrate.upgrade(url)
    code = (
        "import sys, time, sqlalchemy as sa\n"
        "from station.db import Database\n"
        f"db = Database({url!r})\n"
        "with db.write() as s:\n"
        "    s.execute(sa.text(\"INSERT INTO day_counters (name, day, value) VALUES ('k', '2026-11-23', 7)\"))\n"
        "print('committed', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "committed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert os.path.exists(tmp_path / "k.db-wal")  # the commit lives in the WAL, not yet checkpointed
    db = Database(url)
    with db.read() as s:
        assert s.execute(sa.text("SELECT value FROM day_counters WHERE name='k'")).scalar() == 7
    db.dispose()


def test_nested_write_transactions_are_refused_not_deadlocked(db: Database):
    with db.write(), pytest.raises(RuntimeError, match="nested write"), db.write():
        raise AssertionError("the inner transaction must not start")
    with db.write() as s:  # the lock was released
        s.execute(sa.text("SELECT 1"))
