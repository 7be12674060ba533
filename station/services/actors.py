"""Who did something: a staff member, a registered device, the owner, or the system."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from station.models import ActorKind


class _Staff(Protocol):
    id: int
    username: str


class _Named(Protocol):
    id: int
    name: str


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: int | None
    name: str

    @classmethod
    def user(cls, user: _Staff) -> Actor:
        """A staff member (a ``User`` row or the signed-in ``StaffUser``)."""
        return cls(ActorKind.USER, user.id, user.username)

    @classmethod
    def device(cls, device: _Named) -> Actor:
        return cls(ActorKind.DEVICE, device.id, device.name)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(ActorKind.SYSTEM, None, name)

    @classmethod
    def owner(cls) -> Actor:
        return cls(ActorKind.OWNER, None, "owner")
