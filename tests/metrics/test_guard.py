"""The series cap folds excess label sets into one overflow series; errors never raise."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.metrics import MetricsRegistry
from crm_observability.settings import Settings

from .conftest import SETTINGS, sample, scrape

OVERFLOW = names.OVERFLOW_LABEL_VALUE


def test_label_sets_past_the_limit_fold_into_one_series(metrics: MetricsRegistry) -> None:
    searches = metrics.counter("crm_searches_total", "Searches", ("tenant", "kind"))
    for i in range(8):  # limit is 5
        searches.labels(tenant=f"t{i}", kind="full").inc()
    searches.labels(tenant="t0", kind="full").inc()  # admitted before: stays its own series
    series = scrape(metrics)["crm_searches"]
    totals = {(lbl["tenant"], lbl["kind"]): v for n, lbl, v in series if n.endswith("_total")}
    assert totals == {
        ("t0", "full"): 2.0, ("t1", "full"): 1.0, ("t2", "full"): 1.0,
        ("t3", "full"): 1.0, ("t4", "full"): 1.0, (OVERFLOW, OVERFLOW): 3.0,
    }
    assert sample(metrics, names.SERIES_OVERFLOW_TOTAL, metric="crm_searches") == 3.0


def test_overflow_counts_observations_for_every_kind(metrics: MetricsRegistry) -> None:
    hist = metrics.histogram("crm_sizes", "Sizes", ("k",), buckets=(1.0,))
    gauge = metrics.gauge("crm_levels", "Levels", ("k",))
    for i in range(6):
        hist.labels(k=i).observe(0.5)
        gauge.labels(k=i).set(i)
    gauge.labels(k="x").inc(3)
    gauge.labels(k="y").dec(1)
    assert sample(metrics, "crm_sizes_count", k=OVERFLOW) == 1
    assert sample(metrics, names.SERIES_OVERFLOW_TOTAL, metric="crm_sizes") == 1
    assert sample(metrics, "crm_levels", k=OVERFLOW) == 5 + 3 - 1
    assert sample(metrics, names.SERIES_OVERFLOW_TOTAL, metric="crm_levels") == 3


MILLION = """
import resource
from crm_observability.metrics import MetricsRegistry, render_exposition
from crm_observability.settings import Settings
m = MetricsRegistry(Settings(service_name="s", series_limit=10))
family = m.counter("crm_hits_total", "Hits", ("user",))
for i in range(1000):  # warm up: the cap is reached, the overflow child exists
    family.labels(user=f"warm{i}").inc()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for i in range(1_000_000):
    family.labels(user=f"u{i}").inc()
grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(grown_kib, family.series_count(), len(family.metric._metrics))
print(render_exposition(m.registry, None)[0].decode())
"""


def test_memory_stays_flat_with_a_million_distinct_values() -> None:
    # A separate process: a clean RSS figure, and no coverage tracer slowing 1M calls.
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", MILLION], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(root)}, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    head, body = proc.stdout.split("\n", 1)
    grown_kib, admitted, children = (int(x) for x in head.split())
    assert grown_kib < 4096, f"RSS grew by {grown_kib} KiB over 1M distinct values"
    assert (admitted, children) == (10, 11)  # ten admitted + the overflow series
    folded = [s.value for f in text_string_to_metric_families(body) for s in f.samples
              if s.name == "crm_hits_total" and s.labels["user"] == OVERFLOW]
    assert folded == [1_000_000 + 990]


def test_rejected_label_sets_are_not_retained() -> None:
    m = MetricsRegistry(Settings(service_name="s", series_limit=10))
    family = m.counter("crm_hits_total", "Hits", ("user",))
    for i in range(1000):
        family.labels(user=f"warm{i}").inc()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for i in range(20_000):
        family.labels(user=f"u{i}").inc()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert grown < 16 * 1024, f"grew by {grown} bytes over 20k distinct values"
    assert sample(m, names.SERIES_OVERFLOW_TOTAL, metric="crm_hits") == 20_990


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([f"v{i}" for i in range(12)]), max_size=60))
def test_every_increment_is_counted_once(values: list[str]) -> None:
    m = MetricsRegistry(SETTINGS)
    family = m.counter("crm_events_total", "Events", ("key",))
    for value in values:
        family.labels(key=value).inc()
    series = {lbl["key"]: v for n, lbl, v in scrape(m)["crm_events"] if n.endswith("_total")}
    distinct = list(dict.fromkeys(values))
    admitted, folded = distinct[:5], distinct[5:]
    assert set(series) - {OVERFLOW} == set(admitted)
    assert sum(series.values()) == len(values)
    folded_count = sum(1 for v in values if v in folded)
    assert series.get(OVERFLOW, 0.0) == folded_count
    assert sample(m, names.SERIES_OVERFLOW_TOTAL, metric="crm_events") == folded_count


def test_label_errors_are_reported_not_raised(metrics: MetricsRegistry) -> None:
    family = metrics.counter("crm_calls_total", "Calls", ("kind",))
    family.labels(wrong="x").inc()  # unknown label name
    family.labels("a", "b").inc()  # too many values
    family.labels("a", kind="b").inc()  # mixed positional and keyword
    family.inc()  # labelled metric used without labels
    family.labels(kind="ok").inc("lots")  # type: ignore[arg-type]  # not a number
    family.labels(kind="ok").inc(-1)  # counters only go up
    metrics.histogram("crm_h", "H").observe("slow")  # type: ignore[arg-type]
    gauge = metrics.gauge("crm_g", "G")
    gauge.set("high")  # type: ignore[arg-type]
    gauge.inc(None)  # type: ignore[arg-type]
    gauge.dec(None)  # type: ignore[arg-type]
    assert errors.failure_counts()["metrics"] == 10
    assert sample(metrics, "crm_calls_total", kind="ok") == 0.0
    assert sample(metrics, "crm_h_count") == 0.0


def test_null_child_accepts_everything(metrics: MetricsRegistry) -> None:
    null = metrics.gauge("crm_g", "G", ("k",)).labels(nope=1)
    null.inc()
    null.dec()
    null.set(1)
    null.observe(1)
    assert errors.failure_counts()["metrics"] == 1


def test_non_string_label_values_are_stringified(metrics: MetricsRegistry) -> None:
    family = metrics.counter("crm_codes_total", "Codes", ("code",))
    family.labels(404).inc()
    family.labels(code=404).inc()
    family.labels("404").inc()
    assert family.series_count() == 1
    assert sample(metrics, "crm_codes_total", code="404") == 3
