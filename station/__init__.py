"""The station server (机动车检测站运营服务器).

``create_app(config)`` builds the Flask app and nothing else: no threads, ports or scheduler.
``station.runtime`` starts devices and jobs, and only ``station serve`` / ``station demo`` call it.
"""

from __future__ import annotations

from flask import Flask

from station.clock import Clock, SystemClock
from station.config import Config
from station.db import Database

__all__ = ["create_app"]


def create_app(config: Config | None = None, *, clock: Clock | None = None,
               db: Database | None = None) -> Flask:
    from station import auth, errors_http, i18n, realtime
    from station.api import init_api
    from station.jsonutil import StationJSONProvider
    from station.web import init_web

    config = config or Config.from_env()
    app = Flask(__name__, instance_path=str(config.instance_path.resolve()))
    app.json = StationJSONProvider(app)
    app.config.update(config.flask_config())
    app.extensions["station.config"] = config
    app.extensions["station.clock"] = clock or SystemClock(config.timezone)
    app.extensions["station.db"] = db or Database(config.database_url)

    i18n.init_app(app)
    auth.init_app(app)
    init_api(app)
    errors_http.init_app(app)  # after the API: one error format for everything
    init_web(app)
    realtime.init_app(app)
    return app
