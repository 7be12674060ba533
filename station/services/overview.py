"""Read models of the station for screens: the staff overview and the public (masked) one.

Public builders are the only place that decide what an unauthenticated screen may see: masked
plates, the journey stage, lane and station states — never a phone, name or VIN (DOMAIN.md §13).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.domain.journey import LABELS, ON_SITE, VisitState
from station.domain.masking import mask_plate
from station.errors import NotFound
from station.models import (
    STATION_KIND_LABELS,
    CallState,
    Counter,
    DeviceKind,
    HardwareDevice,
    Lane,
    LaneStation,
    Ticket,
    Visit,
)

from . import assignment, keys, lanes, prices, queue, settings, tracking


def station_dict(station: LaneStation) -> dict[str, Any]:
    return {"id": station.id, "position": station.position, "kind": station.kind.value,
            "kind_label": STATION_KIND_LABELS[station.kind][0], "name": station.name,
            "state": station.state.value, "state_reason": station.state_reason}


def lane_dict(lane: Lane) -> dict[str, Any]:
    return {"id": lane.id, "number": lane.number, "name": lane.name,
            "vehicle_classes": list(lane.vehicle_classes), "max_axle_load_kg": lane.max_axle_load_kg,
            "state": lane.state.value, "state_reason": lane.state_reason,
            "stations": [station_dict(st) for st in lane.stations]}


def counter_dict(counter: Any) -> dict[str, Any]:
    return {"id": counter.id, "number": counter.number, "name": counter.name,
            "state": counter.state.value}


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def public_station(session: Session, clock: Clock) -> dict[str, Any]:
    price_list = prices.current(session, clock)
    return {
        "name": settings.get(session, "station.name"),
        "hotline": settings.get(session, "station.hotline"),
        "address": settings.get(session, "station.address"),
        # the screens' clocks show the station's time whatever zone their machine is set to
        "timezone": getattr(clock.tz, "key", None) or str(clock.tz),  # type: ignore[attr-defined]
        "price_list_version": price_list.version if price_list else None,
        "prices": [{"code": i.code, "name": i.name_zh, "name_zh": i.name_zh, "name_en": i.name_en,
                    "amount_fen": i.amount_fen, "amount_yuan": _yuan(i.amount_fen)}
                   for i in (price_list.items if price_list else [])],
    }


def visit_dict(visit: Visit) -> dict[str, Any]:
    """A visit as staff screens see it (full plate)."""
    v = visit.vehicle
    return {"id": visit.id, "serial": visit.inspection_serial, "attempt": visit.attempt,
            "category": visit.category.value, "state": visit.state.value,
            "state_label": LABELS[visit.state][0], "state_changed_at": visit.state_changed_at,
            "created_at": visit.created_at, "vehicle_id": v.id, "plate_type": v.plate_type,
            "plate": v.plate}


#: key-handover stages (交钥匙) as the lobby shows them, derived from the visit's state
HANDOVER_STAGES: list[tuple[str, str, str, frozenset[VisitState]]] = [
    ("keys_handed_over", "已交钥匙", "Keys handed over",
     # at the counter the keys may or may not be with the station: only states where they
     # certainly are (handed over; paid and waiting for a lane, driven by a runner)
     frozenset({VisitState.KEYS_HANDED_OVER, VisitState.QUEUED_FOR_LANE})),
    ("on_lane", "检测中", "On the lane", frozenset({VisitState.ON_LANE})),
    ("ready", "可取车", "Ready for pick-up",
     frozenset({VisitState.TESTED, VisitState.PAPERS_PRINTED})),
    ("keys_returned", "已还钥匙", "Keys returned", frozenset({VisitState.KEYS_RETURNED})),
]


def handover_stage(state: VisitState) -> str | None:
    return next((code for code, _, _, states in HANDOVER_STAGES if state in states), None)


def public_visit(visit_id: int, state: VisitState | str, plate: str) -> dict[str, Any]:
    """A visit as a public screen may see it: an id, the stage and a masked plate."""
    state = VisitState(state)
    return {"id": visit_id, "state": state.value, "state_label": LABELS[state][0],
            "on_site": state in ON_SITE, "stage": handover_stage(state),
            "plate": mask_plate(plate)}


def _visits_on_site(session: Session) -> list[Visit]:
    return list(session.scalars(sa.select(Visit).where(Visit.state.in_(ON_SITE))
                                .order_by(Visit.state_changed_at)))


def staff_overview(session: Session, clock: Clock) -> dict[str, Any]:
    return {
        "station": public_station(session, clock),
        "lanes": [lane_dict(lane) for lane in lanes.all_lanes(session)],
        "counters": [counter_dict(c) for c in lanes.all_counters(session)],
        "visits": [visit_dict(v) for v in _visits_on_site(session)],
    }


def now_serving(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """The tickets at the counters now, latest call first (public: numbers and windows only)."""
    rows = session.execute(
        sa.select(Ticket.label, Counter.number, Counter.name, Ticket.called_at)
        .join(Counter, Counter.id == Ticket.counter_id)
        .where(Ticket.day == clock.today(), Ticket.call_state == CallState.CALLED)
        .order_by(Ticket.called_at.desc())).all()
    return [{"label": label, "counter_number": number, "counter_name": name,
             "text": f"请{label}号到{number}号窗口办理", "at": at.isoformat()}
            for label, number, name, at in rows]


CATEGORY_LABELS = {"booked": ("预约", "Booked"), "walk_in": ("现场", "Walk-in"),
                   "retest": ("复检", "Retest")}


def waiting_by_category(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """The counter queue per category (public: ticket numbers only) with the wait a newcomer
    of that category can expect."""
    waiting = queue.waiting_per_category(session, clock, tickets=8)
    none = queue.CategoryWaiting(0, [], 0)
    return [{"category": code, "label": zh, "label_en": en, "count": mine.count,
             "tickets": mine.tickets, "estimated_wait_min": mine.estimated_wait_min}
            for code, (zh, en) in CATEGORY_LABELS.items()
            for mine in [waiting.get(code, none)]]


#: the parts of the public wait figures: the counter queue per category, every lane's queue
WAIT_PARTS: dict[str, Callable[[Session, Clock], Any]] = {
    "queues": waiting_by_category, "lanes": assignment.lane_waits}


def waits(session: Session, clock: Clock, *, parts: Collection[str] | None = None,
          previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The public wait figures (``WAIT_PARTS``). With ``previous`` figures, only ``parts`` are
    read again (a car moving on its lane changes the lanes' waits, not the counter queue)."""
    unknown = set(parts or ()) - WAIT_PARTS.keys()
    if unknown:  # a misspelt part would leave the figures it meant stale
        raise ValueError(f"unknown wait figures: {sorted(unknown)}")
    out = dict(previous or {})
    for name, build in WAIT_PARTS.items():
        if parts is None or name in parts or name not in out:
            out[name] = build(session, clock)
    return out


