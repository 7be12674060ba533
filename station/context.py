"""Access to the app's database, clock and config from request handlers (not from services)."""

from __future__ import annotations

from flask import current_app

from station.clock import Clock
from station.config import Config
from station.db import Database


def get_db() -> Database:
    return current_app.extensions["station.db"]


def get_clock() -> Clock:
    return current_app.extensions["station.clock"]


def get_config() -> Config:
    return current_app.extensions["station.config"]
