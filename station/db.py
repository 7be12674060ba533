"""Engine and sessions.

SQLite (embedded default) is set up for a station that must not lose a ticket:
WAL, ``synchronous=FULL`` (a committed row survives a kill -9 or a power cut),
``foreign_keys=ON`` and a busy timeout. pysqlite's own transaction handling is switched
off so that we emit ``BEGIN`` ourselves: write transactions start with
``BEGIN IMMEDIATE`` — a deferred transaction that reads and then writes fails with
"database is locked" when another writer got there first (measured in
``benchmarks/sqlite_begin.py``), whereas IMMEDIATE waits its turn in the busy timeout.
PostgreSQL needs none of this; services lock rows explicitly where order matters
(``SELECT … FOR UPDATE [SKIP LOCKED]``).

Services receive a ``Session`` and never commit; the caller owns the transaction:

    with db.write() as s:      # BEGIN IMMEDIATE on SQLite; commit on success, rollback on error
        visits.transition(s, visit, ...)
    with db.read() as s:       # deferred, never commits
        ...
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

SQLITE_BUSY_TIMEOUT_MS = 10_000
#: how long one process takes the station's configuration (settings, opening hours) as read,
#: in seconds: a kiosk ticket or a call reads some on every request, and each read costs a
#: query. A commit of this process that writes configuration drops it at once; one made by
#: another process (the ``station`` command, a second server) is seen within this time.
CONFIG_TTL_S = 2.0
#: the tables that hold configuration (a commit writing to one drops the cache)
CONFIG_TABLES = frozenset({"station_settings", "opening_hours", "calendar_exceptions",
                           "hardware_devices"})
T = TypeVar("T")


def is_sqlite(url: str | sa.URL) -> bool:
    return sa.make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the station's connection settings for its backend."""
    if is_sqlite(url):
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return sa.create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module doc)
        cur = dbapi_conn.cursor()
        memory = engine.url.database in (None, "", ":memory:")
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("station_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def _monotonic() -> float:
    return time.monotonic()


class ConfigCache:
    """Configuration as last read by read sessions, for ``CONFIG_TTL_S`` (one per Database).

    Every drop starts a new generation. A read session notes the generation when it opens,
    before its first statement fixes what it sees (SQLite keeps one snapshot per read
    transaction): a session opened before a change reads for itself and keeps nothing, so a
    value read before a change is never kept."""

    #: past this many entries, storing first drops the expired ones
    SWEEP_AT = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Any, tuple[float, Any]] = {}
        self._generation = 0

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def get(self, key: Any, load: Callable[[], T], since: int) -> T:
        """The value of ``key`` for a reader that opened in generation ``since``."""
        now = _monotonic()
        with self._lock:
            current, entry = self._generation, self._entries.get(key)
        if current != since:  # dropped since the reader opened: it may see the old rows
            return load()
        if entry is not None and entry[0] >= now:
            return entry[1]  # type: ignore[no-any-return]
        value = load()
        with self._lock:
            if since == self._generation:
                if len(self._entries) >= self.SWEEP_AT:
                    self._entries = {k: e for k, e in self._entries.items() if e[0] >= now}
                self._entries[key] = (now + CONFIG_TTL_S, value)
        return value

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1


def cached_config(session: Session, key: Any, load: Callable[[], T]) -> T:
    """A piece of configuration: from the process's cache in a session of a ``Database``, else
    ``load()``. A write transaction that has changed configuration (pending, flushed, or by
    ``insert_row``/``update_row``) reads what is stored, its own changes too; one that has not
    sees what a read session would (a writer of this process commits only after this one, so
    the cache cannot go stale under it). ``load`` must return a value nobody changes (a frozen
    dataclass, a read-only mapping)."""
    db, since = session.info.get("db"), session.info.get("config_generation")
    if db is None or since is None or (session.info.get(_WRITER) and _changes_config(session)):
        return load()
    return db.config_cache.get(key, load, since)


def _changes_config(session: Session) -> bool:
    if session.info.get(_CONFIG_WRITTEN) or CONFIG_TABLES & session.info.get(WRITTEN, frozenset()):
        return True
    return any(getattr(o, "__tablename__", None) in CONFIG_TABLES
               for o in (*session.new, *session.dirty, *session.deleted))


