"""The JSON line: its fields, context, trace ids, exceptions, reconfiguration."""

from __future__ import annotations

import asyncio
import datetime
import io
import logging
import pathlib
import re
import time
import uuid
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider

from crm_observability import conventions as names
from crm_observability.context import (
    ContextThreadPoolExecutor,
    bind_context,
    request_context,
    run_in_executor,
)
from crm_observability.logging import get_logger
from crm_observability.logging.configure import ContainedHandler
from tests.logging.conftest import Capture

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_line_has_the_core_fields_in_order(capture: Capture) -> None:
    before = time.time()
    get_logger("crm.contacts").info("contact created", contact_id=42)
    line = capture.one()
    assert list(line)[:6] == ["timestamp", "level", "logger", "message", "service", "environment"]
    assert line["level"] == "INFO"
    assert line["logger"] == "crm.contacts"
    assert line["message"] == "contact created"
    assert line["service"] == "contacts-service"
    assert line["environment"] == "testing"
    assert line["contact_id"] == 42
    assert ISO_UTC.match(line["timestamp"]), line["timestamp"]
    stamp = datetime.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo == datetime.UTC
    assert abs(stamp.timestamp() - before) < 5
    assert "trace_id" not in line and "exception" not in line


@pytest.mark.parametrize(
    ("method", "level"),
    [("debug", "DEBUG"), ("info", "INFO"), ("warning", "WARNING"), ("error", "ERROR"),
     ("critical", "CRITICAL")],
)
def test_levels_are_upper_case_names(configured: Callable[..., Capture], method: str,
                                     level: str) -> None:
    capture = configured(log_level="DEBUG")
    getattr(get_logger("lv"), method)("x")
    assert capture.one()["level"] == level


def test_level_filters_structlog_and_stdlib(configured: Callable[..., Capture]) -> None:
    capture = configured(environment="production")  # WARNING
    get_logger("a").info("dropped")
    logging.getLogger("b").info("dropped too")
    get_logger("a").warning("kept")
    assert [line["message"] for line in capture.lines()] == ["kept"]


def test_positional_args_are_formatted_and_bad_ones_never_raise(capture: Capture) -> None:
    log = get_logger("fmt")
    log.info("contact %s in %d ms", "c-1", 12)
    log.info("broken %d", "not a number")  # stdlib semantics: contained, not raised
    lines = capture.lines()
    assert [line["message"] for line in lines] == ["contact c-1 in 12 ms"]


def test_context_keys_are_added_and_call_site_wins(capture: Capture) -> None:
    log = get_logger("ctx")
    with bind_context(request_id="r-1", tenant_id="t-1", user_id="u-1", operation="op",
                      region="eu"):
        log.info("inside", tenant_id="explicit")
    log.info("outside")
    inside, outside = capture.lines()
    assert inside["request_id"] == "r-1"
    assert inside["tenant_id"] == "explicit"
    assert inside["user_id"] == "u-1"
    assert inside["operation"] == "op"
    assert inside["region"] == "eu"
    for key in ("request_id", "tenant_id", "user_id", "operation", "region"):
        assert key not in outside


def test_context_reaches_lines_from_thread_pools_and_async_code(capture: Capture) -> None:
    log = get_logger("threads")

    @bind_context(operation="async-op")
    async def handler() -> None:
        await asyncio.sleep(0)
        log.info("async")
        await run_in_executor(None, lambda: log.info("executor"))

    with request_context(request_id="req-9"):
        asyncio.run(handler())
        with ContextThreadPoolExecutor(max_workers=2) as pool:
            pool.submit(log.info, "pool").result()
    by_message = {line["message"]: line for line in capture.lines()}
    assert set(by_message) == {"async", "executor", "pool"}
    for line in by_message.values():
        assert line["request_id"] == "req-9"
    assert by_message["async"]["operation"] == "async-op"
    assert by_message["executor"]["operation"] == "async-op"
    assert "operation" not in by_message["pool"]


def test_trace_and_span_ids_of_the_current_span(capture: Capture) -> None:
    tracer = TracerProvider().get_tracer("test")  # local provider, not the global one
    log = get_logger("traced")
    with tracer.start_as_current_span("outer") as outer:
        log.info("in outer")
        with tracer.start_as_current_span("inner") as inner:
            logging.getLogger("stdlib.inside").warning("in inner")
    log.info("after")
    in_outer, in_inner, after = capture.lines()
    outer_ctx, inner_ctx = outer.get_span_context(), inner.get_span_context()
    assert in_outer["trace_id"] == format(outer_ctx.trace_id, "032x")
    assert in_outer["span_id"] == format(outer_ctx.span_id, "016x")
    assert in_inner["trace_id"] == in_outer["trace_id"]
    assert in_inner["span_id"] == format(inner_ctx.span_id, "016x") != in_outer["span_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", in_outer["trace_id"])
    assert "trace_id" not in after and "span_id" not in after


