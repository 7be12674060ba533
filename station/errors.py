"""Domain errors: what a service refuses, with a message in the user's language.

Every refusal carries a stable ``code`` (for clients and tests), a Chinese message (the
screens are Chinese-first) and an English one. The API layer turns a ``DomainError`` into
an HTTP 4xx JSON body; nothing is stored when one is raised inside a write transaction.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the station refuses, explained to a person."""

    status = 400  # HTTP status the API answers with

    def __init__(self, code: str, message_zh: str, message_en: str, **details: Any) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.details = details

    def message(self, lang: str = "zh") -> str:
        return self.message_en if lang.startswith("en") else self.message_zh

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message(lang),
                                "message_zh": self.message_zh, "message_en": self.message_en}
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(DomainError):
    """Input that is malformed (a plate that does not fit its type, a bad VIN …)."""

    status = 422


class NotFound(DomainError):
    status = 404


class Conflict(DomainError):
    """The request is well formed but clashes with stored state (wrong state, taken slot …)."""

    status = 409


class Unauthorized(DomainError):
    """No valid credentials (a staff login or a device token)."""

    status = 401


class Forbidden(DomainError):
    status = 403
