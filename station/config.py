"""Configuration from environment variables.

Each setting is read once, here, with its default. The table in README.md lists them;
``tests/test_config.py`` checks that the table and this module agree.
Rules of the trade that a manager may change (slot length, retest days …) are not here:
they are station settings stored in the database (``station.services.settings``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_INSTANCE = Path(os.environ.get("STATION_INSTANCE_PATH", Path.cwd() / "instance"))


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _load_or_create_secret(instance_path: Path) -> str:
    """A secret generated once and kept in ``instance/secret_key`` (mode 0600)."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


@dataclass
class Config:
    """Server configuration. ``Config.from_env()`` is what ``station serve`` uses."""

    instance_path: Path = DEFAULT_INSTANCE
    #: SQLAlchemy URL; SQLite file under instance/ unless given (``postgresql+psycopg://…``)
    database_url: str = ""
    #: station time zone: times are stored in UTC and shown in this zone
    timezone: str = "Asia/Shanghai"
    secret_key: str = ""
    #: optional Redis URL: Socket.IO message queue and rate-limit storage for scale-out
    redis_url: str | None = None
    #: prefix of every Redis key and channel (several stations may share one Redis)
    redis_prefix: str = "station"
    #: staff sessions end after this many idle minutes
    session_idle_minutes: int = 30
    #: failed logins allowed per minute per address
    login_rate_limit: str = "10 per minute"
    #: requests per minute per address on public forms and the public booking API
    public_rate_limit: str = "30 per minute"
    #: cookies only over HTTPS (set true behind TLS)
    secure_cookies: bool = False
    #: run devices as simulators (the demo station does)
    simulate_devices: bool = False
    #: HTTP SMS gateway for reminders; without it messages stay in the outbox (manager screen)
    sms_gateway_url: str | None = None
    sms_gateway_token: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    #: the HTTP server: "gunicorn" (its threaded worker) or "werkzeug" (station/serving.py)
    server: str = "gunicorn"
    #: the server's thread pool; each open WebSocket holds one thread
    threads: int = 512
    #: the address owners' phones reach the server at (QR codes on tickets); default host:port
    public_url: str = ""
    #: the police platform's vehicle query (联网查询); without it the demo uses its simulator
    police_platform_url: str | None = None
    police_platform_token: str = ""
    #: where records and evidence photos go after the retention period (default instance/archive)
    archive_path: Path | None = None
    #: where the nightly database backups go (default instance/backups; another disk is better)
    backup_path: Path | None = None
    #: how many backups are kept (the newest)
    backup_keep: int = 14
    testing: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.instance_path = Path(self.instance_path)
        self.archive_path = Path(self.archive_path or self.instance_path / "archive")
        self.backup_path = Path(self.backup_path or self.instance_path / "backups")
        if not self.database_url:
            self.database_url = f"sqlite:///{self.instance_path / 'station.db'}"
        if not self.secret_key:
            self.secret_key = _load_or_create_secret(self.instance_path)
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        self.public_url = self.public_url.rstrip("/")
        if self.server not in ("gunicorn", "werkzeug"):
            raise ValueError(f"STATION_SERVER must be gunicorn or werkzeug, not {self.server!r}")
        if self.backup_keep < 1:
            raise ValueError(f"STATION_BACKUP_KEEP must be at least 1, not {self.backup_keep}")
        if self.threads < 8:
            raise ValueError(f"STATION_THREADS must be at least 8, not {self.threads}")

    @classmethod
    def from_env(cls, **overrides: Any) -> Config:
        instance = Path(_env("STATION_INSTANCE_PATH", str(DEFAULT_INSTANCE)))
        values: dict[str, Any] = {
            "instance_path": instance,
            "database_url": _env("STATION_DATABASE_URL", ""),
            "timezone": _env("STATION_TIMEZONE", "Asia/Shanghai"),
            "secret_key": _env("STATION_SECRET_KEY", ""),
            "redis_url": _env("STATION_REDIS_URL"),
            "redis_prefix": _env("STATION_REDIS_PREFIX", "station"),
            "session_idle_minutes": int(_env("STATION_SESSION_IDLE_MINUTES", "30")),
            "login_rate_limit": _env("STATION_LOGIN_RATE_LIMIT", "10 per minute"),
            "public_rate_limit": _env("STATION_PUBLIC_RATE_LIMIT", "30 per minute"),
            "secure_cookies": _env("STATION_SECURE_COOKIES", "0") in ("1", "true", "yes"),
            "simulate_devices": _env("STATION_SIMULATE_DEVICES", "0") in ("1", "true", "yes"),
            "sms_gateway_url": _env("STATION_SMS_GATEWAY_URL"),
            "sms_gateway_token": _env("STATION_SMS_GATEWAY_TOKEN", ""),
            "host": _env("STATION_HOST", "127.0.0.1"),
            "port": int(_env("STATION_PORT", "5000")),
            "server": _env("STATION_SERVER", "gunicorn"),
            "threads": int(_env("STATION_THREADS", "512")),
            "public_url": _env("STATION_PUBLIC_URL", ""),
            "archive_path": Path(a) if (a := _env("STATION_ARCHIVE_PATH")) else None,
            "backup_path": Path(b) if (b := _env("STATION_BACKUP_PATH")) else None,
            "backup_keep": int(_env("STATION_BACKUP_KEEP", "14")),
            "police_platform_url": _env("STATION_POLICE_PLATFORM_URL"),
            "police_platform_token": _env("STATION_POLICE_PLATFORM_TOKEN", ""),
        }
        values.update(overrides)
        return cls(**values)

    def flask_config(self) -> dict[str, Any]:
        from datetime import timedelta

        return {
            "SECRET_KEY": self.secret_key,
            "TESTING": self.testing,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.secure_cookies,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "PERMANENT_SESSION_LIFETIME": timedelta(minutes=self.session_idle_minutes),
            "SESSION_REFRESH_EACH_REQUEST": True,
            "WTF_CSRF_CHECK_DEFAULT": False,  # checked in a before_request hook, see station.auth
            "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
            "JSON_AS_ASCII": False,
            "API_TITLE": "Station API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": "/api",
            "OPENAPI_JSON_PATH": "openapi.json",
            "RATELIMIT_STORAGE_URI": self.redis_url or "memory://",
            "RATELIMIT_HEADERS_ENABLED": True,
            "BABEL_DEFAULT_LOCALE": "zh",
            "BABEL_DEFAULT_TIMEZONE": self.timezone,
        }

    def describe(self) -> dict[str, Any]:
        """Configuration as shown on the manager's status page (no secrets)."""
        hidden = {"secret_key", "sms_gateway_token", "police_platform_token"}
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}
        for name in ("instance_path", "archive_path", "backup_path"):
            out[name] = str(out[name])
        if "@" in out["database_url"]:  # hide a password in the URL
            scheme, rest = out["database_url"].split("://", 1)
            out["database_url"] = f"{scheme}://***@{rest.split('@', 1)[1]}"
        return out