def lane_board(session: Session, clock: Clock, *, public: bool) -> dict[str, Any]:
    """Every lane as a row of its stations with the cars at each, the cars waiting for it and
    its expected wait. Public: masked plates and visit ids only."""
    on_lane, waiting = tracking.board(session), tracking.lane_queue(session)
    shown = mask_plate if public else (lambda p: p)
    every = lanes.all_lanes(session)
    minutes = assignment.stations_minutes(session, clock, every)
    out = []
    for lane in every:
        d = lane_dict(lane)
        cars = on_lane.get(lane.id, [])
        for st in d["stations"]:
            st["cars"] = [{"id": c["visit_id"], "kind": c["kind"], "plate": shown(c["plate"]),
                           "since": c["since"].isoformat()}
                          for c in cars if c["station_id"] == st["id"]]
        d["waiting"] = [{"id": w["visit_id"], "plate": shown(w["plate"])}
                        for w in waiting.get(lane.id, [])]
        d["estimated_wait_min"] = assignment.expected_wait_min(
            session, clock, lane, ahead=len(d["waiting"]), minutes=minutes)
        out.append(d)
    return {"lanes": out}


def public_overview(session: Session, clock: Clock) -> dict[str, Any]:
    return {
        "now_serving": now_serving(session, clock),
        "station": public_station(session, clock),
        "lanes": lane_board(session, clock, public=True)["lanes"],
        "waits": waits(session, clock),
        "handover_stages": [{"code": c, "label": zh, "label_en": en}
                            for c, zh, en, _ in HANDOVER_STAGES],
        "counters": [counter_dict(c) for c in lanes.all_counters(session)],
        "visits": [public_visit(v.id, v.state, v.vehicle.plate) for v in _visits_on_site(session)],
        "cameras": lane_cameras(session),
    }


