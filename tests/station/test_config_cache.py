"""The process's configuration cache (``station.db.cached_config``): settings and opening
hours read once per ``CONFIG_TTL_S`` by read sessions, dropped at once by a commit that
writes them."""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa

from station import db as station_db
from station.db import ConfigCache, Database
from station.models import OpeningHours, StationSetting
from station.services import calendar, settings
from station.services.actors import Actor


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


@pytest.fixture(autouse=True)
def _no_expiry(monkeypatch):
    """What a test caches stays cached however slow the machine: only a drop removes it (the
    test of the TTL moves the clock itself)."""
    monkeypatch.setattr(station_db, "_monotonic", lambda: 0.0)


def _name(db: Database) -> str:
    with db.read() as s:
        return settings.get(s, "station.name")


def _queries(db: Database):
    """Count the statements the engine runs."""
    seen: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def test_read_sessions_share_one_read_of_the_settings(db):
    _name(db)
    seen = _queries(db)
    assert _name(db) == _name(db)
    assert not [q for q in seen if "station_settings" in q]


def test_a_committed_change_is_seen_at_once_by_this_process(db, clock):
    assert _name(db) != "新站名"
    with db.write() as s:
        settings.put(s, clock, Actor.system("t"), "station.name", "新站名")
    assert _name(db) == "新站名"


def test_a_bulk_statement_also_drops_the_cache(db, clock):
    _name(db)
    with db.write() as s:
        s.execute(sa.insert(StationSetting).values(key="station.name", value="批量改名",
                                                   updated_at=clock.now()))
    assert _name(db) == "批量改名"


def test_a_write_transaction_reads_what_is_stored_including_its_own_change(db, clock):
    _name(db)
    with db.write() as s:
        settings.put(s, clock, Actor.system("t"), "station.name", "事务内")
        assert settings.get(s, "station.name") == "事务内"
        with db.read() as r:  # not committed yet: other sessions still see the old name
            assert settings.get(r, "station.name") != "事务内"


def test_a_rolled_back_change_leaves_the_cache_as_it_was(db, clock):
    before = _name(db)
    with pytest.raises(RuntimeError), db.write() as s:
        settings.put(s, clock, Actor.system("t"), "station.name", "回滚")
        raise RuntimeError("undo")
    assert _name(db) == before


