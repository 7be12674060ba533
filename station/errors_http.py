"""HTTP error handling: a ``DomainError`` becomes a 4xx with a message in the user's language
(JSON for the API, an error page for screens); an unexpected error rolls back and says so."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify, render_template, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException

from station.errors import DomainError
from station.i18n import current_language

log = logging.getLogger(__name__)

HTTP_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("请求无效", "Bad request"),
    401: ("请先登录", "Please sign in"),
    403: ("没有权限", "Forbidden"),
    404: ("页面或资源不存在", "Not found"),
    405: ("不支持此操作", "Method not allowed"),
    409: ("数据冲突，请刷新后重试", "Conflict; refresh and try again"),
    413: ("提交的内容过大", "Request too large"),
    422: ("输入的数据有误", "The input is not valid"),
    429: ("操作过于频繁，请稍后再试", "Too many requests; try again shortly"),
    500: ("服务器内部错误", "Internal server error"),
    503: ("系统繁忙，请稍后再试", "Busy; try again shortly"),
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _body(code: str, status: int, message_zh: str, message_en: str, **extra: Any) -> dict[str, Any]:
    lang = current_language()
    return {"code": code, "status": status,
            "message": message_en if lang == "en" else message_zh,
            "message_zh": message_zh, "message_en": message_en, **extra}


def _respond(body: dict[str, Any], status: int) -> Any:
    if _is_api() or request.accept_mimetypes.best == "application/json":
        return jsonify(body), status
    return render_template("error.html", error=body), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Any:
        body = err.to_dict(current_language())
        body["status"] = err.status
        return _respond(body, err.status)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Any:
        status = err.code or 500
        zh, en = HTTP_MESSAGES.get(status, (err.name, err.name))
        extra: dict[str, Any] = {}
        # flask-smorest / webargs put field messages on the exception
        messages = getattr(err, "data", {}).get("messages") if hasattr(err, "data") else None
        if messages:
            extra["errors"] = messages
        elif err.description and status == 400:  # e.g. the CSRF check says what is missing
            extra["detail"] = err.description
        return _respond(_body(err.name.lower().replace(" ", "_"), status, zh, en, **extra), status)

    @app.errorhandler(IntegrityError)
    def _integrity(err: IntegrityError) -> Any:
        log.info("integrity conflict: %s", err.orig)
        zh, en = HTTP_MESSAGES[409]
        return _respond(_body("conflict", 409, zh, en), 409)

    @app.errorhandler(OperationalError)
    def _operational(err: OperationalError) -> Any:
        log.warning("database busy or unavailable: %s", err.orig)
        zh, en = HTTP_MESSAGES[503]
        return _respond(_body("database_busy", 503, zh, en), 503)
