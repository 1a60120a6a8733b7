"""prometheus_client multiprocess mode (gunicorn, ``uvicorn --workers``).

Workers write their values to mmap files in ``PROMETHEUS_MULTIPROC_DIR``;
``/metrics`` merges them, so a scrape never jumps between workers' counters.

The trap (client_python #886): prometheus_client picks its value class when
``prometheus_client.values`` is first imported.  If the variable is set later,
metrics stay in process memory and are silently missing from the merged
output.  :func:`prepare_multiprocess_dir` (and every :class:`MetricsRegistry`
created while the variable is set) switches the value class, but values created
*before* that stay in memory: call it first thing in the master process,
before the app and its metrics are imported.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from prometheus_client import multiprocess, values

ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The multiprocess directory when multiprocess mode is on, else None."""
    return os.environ.get(ENV_VAR) or None


def ensure_value_class() -> bool:
    """Make prometheus_client write mmap files if the variable is set; True in multiprocess mode."""
    if multiprocess_dir() is None:
        return False
    if values.ValueClass is values.MutexValue:
        # The variable was set after prometheus_client was imported (#886).
        values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return True


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> Path:
    """Wipe ``path`` (left-over files from a previous run would be merged in), create
    it, set ``PROMETHEUS_MULTIPROC_DIR`` and switch prometheus_client to mmap values.

    Call once in the master before workers start (gunicorn ``on_starting``), and
    before any metric is created.
    """
    target = Path(path)
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    os.environ[ENV_VAR] = str(target)
    ensure_value_class()
    return target


def mark_worker_dead(pid: int, path: str | os.PathLike[str] | None = None) -> None:
    """Remove a dead worker's live gauges (gunicorn ``child_exit``).

    Its counter and histogram files stay: dropping them would make totals go
    backwards, which Prometheus reads as a counter reset.
    """
    directory = os.fspath(path) if path is not None else multiprocess_dir()
    if directory is None:
        raise ValueError(f"mark_worker_dead: {ENV_VAR} is not set and no path was given")
    multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