def test_exception_is_one_traceback_field(capture: Capture) -> None:
    log = get_logger("exc")
    try:
        raise KeyError("missing-contact")
    except KeyError:
        log.exception("lookup failed", contact_id=7)
    try:
        raise ValueError("stdlib side")
    except ValueError:
        logging.getLogger("lib").error("library failed", exc_info=True)
    ours, stdlib = capture.lines()
    assert ours["level"] == "ERROR"
    assert ours["exception"].startswith("Traceback (most recent call last):")
    assert ours["exception"].rstrip().endswith("KeyError: 'missing-contact'")
    assert "exc_info" not in ours
    assert stdlib["exception"].rstrip().endswith("ValueError: stdlib side")
    assert stdlib["message"] == "library failed"


def test_values_json_cannot_express_are_rendered_as_text(capture: Capture) -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque-value"

    ident = uuid.UUID(int=5)
    get_logger("types").info("types", obj=Opaque(), ident=ident, ratio=0.5, flags={1: True})
    line = capture.one()
    assert line["obj"] == "opaque-value"
    assert line["ident"] == str(ident)
    assert line["ratio"] == 0.5
    assert line["flags"] == {"1": True}


def test_call_site_message_key_is_kept_renamed(capture: Capture) -> None:
    get_logger("m").info("the event", message="user supplied")
    line = capture.one()
    assert line["message"] == "the event"
    assert line["message_"] == "user supplied"


def test_configure_twice_replaces_its_handler_and_keeps_user_handlers(
    configured: Callable[..., Capture],
) -> None:
    user_stream = io.StringIO()
    user_handler = logging.StreamHandler(user_stream)
    root = logging.getLogger()
    root.addHandler(user_handler)
    try:
        log = get_logger("cached")
        log.info("first")  # caches the structlog logger
        first = configured().stream
        capture = configured(service_name="renamed")
        log.info("second")
        ours = [h for h in root.handlers if isinstance(h, ContainedHandler)]
        assert len(ours) == 1
        assert user_handler in root.handlers
        assert first.getvalue() == ""
        assert capture.one()["service"] == "renamed"
        assert "second" in user_stream.getvalue()
    finally:
        root.removeHandler(user_handler)


def test_a_cached_logger_follows_a_format_change(configured: Callable[..., Capture]) -> None:
    log = get_logger("fmt.switch")
    configured()
    log.info("json")
    capture = configured(log_format="ecs")
    log.info("ecs")
    line = capture.one()
    assert line["message"] == "ecs" and line["log.level"] == "info"


def test_stream_none_writes_to_the_current_stdout(
    configured: Callable[..., Capture], capsys: pytest.CaptureFixture[str],
) -> None:
    from crm_observability.logging import configure_logging
    from crm_observability.logging.configure import stdout_writer
    from crm_observability.settings import Settings

    configured()
    configure_logging(Settings.for_profile("testing", service_name="stdout-svc"))
    get_logger("out").info("to stdout")
    assert stdout_writer().flush()  # written by the background writer thread
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert '"service":"stdout-svc"' in out[0] and names.LOG_MESSAGE in out[0]


def test_without_redaction_odd_values_still_render(configured: Callable[..., Capture]) -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque"

    capture = configured(redact=False)
    get_logger("raw").info("raw", obj=Opaque())
    assert capture.one()["obj"] == "opaque"


def test_core_fields_processor_outside_a_formatter() -> None:
    from crm_observability.logging.processors import AddCoreFields

    event = AddCoreFields("svc", "staging")(logging.getLogger("direct"), "warn", {})
    assert event["logger"] == "direct" and event["level"] == "WARNING"
    assert event["service"] == "svc" and event["environment"] == "staging"
    assert ISO_UTC.match(event["timestamp"])
    assert AddCoreFields("s", "e")(None, "trace", {})["level"] == "TRACE"


def test_every_method_respects_the_logger_level(configured: Callable[..., Capture]) -> None:
    capture = configured(logger_levels={"quiet": "CRITICAL", "loud": "DEBUG", "mute": "60"})
    quiet, loud = get_logger("quiet"), get_logger("loud")
    get_logger("mute").critical("never")
    for log in (quiet, loud):
        log.debug("debug")
        log.info("info")
        log.warning("warning")
        log.warn("warn")
        log.error("error")
        try:
            raise ValueError("x")
        except ValueError:
            log.exception("exception")
        log.log(logging.INFO, "log-info")
        log.critical("critical")
        log.fatal("fatal")
    seen = [(line["logger"], line["message"], line["level"]) for line in capture.lines()]
    assert [m for lg, m, _ in seen if lg == "quiet"] == ["critical", "fatal"]
    assert [(m, lv) for lg, m, lv in seen if lg == "loud"] == [
        ("debug", "DEBUG"), ("info", "INFO"), ("warning", "WARNING"), ("warn", "WARNING"),
        ("error", "ERROR"), ("exception", "ERROR"), ("log-info", "INFO"),
        ("critical", "CRITICAL"), ("fatal", "CRITICAL")]


