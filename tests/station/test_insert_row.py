"""``station.db.insert_row``: a new row stored with one statement and kept as a persistent
object of the session, as ``session.add`` and a flush would leave it; ``update_row``: columns
of a stored row changed with one statement, the object left as the flush would leave it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from station.db import insert_row, update_row
from station.models import (
    AuditEntry,
    PrintState,
    Ticket,
    TicketCategory,
    Vehicle,
    Visit,
    VisitCategory,
)
from station.models.ticket import CallState
from station.services import visits
from station.services.actors import Actor


def _statements(db):
    seen: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    return seen


def _vehicle(s, clock, plate="浙A12345") -> Vehicle:
    return insert_row(s, Vehicle(plate_type="02", plate=plate, created_at=clock.now(),
                                 updated_at=clock.now()))


def test_the_row_comes_back_with_its_id_and_defaults_in_one_statement(db, clock):
    with db.write() as s:
        vehicle = _vehicle(s, clock)
        visit = visits.open_visit(s, clock, Actor.system("t"), vehicle, category=VisitCategory.WALK_IN,
                                  arrived_at=clock.now())
        seen = _statements(db)
        ticket = insert_row(s, Ticket(visit_id=visit.id, day=clock.today(),
                                      category=TicketCategory.WALK_IN, number=1, label="B001",
                                      progress_token="t" * 24, issued_at=clock.now(),
                                      print_state=PrintState.PENDING))
        assert [q.split()[0] for q in seen] == ["INSERT"]
        # persistent, every column loaded (defaults included): reading costs no statement
        assert ticket in s and not s.new and not s.dirty
        assert ticket.id is not None
        assert (ticket.print_attempts, ticket.call_state, ticket.requeued_at) == (0, CallState.WAITING, None)
        assert len(seen) == 1
        assert s.get(Ticket, ticket.id) is ticket  # the identity map holds it
        assert visit.vehicle is vehicle  # a foreign key by id finds the object in the session
        ticket.print_attempts = 2  # a later change is flushed as an update
    with db.read() as s:
        assert s.get(Ticket, ticket.id).print_attempts == 2


def test_a_rolled_back_transaction_keeps_nothing(db, clock):
    with pytest.raises(RuntimeError), db.write() as s:
        _vehicle(s, clock)
        raise RuntimeError("undo")
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Vehicle)) == 0


def test_a_relationship_or_an_object_of_a_session_is_refused(db, clock):
    with db.write() as s:
        vehicle = _vehicle(s, clock)
        with pytest.raises(ValueError, match="foreign keys by id"):
            insert_row(s, Visit(inspection_serial="1", attempt=1, vehicle=vehicle,
                                category=VisitCategory.WALK_IN, state="checked_in",
                                state_changed_at=clock.now(), created_at=clock.now()))
        with pytest.raises(ValueError, match="already stored"):
            insert_row(s, vehicle)
        entry = AuditEntry(at=clock.now(), actor_kind="system", actor_name="t", action="x")
        s.add(entry)
        with pytest.raises(ValueError, match="already stored"):
            insert_row(s, entry)
        s.expunge(entry)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Visit)) == 0
        assert s.scalar(sa.select(sa.func.count()).select_from(Vehicle)) == 1


def test_new_objects_it_may_refer_to_are_stored_first(db, clock):
    with db.write() as s:
        s.add(Vehicle(id=777, plate_type="02", plate="浙A54321", created_at=clock.now(),
                      updated_at=clock.now()))  # pending: stored before the visit refers to it
        visit = insert_row(s, Visit(inspection_serial="1", attempt=1, vehicle_id=777,
                                    category=VisitCategory.WALK_IN, state="checked_in",
                                    state_changed_at=clock.now(), created_at=clock.now()))
        other = Vehicle(plate_type="02", plate="浙A54322", created_at=clock.now(),
                        updated_at=clock.now())
        s.add(other)
        insert_row(s, AuditEntry(at=clock.now(), actor_kind="system", actor_name="t",
                                 action="x", entity_type="visits", entity_id=str(visit.id)))
        assert other in s.new  # the audit log refers to no table: nothing was flushed for it
    with db.read() as s:
        assert s.get(Visit, visit.id).vehicle.plate == "浙A54321"
        assert s.scalar(sa.select(sa.func.count()).select_from(Vehicle)) == 2


def _ticket(s, clock) -> Ticket:
    visit = visits.open_visit(s, clock, Actor.system("t"), _vehicle(s, clock),
                              category=VisitCategory.WALK_IN, arrived_at=clock.now())
    return insert_row(s, Ticket(visit_id=visit.id, day=clock.today(), category=TicketCategory.WALK_IN,
                                number=1, label="B001", progress_token="t" * 24,
                                issued_at=clock.now(), print_state=PrintState.PENDING))


def test_update_row_changes_the_row_with_one_statement_and_leaves_nothing_to_flush(db, clock):
    with db.write() as s:
        ticket = _ticket(s, clock)
        ticket.print_attempts = 3  # a change of another column, flushed as usual
        seen = _statements(db)
        update_row(s, ticket, call_state=CallState.CALLED, call_count=ticket.call_count + 1,
                   called_at=clock.now())
        assert [q.split()[0] for q in seen] == ["UPDATE"]
        assert (ticket.call_state, ticket.call_count) == (CallState.CALLED, 1)
        history = sa.inspect(ticket).attrs
        assert not history.call_state.history.has_changes()
        assert history.print_attempts.history.has_changes()
        seen.clear()
        s.flush()
        assert len(seen) == 1 and "print_attempts" in seen[0] and "call_state" not in seen[0]
    with db.read() as s:
        stored = s.get(Ticket, ticket.id)
        assert (stored.call_state, stored.call_count, stored.print_attempts) == (CallState.CALLED, 1, 3)
        assert stored.called_at == clock.now()


def test_update_row_refuses_what_it_cannot_store_and_a_rollback_keeps_nothing(db, clock):
    with db.write() as s:
        ticket = _ticket(s, clock)
        with pytest.raises(ValueError, match="no column attributes"):
            update_row(s, ticket, visit=None)
        with pytest.raises(ValueError, match="not stored in this session"):
            update_row(s, Ticket(label="B002"), call_state=CallState.CALLED)
    with pytest.raises(RuntimeError, match="undo"), db.write() as s:
        update_row(s, s.get(Ticket, ticket.id), call_state=CallState.PARKED)
        raise RuntimeError("undo")
    with db.write() as s:
        gone = s.get(Ticket, ticket.id)
        assert gone.call_state is CallState.WAITING
        s.execute(sa.delete(Ticket).where(Ticket.id == gone.id))
        with pytest.raises(RuntimeError, match="no longer stored"):
            update_row(s, gone, call_state=CallState.CALLED)


def test_a_row_stored_here_is_known_until_the_transaction_ends(db, clock):
    from station.db import inserted_here

    with db.write() as s:
        vehicle = _vehicle(s, clock)
        assert inserted_here(s, vehicle)
    with db.write() as s:
        loaded = s.get(Vehicle, vehicle.id)
        assert not inserted_here(s, loaded)  # stored before: others may refer to it
        s.add(Vehicle(plate_type="02", plate="浙A54321", created_at=clock.now(),
                      updated_at=clock.now()))
        s.flush()
        assert not any(inserted_here(s, o) for o in s.identity_map.values())  # only insert_row's
    with pytest.raises(RuntimeError), db.write() as s:
        _vehicle(s, clock, "浙A99999")
        raise RuntimeError("undo")
    with db.write() as s:
        assert not s.info.get("station.inserted_rows")  # a rollback leaves nothing behind


def test_a_walk_in_does_not_look_for_what_its_new_rows_cannot_have(db, clock, demo_station):
    """A vehicle registered in the transaction has no visit in progress; a visit opened in
    it has no ticket: the check-in asks neither (the database's constraints still hold)."""
    from station.services import appointments, tickets

    actor = Actor.system("t")
    with db.write() as s:
        seen = _statements(db)
        checked = appointments.walk_in(s, clock, actor, plate_type="02", plate="浙A13579")
        tickets.issue(s, clock, actor, checked.visit, checked.queue_category)
    assert not [q for q in seen if q.startswith("SELECT visits.id") or q.startswith("SELECT tickets.id")]
    with db.write() as s:  # the vehicle is known now: the check runs and refuses a second visit
        vehicle = s.get(Vehicle, checked.visit.vehicle_id)
        seen.clear()
        with pytest.raises(Exception) as err:
            visits.open_visit(s, clock, actor, vehicle, category=VisitCategory.WALK_IN,
                              arrived_at=clock.now())
        assert err.value.code == "visit_in_progress"
        assert [q for q in seen if q.startswith("SELECT visits.id")]
    with db.write() as s, pytest.raises(Exception) as err:  # and a known visit, a second ticket
        tickets.issue(s, clock, actor, s.get(Visit, checked.visit.id), checked.queue_category)
    assert err.value.code == "ticket_exists"
