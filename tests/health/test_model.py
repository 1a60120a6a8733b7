"""Status order, Health helpers and the coercion of user check results."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from crm_observability.health import Health, HealthIndicator, Status
from crm_observability.health.model import MAX_ERROR_LENGTH, aggregate, describe_error, to_health


@pytest.mark.parametrize(("statuses", "expected"), [
    ([], Status.UP),
    ([Status.UNKNOWN], Status.UNKNOWN),
    ([Status.UNKNOWN, Status.UP], Status.UP),
    ([Status.UP, Status.OUT_OF_SERVICE], Status.OUT_OF_SERVICE),
    ([Status.OUT_OF_SERVICE, Status.DOWN, Status.UP], Status.DOWN),
])
def test_aggregate_picks_most_severe(statuses: list[Status], expected: Status) -> None:
    assert aggregate(statuses) is expected


def test_http_status_is_503_only_for_down_and_out_of_service() -> None:
    assert {s: s.http_status for s in Status} == {
        Status.UP: 200, Status.UNKNOWN: 200, Status.DOWN: 503, Status.OUT_OF_SERVICE: 503}


def test_health_helpers_and_read_only_details() -> None:
    assert Health.up(version="16").details == {"version": "16"}
    down = Health.down(error=ValueError("bad\nsecond line"), host="db")
    assert down.status is Status.DOWN
    assert down.details == {"error": "ValueError: bad", "host": "db"}
    assert Health.out_of_service().status is Status.OUT_OF_SERVICE
    assert Health.unknown().status is Status.UNKNOWN
    assert Health.down().details == {}
    with pytest.raises(TypeError):
        down.details["error"] = "x"  # type: ignore[index]
    source = {"a": 1}
    health = Health(Status.UP, source)
    source["a"] = 2
    assert health.details == {"a": 1}


def test_describe_error_unwraps_sqlalchemy_and_truncates() -> None:
    engine = create_engine("sqlite://")
    with pytest.raises(OperationalError) as info, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert describe_error(info.value) == "OperationalError: no such table: no_such_table"
    assert len(describe_error("x" * 1000)) == MAX_ERROR_LENGTH
    assert describe_error(RuntimeError()) == "RuntimeError"


@pytest.mark.parametrize(("value", "status", "details"), [
    (True, Status.UP, {}),
    (False, Status.DOWN, {}),
    (None, Status.UP, {}),
    (Status.OUT_OF_SERVICE, Status.OUT_OF_SERVICE, {}),
    (Health.unknown(x=1), Status.UNKNOWN, {"x": 1}),
    ({"status": "down", "lag": 3}, Status.DOWN, {"lag": 3}),
    ({"status": Status.UP}, Status.UP, {}),
    ({"queue": 0}, Status.UP, {"queue": 0}),
    ({"status": "sideways"}, Status.DOWN, {"error": "unknown status 'sideways'"}),
    (42, Status.DOWN, {"error": "unsupported check result type int"}),
])
def test_to_health(value: Any, status: Status, details: dict[str, Any]) -> None:
    health = to_health(value)
    assert health.status is status
    assert dict(health.details) == details


def test_protocol_is_structural() -> None:
    class Mine:
        async def check(self) -> Health:
            return Health.up()

    assert isinstance(Mine(), HealthIndicator)
    assert not isinstance(object(), HealthIndicator)