def test_stdout_writer_drops_and_counts_when_nobody_reads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from crm_observability import errors
    from crm_observability.logging.writer import LineWriter

    release, entered = threading.Event(), threading.Event()

    class StuckStdout:
        """A reader that has stopped reading: every write blocks until released."""

        def __init__(self) -> None:
            self.lines: list[str] = []

        def write(self, text: str) -> int:
            entered.set()
            release.wait(10)
            self.lines.extend(text.splitlines())
            return len(text)

        def flush(self) -> None:
            return None

    stuck = StuckStdout()
    monkeypatch.setattr("sys.stdout", stuck)
    errors.reset_for_tests()
    writer = LineWriter(max_lines=10)
    for i in range(200):  # never blocks the caller
        writer.put(f"line {i}")
    assert errors.dropped_counts().get("logging", 0) >= 150
    assert entered.wait(5)  # the writer thread is now blocked in write()
    assert writer.flush(timeout_s=0.1) is False  # the writer is stuck in write(): no hang
    release.set()
    assert writer.flush(timeout_s=5) is True
    assert stuck.lines[0] == "line 0" and len(stuck.lines) <= 50
    writer.close()


def test_stdout_writer_counts_a_broken_stdout(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from crm_observability import errors
    from crm_observability.logging.writer import LineWriter

    closed = io.StringIO()
    closed.close()
    errors.reset_for_tests()
    writer = LineWriter()
    writer.put("lost")
    assert writer.flush(closed)
    assert errors.dropped_counts()["logging"] == 1
    writer.close()


def test_stdout_writer_in_a_forked_child_writes_only_its_own_lines(
    tmp_path: pathlib.Path,
) -> None:
    import io
    import os

    from crm_observability.logging.writer import LineWriter

    out = tmp_path / "child.txt"
    writer = LineWriter()
    writer._stopped = True  # park the parent's thread: the queued line stays queued
    if writer._thread is not None:
        writer._thread.join(1)
    writer.put("parent line")
    pid = os.fork()
    if pid == 0:  # child
        try:
            with open(out, "w") as stream:
                writer.put("child line")
                writer.flush(stream)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert out.read_text().splitlines() == ["child line"]
    parent = io.StringIO()
    assert writer.flush(parent)
    assert parent.getvalue() == "parent line\n"


def test_stdout_writer_gathers_lines_instead_of_waking_per_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from crm_observability.logging import writer as writer_module
    from crm_observability.logging.writer import LineWriter

    class CountingStdout:
        def __init__(self) -> None:
            self.writes = 0
            self.lines: list[str] = []

        def write(self, text: str) -> int:
            self.writes += 1
            self.lines.extend(text.splitlines())
            return len(text)

        def flush(self) -> None:
            return None

    out = CountingStdout()
    monkeypatch.setattr("sys.stdout", out)
    writer = LineWriter()
    started = time.monotonic()
    for i in range(100):  # one line per millisecond, as a steady stream of requests
        writer.put(f"line {i}")
        time.sleep(0.001)
    elapsed = time.monotonic() - started
    assert writer.flush()
    assert out.lines == [f"line {i}" for i in range(100)]
    # One write per gathering interval (25 ms), not one per line.
    assert out.writes <= min(50, elapsed / writer_module._IDLE_S + 3)
    writer.close()


def test_stdout_writer_renders_pending_lines_in_order_and_drops_a_failing_one() -> None:
    import io

    from crm_observability import errors
    from crm_observability.logging.writer import LineWriter

    class Pending:
        def __init__(self, text: str | None) -> None:
            self.text = text

        def render(self) -> str:
            if self.text is None:
                raise ValueError("cannot render")
            return self.text

    errors.reset_for_tests()
    writer = LineWriter()
    out = io.StringIO()
    for item in ("plain 1", Pending("pending 2"), Pending(None), "plain 3", Pending("pending 4")):
        writer.put(item)
    assert writer.flush(out)
    assert out.getvalue().splitlines() == ["plain 1", "pending 2", "plain 3", "pending 4"]
    assert errors.dropped_counts()["logging"] == 1
    writer.close()
