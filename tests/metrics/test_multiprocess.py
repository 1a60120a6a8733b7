"""Multiprocess mode for real: separate worker processes writing to one directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import values
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import text_string_to_metric_families as text_families

from crm_observability import conventions as names
from crm_observability.metrics import (
    MetricsRegistry,
    mark_worker_dead,
    prepare_multiprocess_dir,
    render_exposition,
)
from crm_observability.metrics.multiprocess import ensure_value_class

from .conftest import SETTINGS, require_tool

WORKER = str(Path(__file__).with_name("mp_worker.py"))
ROOT = str(Path(__file__).resolve().parents[2])
SCRAPER = """
import sys
from crm_observability.metrics import (MetricsRegistry, mark_worker_dead,
                                       render_exposition)
from crm_observability.settings import Settings
for pid in sys.argv[1:]:
    mark_worker_dead(int(pid))
metrics = MetricsRegistry(Settings(service_name="contacts-service", environment="production"))
body, content_type = render_exposition(metrics.registry, "application/openmetrics-text")
print(content_type)
sys.stdout.write(body.decode())
sys.stdout.write("\f" + render_exposition(metrics.registry, None)[0].decode())
"""
PREPARE = """
import sys
from prometheus_client import values
from crm_observability.metrics import prepare_multiprocess_dir
print(prepare_multiprocess_dir(sys.argv[1]))
assert values.ValueClass is not values.MutexValue
"""


def _env(directory: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env["PYTHONPATH"] = ROOT
    if directory is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    return env


def _run(args: list[str], directory: Path | None) -> str:
    proc = subprocess.run([sys.executable, *args], env=_env(directory), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_two_workers_one_directory(tmp_path: Path) -> None:
    directory = tmp_path / "prom"
    directory.mkdir()
    _run([WORKER, str(directory), "100"], directory)  # a previous run's left-overs
    assert any(directory.iterdir())
    _run(["-c", PREPARE, str(directory)], None)
    assert list(directory.iterdir()) == []  # wiped at start

    workers = [
        subprocess.Popen([sys.executable, WORKER, str(directory), amount, *late],
                         env=_env(None), stdout=subprocess.PIPE, text=True)
        for amount, late in (("1", []), ("2", ["late"]))
    ]
    pids = []
    for proc in workers:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        pids.append(out.strip())

    # the first worker died: its live gauge goes, its counters stay
    output = _run(["-c", SCRAPER, pids[0]], directory)
    output, text_body = output.split("\f")
    content_type, body = output.split("\n", 1)
    promtool = subprocess.run([require_tool("promtool"), "check", "metrics"], input=text_body,
                              capture_output=True, text=True, timeout=30, check=False)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    assert content_type.startswith("application/openmetrics-text")
    families = {f.name: f for f in text_string_to_metric_families(body)}

    created = families["crm_contacts_created"].samples
    total = [s for s in created if s.name.endswith("_total")]
    assert [s.value for s in total] == [3.0]  # 1 + 2, the stale 100 is gone
    assert total[0].labels["service"] == "contacts-service"
    assert total[0].labels["type"] == "business"

    duration = families[names.HTTP_SERVER_DURATION].samples
    count = [s for s in duration if s.name.endswith("_count")]
    assert [s.value for s in count] == [2.0]
    assert all(s.exemplar is None for s in duration)  # no exemplars in multiprocess mode

    active = [s for s in families[names.HTTP_SERVER_ACTIVE].samples
              if s.labels[names.LABEL_HTTP_METHOD] == "GET"]
    assert [s.value for s in active] == [1.0]  # only the live worker's request
    # per-process collectors are left out: they would jump between workers
    assert names.PROCESS_RESIDENT_MEMORY not in families
    assert names.TELEMETRY_ERRORS_TOTAL.removesuffix("_total") not in families


@pytest.fixture
def value_class() -> Iterator[None]:
    """Restore the process-wide value class and variable after an in-process test."""
    saved = values.ValueClass, os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    yield
    values.ValueClass = saved[0]
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if saved[1] is not None:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = saved[1]


def test_prepare_wipes_and_switches_in_process(tmp_path: Path, value_class: None) -> None:
    assert ensure_value_class() is False
    values.ValueClass = values.MutexValue
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"stale")
    prepared = prepare_multiprocess_dir(directory)
    assert list(prepared.iterdir()) == []
    assert values.ValueClass is not values.MutexValue
    metrics = MetricsRegistry(SETTINGS)
    assert metrics.multiprocess
    metrics.counter("crm_jobs_total", "Jobs").inc(4)
    metrics.gauge("crm_busy", "Busy", multiprocess_mode="liveall").set(1)
    body, _ = render_exposition(metrics.registry, None)
    families = {f.name: f for f in text_families(body.decode())}
    assert [s.value for s in families["crm_jobs"].samples if s.name.endswith("_total")] == [4.0]
    assert [s.labels["pid"] for s in families["crm_busy"].samples] == [str(os.getpid())]
    mark_worker_dead(os.getpid())
    body, _ = render_exposition(metrics.registry, None)
    assert "crm_busy{" not in body.decode()


def test_mark_worker_dead_needs_a_directory(value_class: None, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR is not set"):
        mark_worker_dead(123)
    mark_worker_dead(123, tmp_path)  # nothing to remove: fine
