"""A broken stream or an unrenderable value never raises into the application."""

from __future__ import annotations

import contextlib
import io
import logging
import os

import pytest

from crm_observability import errors
from crm_observability.logging import configure_logging, get_logger, log_access
from crm_observability.settings import Settings
from tests.logging.conftest import Capture


def test_closed_stream_is_contained_and_counted(
    capture: Capture, capsys: pytest.CaptureFixture[str],
) -> None:
    capture.stream.close()
    log = get_logger("closed")
    log.info("one")
    logging.getLogger("lib").error("two")
    log_access("GET", "/x", 200, 0.001, 1)
    assert errors.failure_counts()["logging"] == 3
    assert errors.dropped_counts()["logging"] == 3
    err = capsys.readouterr().err
    assert err.count("crm_observability: logging failed") == 1  # rate-limited warning
    assert "ValueError" in err


def test_broken_pipe_is_contained(capture: Capture) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with os.fdopen(write_end, "w") as pipe:
        configure_logging(Settings.for_profile("testing"), stream=pipe)
        get_logger("pipe").warning("reader is gone")
        assert errors.failure_counts()["logging"] == 1
        configure_logging(Settings.for_profile("testing"), stream=io.StringIO())
        with contextlib.suppress(BrokenPipeError):  # the buffered line cannot be flushed
            pipe.close()


def test_unrenderable_value_is_contained_and_later_lines_still_flow(capture: Capture) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no str for you")

    log = get_logger("hostile")
    log.info("bad value", value=Hostile())
    log.info("good value", value=1)
    assert [line["message"] for line in capture.lines()] == ["good value"]
    assert errors.failure_counts()["logging"] == 1
