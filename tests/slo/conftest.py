"""Shared fixtures for the SLO tests: the promtool binary, spec and golden paths."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

HERE = Path(__file__).parent
SPECS = HERE / "specs"
GOLDEN = HERE / "golden"
ROOT = HERE.parent.parent
UPDATE_GOLDEN = os.environ.get("CRM_OBS_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of promtool; missing is a failure in CI and a skip elsewhere."""
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is not installed (apt-get install prometheus)")
        pytest.skip("promtool is not installed")
    return path


@pytest.fixture()
def run_promtool(promtool: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=300)

    return run


@pytest.fixture()
def promtool_test(promtool: str) -> Callable[[Sequence[str]], tuple[int, str]]:
    """Run ``promtool test rules`` on each file in its own process, concurrently."""

    def run(files: Sequence[str]) -> tuple[int, str]:
        procs = [subprocess.Popen([promtool, "test", "rules", f], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for f in files]
        outputs = [p.communicate(timeout=300)[0] for p in procs]
        return max(p.returncode for p in procs), "\n".join(outputs)

    return run
