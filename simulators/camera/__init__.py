"""Lane camera simulator (车道摄像机模拟): synthetic lane video with ground truth.

Run on its own: ``python -m simulators.camera --out lane1.avi --duration 120 --script demo``.
"""

from simulators.camera.lighting import LightingSpec, LightSwitch
from simulators.camera.scene import LaneScene, StationSpec
from simulators.camera.script import (
    ARRIVED,
    LEFT,
    NAMED_SCRIPTS,
    Stop,
    TruthEvent,
    generate_script,
    load_script,
    named_script,
    parse_script,
)
from simulators.camera.simulator import (
    VIDEO_FOURCC,
    VIDEO_SUFFIX,
    LaneSimulator,
    SimulatedCameraSource,
    SourceFaults,
    truth_path,
)

__all__ = [
    "ARRIVED",
    "LEFT",
    "NAMED_SCRIPTS",
    "VIDEO_FOURCC",
    "VIDEO_SUFFIX",
    "LaneScene",
    "LaneSimulator",
    "LightSwitch",
    "LightingSpec",
    "SimulatedCameraSource",
    "SourceFaults",
    "StationSpec",
    "Stop",
    "TruthEvent",
    "generate_script",
    "load_script",
    "named_script",
    "parse_script",
    "truth_path",
]
