"""Realtime over a real server and real WebSockets: same-origin only, and Redis scale-out."""

from __future__ import annotations

import queue
import uuid

import pytest
import socketio

from station import create_app
from station.config import Config
from station.models import ClientKind
from station.realtime import LOBBY, hub_of
from station.services import users
from station.services.actors import Actor
from station.testing import LiveServer, disconnect_app
from tests.conftest import REDIS_URL, need, redis_available

WAIT = 10


@pytest.fixture
def lobby_token(db, clock):
    with db.write() as s:
        return users.register_client_device(s, clock, Actor.system("t"),
                                            kind=ClientKind.LOBBY_DISPLAY, name="lobby")[1]


def _follow(url: str, token: str, *, origin: str | None = None) -> tuple[socketio.Client, queue.Queue]:
    inbox: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("snapshot", lambda m: inbox.put(("snapshot", m)), namespace=LOBBY)
    client.on("event", lambda m: inbox.put(("event", m)), namespace=LOBBY)
    headers = {"Origin": origin} if origin else {}  # the client sends its own origin otherwise
    client.connect(url, namespaces=[LOBBY], auth={"token": token}, headers=headers,
                   transports=["websocket"], wait_timeout=WAIT)
    return client, inbox


def test_websocket_snapshot_and_events(app, lobby_token, demo_station, db, clock):
    from station.models import OpenState
    from station.services import lanes

    with LiveServer(app) as server:
        client, inbox = _follow(server.url, lobby_token)
        try:
            name, snap = inbox.get(timeout=WAIT)
            assert name == "snapshot" and len(snap["state"]["lanes"]) == 3
            with db.write() as s:
                lane = lanes.all_lanes(s)[2]
                lanes.set_lane_state(s, clock, Actor.system("t"), lane, OpenState.CLOSED, "午休")
            name, event = inbox.get(timeout=WAIT)
            assert (name, event["seq"], event["type"]) == ("event", snap["seq"] + 1, "lane")
            assert event["data"]["state"] == "closed"
        finally:
            client.disconnect()


def test_other_origins_are_refused(app, lobby_token):
    with LiveServer(app) as server, pytest.raises(socketio.exceptions.ConnectionError):
        _follow(server.url, lobby_token, origin="http://evil.example")


def test_redis_shares_events_and_sequence_between_processes(tmp_path, database_url, db, clock,
                                                             lobby_token):
    """Two server instances on one Redis: a change made through B reaches a client of A, with
    one sequence for both."""
    need("Redis", redis_available(), REDIS_URL)
    import redis as redis_lib

    from station.models import OpenState
    from station.services import demo, lanes

    with db.write() as s:
        demo.seed(s, clock)
    redis = redis_lib.Redis.from_url(REDIS_URL)
    prefix = f"station-test-{uuid.uuid4().hex[:8]}"  # isolated from other runs on this Redis
    apps = [create_app(Config(instance_path=tmp_path / name, database_url=database_url,
                              secret_key="s", redis_url=REDIS_URL, redis_prefix=prefix,
                              testing=True), clock=clock)
            for name in ("a", "b")]
    assert hub_of(apps[0]).epoch == hub_of(apps[1]).epoch
    try:
        with LiveServer(apps[0]) as server_a:
            client, inbox = _follow(server_a.url, lobby_token)
            try:
                _, snap = inbox.get(timeout=WAIT)
                b_db = apps[1].extensions["station.db"]
                with b_db.write() as s:  # a change made in process B …
                    lane = lanes.all_lanes(s)[0]
                    lanes.set_lane_state(s, clock, Actor.system("t"), lane, OpenState.BLOCKED, "检定过期")
                name, event = inbox.get(timeout=WAIT)  # … reaches the client of A
                assert name == "event" and event["data"]["state"] == "blocked"
                assert event["seq"] == snap["seq"] + 1 and event["epoch"] == snap["epoch"]
            finally:
                client.disconnect()
    finally:
        for application in apps:
            disconnect_app(application)
            application.extensions["station.db"].dispose()
        for key in redis.scan_iter(f"{prefix}*"):
            redis.delete(key)