def on_commit_writing(tables: frozenset[str], callback: Callable[[Session], None], *,
                      counts: Callable[[object, Session], bool] | None = None) -> str:
    """Call ``callback(session)`` after every real commit (not a savepoint's release) of a
    session that wrote to one of ``tables``: ORM objects flushed, or bulk statements through
    the session, ORM (``update(Model)``) or Core (``update(table)``). ``counts(obj, session)``
    may say that a flushed object's change does not count (bookkeeping columns). Rows stored
    by ``insert_row`` or changed by ``update_row``
    count too. Caches of rows use it to drop what they kept. Returns the key of
    ``session.info`` that is true while a session has flushed such a write, until it commits."""
    flag = f"wrote:{','.join(sorted(tables))}"

    def _object_counts(obj: object, session: Session) -> bool:
        if getattr(obj, "__tablename__", None) not in tables:
            return False
        return counts is None or counts(obj, session)

    @event.listens_for(Session, "after_flush")
    def _note_objects(session: Session, _context: Any) -> None:
        if any(_object_counts(o, session) for o in (*session.new, *session.dirty, *session.deleted)):
            session.info[flag] = True

    @event.listens_for(Session, "do_orm_execute")
    def _note_bulk(state: ORMExecuteState) -> None:
        table = getattr(state.statement, "table", None)
        if (state.is_update or state.is_delete or state.is_insert) and (
                getattr(table, "name", None) in tables):
            state.session.info[flag] = True

    @event.listens_for(Session, "after_commit")
    def _committed(session: Session) -> None:
        if session.in_nested_transaction():
            return  # a savepoint released: the flag waits for the real commit
        wrote = session.info.pop(flag, False)
        if wrote or tables & session.info.get(WRITTEN, frozenset()):
            callback(session)

    return flag


def _forget_config(session: Session) -> None:
    db = session.info.get("db")
    if db is not None:
        db.config_cache.forget()


_CONFIG_WRITTEN = on_commit_writing(CONFIG_TABLES, _forget_config)


class Database:
    """One engine and the two kinds of session the station uses."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_kwargs)
        self.sqlite = is_sqlite(url)
        write_bind = self.engine.execution_options(station_begin="IMMEDIATE") if self.sqlite else self.engine
        self._write = sessionmaker(write_bind, expire_on_commit=False)
        # SQLite has one writer at a time. Writers of this process queue on a lock instead of
        # inside SQLite, whose busy handler polls with sleeps of up to 100 ms (a long latency
        # tail under load); other processes still wait in the busy timeout.
        self._write_lock: threading.Lock | None = threading.Lock() if self.sqlite else None
        self._in_write = threading.local()
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        #: callbacks run after a write transaction commits (signals to realtime clients)
        self.after_commit_hooks: list[Callable[[Session], None]] = []
        self.config_cache = ConfigCache()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back on any error."""
        if getattr(self._in_write, "active", False):
            raise RuntimeError("nested write transaction: pass the session down instead")
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        self._in_write.active = True
        try:
            session = self._write()
            session.info["db"] = self
            session.info[_WRITER] = True
            session.info["config_generation"] = self.config_cache.generation()
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                pending = session.info.pop("after_commit", [])
                session.close()
        finally:
            self._in_write.active = False
            if lock is not None:
                lock.release()
        for callback in pending:
            callback()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (never committed). Closing it ends the transaction but leaves
        loaded objects readable, so views may serialise them after the block."""
        session = self._read()
        session.info["db"] = self
        # before the first statement: see ConfigCache
        session.info["config_generation"] = self.config_cache.generation()
        try:
            yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the write transaction of ``session`` has committed.

    Used to send signals, so that screens never see a state that was rolled back.
    A transaction that fails drops its callbacks.
    """
    session.info.setdefault("after_commit", []).append(callback)


#: ``session.info`` key: the tables ``insert_row`` and ``update_row`` wrote to in the
#: session's transaction
WRITTEN = "station.written_tables"
#: ``session.info`` key: the identity keys of the rows ``insert_row`` stored in the session's
#: transaction
INSERTED = "station.inserted_rows"
#: ``session.info`` key: the session is a write transaction of ``Database.write``
_WRITER = "station.writer"


def inserted_here(session: Session, obj: object) -> bool:
    """Whether ``obj`` was stored by ``insert_row`` in the session's transaction, which no
    other transaction sees yet: nothing stored before refers to it (a check for rows that
    point to it can be left out)."""
    return sa.inspect(obj).key in session.info.get(INSERTED, ())


@functools.cache
def _insert_returning(table: sa.Table) -> sa.Insert:
    """Built once per table: the row's every column comes back, defaults included."""
    return sa.insert(table).returning(*table.c)


