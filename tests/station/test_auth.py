"""Staff login, CSRF, cookies, idle timeout, role checks, rate limits and device tokens."""

from __future__ import annotations

import time

import itsdangerous
import pytest

from station.models import ClientKind, Role
from station.services import users
from station.services.actors import Actor
from station.testing import fetch_csrf_token
from tests.conftest import PASSWORD


def test_login_sets_a_safe_session_cookie(client, create_user):
    user = create_user(Role.COUNTER)
    token = fetch_csrf_token(client)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": token, "next": "/staff/"})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert client.get("/staff/").status_code == 200


def test_wrong_password_is_refused_in_chinese(client, create_user):
    user = create_user(Role.COUNTER)
    response = client.post("/login", data={"username": user.username, "password": "nope-nope",
                                           "csrf_token": fetch_csrf_token(client)})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302  # still signed out


def test_login_without_csrf_token_is_refused(client, create_user):
    user = create_user(Role.COUNTER)
    client.get("/login")
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302


def test_open_redirect_after_login_is_refused(client, create_user):
    user = create_user(Role.COUNTER)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": fetch_csrf_token(client),
                                           "next": "//evil.example/x"})
    assert response.headers["Location"] == "/staff/"


def test_api_requires_login_and_role(client, login):
    assert client.get("/api/v1/lanes").status_code == 401
    assert client.get("/api/v1/lanes").get_json()["code"] == "login_required"
    token = login(Role.RUNNER)
    assert client.get("/api/v1/lanes").status_code == 200
    response = client.get("/api/v1/settings")
    assert response.status_code == 403
    assert response.get_json()["message"] == "您没有此操作的权限"
    refused = client.put("/api/v1/settings/retest.free_days", json={"value": 5},
                         headers={"X-CSRFToken": token})
    assert refused.status_code == 403


def test_api_state_change_needs_the_csrf_header(client, login):
    token = login(Role.MANAGER)
    assert client.put("/api/v1/settings/retest.free_days", json={"value": 5}).status_code == 400
    ok = client.put("/api/v1/settings/retest.free_days", json={"value": 5},
                    headers={"X-CSRFToken": token})
    assert ok.status_code == 200 and ok.get_json() == {"value": 5}


def test_idle_session_expires(client, login, monkeypatch):
    login(Role.COUNTER)
    assert client.get("/api/v1/me").status_code == 200
    later = time.time() + 31 * 60  # the default idle limit is 30 minutes
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: int(later))
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/api/v1/me").status_code == 401


def test_admin_has_every_role(client, login):
    login(Role.ADMIN)
    assert client.get("/api/v1/settings").status_code == 200
    assert client.get("/api/v1/audit").status_code == 200


def test_login_attempts_are_rate_limited(client, create_user):
    create_user(Role.COUNTER, username="target")
    token = fetch_csrf_token(client)
    codes = [client.post("/login", data={"username": "target", "password": "wrong-guess",
                                         "csrf_token": token}).status_code for _ in range(12)]
    assert codes[:10] == [401] * 10 and codes[-1] == 429


@pytest.fixture
def device_token(db, clock):
    def make(kind: ClientKind) -> str:
        with db.write() as s:
            return users.register_client_device(s, clock, Actor.system("t"), kind=kind, name="k")[1]
    return make


def test_device_token_opens_device_endpoints_only(app, client, device_token):
    token = device_token(ClientKind.LOBBY_DISPLAY)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/lanes", headers=headers).status_code == 401  # not staff
    assert client.get("/api/v1/station", headers=headers).status_code == 200
    assert client.get("/api/v1/station", headers={"Authorization": "Bearer wrong"}).status_code == 200


def test_revoked_device_token_is_refused(db, clock, app, device_token):
    from station.auth import device_from_token

    token = device_token(ClientKind.KIOSK)
    with app.test_request_context():
        assert device_from_token(token).kind is ClientKind.KIOSK
    with db.write() as s:
        device = users.client_device_by_token(s, token)
        users.revoke_client_device(s, clock, Actor.system("t"), device.id)
    with app.test_request_context():
        assert device_from_token(token) is None


