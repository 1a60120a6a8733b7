"""@timed on sync and async functions and as a context manager, raising or not."""

from __future__ import annotations

import asyncio
import time

import pytest

from crm_observability import conventions as names
from crm_observability.metrics import MetricsRegistry, Timed

from .conftest import sample

SEARCH = names.CONTACTS_SEARCH_DURATION


def test_sync_function_is_timed(metrics: MetricsRegistry) -> None:
    @metrics.timed(SEARCH, "Contact search time", operation="search")
    def search(query: str) -> list[str]:
        time.sleep(0.02)
        return [query]

    assert search("ada") == ["ada"]
    assert search.__name__ == "search"
    assert sample(metrics, f"{SEARCH}_count", operation="search") == 1
    total = sample(metrics, f"{SEARCH}_sum", operation="search")
    assert total is not None and 0.02 <= total < 1.0
    assert sample(metrics, f"{SEARCH}_bucket", operation="search", le="0.01") == 0
    assert sample(metrics, f"{SEARCH}_bucket", operation="search", le="0.05") == 1


def test_async_function_is_timed(metrics: MetricsRegistry) -> None:
    @metrics.timed(SEARCH, "Contact search time")
    async def search() -> str:
        await asyncio.sleep(0.03)
        return "done"

    assert asyncio.run(search()) == "done"
    total = sample(metrics, f"{SEARCH}_sum")
    assert total is not None and total >= 0.03
    assert sample(metrics, f"{SEARCH}_count") == 1


def test_exceptions_propagate_and_are_still_timed(metrics: MetricsRegistry) -> None:
    histogram = metrics.timer(SEARCH, "Contact search time")
    timer = metrics.timed(histogram)

    @timer
    def broken() -> None:
        raise KeyError("missing")

    @timer
    async def broken_async() -> None:
        await asyncio.sleep(0)
        raise TimeoutError("slow")

    with pytest.raises(KeyError):
        broken()
    with pytest.raises(TimeoutError):
        asyncio.run(broken_async())
    assert sample(metrics, f"{SEARCH}_count") == 2


def test_context_manager_nests(metrics: MetricsRegistry) -> None:
    timer = metrics.timed("crm_block", "Block time", ("step",), step="load")
    with timer, timer:
        time.sleep(0.01)
    with pytest.raises(RuntimeError), timer:
        raise RuntimeError("boom")
    assert sample(metrics, "crm_block_seconds_count", step="load") == 3


def test_labelled_histogram_without_values_is_a_reported_no_op(metrics: MetricsRegistry) -> None:
    hist = metrics.timer("crm_step", "Step", ("phase",))

    @metrics.timed(hist)
    def work() -> int:
        return 1

    assert work() == 1
    assert sample(metrics, "crm_step_seconds_count", phase="x") is None


def test_timed_needs_a_target() -> None:
    with pytest.raises(ValueError, match="child or a resolver"):
        Timed()
