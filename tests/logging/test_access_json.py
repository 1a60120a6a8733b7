"""The one-step JSON access line writes exactly what the processor chain writes."""

from __future__ import annotations

import contextvars
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import TracerProvider

from crm_observability import conventions as names
from crm_observability.context import request_context
from crm_observability.logging import log_access
from crm_observability.logging.access_json import JSONAccessLine, PendingLine
from crm_observability.logging.configure import ContainedHandler, Formatter
from crm_observability.tracing.current import SERVING_APP_KEY, ServingApp
from tests.logging.conftest import Capture

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fixed clock: both lines of a pair get the same timestamp."""
    monkeypatch.setattr(time, "time", lambda: 1_780_000_000.25)


@contextmanager
def _alone() -> Iterator[None]:
    """Our handler alone on the root logger: pytest adds its capture handler to each test
    phase after the fixtures ran, so it is hidden here, inside the test."""
    root = logging.getLogger()
    saved = root.handlers
    root.handlers = [h for h in saved if isinstance(h, ContainedHandler)]
    try:
        yield
    finally:
        root.handlers = saved


def _formatter() -> Formatter:
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, ContainedHandler))
    assert isinstance(handler.formatter, Formatter)
    return handler.formatter


def both_ways(capture: Capture, monkeypatch: pytest.MonkeyPatch, *args: Any,
              **kwargs: Any) -> tuple[str, str, int]:
    """The line from the one-step renderer, the line from the chain, and how many lines
    the chain rendered while the one-step renderer was in place."""
    chain_calls: list[int] = []
    original = Formatter.render

    def counting(self: Formatter, *a: Any) -> str:
        chain_calls.append(1)
        return original(self, *a)

    monkeypatch.setattr(Formatter, "render", counting)
    before = len(capture.text().splitlines())
    with _alone():
        log_access(*args, **kwargs)
        declined = len(chain_calls)
        formatter = _formatter()
        saved, formatter.access_line = formatter.access_line, None
        try:
            log_access(*args, **kwargs)
        finally:
            formatter.access_line = saved
    assert len(chain_calls) == declined + 1  # the second line came from the chain
    lines = capture.text().splitlines()
    assert len(lines) == before + 2
    fast, chain = lines[-2:]
    return fast, chain, declined


CASES: dict[str, tuple[dict[str, Any], tuple[Any, ...], dict[str, Any]]] = {
    "plain": ({"request_id": "req-1"}, ("GET", "/contacts/{id}", 200, 0.0123, 512),
              {"path": "/contacts/42"}),
    "server error": ({"request_id": "req-2"}, ("POST", "/deals", 503, 1.5, 0), {}),
    "every known key and free keys": (
        {"request_id": "r", "tenant_id": "acme", "user_id": "u-7", "operation": "search",
         "region": "eu", "api_token": "s3cret", "note": "mail ada@example.com"},
        ("GET", "/contacts", 200, 0.001, 10), {"path": "/contacts", "client": "10.0.0.1"}),
    "secrets in the path and odd characters": (
        {"request_id": "r"},
        ("GET", '/a"b/{id}\u2028é', 404, 0.0, 0),
        {"path": f"/reset/{JWT}/ada.lovelace@example.com?password=hunter2"}),
    "no context at all": ({}, ("DELETE", "/x", 204, 0.5, 0), {}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_line_as_the_chain(case: str, capture: Capture, fixed_clock: None,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    bound, args, kwargs = CASES[case]
    with request_context(**bound):
        fast, chain, declined = both_ways(capture, monkeypatch, *args, **kwargs)
    assert declined == 0  # the one-step renderer made the first line
    assert fast == chain
    assert "s3cret" not in fast and "hunter2" not in fast and JWT not in fast


def test_same_line_inside_a_span_and_another_app(capture: Capture, fixed_clock: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    tracer = TracerProvider().get_tracer("t")
    token = otel_context.attach(otel_context.set_value(
        SERVING_APP_KEY, ServingApp("deals-service", "staging", tracer)))
    try:
        with request_context(request_id="r"), tracer.start_as_current_span("s") as span:
            fast, chain, declined = both_ways(capture, monkeypatch, "GET", "/d", 200, 0.1, 1)
    finally:
        otel_context.detach(token)
    assert (declined, fast) == (0, chain)
    line = capture.lines()[-1]
    assert line[names.LOG_TRACE_ID] == format(span.get_span_context().trace_id, "032x")
    assert (line["service"], line["environment"]) == ("deals-service", "staging")


@pytest.mark.parametrize("key", ["route", "message", "trace_id", "event", "exc_info"])
def test_a_context_key_the_chain_treats_specially_takes_the_chain(
        key: str, capture: Capture, fixed_clock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    with request_context(request_id="r", **{key: "bound"}):
        assert JSONAccessLine("s", "e", None)("l", "info", {"event": "m"}) is None
        fast, chain, declined = both_ways(capture, monkeypatch, "GET", "/c", 200, 0.1, 1)
    assert (declined, fast) == (1, chain)


def test_no_well_known_context_key_is_one_the_chain_treats_specially() -> None:
    """capture() checks only the free keys for a clash: the well-known ones must never."""
    from crm_observability.context import KNOWN_VARS
    from crm_observability.logging.access_json import _RESERVED

    assert _RESERVED.isdisjoint(KNOWN_VARS)


def test_without_redaction(capture: Capture, fixed_clock: None,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    capture.configure(redact=False)
    with request_context(request_id="r", api_token="visible"):
        fast, chain, declined = both_ways(capture, monkeypatch, "GET", "/c", 200, 0.1, 1,
                                          path="/c?token=abc")
    assert (declined, fast) == (0, chain)
    assert "visible" in fast and "token=abc" in fast


@pytest.mark.parametrize("log_format", ["console", "ecs"])
def test_only_the_json_layout_has_one(capture: Capture, log_format: str) -> None:
    capture.configure(log_format=log_format)
    assert _formatter().access_line is None
    capture.configure(log_format="json")
    assert isinstance(_formatter().access_line, JSONAccessLine)


@pytest.mark.parametrize("runtime", ["contextvars", "other"])
def test_a_line_rendered_later_is_the_line_of_the_moment_it_was_captured(
        capture: Capture, monkeypatch: pytest.MonkeyPatch, runtime: str) -> None:
    """Rendering waits for the stdout writer: the clock, context, span and serving app it
    renders are the request's, not whatever holds when the writer gets to it. They are read
    from the captured snapshot, or (an OTel runtime other than contextvars) inside it."""
    from crm_observability.logging.processors import iso_utc
    from crm_observability.logging.redaction import Redactor
    from crm_observability.tracing import current

    fused = JSONAccessLine("contacts-service", "staging", Redactor())
    tracer = TracerProvider().get_tracer("t")
    event = {"event": "GET /c/{id} 200", names.LOG_HTTP_STATUS: 200, "path": f"/c/{JWT}"}
    monkeypatch.setattr(time, "time", lambda: 1_780_000_000.25)
    token = otel_context.attach(otel_context.set_value(
        SERVING_APP_KEY, ServingApp("deals-service", "testing", tracer)))
    try:
        with request_context(request_id="r-9", tenant_id="acme"), \
                tracer.start_as_current_span("s") as span:
            now = fused("crm.access", "info", dict(event))
            pending = fused.capture("crm.access", "info", dict(event))
    finally:
        otel_context.detach(token)
    assert pending is not None and now is not None
    monkeypatch.setattr(time, "time", lambda: 1_790_000_000.0)  # later, outside everything
    if runtime == "other":
        monkeypatch.setattr(current, "_RUNTIME_VAR", None)
        assert current.otel_context_in(contextvars.copy_context()) is None
    with ThreadPoolExecutor(1) as pool:  # in another thread, as the stdout writer's
        later = pool.submit(pending.render).result()
    assert later == now
    line = json.loads(later)
    assert line[names.LOG_TIMESTAMP] == iso_utc(1_780_000_000.25)
    assert (line["request_id"], line["tenant_id"]) == ("r-9", "acme")
    assert line[names.LOG_TRACE_ID] == format(span.get_span_context().trace_id, "032x")
    assert (line["service"], line["environment"]) == ("deals-service", "testing")
    assert JWT not in later  # redacted when rendered


def test_the_access_line_to_stdout_is_rendered_by_the_writer(
        configured: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from crm_observability.logging import configure_logging
    from crm_observability.logging.configure import stdout_writer
    from crm_observability.settings import Settings

    configured()
    configure_logging(Settings.for_profile("testing", service_name="stdout-svc"))
    rendered: list[int] = []
    original = PendingLine.render

    def counting(self: PendingLine) -> str:
        rendered.append(1)
        return original(self)

    with _alone(), request_context(request_id="r-1"):
        PendingLine.render = counting  # type: ignore[method-assign]
        try:
            log_access("GET", "/c", 200, 0.01, 3)
            assert rendered == []  # not on the request's path
            assert stdout_writer().flush()
        finally:
            PendingLine.render = original  # type: ignore[method-assign]
    assert rendered == [1]
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line[names.LOG_MESSAGE], line["request_id"]) == ("GET /c 200", "r-1")