def test_device_me_names_the_device_of_a_token(client, device_token):
    token = device_token(ClientKind.KIOSK)
    me = client.get("/api/v1/devices/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["kind"] == "kiosk"
    nobody = client.get("/api/v1/devices/me", headers={"Authorization": "Bearer nope"})
    assert nobody.status_code == 401 and nobody.get_json()["code"] == "device_token_required"


def test_a_deactivated_user_is_refused_at_the_next_request(client, db, login):
    import sqlalchemy as sa

    from station.models import User

    login("counter")
    assert client.get("/api/v1/lanes").status_code == 200
    assert client.get("/api/v1/lanes").status_code == 200  # now read from the principals cache
    with db.write() as s:
        s.scalars(sa.select(User)).one().active = False
    assert client.get("/api/v1/lanes").status_code == 401


def test_a_role_taken_away_in_bulk_applies_at_the_next_request(client, db, login):
    import sqlalchemy as sa

    from station.models import UserRole

    login("manager")
    assert client.get("/manager/bookings").status_code == 200
    with db.write() as s:
        s.execute(sa.delete(UserRole))
    assert client.get("/manager/bookings").status_code == 403


def test_a_device_revoked_by_another_process_is_refused_within_the_ttl(db, app, device_token,
                                                                       monkeypatch):
    import sqlalchemy as sa

    from station import auth
    from station.models import ClientDevice

    token = device_token(ClientKind.KIOSK)
    for _ in range(2):  # the first request also records when the device was last seen
        with app.test_request_context():
            assert auth.device_from_token(token) is not None
    with db.engine.begin() as c:  # not through a session of this process: nothing is told
        c.execute(sa.update(ClientDevice).values(active=False))
    with app.test_request_context():
        assert auth.device_from_token(token) is not None  # still as read, for PRINCIPAL_TTL_S
    later = time.monotonic() + auth.PRINCIPAL_TTL_S + 0.1
    monkeypatch.setattr(auth, "_monotonic", lambda: later)
    with app.test_request_context():
        assert auth.device_from_token(token) is None


def test_a_change_kept_past_a_savepoint_clears_at_the_real_commit(client, db, login):
    import sqlalchemy as sa

    from station.models import User

    login("counter")
    assert client.get("/api/v1/lanes").status_code == 200
    with db.write() as s:
        s.scalars(sa.select(User)).one().active = False
        s.flush()
        s.begin_nested().commit()  # releasing a savepoint is not the commit
        assert client.get("/api/v1/lanes").status_code == 200  # not committed yet
    assert client.get("/api/v1/lanes").status_code == 401


def test_a_value_read_before_a_clear_is_not_kept() -> None:
    from station.auth import MISSING, Principals

    cache = Principals()
    generation = cache.generation()  # a request starts reading ...
    cache.clear()  # ... a change is committed meanwhile ...
    cache.put(("user", "1"), "as read before", generation)  # ... its reading comes back
    assert cache.get(("user", "1")) is MISSING
    cache.put(("user", "1"), "read after", cache.generation())
    assert cache.get(("user", "1")) == "read after"


def test_unknown_tokens_are_not_kept_and_last_seen_keeps_the_rest(app, clock, device_token):
    from datetime import timedelta

    from station import auth

    token = device_token(ClientKind.KIOSK)
    with app.test_request_context():
        cache = app.extensions["station.principals"]
        for n in range(50):
            assert auth.device_from_token(f"bogus-{n}") is None
        assert auth.device_from_token(token) is not None
        generation = cache.generation()
        clock.advance(timedelta(minutes=5))  # the next request records the last-seen time
        assert auth.device_from_token(token) is not None
        assert cache.generation() == generation  # which changes nobody's access
        assert len(cache._entries) == 1


def test_a_core_statement_through_a_session_clears_too(db, app, device_token):
    import sqlalchemy as sa

    from station import auth
    from station.models import ClientDevice

    token = device_token(ClientKind.KIOSK)
    with app.test_request_context():
        assert auth.device_from_token(token) is not None
    with db.write() as s:
        s.execute(sa.update(ClientDevice.__table__).values(active=False))
    with app.test_request_context():
        assert auth.device_from_token(token) is None


def test_only_views_with_a_limit_of_their_own_are_rate_limited(app, client, device_token):
    """The limiter is skipped for views without a limit (there are no default limits); the
    public ones keep theirs."""
    from station.auth import _LIMITED_VIEWS, limiter

    # every view the limiter limits was declared through rate_limit, so the skip knows it
    assert limiter._marked_for_limiting and limiter._marked_for_limiting <= _LIMITED_VIEWS
    kiosk = {"Authorization": f"Bearer {device_token(ClientKind.KIOSK)}"}
    unlimited = [client.get("/api/v1/devices/me", headers=kiosk).status_code for _ in range(40)]
    assert set(unlimited) == {200}
    public = [client.get("/api/v1/booking/slots").status_code for _ in range(40)]
    assert public[0] != 429 and public[-1] == 429  # the public limit: 30 a minute
