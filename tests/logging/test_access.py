"""log_access: one line per request, cheap when off, never raises."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.context import request_context
from crm_observability.logging import log_access
from crm_observability.logging.configure import ContainedHandler
from tests.logging.conftest import Capture


@pytest.fixture(params=["stdlib", "direct"])
def records(request: pytest.FixtureRequest, capture: Capture,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Which way lines go: through LogRecords (pytest's own capture handler is on the
    root logger), or straight through our handler when it is the only one.  The list
    starts with the way, then names the loggers that made a LogRecord."""
    made: list[str] = [request.param]
    original = logging.Logger.makeRecord

    def counting(self: logging.Logger, *args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(logging.Logger, "makeRecord", counting)
    yield made


@contextmanager
def only_ours(records: list[str]) -> Iterator[None]:
    """In the "direct" way, hide pytest's capture handler (it is re-added per test phase)."""
    root = logging.getLogger()
    saved = root.handlers
    if records[0] == "direct":
        root.handlers = [h for h in saved if isinstance(h, ContainedHandler)]
    try:
        yield
    finally:
        root.handlers = saved


def test_both_ways_make_the_same_line(capture: Capture, records: list[str]) -> None:
    mode = records[0]
    with only_ours(records), request_context(request_id="req-9"):
        log_access("POST", "/contacts", 201, 0.002, 7, path="/contacts")
        log_access("GET", "/contacts/{id}", 503, 0.5, 0)
    created, failed = capture.lines()
    assert records[1:] == ([] if mode == "direct" else [names.ACCESS_LOGGER] * 2)
    assert {k: v for k, v in created.items() if k != "timestamp"} == {
        "level": "INFO", "logger": names.ACCESS_LOGGER, "message": "POST /contacts 201",
        "service": "contacts-service", "environment": "testing",
        names.LOG_HTTP_METHOD: "POST", names.LOG_HTTP_ROUTE: "/contacts",
        names.LOG_HTTP_STATUS: 201, names.LOG_DURATION_MS: 2.0,
        names.LOG_RESPONSE_BYTES: 7, names.LOG_HTTP_PATH: "/contacts", "request_id": "req-9",
    }
    assert created["timestamp"].endswith("Z")
    assert (failed["level"], failed["message"]) == ("ERROR", "GET /contacts/{id} 503")


def test_access_line_fields(capture: Capture, records: list[str]) -> None:
    with only_ours(records), request_context(request_id="req-1"):
        log_access("GET", "/contacts/{id}", 200, 0.01234, 512, path="/contacts/42",
                   client="127.0.0.1")
    line = capture.one()
    assert line["logger"] == names.ACCESS_LOGGER
    assert line["level"] == "INFO"
    assert line["message"] == "GET /contacts/{id} 200"
    assert line[names.LOG_HTTP_METHOD] == "GET"
    assert line[names.LOG_HTTP_ROUTE] == "/contacts/{id}"
    assert line[names.LOG_HTTP_STATUS] == 200
    assert line[names.LOG_DURATION_MS] == 12.34
    assert line[names.LOG_RESPONSE_BYTES] == 512
    assert line[names.LOG_HTTP_PATH] == "/contacts/42"
    assert line[names.LOG_CLIENT] == "127.0.0.1"
    assert line["request_id"] == "req-1"


def test_optional_fields_are_left_out_and_paths_are_redacted(
        capture: Capture, records: list[str]) -> None:
    with only_ours(records):
        log_access("GET", names.UNMATCHED_ROUTE, 404, 0.0, 0)
        log_access("GET", "/lookup", 200, 0.0, 2, path="/lookup/jane@example.com")
    missing, lookup = capture.lines()
    assert "path" not in missing and "client" not in missing
    assert lookup["path"] == "/lookup/j***@example.com"


def test_production_level_keeps_only_failed_requests(configured: Callable[..., Capture]) -> None:
    capture = configured(environment="production")  # root at WARNING
    log_access("GET", "/x", 200, 0.001, 1)
    log_access("GET", "/x", 404, 0.001, 1)
    line = (log_access("GET", "/x", 503, 0.001, 1), capture.one())[1]
    assert (line["status"], line["level"]) == (503, "ERROR")


def test_access_logger_level_can_keep_every_line(configured: Callable[..., Capture]) -> None:
    capture = configured(environment="production", logger_levels={names.ACCESS_LOGGER: "INFO"})
    log_access("GET", "/x", 200, 0.001, 1)
    assert capture.one()["status"] == 200


def test_access_log_off_writes_nothing(configured: Callable[..., Capture]) -> None:
    capture = configured(access_log=False)
    log_access("GET", "/x", 200, 0.001, 1)
    assert capture.text() == ""
    assert not logging.getLogger(names.ACCESS_LOGGER).isEnabledFor(logging.CRITICAL)


def test_logger_levels_override_the_access_switch(configured: Callable[..., Capture]) -> None:
    capture = configured(access_log=False, logger_levels={names.ACCESS_LOGGER: "INFO"})
    log_access("GET", "/x", 200, 0.001, 1)
    assert capture.one()["route"] == "/x"


def test_log_access_never_raises(capture: Capture, records: list[str]) -> None:
    with only_ours(records):
        log_access("GET", "/x", 200, "not-a-number", 1)  # type: ignore[arg-type]
    assert capture.text() == ""
    assert errors.failure_counts().get("logging") == 1
    assert errors.dropped_counts().get("logging") == 1
