"""``crm-obs demo``: the whole system on loopback, an incident, its alerts and its report.

Order: generate rules and configs into the output directory, seed the SQLite
databases, start the webhook receiver, Alertmanager, the four services and
Prometheus (each in its own process group), run the load with the scripted
incident, then report.  Whatever happens (Ctrl-C, SIGTERM, a child dying), every
process started is stopped before returning.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.live import Live

from crm_observability import conventions as names
from crm_observability.demo import scenario, stack
from crm_observability.demo.faults import FAULTS_ENV, SERVICE_ENV, Faults, write_faults
from crm_observability.demo.load import LoadGenerator
from crm_observability.demo.progress import alerts_table, live_view
from crm_observability.demo.supervisor import Supervisor, free_port
from crm_observability.demo.webhook import AlertReceiver
from crm_observability.generators.alerts import render_alert_rules
from crm_observability.generators.slo_rules import render_rule_file
from crm_observability.slo.model import SLOSpec

SERVICES = ("contacts", "deals", "leads", "accounts")
# The latency-p99 SLOs need a 2 s bucket (see slo/*.slo.yml).
DEMO_BUCKETS = "0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2,2.5,5,7.5,10"
TICK_S = 1.0
JOB = "crm-services"  # the job name of deploy/prometheus/


@dataclass(frozen=True)
class DemoOptions:
    out: Path
    specs: tuple[SLOSpec, ...]
    fast: bool = True
    duration_s: float | None = None
    base_port: int | None = None  # None: free ports
    rate: float = 20.0  # requests per second, all services together


@dataclass(frozen=True)
class Ports:
    services: dict[str, int]
    prometheus: int
    alertmanager: int
    webhook: int

    @classmethod
    def pick(cls, base: int | None) -> Ports:
        if base is None:
            return cls({s: free_port() for s in SERVICES}, free_port(), free_port(), free_port())
        return cls({s: base + i for i, s in enumerate(SERVICES)}, base + 4, base + 5, base + 6)


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """``kill <pid>`` cleans up like Ctrl-C does."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def write_rules(out: Path, specs: tuple[SLOSpec, ...]) -> list[str]:
    rules = out / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = rules / f"{spec.service}.rules.yml"
        path.write_text(render_rule_file(spec), encoding="utf-8")
        paths.append(str(path))
    platform = rules / "crm-platform.rules.yml"
    platform.write_text(render_alert_rules(), encoding="utf-8")
    return [*paths, str(platform)]


