"""Staff accounts and registered client devices (kiosks, lobby displays)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from station.clock import Clock
from station.errors import Conflict, NotFound, ValidationError
from station.models import ClientDevice, ClientKind, Role, User, UserRole

from . import audit
from .actors import Actor

MIN_PASSWORD_LENGTH = 8
#: werkzeug's scrypt with its defaults (the test suite swaps in a fast method)
PASSWORD_METHOD = "scrypt"
#: a dummy hash keeps the timing of a login for an unknown user equal to a real one
_DUMMY_HASH = generate_password_hash("not-a-password-" + secrets.token_hex(8))


def create_user(session: Session, clock: Clock, actor: Actor, *, username: str, password: str,
                display_name: str, roles: Iterable[Role | str]) -> User:
    username = username.strip().lower()
    if not username or not username.replace("_", "").replace(".", "").isalnum():
        raise ValidationError("username_invalid", "用户名只能包含字母、数字、点和下划线",
                              "Usernames use letters, digits, dots and underscores only")
    _check_password(password)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise Conflict("username_taken", "用户名已存在", "That username is taken", username=username)
    try:
        role_set = {Role(r) for r in roles}
    except ValueError:
        raise ValidationError("role_unknown", "角色无效", "Unknown role") from None
    if not role_set:
        raise ValidationError("role_required", "至少需要一个角色", "At least one role is required")
    user = User(username=username, display_name=display_name.strip() or username,
                password_hash=generate_password_hash(password, PASSWORD_METHOD), created_at=clock.now(),
                role_rows=[UserRole(role=r) for r in sorted(role_set)])
    session.add(user)
    session.flush()
    audit.record(session, clock, actor, "user.created", entity=user, username=username,
                 roles=sorted(r.value for r in role_set))
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError("password_too_short", f"密码至少{MIN_PASSWORD_LENGTH}位",
                              f"Passwords have at least {MIN_PASSWORD_LENGTH} characters")


def authenticate(session: Session, clock: Clock, username: str, password: str) -> User | None:
    """The active user with these credentials, or None. Every attempt is audited."""
    user = session.scalar(sa.select(User).where(User.username == username.strip().lower()))
    ok = check_password_hash(user.password_hash if user else _DUMMY_HASH, password)
    if user is None or not ok or not user.active:
        audit.record(session, clock, Actor.system("login"), "login.failed",
                     username=username.strip()[:64])
        return None
    user.last_login_at = clock.now()
    audit.record(session, clock, Actor.user(user), "login.succeeded", entity=user)
    return user


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def set_password(session: Session, clock: Clock, actor: Actor, user: User, password: str) -> None:
    _check_password(password)
    user.password_hash = generate_password_hash(password, PASSWORD_METHOD)
    audit.record(session, clock, actor, "user.password_changed", entity=user)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def register_client_device(session: Session, clock: Clock, actor: Actor, *, kind: ClientKind | str,
                           name: str) -> tuple[ClientDevice, str]:
    """Register a kiosk or display; returns the device and its token (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    device = ClientDevice(kind=ClientKind(kind), name=name, token_sha256=token_digest(token),
                          created_at=clock.now())
    session.add(device)
    session.flush()
    audit.record(session, clock, actor, "client_device.registered", entity=device,
                 kind=device.kind.value, name=name)
    return device, token


def client_device_by_token(session: Session, token: str) -> ClientDevice | None:
    if not token:
        return None
    device = session.scalar(sa.select(ClientDevice).where(
        ClientDevice.token_sha256 == token_digest(token)))
    return device if device is not None and device.active else None


def revoke_client_device(session: Session, clock: Clock, actor: Actor, device_id: int) -> None:
    device = session.get(ClientDevice, device_id)
    if device is None:
        raise NotFound("client_device_not_found", "未找到该设备", "Device not found")
    device.active = False
    audit.record(session, clock, actor, "client_device.revoked", entity=device)
