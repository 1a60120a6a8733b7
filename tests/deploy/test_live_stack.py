"""End to end on loopback: the four services started by the Dockerfile's own CMD, the real
Prometheus on the committed local config, the real Alertmanager on the committed routes.

Only addresses change (free ports instead of 8081-8084/9093/9095, 127.0.0.1 instead of
0.0.0.0); the rules and routes are the committed ones.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from crm_observability import conventions as names
from crm_observability.generators.deploy import alertmanager_local, prometheus_local
from crm_observability.generators.deploy.local import rule_files
from tests.deploy.conftest import ROOT, require_tool
from tests.support import free_port

APPS = ("contacts", "deals", "leads", "accounts")
DOCKERFILE = ROOT / "deploy/Dockerfile"


def dockerfile_json(instruction: str) -> list[str]:
    """The exec-form argument list of the last ``instruction`` (CMD, or HEALTHCHECK's CMD)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip().startswith(instruction)]
    body = lines[-1][len(instruction):].strip()
    if instruction == "HEALTHCHECK":
        body = body[body.index("CMD ") + 4:]
    return list(json.loads(body))


def wait_for(check: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except (httpx.HTTPError, OSError, ValueError) as exc:  # ValueError: 503 text, not JSON
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


class _Hooks(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


def _start(argv: list[str], log: Path, **options: Any) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **options)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[dict[str, int]]:
    cmd = [part.replace("0.0.0.0", "127.0.0.1") for part in dockerfile_json("CMD")]
    bin_dir = str(Path(sys.executable).parent)
    ports = {app: free_port() for app in APPS}
    children = []
    try:
        for app, port in ports.items():
            env = {**os.environ, "CRM_SERVICE": app, "PORT": str(port),
                   "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
                   "PYTHONPATH": str(ROOT), "CRM_OBS_LOG_FORMAT": "json",
                   "DATABASE_URL": f"sqlite:///{tmp_path / app}.db",
                   "CONTACTS_SERVICE_URL": f"http://127.0.0.1:{ports['contacts']}",
                   "ACCOUNTS_SERVICE_URL": f"http://127.0.0.1:{ports['accounts']}"}
            env.pop("REDIS_URL", None)
            children.append(_start(cmd, tmp_path / f"{app}.log", env=env, cwd=tmp_path))
        for (app, port), child in zip(ports.items(), children, strict=True):
            def live(p: int = port, c: subprocess.Popen[bytes] = child, a: str = app) -> bool:
                if c.poll() is not None:  # crashed: fail now, with its output
                    log = (tmp_path / f"{a}.log").read_text(errors="replace")[-2000:]
                    raise AssertionError(f"{a}-service exited {c.returncode}:\n{log}")
                url = f"http://127.0.0.1:{p}{names.LIVENESS_PATH}"
                return httpx.get(url, timeout=2).status_code == 200

            wait_for(live, 120, f"{app}-service")
        yield ports
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()




def test_prometheus_and_alertmanager_run_the_committed_configs(
        services: dict[str, int], tmp_path: Path) -> None:
    prometheus = require_tool("prometheus")
    alertmanager = require_tool("prometheus-alertmanager")
    # The image's HEALTHCHECK passes against a running service.
    check = dockerfile_json("HEALTHCHECK")
    env = {**os.environ, "PORT": str(services["deals"])}
    assert subprocess.run(check, env=env, timeout=10, check=False).returncode == 0

    hooks = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    am_port, prom_port = free_port(), free_port()
    am_config = alertmanager_local(ROOT, webhook_base=f"http://127.0.0.1:{hooks.server_port}")
    (tmp_path / "am.yml").write_text(yaml.safe_dump(am_config))
    targets = [f"127.0.0.1:{services[app]}" for app in APPS]
    config = prometheus_local(ROOT, targets=targets, alertmanager=f"127.0.0.1:{am_port}")
    (tmp_path / "prom.yml").write_text(yaml.safe_dump(config))
    am = _start([alertmanager, f"--config.file={tmp_path / 'am.yml'}",
                 f"--storage.path={tmp_path / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
                 "--cluster.listen-address="], tmp_path / "am.log")
    prom = _start([prometheus, f"--config.file={tmp_path / 'prom.yml'}",
                   f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                   f"--web.listen-address=127.0.0.1:{prom_port}"], tmp_path / "prom.log")
    api = f"http://127.0.0.1:{prom_port}/api/v1"
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{am_port}/-/ready").status_code == 200,
                 30, "alertmanager")
        # A page goes to the paging webhook through the committed route.
        alert = [{"labels": {"alertname": "DeployTestPage", "severity": "page",
                             "service": "contacts-service", "slo": "availability"}}]
        httpx.post(f"http://127.0.0.1:{am_port}/api/v2/alerts", json=alert).raise_for_status()

        def targets_up() -> list[dict[str, Any]] | None:
            active = httpx.get(f"{api}/targets").json()["data"]["activeTargets"]
            mine = [t for t in active if t["labels"]["job"] == "crm-services"]
            return mine if len(mine) == 4 and all(t["health"] == "up" for t in mine) else None

        up = wait_for(targets_up, 60, "every service target up")
        assert sorted(t["labels"]["instance"] for t in up) == sorted(targets)

        def rules_evaluated() -> list[dict[str, Any]] | None:
            groups = httpx.get(f"{api}/rules").json()["data"]["groups"]
            rules = [r for g in groups for r in g["rules"]]
            return rules if rules and all(r["health"] != "unknown" for r in rules) else None

        rules = wait_for(rules_evaluated, 60, "every rule evaluated")
        assert [r["name"] for r in rules if r["health"] != "ok"] == []
        assert all(not r.get("lastError") for r in rules)
        expected = sum(len(g["rules"]) for f in rule_files(config)
                       for g in yaml.safe_load(f.read_text())["groups"])
        assert len(rules) == expected > 50
        files = {g["file"] for g in httpx.get(f"{api}/rules").json()["data"]["groups"]}
        assert files == {str(p) for p in rule_files(config)}

        wait_for(lambda: any(path == "/page" for path, _ in _Hooks.received), 30,
                 "the page webhook")
        payload = next(body for hook, body in _Hooks.received if hook == "/page")
        assert payload["receiver"] == "page"
        assert payload["alerts"][0]["labels"]["alertname"] == "DeployTestPage"
    finally:
        for child in (prom, am):
            child.terminate()
            child.wait(timeout=15)
        hooks.shutdown()
        hooks.server_close()


def test_healthcheck_fails_when_nothing_listens() -> None:
    check = dockerfile_json("HEALTHCHECK")
    env = {**os.environ, "PORT": str(free_port())}
    out = subprocess.run(check, env=env, timeout=10, check=False, capture_output=True)
    assert out.returncode != 0, shlex.join(check)
