"""Staff login (Flask-Login), CSRF (Flask-WTF), login rate limits (Flask-Limiter), role checks,
and device-token authentication for kiosks and lobby displays.

- Staff sign in with a password (scrypt hash); the session cookie is HttpOnly, SameSite=Lax and
  expires after ``session_idle_minutes`` without a request (Flask checks the signed cookie's age).
- Every state-changing request with a session must carry the CSRF token (form field or the
  ``X-CSRFToken`` header). Requests authenticated by a device token carry no cookie and are
  exempt: a token cannot be sent by another site's page.
- Roles are checked on the server for every staff endpoint: :func:`require_roles`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, current_app, g, jsonify, redirect, request, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_qualified_name, get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import Session

from station.context import get_clock, get_db
from station.db import on_commit_writing
from station.errors import Forbidden
from station.models import ClientDevice, ClientKind, Role, User, UserRole
from station.services import users

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
#: the views with a rate limit of their own (``rate_limit``); there are no default limits
_LIMITED_VIEWS: set[str] = set()


def rate_limit(limit: str | Callable[[], str], **kwargs: Any) -> Callable[[F], F]:
    """``limiter.limit`` (public forms, the public booking API, the login), noting the view
    as limited: a request to any other view skips the limiter (about 55 µs a request)."""
    limit_view = limiter.limit(limit, **kwargs)

    def decorator(view: F) -> F:
        _LIMITED_VIEWS.add(get_qualified_name(view))
        return limit_view(view)  # type: ignore[return-value]

    return decorator


@limiter.request_filter
def _has_no_rate_limit() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return view is not None and get_qualified_name(view) not in _LIMITED_VIEWS

F = TypeVar("F", bound=Callable[..., Any])
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
#: how long a signed-in user or a device token, once read, is taken as read (seconds): every
#: request needs one, and reading it costs a query. A change committed by this process (a user
#: deactivated, roles changed, a device revoked) drops what was read at once; a change made
#: by another process (the ``station`` command) is seen within this time.
PRINCIPAL_TTL_S = 2.0


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member as Flask-Login sees it (a plain value, not an ORM object)."""

    id: int
    username: str
    display_name: str
    roles: frozenset[Role]

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    def has_role(self, *wanted: Role | str) -> bool:
        return Role.ADMIN in self.roles or any(Role(w) in self.roles for w in wanted)

    @classmethod
    def of(cls, user: User) -> StaffUser:
        return cls(user.id, user.username, user.display_name, user.roles)


@dataclass(frozen=True)
class DeviceClient:
    id: int
    kind: ClientKind
    name: str


