from __future__ import annotations

import io
import sys
from collections.abc import Iterator

import pytest

from crm_observability import errors


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    errors.reset_for_tests()
    yield
    errors.reset_for_tests()


def test_failures_are_counted_and_warned_once_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    now = [1000.0]
    monkeypatch.setattr(errors.time, "monotonic", lambda: now[0])
    for _ in range(5):
        errors.report_failure("exporter", ConnectionError("refused"))
    assert errors.failure_counts() == {"exporter": 5}
    assert err.getvalue().count("\n") == 1
    assert "exporter failed (1 so far" in err.getvalue()
    assert "ConnectionError: refused" in err.getvalue()
    now[0] += errors.WARN_INTERVAL_S
    errors.report_failure("exporter", "plain text reason")
    assert err.getvalue().count("\n") == 2
    assert "6 so far" in err.getvalue() and "plain text reason" in err.getvalue()


def test_a_broken_stderr_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    errors.report_failure("logging", OSError("gone"))
    assert errors.failure_counts() == {"logging": 1}


def test_dropped_counts() -> None:
    errors.count_dropped("tracing", 3)
    errors.count_dropped("tracing")
    assert errors.dropped_counts() == {"tracing": 4}
