"""A simulator of the police platform's vehicle query (联网查询), over real HTTP.

``PolicePlatformSimulator`` serves ``GET /vehicle?plate_type=…&plate=…`` on 127.0.0.1 with a
bearer token, answering the JSON that ``station.integrations.police_platform`` reads. Records
are set by tests or loaded from the demo's list; fault switches: ``down`` (503), ``slow``
(seconds of delay), ``garbled`` (an answer that is not the expected JSON).

Standalone: ``python -m simulators.police_platform --port 7301``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: records of the demo station's sample vehicles: plate type + plate → answer fields
DEMO_RECORDS: dict[tuple[str, str], dict[str, Any]] = {
    ("02", "浙A12345"): {"status_codes": "A", "inspection_valid_until": "2026-12-31",
                         "insurance_until": "2027-06-30", "vin": "LSVAU218XN2183294",
                         "vehicle_type": "K33", "use_nature": "A", "fuel": "gasoline"},
    ("02", "浙A54321"): {"status_codes": "AG", "inspection_valid_until": "2026-11-30",
                         "insurance_until": "2027-03-31", "vehicle_type": "K33", "use_nature": "A",
                         "fuel": "gasoline"},
    ("52", "浙AD12345"): {"status_codes": "A", "inspection_valid_until": "2027-01-31",
                          "insurance_until": None, "vehicle_type": "K33", "use_nature": "A",
                          "fuel": "electric"},
    ("01", "浙A88888"): {"status_codes": "Q", "inspection_valid_until": "2026-09-30",
                         "insurance_until": "2027-01-31", "vehicle_type": "H11", "use_nature": "F",
                         "fuel": "diesel"},
}


@dataclass
class Faults:
    down: bool = False
    slow: float = 0.0
    garbled: bool = False


@dataclass
class PolicePlatformSimulator:
    token: str = "sim-token"
    host: str = "127.0.0.1"
    port: int = 0
    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=lambda: dict(DEMO_RECORDS))
    faults: Faults = field(default_factory=Faults)
    queries: list[tuple[str, str]] = field(default_factory=list)

    def start(self) -> PolicePlatformSimulator:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                simulator._answer(self)

            def log_message(self, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="police-platform-sim")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/vehicle"

    def set_record(self, plate_type: str, plate: str, **fields: Any) -> None:
        self.records[(plate_type, plate)] = {k: (v.isoformat() if isinstance(v, date) else v)
                                             for k, v in fields.items()}

    def _answer(self, request: BaseHTTPRequestHandler) -> None:
        if self.faults.slow:
            time.sleep(self.faults.slow)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _send(request, 401, {"error": "unauthorized"})
        if self.faults.down:
            return _send(request, 503, {"error": "maintenance"})
        args = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        key = (args.get("plate_type", [""])[0], args.get("plate", [""])[0])
        self.queries.append(key)
        if self.faults.garbled:
            return _send(request, 200, {"unexpected": True})
        record = self.records.get(key)
        if record is None:
            return _send(request, 404, {"error": "not found"})
        return _send(request, 200, {"plate_type": key[0], "plate": key[1], **record})


def _send(request: BaseHTTPRequestHandler, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up waiting
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
