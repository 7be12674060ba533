"""Backups of the station's database (数据备份).

``station db backup`` makes one on demand; the runtime makes one every night
(``jobs.backup_job``). Each is a complete, consistent copy taken while the station serves,
checked before it is kept, and written under a temporary name first, so that a file named
``station-<time>.*`` in the folder is always a whole, verified backup:

- **SQLite**: SQLite's online backup (``sqlite3.Connection.backup``) reads one snapshot of
  the database, WAL included, while writers go on; the copy must pass
  ``PRAGMA integrity_check``. It is itself a station database.
- **PostgreSQL**: ``pg_dump --format=custom`` (one snapshot), checked with
  ``pg_restore --list``.

``station db restore`` (:func:`restore`) puts a backup back, with the server stopped: the
database as it is gets a backup of its own first (``before-restore-*``, never pruned).

The newest ``keep`` backups stay; older ones are deleted after a new one is verified. The
outcome of the last attempt is written to ``last.json`` in the folder (``GET /api/v1/health``
tells whether it succeeded, and when).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from station.clock import Clock

log = logging.getLogger(__name__)

PREFIX = "station-"
#: what a finished backup's name ends with, by database
SUFFIXES = {"sqlite": ".db", "postgresql": ".dump"}
LAST = "last.json"


class BackupError(Exception):
    """A backup could not be made or did not verify; nothing was kept of it."""


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    at: datetime
    #: older backups deleted to keep the newest ``keep``
    pruned: tuple[Path, ...] = ()


def make(database_url: str, directory: Path, clock: Clock, *, keep: int) -> Backup:
    """Back the database up into ``directory``, verify the copy, keep the newest ``keep``.
    Records the outcome in ``last.json`` either way; raises :class:`BackupError` on failure."""
    if keep < 1:
        raise ValueError("keep at least one backup")
    at = clock.now()
    try:
        url = sa.engine.make_url(database_url)
        backend = url.get_backend_name()
        if backend not in SUFFIXES:
            raise BackupError(f"no backup for {backend} databases")
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{PREFIX}{clock.local(at):%Y%m%d-%H%M%S}{SUFFIXES[backend]}"
        partial = target.with_name(target.name + ".partial")
        try:
            if backend == "sqlite":
                _sqlite(url, partial)
            else:
                _postgresql(url, partial)
            partial.replace(target)  # only a verified copy gets a backup's name
        finally:
            partial.unlink(missing_ok=True)
        pruned = prune(directory, keep)
    except (BackupError, OSError, sqlite3.Error, subprocess.SubprocessError,
            sa.exc.ArgumentError) as exc:
        _write_last(directory, {"at": at.isoformat(), "ok": False, "error": str(exc)})
        if isinstance(exc, BackupError):
            raise
        raise BackupError(str(exc)) from exc
    backup = Backup(target, target.stat().st_size, at, pruned)
    _write_last(directory, {"at": at.isoformat(), "ok": True, "file": target.name,
                            "size": backup.size})
    return backup


def _sqlite(url: sa.URL, partial: Path) -> None:
    source_path = Path(url.database or "")
    if not url.database or url.database == ":memory:" or not source_path.exists():
        raise BackupError(f"no SQLite database at {url.database!r}")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)  # one consistent snapshot; writers are not held up
            verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    if verdict != "ok":
        raise BackupError(f"the copy failed its integrity check: {verdict}")


def _postgresql(url: sa.URL, partial: Path) -> None:
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    if pg_dump is None or pg_restore is None:
        raise BackupError("pg_dump and pg_restore are needed to back up PostgreSQL "
                          "(Debian: apt install postgresql-client)")
    env = _pg_env(url)
    args = [pg_dump, "--format=custom", f"--file={partial}",
            f"--dbname={_libpq_url(url)}"]
    schema = _search_path(url)
    if schema:  # a station kept in a schema of its own
        args.append(f"--schema={schema}")
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()[-500:]}")
    listed = subprocess.run([pg_restore, "--list", str(partial)], capture_output=True,
                            text=True, timeout=600)
    if listed.returncode != 0 or "TABLE DATA" not in listed.stdout:
        raise BackupError(f"the dump does not read back: {listed.stderr.strip()[-500:]}")


def _pg_env(url: sa.URL) -> dict[str, str]:
    """The environment of pg_dump and pg_restore: the password goes here, not on the command
    line, where ps shows it."""
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _libpq_url(url: sa.URL) -> str:
    """The URL as libpq reads it: no driver name, no password, no SQLAlchemy-only options."""
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False)


def _search_path(url: sa.URL) -> str | None:
    options = url.query.get("options")
    text = options if isinstance(options, str) else " ".join(options or ())
    for part in text.split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0].strip('"') or None
    return None


def restore(database_url: str, source: Path, clock: Clock) -> Path | None:
    """Put the backup ``source`` in place of the station's database; the server must be
    stopped (the caller holds the runtime lock). The database as it was is backed up first,
    beside ``source``; returns that copy (None when there was no database yet: a new machine).
    Nothing is changed when ``source`` does not verify.
    """
    url = sa.engine.make_url(database_url)
    backend = url.get_backend_name()
    if not source.is_file() or source.suffix != SUFFIXES.get(backend):
        raise BackupError(f"{source} is not a {backend} backup ({SUFFIXES.get(backend, '?')})")
    before: Path | None = _unused(source.parent / f"before-restore-{clock.local():%Y%m%d-%H%M%S}",
                                  source.suffix)
    partial = before.with_name(before.name + ".partial")
    try:
        if backend == "sqlite":
            _verify_sqlite(source)
            target = Path(url.database or "")
            if target.exists():
                _sqlite(url, partial)  # the database as it was, WAL included
                partial.replace(before)
            else:
                before = None
            _put_sqlite(source, target)
        else:
            if _has_station(url):
                _postgresql(url, partial)
                partial.replace(before)
            else:
                before = None
            _pg_restore(url, source)
    except (OSError, sqlite3.Error, subprocess.SubprocessError, sa.exc.SQLAlchemyError) as exc:
        raise BackupError(str(exc)) from exc
    finally:
        partial.unlink(missing_ok=True)
    return before


def _unused(stem: Path, suffix: str) -> Path:
    """``stem`` + ``suffix``, or with ``-2``, ``-3``… when that file exists."""
    path, n = stem.with_name(stem.name + suffix), 1
    while path.exists():
        n += 1
        path = stem.with_name(f"{stem.name}-{n}{suffix}")
    return path


def _verify_sqlite(path: Path) -> None:
    copy = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        copy.close()
    if verdict != "ok":
        raise BackupError(f"{path.name} fails its integrity check: {verdict}")
    if not {"alembic_version", "visits"} <= tables:
        raise BackupError(f"{path.name} is not a station database")


def _put_sqlite(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".restoring")
    try:
        shutil.copyfile(source, partial)
        _verify_sqlite(partial)
        # the old write-ahead log would be replayed onto the restored file: it goes first
        # (what it held is in the copy made before)
        for suffix in ("-wal", "-shm"):
            target.with_name(target.name + suffix).unlink(missing_ok=True)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _has_station(url: sa.URL) -> bool:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as c:
            return bool(c.execute(sa.text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar())
    finally:
        engine.dispose()


def _pg_restore(url: sa.URL, source: Path) -> None:
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise BackupError("pg_restore is needed to restore PostgreSQL (postgresql-client)")
    env = _pg_env(url)
    args = [pg_restore, "--clean", "--if-exists", "--single-transaction", "--no-owner",
            f"--dbname={_libpq_url(url)}", str(source)]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:  # one transaction: nothing was changed
        raise BackupError(f"pg_restore failed: {done.stderr.strip()[-500:]}")


def backups(directory: Path) -> list[Path]:
    """The finished backups in ``directory``, oldest first (their names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.name.startswith(PREFIX) and p.suffix in SUFFIXES.values())