@functools.cache
def _layout(mapper: Any) -> tuple[sa.Table, tuple[tuple[str, sa.Column[Any]], ...], frozenset[str]]:
    """Per model: its table, its column attributes with their columns, its relationships."""
    columns = tuple((prop.key, prop.columns[0]) for prop in mapper.column_attrs)
    return mapper.local_table, columns, frozenset(rel.key for rel in mapper.relationships)


@event.listens_for(Session, "after_transaction_end")
def _forget_written(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # after the commit's callbacks, or a rollback
        session.info.pop(WRITTEN, None)
        session.info.pop(INSERTED, None)


def insert_row(session: Session, obj: T) -> T:
    """Store a new model instance with one Core ``INSERT … RETURNING`` and make it a persistent
    object of ``session``, as ``session.add(obj); session.flush()`` would, without the unit
    of work (a flush costs several times the statement; a ticket's check-in writes six rows).

    Only column attributes are stored: set foreign keys by id. A relationship set on ``obj``
    is refused, since the unit of work would cascade it into a second insert. New objects the
    session holds are flushed first when the row may refer to them."""
    state = sa.inspect(obj)
    if state.key is not None or state.session_id is not None:
        raise ValueError(f"{type(obj).__name__} is already stored or in a session")
    table, columns, relationships = _layout(state.mapper)
    given = state.dict
    if not relationships.isdisjoint(given):
        raise ValueError(f"{type(obj).__name__}: set foreign keys by id, not relationships")
    if table.foreign_keys and session.new:
        session.flush()
    row = session.connection().execute(
        _insert_returning(table), {column.key: given[key] for key, column in columns if key in given},
    ).one()._mapping
    for key, column in columns:  # as loaded: the row's values, no history
        given[key] = row[column]
    make_transient_to_detached(obj)  # persistent once added, nothing left to flush
    session.add(obj)
    session.info.setdefault(WRITTEN, set()).add(table.name)
    session.info.setdefault(INSERTED, set()).add(state.key)
    return obj


@functools.cache
def _update_by_id(table: sa.Table, names: tuple[str, ...]) -> sa.Update:
    """Built once per table and set of columns (by name: a column compared with ``==`` is
    an expression): ``UPDATE … SET … WHERE id = :row_id``."""
    (key,) = table.primary_key.columns
    return (sa.update(table).where(key == sa.bindparam("row_id", type_=key.type))
            .values({table.c[name]: sa.bindparam(f"set_{name}", type_=table.c[name].type)
                     for name in names}))


def update_row(session: Session, obj: Any, **values: Any) -> None:
    """Set column attributes of a stored object with one Core ``UPDATE`` by its id, and on the
    object as loaded (no history), as ``obj.name = value`` and the commit's flush would,
    without the unit of work (a call and a park each paid more for the flush of two changed
    rows than for the rest of their statements).

    Only column attributes; other changes the object holds are flushed as usual. Not for
    the append-only records, whose guards watch the flush."""
    state = sa.inspect(obj)
    if state.key is None or state.session is not session:
        raise ValueError(f"{type(obj).__name__} is not stored in this session")
    table, columns, _ = _layout(state.mapper)
    by_key = dict(columns)
    unknown = values.keys() - by_key.keys()
    if unknown:
        raise ValueError(f"{type(obj).__name__} has no column attributes {sorted(unknown)}")
    if table.foreign_keys and session.new:  # an id set here may be a new object's
        session.flush()
    keys = tuple(values)
    result = session.connection().execute(
        _update_by_id(table, tuple(by_key[key].key for key in keys)),
        {"row_id": state.identity[0], **{f"set_{by_key[key].key}": values[key] for key in keys}})
    if result.rowcount != 1:
        raise RuntimeError(f"{type(obj).__name__} {state.identity[0]} is no longer stored")
    for key in keys:
        set_committed_value(obj, key, values[key])
    session.info.setdefault(WRITTEN, set()).add(table.name)


def flushed_connection(session: Session) -> sa.Connection:
    """The session's connection, to run a Core statement on without the ORM's work around
    it; what the session holds is flushed first, as before any statement of the session."""
    session.flush()  # a no-op when there is nothing to flush
    return session.connection()


def lock_for_update(stmt: sa.Select, session: Session, *, skip_locked: bool = False) -> sa.Select:
    """``FOR UPDATE`` on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises writers."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked)
    return stmt
