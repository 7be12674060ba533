"""Lane cameras (车道摄像机): capture, per-station presence, lobby streams, evidence snapshots.

Nothing here imports Flask or the database; the server wires these pieces together:

* :class:`Camera` — one reader thread per camera, latest frame only, reconnect with backoff;
* :class:`PresenceDetector` / :class:`StationWatcher` — vehicle present at a station or not;
* :class:`StreamBroadcaster` — masked, low-rate MJPEG tiles for the public lobby display;
* :func:`take_snapshot` — full-resolution evidence photo written to disk, with its hash.
"""

from drivers.camera.capture import (
    ALLOWED_TRANSITIONS,
    RUNNING_STATES,
    Camera,
    CameraConfig,
    CameraState,
    CameraStatus,
    Frame,
    SourceKind,
    backoff_delay,
    describe_source,
    source_kind,
)
from drivers.camera.presence import (
    PresenceConfig,
    PresenceDetector,
    PresenceEvent,
    StationRoi,
    StationWatcher,
)
from drivers.camera.snapshot import Snapshot, snapshot_name, take_snapshot
from drivers.camera.stream import (
    MJPEG_BOUNDARY,
    MJPEG_MIMETYPE,
    EncodedTile,
    MaskRegion,
    PlateFinderConfig,
    StreamBroadcaster,
    StreamConfig,
    apply_masks,
    encode_jpeg,
    find_plate_regions,
    mjpeg_part,
    mjpeg_stream,
    render_tile,
)

__all__ = [
    "ALLOWED_TRANSITIONS",
    "MJPEG_BOUNDARY",
    "MJPEG_MIMETYPE",
    "RUNNING_STATES",
    "Camera",
    "CameraConfig",
    "CameraState",
    "CameraStatus",
    "EncodedTile",
    "Frame",
    "MaskRegion",
    "PlateFinderConfig",
    "PresenceConfig",
    "PresenceDetector",
    "PresenceEvent",
    "Snapshot",
    "SourceKind",
    "StationRoi",
    "StationWatcher",
    "StreamBroadcaster",
    "StreamConfig",
    "apply_masks",
    "backoff_delay",
    "describe_source",
    "encode_jpeg",
    "find_plate_regions",
    "mjpeg_part",
    "mjpeg_stream",
    "render_tile",
    "snapshot_name",
    "source_kind",
    "take_snapshot",
]
