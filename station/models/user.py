"""Staff users (工作人员) with roles, and registered client devices (kiosks, lobby displays)."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, str_enum


class Role(enum.StrEnum):
    COUNTER = "counter"        # 窗口人员
    RUNNER = "runner"          # 引车员
    INSPECTOR = "inspector"    # 检验员
    TECHNICIAN = "technician"  # 设备/计量管理员
    MANAGER = "manager"        # 站长
    ADMIN = "admin"            # system administrator: every role


ROLE_LABELS: dict[Role, tuple[str, str]] = {
    Role.COUNTER: ("窗口人员", "Counter staff"),
    Role.RUNNER: ("引车员", "Vehicle runner"),
    Role.INSPECTOR: ("检验员", "Inspector"),
    Role.TECHNICIAN: ("设备管理员", "Technician"),
    Role.MANAGER: ("站长", "Station manager"),
    Role.ADMIN: ("系统管理员", "Administrator"),
}


class User(IdMixin, Base):
    __tablename__ = "users"
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(64))
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *wanted: Role | str) -> bool:
        mine = self.roles
        return Role.ADMIN in mine or any(Role(w) in mine for w in wanted)


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(str_enum(Role, 16), primary_key=True)


class ClientKind(enum.StrEnum):
    KIOSK = "kiosk"              # 自助取号机
    LOBBY_DISPLAY = "lobby_display"  # 大厅显示屏
    LANE_TERMINAL = "lane_terminal"  # 工位终端 (inspectors still log in; the device is known)
    INTEGRATION = "integration"  # a system pushing data, e.g. bookings from the police platform


class ClientDevice(IdMixin, Base):
    """A screen the station registered: it authenticates with a device token, never a staff
    login, and receives masked data only. Only the token's SHA-256 is stored."""

    __tablename__ = "client_devices"
    kind: Mapped[ClientKind] = mapped_column(str_enum(ClientKind, 16))
    name: Mapped[str] = mapped_column(sa.String(64))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