def lane_cameras(session: Session) -> list[dict[str, Any]]:
    """The lane cameras whose masked live tiles the lobby shows (全程透明化), each with the
    lane it watches (None for a camera placed at no lane station): the lobby shows a lane's
    tile beside the lane."""
    rows = session.execute(sa.select(HardwareDevice.id, HardwareDevice.name, LaneStation.lane_id)
                           .outerjoin(LaneStation, LaneStation.id == HardwareDevice.lane_station_id)
                           .where(HardwareDevice.kind == DeviceKind.CAMERA,
                                  HardwareDevice.enabled.is_(True))
                           .order_by(HardwareDevice.name)).all()
    return [{"id": device_id, "name": name, "lane_id": lane_id,
             "url": f"/cameras/{device_id}/live.mjpg"}
            for device_id, name, lane_id in rows]


#: the stages an owner follows on the progress page, with the visit states each covers
PROGRESS_STEPS: list[tuple[str, str, frozenset[VisitState]]] = [
    ("已取号", "Checked in", frozenset({VisitState.CHECKED_IN})),
    ("已交钥匙", "Keys handed over", frozenset({VisitState.KEYS_HANDED_OVER})),
    ("窗口办理", "At the counter", frozenset({VisitState.CALLED, VisitState.REGISTERED})),
    ("等待检测", "Waiting for a lane", frozenset({VisitState.QUEUED_FOR_LANE})),
    ("检测中", "On the lane", frozenset({VisitState.ON_LANE})),
    ("检测完成", "Tested", frozenset({VisitState.TESTED})),
    ("领取结果", "Collect results", frozenset({VisitState.PAPERS_PRINTED, VisitState.KEYS_RETURNED})),
    ("办结", "Done", frozenset({VisitState.CLOSED})),
]


def progress_steps(state: VisitState) -> list[dict[str, str]]:
    current = next((i for i, (_, _, states) in enumerate(PROGRESS_STEPS) if state in states), None)
    out = []
    for i, (zh, en, _) in enumerate(PROGRESS_STEPS):
        status = "todo" if current is None or i > current else "current" if i == current else "done"
        out.append({"label": zh, "label_en": en, "status": status})
    return out


def progress(session: Session, clock: Clock, ticket: Any) -> dict[str, Any]:
    """The owner's personal progress page (public: masked plate, no names or phones)."""
    visit = ticket.visit
    place = None
    if visit.state in (VisitState.CHECKED_IN, VisitState.KEYS_HANDED_OVER):
        try:
            place = queue.place_of(session, clock, visit.id)
        except NotFound:  # checked in but not (or no longer) in the counter queue
            place = None
    return {
        "ticket": ticket.label, "plate": mask_plate(visit.vehicle.plate),
        "state": visit.state.value, "state_label": LABELS[visit.state][0],
        "steps": progress_steps(visit.state), "issued_at": ticket.issued_at.isoformat(),
        "people_ahead": place.people_ahead if place else None,
        "estimated_wait_min": place.estimated_wait_min if place else None,
        "station_name": settings.get(session, "station.name"),
        "hotline": settings.get(session, "station.hotline"),
        "lane": lane_position(session, visit),
        "key": keys.progress_of_visit(session, visit.id),
    }


def lane_position(session: Session, visit: Visit) -> dict[str, Any] | None:
    """Where the owner's car is on the lanes (public): its lane, the station it is at, and
    the stations of the lane with which are done."""
    if visit.assigned_lane_id is None:
        return None
    lane = lanes.get_lane(session, visit.assigned_lane_id)
    pos = tracking.position_of(session, visit.id)
    here = next((st for st in lane.stations if pos and st.id == pos.station_id), None)
    stations = []
    for st in lane.stations:
        status = "todo"
        if pos is not None and pos.lane_id == lane.id:
            if pos.kind.value == "left" or (here and st.position < here.position):
                status = "passed"
            elif here and st.id == here.id:
                status = "current" if pos.kind.value == "arrived" else "done"
        stations.append({"name": st.name, "status": status})
    return {"lane_number": lane.number, "lane_name": lane.name,
            "station_name": here.name if here else None,
            "kind": pos.kind.value if pos else "waiting", "stations": stations}
