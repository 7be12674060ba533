"""JSON API under ``/api/v1`` (flask-smorest: marshmallow validation, OpenAPI at
``/api/openapi.json``). Views are thin: validate, call a service in a transaction, serialise.
Rejected input raises before anything is written, so it changes nothing."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


class StationApi(Api):
    """flask-smorest's Api without its own error handlers: ``station.errors_http`` answers
    every error in one format, in the user's language."""

    def _register_error_handlers(self) -> None:
        return None


def init_api(app: Flask) -> None:
    from . import (
        booking,
        counters,
        feedback,
        instruments,
        keys,
        manage,
        meta,
        queue,
        staff,
        station,
        tickets,
        tracking,
        vehicles,
        visits,
        window,
    )

    api = StationApi(app, spec_kwargs={
        "info": {"description": "机动车检测站运营服务器 API — the station server's JSON API."},
        "components": {"securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            "deviceToken": {"type": "http", "scheme": "bearer"},
        }},
    })
    for module in (meta, station, vehicles, visits, booking, queue, tickets, counters, window,
                   keys, tracking, instruments, feedback, manage, staff):
        api.register_blueprint(module.blp)
    app.extensions["station.api"] = api
