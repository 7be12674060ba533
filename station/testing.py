"""Helpers for tests and benchmarks that drive the app in-process."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def fetch_csrf_token(client: Any, path: str = "/login") -> str:
    """The CSRF token of the test client's session, read from a page's meta tag."""
    html = client.get(path).get_data(as_text=True)
    match = _CSRF_META.search(html)
    if match is None:
        raise AssertionError(f"no csrf-token meta tag on {path}")
    return match.group(1)


def disconnect_app(app: Flask) -> None:
    """Detach an app's signal receivers and stop its background work (tests create many apps
    in one process; nothing of one may still read the database while the next test resets
    it)."""
    for signal, receiver in app.extensions.pop("station.realtime.receivers", []):
        signal.disconnect(receiver)
    waits = app.extensions.pop("station.realtime.waits", None)
    if waits is not None:
        waits.stop()


class LiveServer:
    """The app on a real HTTP + WebSocket server in a background thread (port 0 = free port)."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        import threading

        from werkzeug.serving import make_server

        self.server = make_server(host, port, app, threaded=True)
        self.host, self.port = host, self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, name="live-server",
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self._thread.join(timeout=10)
        self.server.server_close()
