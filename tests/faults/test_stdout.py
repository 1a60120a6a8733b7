"""stdout closed or full: a real contacts-service (uvicorn in a child process) keeps serving.

- ``full``: stdout is a pipe nobody reads; it fills after ~150 access lines;
- ``broken``: stdout is a pipe whose read end is closed (EPIPE on every write);
- ``closed``: file descriptor 1 is closed before the interpreter starts.

Every request is answered 200 within a bounded time; the service still answers
its probes; the lost lines are counted (``crm_observability_telemetry_errors_total``).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm_observability import conventions as names
from reference_services.common.auth import DEFAULT_ROLES, issue_token
from tests.faults.servers import ServiceProcess

SECRET = "faults-only-secret-0123456789abcdef0123456789"
REQUESTS = 600  # ~270 KB of access lines: four times a Linux pipe buffer
PER_REQUEST_LIMIT_S = 2.0


def _start(mode: str, tmp_path: Path) -> ServiceProcess:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/contacts.db", "CRM_JWT_SECRET": SECRET,
           "CRM_OBS_ENVIRONMENT": "testing"}
    if mode == "closed":
        return ServiceProcess("contacts", env, stdout=None, close_stdout=True)
    svc = ServiceProcess("contacts", env, stdout=subprocess.PIPE)
    if mode == "broken":
        assert svc.proc.stdout is not None
        svc.proc.stdout.close()
    return svc


def error_count_query(text: str) -> float:
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == names.TELEMETRY_ERRORS_TOTAL)


# A full pipe used to block the logging handler's write(), and with it the event loop;
# lines to stdout now go through a bounded background writer (logging/writer.py).


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["full", "broken", "closed"])
def test_service_keeps_serving_when_stdout_fails(mode: str, tmp_path: Path) -> None:
    svc = _start(mode, tmp_path)
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    token = issue_token(SECRET, tenant=tenant, user="u", roles=DEFAULT_ROLES)
    try:
        svc.wait_ready(names.LIVEZ_PATH, timeout=60)
        with httpx.Client(base_url=svc.url, timeout=PER_REQUEST_LIMIT_S,
                          headers={"authorization": f"Bearer {token}"}) as c:
            made = c.post("/api/v1/contacts", json={
                "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"})
            assert made.status_code == 201
            path = f"/api/v1/contacts/{made.json()['id']}"
            slowest = 0.0
            for _ in range(REQUESTS):
                start = time.monotonic()
                assert c.get(path).status_code == 200
                slowest = max(slowest, time.monotonic() - start)
            assert slowest < PER_REQUEST_LIMIT_S
            assert c.get(names.READINESS_PATH).status_code == 200
            if mode != "full":  # a full pipe only queues these lines (up to 10,000 are held)
                assert error_count_query(c.get(names.METRICS_PATH).text) >= 1
    finally:
        svc.stop(timeout=3)  # a blocked process cannot drain: killed after 3 s
        if svc.proc.stdout is not None and not svc.proc.stdout.closed:
            svc.proc.stdout.close()
