"""Append-only records, day counters under concurrency, settings, vehicles."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from station.errors import NotFound, ValidationError
from station.models import AuditEntry, VisitCategory
from station.models.guard import AppendOnlyViolation
from station.services import audit, sequences, settings, vehicles, visits
from station.services.actors import Actor

ACTOR = Actor.system("test")


def test_audit_rows_cannot_be_changed_through_the_orm(db, clock):
    with db.write() as s:
        audit.record(s, clock, ACTOR, "thing.done", entity_type="x", entity_id=1, a=1)
    with pytest.raises(AppendOnlyViolation), db.write() as s:
        s.scalars(sa.select(AuditEntry)).one().action = "tampered"
    with pytest.raises(AppendOnlyViolation), db.write() as s:
        s.delete(s.scalars(sa.select(AuditEntry)).one())


@pytest.mark.parametrize("table", ["audit_log", "visit_transitions"])
@pytest.mark.parametrize("verb", ["UPDATE {} SET actor_name='x'", "DELETE FROM {}"])
def test_database_triggers_refuse_raw_changes(db, clock, table, verb):
    with db.write() as s:
        audit.record(s, clock, ACTOR, "thing.done")
        vehicle = vehicles.register(s, clock, plate_type="02", plate="浙A12345")
        visits.open_visit(s, clock, ACTOR, vehicle, category=VisitCategory.WALK_IN)
    with pytest.raises(sa.exc.DatabaseError) as err, db.write() as s:
        s.execute(sa.text(verb.format(table)))
    assert "append-only" in str(err.value)
    with db.read() as s:
        assert s.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE actor_name != 'x'")) == 1


def test_day_counter_never_repeats_under_concurrency(db):
    got: list[int] = []
    lock = threading.Lock()

    def worker():
        for _ in range(25):
            with db.write() as s:
                value = sequences.next_value(s, "ticket:A", date(2026, 11, 23))
            with lock:
                got.append(value)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(got) == list(range(1, 151))
    with db.read() as s:
        assert sequences.peek(s, "ticket:A", date(2026, 11, 23)) == 150
        assert sequences.peek(s, "ticket:A", date(2026, 11, 24)) == 0


def test_settings_defaults_override_and_validation(db, clock):
    with db.read() as s:
        assert settings.get(s, "retest.free_days") == 30
    with db.write() as s:
        settings.put(s, clock, ACTOR, "retest.free_days", "45")
    with db.read() as s:
        assert settings.get(s, "retest.free_days") == 45
    for bad in ("abc", -1, 400):
        with pytest.raises(ValidationError), db.write() as s:
            settings.put(s, clock, ACTOR, "retest.free_days", bad)
    with pytest.raises(NotFound), db.read() as s:
        settings.get(s, "no.such.setting")
    with db.read() as s:
        assert settings.get(s, "retest.free_days") == 45
        entry = s.scalars(sa.select(AuditEntry).where(AuditEntry.action == "setting.changed")).one()
        assert entry.details == {"old": 30, "new": 45}


def test_register_vehicle_validates_before_storing(db, clock):
    with pytest.raises(ValidationError) as err, db.write() as s:
        vehicles.register(s, clock, plate_type="02", plate="浙AD12345")  # a new-energy plate
    assert err.value.code == "plate_type_mismatch"
    with pytest.raises(ValidationError) as err, db.write() as s:
        vehicles.register(s, clock, plate_type="02", plate="浙A12345", vin="LSVAU2180N2183294")
    assert err.value.code == "vin_check_digit"
    with db.write() as s:  # staff confirmed the VIN as printed on the licence
        v = vehicles.register(s, clock, plate_type="02", plate="浙 a·12345",
                              vin="LSVAU2180N2183294", vin_check_digit_confirmed=True,
                              fuel="diesel", vehicle_type="K33", use_nature="A")
        assert (v.plate, v.vin_tail, v.fuel.value) == ("浙A12345", "183294", "diesel")
    with pytest.raises(ValidationError) as err, db.write() as s:
        vehicles.register(s, clock, plate_type="02", plate="浙A12345", fuel="steam")
    assert err.value.code == "fuel_unknown"
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(vehicles.Vehicle)) == 1
