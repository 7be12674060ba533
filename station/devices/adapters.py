"""Factories that turn a configured device into a driver handle for the DeviceManager."""

from __future__ import annotations

from typing import Any

from station.models import DeviceKind

from . import Factory


def default_factories(*, simulate: bool, extras: list[Any]) -> dict[DeviceKind, Factory]:
    return {}
