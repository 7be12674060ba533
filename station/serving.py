"""The HTTP server a station runs on.

``station serve`` and ``station demo`` run Gunicorn with its threaded worker (``gthread``):
the server Flask-SocketIO documents for its ``threading`` mode with simple-websocket. One
worker process serves every HTTP request and WebSocket of the station, from a pool of
threads, and holds the runtime (devices, scheduler, print worker). Gunicorn's master process
only watches it: a worker that dies or hangs is replaced, and the new one starts the runtime
again (the runtime lock is released with the dead process).

Why not Werkzeug's threaded server (``socketio.run``): it is a development server, not meant
for production (it says so in the log at every start), and nothing replaces a process that
hangs. It is also slower on the bare baseline's requests (Gunicorn answers 1.4–1.8× as many a
second); on the station's own requests the difference is lost in their work
(docs/BENCHMARKS.md). ``STATION_SERVER=werkzeug`` still selects it, for comparison and for
machines without ``fork``.

Each open WebSocket (a lobby display, a staff screen, an owner's progress page) holds one
thread of the pool for its lifetime, so the pool is large (``STATION_THREADS``, 512); its
threads are made only when needed. Idle keep-alive connections wait in the worker's poller
without a thread (``worker_connections`` is above the pool).
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from station.config import Config
from station.realtime import hub_of

log = logging.getLogger(__name__)

#: seconds a stopping worker has to finish its requests (WebSockets are closed after it)
GRACEFUL_SECONDS = 10


def preload() -> None:
    """Import what the station's app is made of, in Gunicorn's master before it listens and
    forks: a worker then starts in about a second instead of three (the imports are two
    thirds of a start), after a crash too, and the port opens when a worker is nearly ready.
    Importing starts no thread and opens nothing, so it is safe before a fork."""
    import station.api
    import station.realtime
    import station.runtime
    import station.warmup
    import station.web  # noqa: F401


def prepare(app: Flask) -> Callable[[], None]:
    """Make a process ready to serve ``app``: start the runtime, rehearse the busiest
    requests, and freeze what starting made. Returns the runtime's stop."""
    from station import runtime, warmup

    rt = runtime.start(app)
    warmup.warm_up(app)  # the first requests after a start as quick as the rest
    # What starting made (modules, models, the app: about 200,000 objects) lives as long as
    # the process. Frozen, it is left out of the collector's full passes, each of which
    # otherwise stops every thread for about 0.1 s (docs/BENCHMARKS.md).
    gc.collect()
    gc.freeze()

    def stop() -> None:
        rt.stop()
        close_realtime(app)

    return stop


def close_realtime(app: Flask) -> None:
    """Close every Socket.IO connection of this process. Each open WebSocket holds a server
    thread; closed, a stopping process ends at once instead of waiting out its grace period
    (the screens reconnect to the next process by themselves). Never waits for a socket's
    last packets to go out: its writer may be gone already (``Server.disconnect`` would
    wait for it forever)."""
    eio = hub_of(app).socketio.server.eio
    for sid, socket in list(eio.sockets.items()):
        socket.close(wait=False)
        eio.sockets.pop(sid, None)


class StationWorker(ThreadWorker):  # type: ignore[misc]
    """Gunicorn's threaded worker that, told to stop — or finding its master gone (killed:
    the next master needs the port and the runtime lock) — closes the station's WebSockets
    first, so that its in-flight requests finish and the runtime stops well within the grace."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        super().handle_exit(sig, frame)
        self._close_soon()  # a signal handler: the closing runs beside it

    def is_parent_alive(self) -> bool:
        alive = bool(super().is_parent_alive())
        if not alive:
            self._close_soon()
        return alive

    def _close_soon(self) -> None:
        if isinstance(self.wsgi, Flask):
            threading.Thread(target=close_realtime, args=(self.wsgi,), daemon=True,
                             name="close-realtime").start()


class StationServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn serving the app that ``build`` makes in the worker process (so the runtime's
    threads live where the requests are), made ready by ``ready`` (default :func:`prepare`;
    None for an app without a runtime, as the benchmarks' baselines)."""

    def __init__(self, host: str, port: int, threads: int, build: Callable[[], Flask], *,
                 ready: Callable[[Flask], Callable[[], None]] | None = prepare) -> None:
        self.bind, self.threads, self.build, self.ready = f"{host}:{port}", threads, build, ready
        self._stop: Callable[[], None] | None = None
        super().__init__()

    @classmethod
    def of(cls, config: Config, build: Callable[[], Flask]) -> StationServer:
        return cls(config.host, config.port, config.threads, build)

    def options(self) -> dict[str, Any]:
        return {
            "bind": self.bind,
            "workers": 1,  # one process holds the station's sockets and runtime (see module)
            "worker_class": "station.serving.StationWorker",
            "threads": self.threads,
            "worker_connections": self.threads + 1000,  # idle keep-alive connections wait
            "keepalive": 30,
            "timeout": 60,
            "graceful_timeout": GRACEFUL_SECONDS,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "worker_exit": self._worker_exit,
        }

    def load_config(self) -> None:
        for key, value in self.options().items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        app = self.build()
        if self.ready is not None:
            self._stop = self.ready(app)
        return app

    def _worker_exit(self, _server: Any, _worker: Any) -> None:
        if self._stop is not None:
            log.info("stopping the runtime")
            self._stop()
