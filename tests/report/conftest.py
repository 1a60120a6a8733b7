"""Real servers for the report tests: a Prometheus holding 30 days of backfilled history.

In CI (``CI=true``) a missing promtool/prometheus/chromium fails the tests; elsewhere
they are skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm_observability.demo.stack import prometheus_config, start_prometheus
from crm_observability.demo.supervisor import Supervisor
from tests.report import synthetic


def require_tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                  else None)
    if path is None:
        message = f"{name} is not installed (Debian packages prometheus, chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def history_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TSDB with the synthetic 30 days, built by ``promtool tsdb create-blocks-from``."""
    promtool = require_tool("promtool")
    work = tmp_path_factory.mktemp("history")
    source = work / "history.om"
    source.write_text(synthetic.openmetrics(), encoding="utf-8")
    data = work / "prometheus" / "data"
    result = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "-q",
                             str(source), str(data)], capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    return work / "prometheus"


@pytest.fixture(scope="session")
def history_prometheus(history_dir: Path) -> Iterator[str]:
    """Base URL of a real Prometheus serving the backfilled history (no rules)."""
    binary = require_tool("prometheus")
    with Supervisor(history_dir / "logs") as supervisor:
        _, url = start_prometheus(supervisor, prometheus_config({}), history_dir, binary=binary)
        yield url


@pytest.fixture(scope="session")
def history_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spec") / "history.slo.yml"
    path.write_text(synthetic.SPEC, encoding="utf-8")
    return path
