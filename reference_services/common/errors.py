"""One JSON error shape for every 4xx/5xx: ``{"error": {"code", "message", "field"}}``.

Bad input never becomes a 500: validation errors are 422 naming the field,
oversized bodies 413, database outages and an exhausted pool 503, constraint clashes 409.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_observability.errors import report_failure


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApiError(Exception):
    """An error the client should see, with its status code."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.headers = dict(headers or {})


_DOC = {
    400: "The body could not be read (not UTF-8 JSON)",
    401: "Missing or invalid bearer token", 403: "The token lacks the required role",
    404: "Not found in the caller's tenant", 409: "Conflicts with the current state",
    413: "Request body too large", 422: "Invalid input (the field is named)",
    502: "A downstream service answered unexpectedly",
    503: "A dependency (database or downstream service) is unavailable",
}
# Declared on every router so the OpenAPI document matches what clients get.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text} for status, text in _DOC.items()
}

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
          415: "unsupported_media_type", 422: "validation_error", 503: "unavailable"}


def error_json(status: int, code: str, message: str, field: str | None = None,
               headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status, headers=dict(headers or {}))


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_json(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _CODES.get(exc.status_code, "error")
    return error_json(exc.status_code, code, str(exc.detail), None, exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    message = str(first.get("msg", "invalid value"))
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    return error_json(422, "validation_error", message, field)


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    return error_json(409, "conflict", "the change conflicts with existing data")


async def _database_error(_: Request, exc: Exception) -> JSONResponse:
    # Outages are the operator's problem, not the caller's: 503 so clients retry.
    if isinstance(exc, OperationalError) or getattr(exc, "connection_invalidated", False):
        return error_json(503, "unavailable", "the database is unavailable; retry later")
    report_failure("reference_services.database", exc)
    return error_json(422, "validation_error", "the database refused a value in the request")


async def _pool_exhausted(_: Request, exc: Exception) -> JSONResponse:
    # QueuePool timed out waiting for a connection: overload, not a bad request.
    response = error_json(503, "unavailable", "the service is at capacity; retry later")
    response.headers["Retry-After"] = "1"
    return response


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(SQLAlchemyTimeoutError, _pool_exhausted)


class BodySizeLimit:
    """Pure ASGI middleware: 413 for bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length" and (
                    not value.isdigit() or int(value) > self.max_bytes):
                await self._refuse(scope, receive, send)
                return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException so the framework's body reader passes it on unchanged.
                raise StarletteHTTPException(413, f"request body exceeds {self.max_bytes} bytes")
            return message

        await self.app(scope, limited, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_json(413, "payload_too_large",
                              f"request body exceeds {self.max_bytes} bytes")
        await response(scope, receive, send)
