"""Lane camera pictures: the masked live tile for the lobby (public) and evidence photos
(staff only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from station.auth import require_roles
from station.context import get_config, get_db
from station.errors import Conflict
from station.services import evidence

bp = Blueprint("cameras", __name__)


def evidence_store() -> evidence.EvidenceStore:
    config = get_config()
    return evidence.EvidenceStore.under(config.instance_path, config.archive_path)


@bp.route("/cameras/<int:device_id>/live.mjpg")
def live_tile(device_id: int) -> Any:
    """A camera's low-rate, privacy-masked picture (multipart JPEG) for the lobby display."""
    cameras = current_app.extensions.get("station.cameras")
    broadcaster = cameras.broadcaster(device_id) if cameras is not None else None
    if broadcaster is None:
        raise Conflict("camera_not_live", "该摄像头暂无画面", "This camera has no live picture",
                       device_id=device_id)
    response = Response(broadcaster.mjpeg(), mimetype=broadcaster.mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/staff/evidence/<int:photo_id>.jpg")
@require_roles()
def evidence_photo(photo_id: int) -> Any:
    """An evidence photo, unmasked: staff only, and only if the file is what was recorded."""
    with get_db().read() as s:
        _photo, data = evidence.read_verified(s, evidence_store(), photo_id)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