def service_env(out: Path, ports: Ports, service: str, faults: Path, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the children import both packages
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.update({
        SERVICE_ENV: service,
        "DATABASE_URL": f"sqlite:///{out / 'db' / f'crm-{service}.db'}",
        "CONTACTS_SERVICE_URL": f"http://127.0.0.1:{ports.services['contacts']}",
        "ACCOUNTS_SERVICE_URL": f"http://127.0.0.1:{ports.services['accounts']}",
        "CRM_JWT_SECRET": secret,
        "CRM_OBS_ENVIRONMENT": "testing",
        "CRM_OBS_LOG_LEVEL": "WARNING",
        "CRM_OBS_ACCESS_LOG": "false",
        "CRM_OBS_TRACING_ENABLED": "false",
        "CRM_OBS_HTTP_BUCKETS": DEMO_BUCKETS,
    })
    env.pop(FAULTS_ENV, None)
    if service == scenario.INCIDENT_SERVICE:
        env[FAULTS_ENV] = str(faults)
    return env


def seed_databases(out: Path) -> None:
    from reference_services.common.seed import seed

    (out / "db").mkdir(parents=True, exist_ok=True)
    seed({s: f"sqlite:///{out / 'db' / f'crm-{s}.db'}" for s in SERVICES}, "development")


def run_demo(options: DemoOptions, console: Console | None = None) -> int:
    # Not a terminal (CI logs, a pipe): wide enough for the report table.
    console = console or Console(width=None if sys.stdout.isatty() else 200)
    mode = scenario.FAST if options.fast else scenario.NORMAL
    duration = options.duration_s or mode.default_duration_s
    prometheus_bin = stack.find_binary(stack.PROMETHEUS)
    alertmanager_bin = stack.find_binary(*stack.ALERTMANAGER)
    specs = tuple(scenario.fast_specs(options.specs) if options.fast else options.specs)
    out = options.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    ports = Ports.pick(options.base_port)
    rule_files = write_rules(out, specs)
    faults_file = out / "faults.json"
    write_faults(faults_file, Faults())
    secret = secrets.token_hex(32)
    console.print(f"[bold]crm-obs demo[/] → {out} ({'fast' if options.fast else 'normal'} mode, "
                  f"{duration:.0f}s)")
    seed_databases(out)
    with sigterm_as_interrupt(), Supervisor(out / "logs") as supervisor, \
            AlertReceiver(ports.webhook) as receiver:
        _, am_url = stack.start_alertmanager(
            supervisor, stack.alertmanager_config(receiver.url, group_wait=mode.group_wait),
            out / "alertmanager", binary=alertmanager_bin, port=ports.alertmanager)
        urls = {}
        for service, port in ports.services.items():
            child = supervisor.start(f"{service}-service", [
                sys.executable, "-m", "uvicorn", "crm_observability.demo.faults:create_app",
                "--factory", "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                "--log-level", "warning"], env=service_env(out, ports, service, faults_file,
                                                           secret))
            urls[service] = f"http://127.0.0.1:{port}"
            supervisor.wait_ready(child, urls[service] + names.LIVENESS_PATH, timeout_s=60)
        targets = {JOB: [f"127.0.0.1:{p}" for p in ports.services.values()]}
        config = stack.prometheus_config(targets, rule_files=rule_files,
                                         alertmanager=f"127.0.0.1:{ports.alertmanager}",
                                         interval=mode.interval)
        _, prom_url = stack.start_prometheus(supervisor, config, out / "prometheus",
                                             binary=prometheus_bin, port=ports.prometheus)
        _write_processes(out, supervisor, prom_url, am_url, urls, receiver.url)
        console.print(f"Prometheus {prom_url}  Alertmanager {am_url}  services "
                      + " ".join(f"{s}={u}" for s, u in urls.items()))
        started = time.time()
        _run_load(console, supervisor, urls, secret, faults_file, duration, options.rate,
                  prom_url, receiver)
        return _finish(console, out, specs, prom_url, receiver, started)


def _write_processes(out: Path, supervisor: Supervisor, prometheus: str, alertmanager: str,
                     services: dict[str, str], webhook: str) -> None:
    data = {"demo_pid": os.getpid(), "prometheus": prometheus, "alertmanager": alertmanager,
            "services": services, "webhook": webhook,
            "processes": {c.name: c.pid for c in supervisor.children}}
    (out / "processes.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _firing(prom_url: str) -> list[str]:
    from crm_observability.report import PrometheusClient, QueryError

    try:
        samples = PrometheusClient(prom_url, timeout_s=2, retries=0).query(
            f'{names.ALERTS_SERIES}{{{names.LABEL_ALERTSTATE}="firing"}}', time.time())
    except QueryError:
        return []
    return sorted({f"{s.labels.get(names.LABEL_ALERTNAME)}"
                   f"({s.labels.get(names.LABEL_SERVICE, '')}"
                   f"{'/' + s.labels[names.LABEL_SLO] if names.LABEL_SLO in s.labels else ''})"
                   for s in samples})


def _run_load(console: Console, supervisor: Supervisor, urls: dict[str, str], secret: str,
              faults_file: Path, duration: float, rate: float, prom_url: str,
              receiver: AlertReceiver) -> None:
    from reference_services.common.auth import issue_token

    phases = scenario.timeline(duration)
    load = LoadGenerator(urls, issue_token(secret, tenant="demo", user="loadgen"), rate=rate)
    load.start()
    start = time.monotonic()
    current: scenario.Phase | None = None
    try:
        with Live(console=console, auto_refresh=False, transient=False) as live:
            while (elapsed := time.monotonic() - start) < duration:
                supervisor.check()
                phase = scenario.phase_at(phases, elapsed)
                if phase is not current:
                    current = phase
                    write_faults(faults_file, phase.faults)
                    live.console.print(f"[dim]{elapsed:5.0f}s[/] phase [bold]{phase.name}[/]: "
                                       f"{phase.description}")
                live.update(live_view(phase, elapsed, duration, load.stats(),
                                      _firing(prom_url), len(receiver.alerts())), refresh=True)
                time.sleep(TICK_S)
    finally:
        load.stop()
        write_faults(faults_file, Faults())


def _finish(console: Console, out: Path, specs: tuple[SLOSpec, ...], prom_url: str,
            receiver: AlertReceiver, started: float) -> int:
    from crm_observability.report import (
        PrometheusClient,
        build_report,
        render_html,
        render_json,
        render_markdown,
    )
    from crm_observability.report.render_table import build_table

    # Charts cover the run (plus a little before the load started).
    history = max(60, math.ceil((time.time() - started) / 10) * 10 + 10)
    with PrometheusClient(prom_url) as client:
        report = build_report(client, specs, with_history=True, history_seconds=history)
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    (out / "report.json").write_text(render_json(report), encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    alerts = receiver.alerts()
    console.print()  # the live view's last frame ends without a newline off a terminal
    (out / "alerts.json").write_text(json.dumps([_alert_dict(a) for a in alerts], indent=2)
                                     + "\n", encoding="utf-8")
    console.print(alerts_table(receiver.firing().values(), started))
    console.print(build_table(report))
    console.print(f"Report files: {out / 'report.html'}, report.md, report.json, alerts.json")
    return 0


def _alert_dict(alert: Any) -> dict[str, Any]:
    return {"status": alert.status, "labels": alert.labels, "annotations": alert.annotations,
            "starts_at": alert.starts_at, "received_at": alert.received_at}
