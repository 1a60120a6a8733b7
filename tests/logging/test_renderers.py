"""Console and ECS layouts; one event per line whatever the values contain."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import TracerProvider

from crm_observability.context import bind_context
from crm_observability.logging import get_logger, log_access
from crm_observability.logging.configure import _wants_colors
from crm_observability.logging.ecs import ECS_VERSION
from crm_observability.logging.renderers import ConsoleRenderer, escape_controls
from tests.logging.conftest import Capture

HOSTILE = "bob\n2026-01-01 [info] forged admin login\r\x1b[2J\u2028end"


def test_json_escapes_control_characters(capture: Capture) -> None:
    get_logger("json").info(HOSTILE, field=HOSTILE, **{"key\nname": 1})
    line = capture.one()
    assert line["message"] == HOSTILE and line["field"] == HOSTILE
    assert line["key\nname"] == 1


def test_console_is_readable_and_escapes_everything(configured: Callable[..., Capture]) -> None:
    capture = configured(environment="development")
    log = get_logger("crm.console")
    with bind_context(request_id="r-1"):
        log.info(HOSTILE, user=HOSTILE, nested={"v": "a\x1bb"}, **{"k\ny": 1})
    try:
        raise ValueError("bad input\nINFO forged line")
    except ValueError:
        log.exception("failed")
    lines = capture.text().splitlines()
    first = lines[0]
    assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} \[info\s*\] bob\\n2026", first), first
    assert "\\x1b[2J" in first and "\\u2028" in first and "\\r" in first
    assert "k\\ny=1" in first and "request_id=r-1" in first and "[crm.console]" in first
    assert "\x1b" not in capture.text()
    assert "service" not in first  # constant per process: left out on a terminal
    # The traceback follows on indented lines: no line but the event's starts at column 0.
    assert re.match(r"^\d\d:\d\d:\d\d\.\d{3} \[error", lines[1])
    assert all(line.startswith("    ") for line in lines[2:])
    assert any("ValueError: bad input" in line for line in lines[2:])
    assert any(line.strip() == "INFO forged line" for line in lines[2:])


def test_console_with_colours_keeps_only_its_own_escapes() -> None:
    renderer = ConsoleRenderer(colors=True)

    class Sneaky:
        def __repr__(self) -> str:
            return "sneaky\nline"

    out = renderer(None, "info", {"timestamp": "2026-01-01T00:00:00.000Z", "level": "INFO",
                                  "event": "coloured", "obj": Sneaky()})
    assert "\x1b[" in out  # colour codes
    assert "\n" not in out and "sneaky\\nline" in out


def test_colours_follow_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty:
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert _wants_colors(Tty())  # type: ignore[arg-type]
    monkeypatch.setenv("NO_COLOR", "1")
    assert not _wants_colors(Tty())  # type: ignore[arg-type]
    monkeypatch.delenv("NO_COLOR")
    assert not _wants_colors(object())  # type: ignore[arg-type]


def test_escape_controls_leaves_printable_text_alone() -> None:
    text = "plain text, ünïcode ✓"
    assert escape_controls(text) is text
    assert escape_controls("a\tb\x00") == "a\\tb\\x00"


def test_ecs_layout(configured: Callable[..., Capture]) -> None:
    capture = configured(log_format="ecs", service_version="1.4.2")
    tracer = TracerProvider().get_tracer("ecs")
    log = get_logger("crm.ecs")
    with bind_context(request_id="r-7", tenant_id="t-7", user_id="u-7", operation="create",
                      region="eu"), tracer.start_as_current_span("s") as span:
        log.info("created", contact_id=9, tags=["a", "b"])
        log_access("POST", "/contacts", 201, 0.0125, 64, path="/contacts", client="10.0.0.1")
    try:
        raise KeyError("k")
    except KeyError:
        log.exception("failed")
    created, access, failed = capture.lines()
    assert list(created)[:4] == ["@timestamp", "log.level", "message", "ecs.version"]
    assert created["ecs.version"] == ECS_VERSION
    assert created["log.level"] == "info" and created["message"] == "created"
    assert created["log"] == {"logger": "crm.ecs"}
    assert created["service"] == {"name": "contacts-service", "environment": "testing",
                                  "version": "1.4.2"}
    ctx = span.get_span_context()
    assert created["trace"] == {"id": format(ctx.trace_id, "032x")}
    assert created["span"] == {"id": format(ctx.span_id, "016x")}
    assert created["http"] == {"request": {"id": "r-7"}}
    assert created["user"] == {"id": "u-7"} and created["organization"] == {"id": "t-7"}
    assert created["event"] == {"action": "create"}
    assert created["labels"]["contact_id"] == 9 and created["labels"]["region"] == "eu"
    assert json.loads(created["labels"]["tags"]) == ["a", "b"]
    assert access["http"]["request"]["method"] == "POST"
    assert access["http"]["response"] == {"status_code": 201, "body": {"bytes": 64}}
    assert access["http"]["route"] == "/contacts"
    assert access["url"] == {"path": "/contacts"} and access["client"] == {"address": "10.0.0.1"}
    assert access["event"]["duration"] == 12_500_000  # nanoseconds
    assert failed["log.level"] == "error"
    assert failed["error"]["stack_trace"].rstrip().endswith("KeyError: 'k'")
