"""A private Redis (the read cache) is stopped under a real contacts-service.

Reads keep answering 200 from the database (cache errors counted), readiness
follows the configured policy (Redis is a critical readiness check: 503, with
the redis component DOWN), liveness stays 200; when Redis is back, readiness
returns to 200 and reads hit the cache again, without a restart.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from crm_observability import conventions as names
from reference_services.common.auth import DEFAULT_ROLES, issue_token
from tests.faults.servers import PrivateRedis, ServiceProcess

SECRET = "faults-only-secret-0123456789abcdef0123456789"


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


def _cache(client: httpx.Client, result: str) -> float:
    text = client.get(names.METRICS_PATH).text
    return sum(s.value for fam in text_string_to_metric_families(text) for s in fam.samples
               if s.name == names.CACHE_REQUESTS_TOTAL
               and s.labels.get(names.LABEL_CACHE_RESULT) == result)


def _wait_ready(client: httpx.Client, want: int, timeout: float = 5.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        resp = client.get(names.READINESS_PATH)
        if resp.status_code == want or time.monotonic() > deadline:
            return resp
        time.sleep(0.1)


@pytest.mark.slow
def test_redis_stopped_reads_fall_back(private_redis: PrivateRedis, tmp_path: Path) -> None:
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    token = issue_token(SECRET, tenant=tenant, user="reader", roles=DEFAULT_ROLES)
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/contacts.db", "REDIS_URL": private_redis.url,
           "CRM_JWT_SECRET": SECRET, "CRM_OBS_ENVIRONMENT": "testing"}
    svc = ServiceProcess("contacts", env)
    try:
        svc.wait_ready(names.READYZ_PATH)
        with httpx.Client(base_url=svc.url, timeout=5,
                          headers={"authorization": f"Bearer {token}"}) as c:
            made = c.post("/api/v1/contacts", json={
                "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"})
            assert made.status_code == 201
            path = f"/api/v1/contacts/{made.json()['id']}"
            assert c.get(path).status_code == 200  # miss, then stored
            hits = _cache(c, "hit")
            assert c.get(path).status_code == 200
            assert _cache(c, "hit") == hits + 1

            private_redis.stop()
            errors = _cache(c, "error")
            for _ in range(5):
                resp = c.get(path)
                assert resp.status_code == 200
                assert resp.json()["last_name"] == "Hopper"  # from the database
            assert _cache(c, "error") >= errors + 5
            down = _wait_ready(c, 503)
            assert down.status_code == 503
            assert down.json()["components"]["redis"]["status"] == "DOWN"
            assert c.get(names.LIVENESS_PATH).status_code == 200

            private_redis.start()  # same port, empty
            up = _wait_ready(c, 200)
            assert up.status_code == 200, up.text
            assert up.json()["components"]["redis"]["status"] == "UP"
            hits = _cache(c, "hit")
            assert c.get(path).status_code == 200  # miss: the new Redis is empty
            assert c.get(path).status_code == 200
            assert _cache(c, "hit") == hits + 1  # cached again, same process
    finally:
        svc.stop()
