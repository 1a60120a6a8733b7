"""Real processes for the end-to-end test: the four reference services and Prometheus.

Everything listens on 127.0.0.1 on free ports and writes into one temporary
directory; logs go to files there so a failure can quote them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from crm_observability import conventions as names
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("contacts", "deals", "leads", "accounts")
ENVIRONMENT = "testing"  # CRM_OBS_ENVIRONMENT of every service: the $environment value
SCRAPE_INTERVAL = "1s"
SERVICES_JOB = "crm-services"  # one job for the four services, as deploy/prometheus/ has
START_TIMEOUT_S = 90.0  # four Python imports at once on a busy two-core machine
STOP_TIMEOUT_S = 10.0


def missing(reason: str) -> None:
    """Skip locally, fail in CI (``CI=true``): there a missing tool is a broken build."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)



def service_name(service: str) -> str:
    """``contacts`` -> ``contacts-service`` (the ``service`` label and SLO spec name)."""
    return f"{service}-service"


def log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Process:
    """One child process we started, its log file, and where it listens."""

    name: str
    url: str
    log: Path
    popen: subprocess.Popen[bytes]

    def stop(self) -> None:
        """SIGTERM (uvicorn drains, Prometheus flushes), then SIGKILL after the timeout."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def spawn(name: str, url: str, argv: Sequence[str], log: Path,
          env: Mapping[str, str] | None = None) -> Process:
    with log.open("wb") as out:  # the child keeps its own handle
        popen = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, env=dict(env or os.environ))
    return Process(name, url, log, popen)


def wait_ready(processes: Iterable[Process], path: str,
               timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``path`` on every process until it answers 200; fail quoting the log if not."""
    pending = list(processes)
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for proc in list(pending):
                code = proc.popen.poll()
                if code is not None:
                    raise AssertionError(f"{proc.name} exited with {code} before it was ready:\n"
                                         f"{log_tail(proc.log)}")
                try:
                    if client.get(proc.url + path).status_code == 200:
                        pending.remove(proc)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise AssertionError(f"{', '.join(p.name for p in pending)} not ready on {path} "
                                     f"after {timeout_s:.0f} s:\n{log_tail(pending[0].log)}")
            if pending:
                time.sleep(0.2)


def service_env(service: str, ports: Mapping[str, int], work: Path, *, secret: str,
                redis_url: str, http_buckets: str) -> dict[str, str]:
    """The environment a deployment gives one service (deploy/k8s/<env>/ ConfigMaps)."""
    env = dict(os.environ)
    env.pop("CI", None)  # the services do not care, and must not change behaviour by it
    env.update({
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p),
        "DATABASE_URL": f"sqlite:///{work / f'crm-{service}.db'}",
        "REDIS_URL": redis_url,
        "CRM_JWT_SECRET": secret,
        "CRM_OBS_ENVIRONMENT": ENVIRONMENT,
        "CRM_OBS_HTTP_BUCKETS": http_buckets,
        "CONTACTS_SERVICE_URL": f"http://127.0.0.1:{ports['contacts']}",
        "ACCOUNTS_SERVICE_URL": f"http://127.0.0.1:{ports['accounts']}",
    })
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"):
        env.pop(var, None)  # spans stay in process; the name comes from the service
    return env


def start_service(service: str, port: int, env: Mapping[str, str], work: Path) -> Process:
    argv = [sys.executable, "-m", "uvicorn", f"reference_services.{service}.app:app",
            "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    return spawn(service_name(service), f"http://127.0.0.1:{port}", argv,
                 work / f"{service}.log", env)


def rule_files() -> list[Path]:
    """The committed rule files Prometheus loads: SLO rules and the platform alerts."""
    return [*sorted((ROOT / "slo" / "rules").glob("*.rules.yml")),
            ROOT / names.PLATFORM_RULES_FILE]


def prometheus_config(targets: Sequence[str], self_target: str,
                      rules: Sequence[Path]) -> dict[str, Any]:
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL,
                   "scrape_timeout": SCRAPE_INTERVAL},
        "rule_files": [str(p) for p in rules],
        "scrape_configs": [
            {"job_name": SERVICES_JOB, "metrics_path": names.METRICS_PATH,
             "honor_labels": True, "static_configs": [{"targets": list(targets)}]},
            {"job_name": "prometheus", "static_configs": [{"targets": [self_target]}]},
        ],
    }


def start_prometheus(targets: Sequence[str], work: Path) -> Process:
    binary = shutil.which("prometheus")
    if binary is None:
        missing("prometheus is not installed (apt-get install prometheus)")
    assert binary is not None
    port = free_port()
    address = f"127.0.0.1:{port}"
    config = work / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(targets, address, rule_files())))
    argv = [binary, f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address={address}", "--storage.tsdb.retention.time=1d",
            # the latency panels ask for exemplars (trace links); 2.42 stores them only so
            "--enable-feature=exemplar-storage"]
    return spawn("prometheus", f"http://{address}", argv, work / "prometheus.log")
