"""JSON for the station's responses and realtime payloads: ISO 8601 times, enum values."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask.json.provider import DefaultJSONProvider


def to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


class StationJSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, datetime | date | enum.Enum):
            return to_jsonable(o)
        return DefaultJSONProvider.default(o)