def prune(directory: Path, keep: int) -> tuple[Path, ...]:
    """Delete all but the newest ``keep`` backups; returns what was deleted."""
    old = backups(directory)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)
    return tuple(old)


def last(directory: Path) -> dict[str, Any] | None:
    """The outcome of the last attempt (``at``, ``ok``, and ``file`` or ``error``), if any."""
    try:
        return json.loads((directory / LAST).read_text())
    except (OSError, ValueError):
        return None


#: a backup older than this is reported as overdue (one night missed, with some slack)
OVERDUE = timedelta(hours=36)


@dataclass(frozen=True)
class Status:
    """What the staff overview says about backups: ``none`` yet, ``ok``, ``failed`` (the last
    attempt) or ``overdue`` (the last attempt succeeded, too long ago)."""

    kind: str
    at: datetime | None = None
    error: str | None = None


def status(directory: Path, now: datetime) -> Status:
    outcome = last(directory)
    if outcome is None:
        return Status("none")
    try:
        at = datetime.fromisoformat(outcome["at"])
    except (KeyError, TypeError, ValueError):
        return Status("none")
    if not outcome.get("ok"):
        return Status("failed", at, str(outcome.get("error") or ""))
    return Status("overdue" if now - at > OVERDUE else "ok", at)


def _write_last(directory: Path, outcome: dict[str, Any]) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        partial = directory / (LAST + ".partial")
        partial.write_text(json.dumps(outcome, ensure_ascii=False))
        partial.replace(directory / LAST)
    except OSError as exc:  # the folder itself is the problem: the outcome is not lost
        log.warning("could not record the backup's outcome %s in %s: %s", outcome, directory, exc)