class Principals:
    """Users and devices as last read, for ``PRINCIPAL_TTL_S`` (one per app).

    A reader takes ``generation()`` before it reads the database and hands it to ``put``:
    a value read before a ``clear`` (a change committed meanwhile) is not kept."""

    #: past this many entries, ``put`` first drops the expired ones
    SWEEP_AT = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        with _ALL_LOCK:
            _ALL_PRINCIPALS.add(self)

    def get(self, key: Hashable) -> Any:
        """The value read for ``key`` (None included), or ``MISSING`` when there is none."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0] < _monotonic():
            return MISSING
        return entry[1]

    def generation(self) -> int:
        with self._lock:
            return self._generation

    def put(self, key: Hashable, value: Any, generation: int) -> None:
        now = _monotonic()
        with self._lock:
            if generation != self._generation:
                return  # cleared since it was read: it may be stale
            if len(self._entries) >= self.SWEEP_AT:
                self._entries = {k: e for k, e in self._entries.items() if e[0] >= now}
            self._entries[key] = (now + PRINCIPAL_TTL_S, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._generation += 1


def _monotonic() -> float:
    return time.monotonic()


MISSING = object()
_ALL_PRINCIPALS: weakref.WeakSet[Principals] = weakref.WeakSet()
_ALL_LOCK = threading.Lock()
_PRINCIPAL_TABLES = frozenset({User.__tablename__, UserRole.__tablename__, ClientDevice.__tablename__})
#: a device's last-seen time changes once a minute; it decides nobody's access
_BOOKKEEPING = {ClientDevice: frozenset({"last_seen_at"})}


def _changes_access(obj: object, session: Session) -> bool:
    ignored = _BOOKKEEPING.get(type(obj))
    if ignored is None or obj not in session.dirty:
        return True
    changed = {a.key for a in sa.inspect(obj).attrs if a.history.has_changes()}
    return not changed <= ignored


def _forget_principals(_session: Session) -> None:
    with _ALL_LOCK:
        every = list(_ALL_PRINCIPALS)
    for principals in every:
        principals.clear()


on_commit_writing(_PRINCIPAL_TABLES, _forget_principals, counts=_changes_access)


def _principals() -> Principals:
    return current_app.extensions["station.principals"]


def public_limit() -> str:
    """The rate limit of public forms and the public booking API (configuration)."""
    return current_app.extensions["station.config"].public_rate_limit


def init_app(app: Flask) -> None:
    app.extensions["station.principals"] = Principals()
    login_manager.init_app(app)
    login_manager.login_view = "web.login"
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    limiter.init_app(app)
    app.before_request(_authenticate_device_and_check_csrf)


@login_manager.user_loader
def _load_user(user_id: str) -> StaffUser | None:
    cache, key = _principals(), ("user", user_id)
    staff = cache.get(key)
    if staff is MISSING:
        generation = cache.generation()
        with get_db().read() as s:
            user = users.get_user(s, int(user_id))
            staff = StaffUser.of(user) if user is not None and user.active else None
        cache.put(key, staff, generation)
    return staff


@login_manager.unauthorized_handler
def _unauthorized() -> Any:
    if _wants_json():
        return jsonify(code="login_required", message="请先登录", message_en="Please sign in"), 401
    return redirect(url_for("web.login", next=request.full_path))


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("X-Device-Token") or None


def device_from_token(token: str | None) -> DeviceClient | None:
    """The active client device holding ``token``; its last-seen time is kept to the minute."""
    if not token:
        return None
    db, now, cache = get_db(), get_clock().now(), _principals()
    key = ("device", users.token_digest(token))
    known: tuple[DeviceClient, datetime | None] = cache.get(key)
    if known is MISSING:
        generation = cache.generation()
        with db.read() as s:
            device: ClientDevice | None = users.client_device_by_token(s, token)
            if device is None:
                return None  # not kept: anyone may send any token, and each would be kept
            known = (DeviceClient(device.id, device.kind, device.name), device.last_seen_at)
        cache.put(key, known, generation)
    client, last_seen = known
    if last_seen is None or now - last_seen > LAST_SEEN_RESOLUTION:
        generation = cache.generation()
        with db.write() as s:
            row = s.get(ClientDevice, client.id)
            if row is not None:
                row.last_seen_at = now
        cache.put(key, (client, now), generation)
    return client


def _authenticate_device_and_check_csrf() -> None:
    token = bearer_token()
    g.client_device = device_from_token(token) if token else None
    if request.method not in ("GET", "HEAD", "OPTIONS") and g.client_device is None:
        csrf.protect()


def current_device() -> DeviceClient | None:
    return g.get("client_device")


def require_roles(*roles: Role | str) -> Callable[[F], F]:
    """Allow signed-in staff with any of ``roles`` (admins always). No roles: any staff member."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not current_user.has_role(*roles):
                raise Forbidden("role_required", "您没有此操作的权限",
                                "Your role does not allow this", roles=[str(r) for r in roles])
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def require_device(*kinds: ClientKind, staff: tuple[Role | str, ...] = ()) -> Callable[[F], F]:
    """Allow a registered client device of one of ``kinds``, or signed-in staff holding one of
    the ``staff`` roles (any staff member when none are named)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            device = current_device()
            if device is not None and (not kinds or device.kind in kinds):
                return view(*args, **kwargs)
            if current_user.is_authenticated:
                if staff and not current_user.has_role(*staff):
                    raise Forbidden("role_required", "您没有此操作的权限",
                                    "Your role does not allow this", roles=[str(r) for r in staff])
                return view(*args, **kwargs)
            return jsonify(code="device_token_required", status=401, message="设备未授权",
                           message_en="A registered device token is required"), 401

        return wrapped  # type: ignore[return-value]

    return decorator