def test_another_process_change_is_seen_within_the_ttl(db, database_url, clock, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(station_db, "_monotonic", lambda: now[0])
    before = _name(db)
    other = Database(database_url)  # another process: its commits do not reach this cache
    try:
        with other.write() as s:
            settings.put(s, clock, Actor.system("t"), "station.name", "他处改名")
        assert _name(db) == before  # still taken as read
        now[0] += station_db.CONFIG_TTL_S + 0.1
        assert _name(db) == "他处改名"
    finally:
        other.dispose()


def test_opening_hours_changes_reach_the_open_check_at_once(db, clock):
    def open_now() -> bool:
        with db.read() as s:
            return calendar.open_now(s, clock)["open"]

    assert open_now()  # Monday 09:00, a working morning
    weekday = clock.local().weekday()
    with db.write() as s:
        calendar.set_hours(s, clock, Actor.system("t"), weekday, closed=True)
    assert not open_now()
    with db.write() as s:
        calendar.set_hours(s, clock, Actor.system("t"), weekday, closed=False,
                           opens_at=time(8, 0), closes_at=time(17, 0))
    assert open_now()
    with db.write() as s:  # an ORM change without the service
        s.get(OpeningHours, weekday).opens_at = time(10, 0)
    assert not open_now()


def test_a_value_read_before_a_change_is_not_kept():
    cache = ConfigCache()
    opened = cache.generation()

    def stale_read() -> str:
        cache.forget()  # a commit lands while this read is under way
        return "old"

    assert cache.get("k", stale_read, opened) == "old"
    now = cache.generation()
    assert cache.get("k", lambda: "new", now) == "new"  # the stale value was not kept
    assert cache.get("k", lambda: "newer", now) == "new"  # this one was
    assert cache.get("k", lambda: "own", opened) == "own"  # an older reader reads for itself


def test_a_session_opened_before_a_change_does_not_fill_the_cache(db, clock):
    """SQLite fixes a read transaction's snapshot at its first statement: a session that saw
    the old rows must not leave them for the sessions after the change."""
    _name(db)
    with db.read() as old:
        old.execute(sa.text("SELECT 1 FROM station_settings LIMIT 1"))  # the snapshot begins
        with db.write() as s:  # the change commits and drops the cache meanwhile
            settings.put(s, clock, Actor.system("t"), "station.name", "改名之后")
        settings.get(old, "station.name")  # reads in its own snapshot
    assert _name(db) == "改名之后"


def test_a_savepoint_does_not_drop_the_cache_before_the_commit(db, clock):
    """Released early, the flag would be gone by the commit: a read in between would keep
    the old value for the whole time to live."""
    _name(db)
    with db.write() as s:
        with s.begin_nested():
            settings.put(s, clock, Actor.system("t"), "station.name", "保存点")
        assert _name(db) != "保存点"  # not committed: a reader keeps the old name
    assert _name(db) == "保存点"


def test_a_row_stored_by_insert_row_also_drops_the_cache(db, clock):
    _name(db)
    with db.write() as s:
        station_db.insert_row(s, StationSetting(key="station.name", value="逐行插入",
                                                updated_at=clock.now()))
    assert _name(db) == "逐行插入"


def test_a_row_changed_by_update_row_also_drops_the_cache(db, clock):
    with db.write() as s:
        stored = station_db.insert_row(s, StationSetting(key="station.name", value="原名",
                                                         updated_at=clock.now()))
    assert _name(db) == "原名"
    with db.write() as s:
        station_db.update_row(s, s.merge(stored), value="逐行更新")
    assert _name(db) == "逐行更新"


def test_a_write_transaction_that_changed_no_configuration_reads_it_from_the_cache(db, clock):
    """A call or a ticket reads settings in its write transaction: no statement for them
    while the cache holds them (a writer of this process commits only after this one)."""
    _name(db)
    seen = _queries(db)
    with db.write() as s:
        assert settings.get(s, "station.name") == _name(db)
    assert not [q for q in seen if "station_settings" in q]


@pytest.mark.parametrize("how", ["flushed", "insert_row", "bulk"])
def test_a_write_transaction_reads_its_own_change_however_it_was_made(db, clock, how):
    _name(db)
    with db.write() as s:
        if how == "flushed":
            s.add(StationSetting(key="station.name", value="自己改的", updated_at=clock.now()))
            s.flush()
        elif how == "insert_row":
            station_db.insert_row(s, StationSetting(key="station.name", value="自己改的",
                                                    updated_at=clock.now()))
        else:
            s.execute(sa.insert(StationSetting).values(key="station.name", value="自己改的",
                                                       updated_at=clock.now()))
        s.info.pop("settings", None)  # as settings.put does: the session's own copy goes
        assert settings.get(s, "station.name") == "自己改的"
        with db.read() as r:  # not committed yet: a reader, and the cache, keep the old name
            assert settings.get(r, "station.name") != "自己改的"
    assert _name(db) == "自己改的"


def test_a_write_transaction_of_another_generation_reads_what_is_stored(db, clock):
    """On PostgreSQL writers do not wait for each other: one that opened before another's
    change committed reads for itself, as a read session does."""
    _name(db)
    with db.write() as s:
        db.config_cache.forget()  # another writer's change lands meanwhile
        seen = _queries(db)
        settings.get(s, "station.name")
    assert [q for q in seen if "station_settings" in q]


def test_a_kiosks_printer_is_configuration_and_a_change_is_seen_at_once(db, clock, station):
    from station.models import HardwareDevice
    from station.services import tickets, users

    with db.read() as s:
        kiosk_id = users.client_device_by_token(s, station.client_tokens["kiosk"]).id
    with db.read() as s:
        printer = tickets.kiosk_printer_id(s, kiosk_id)
    assert printer is not None
    seen = _queries(db)
    with db.write() as s:  # kept: no statement, in a write transaction too
        assert tickets.kiosk_printer_id(s, kiosk_id) == printer
    assert not [q for q in seen if "hardware_devices" in q]
    with db.write() as s:
        s.get(HardwareDevice, printer).enabled = False
        assert tickets.kiosk_printer_id(s, kiosk_id) is None  # its own change, not flushed yet
    with db.read() as s:
        assert tickets.kiosk_printer_id(s, kiosk_id) is None
    with db.write() as s:
        s.get(HardwareDevice, printer).enabled = True
    with db.write() as s:
        assert tickets.kiosk_printer_id(s, kiosk_id) == printer
