"""Helpers for the demo tests: binaries (a failure in CI, a skip elsewhere), process checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.report.conftest import require_tool

__all__ = ["alive", "processes_mentioning", "require_demo_binaries", "require_tool"]


def require_demo_binaries() -> None:
    require_tool("prometheus")
    if not (Path("/usr/bin/prometheus-alertmanager").exists()
            or Path("/usr/bin/alertmanager").exists()):
        require_tool("prometheus-alertmanager")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - someone else's process reused the pid
        return True
    # A zombie is dead for our purposes.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def processes_mentioning(text: str) -> list[int]:
    """Pids whose command line or environment mentions ``text`` (our own output dir)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            blob = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:
            continue
        if text.encode() in blob and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


@pytest.fixture
def demo_binaries() -> None:
    require_demo_binaries()
