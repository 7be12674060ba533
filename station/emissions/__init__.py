"""Diesel smoke (柴油车排气烟度): GB 3847-2018 free acceleration as pure measurement logic.

No Flask, no database, no device: the procedure consumes readings (N, k, rpm, at) from any
opacity meter and an injected clock, and returns a result with its process data.
"""

from station.emissions.free_acceleration import (
    STEP_TRANSITIONS,
    AccelerationDetector,
    AccelerationRun,
    DetectedAcceleration,
    EnginePhase,
    FreeAccelerationConfig,
    FreeAccelerationResult,
    FreeAccelerationTest,
    InvalidReason,
    ProcessSample,
    Prompt,
    RunKind,
    SmokeSample,
    TestStep,
)
from station.emissions.limits import DEFAULT_SMOKE_LIMIT, SMOKE_LIMITS, SmokeLimit, smoke_limit
from station.emissions.opacity import EFFECTIVE_PATH_LENGTH_M, k_from_n, n_from_k

__all__ = [
    "DEFAULT_SMOKE_LIMIT",
    "EFFECTIVE_PATH_LENGTH_M",
    "SMOKE_LIMITS",
    "STEP_TRANSITIONS",
    "AccelerationDetector",
    "AccelerationRun",
    "DetectedAcceleration",
    "EnginePhase",
    "FreeAccelerationConfig",
    "FreeAccelerationResult",
    "FreeAccelerationTest",
    "InvalidReason",
    "ProcessSample",
    "Prompt",
    "RunKind",
    "SmokeLimit",
    "SmokeSample",
    "TestStep",
    "k_from_n",
    "n_from_k",
    "smoke_limit",
]
