"""Supervisor, webhook receiver, scenario and the demo CLI's input errors."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import pytest
import requests

from crm_observability.cli import main
from crm_observability.demo import scenario, stack
from crm_observability.demo.faults import Faults
from crm_observability.demo.supervisor import StartError, Supervisor, free_port
from crm_observability.demo.webhook import AlertReceiver
from crm_observability.slo import load_spec_files, tiers_for
from tests.demo.conftest import alive, processes_mentioning

REPO = Path(__file__).resolve().parents[2]


def test_stop_all_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = f"crm-demo-test-{free_port()}"
    script = f"sleep 300 & sleep 301; : {marker}"
    with Supervisor(tmp_path) as supervisor:
        child = supervisor.start("shell", ["/bin/sh", "-c", script])
        deadline = time.monotonic() + 5
        while len(processes_mentioning(marker)) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        supervisor.check()
    assert not alive(child.pid)
    assert processes_mentioning(marker) == []


def test_child_exit_is_a_one_line_error_with_its_log(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as supervisor:
        child = supervisor.start("failing", [sys.executable, "-c",
                                             "print('bad config: x'); raise SystemExit(3)"])
        with pytest.raises(StartError, match="failing exited with status 3: bad config: x"):
            supervisor.wait_ready(child, f"http://127.0.0.1:{free_port()}/ready")
        with pytest.raises(StartError, match="failing exited with status 3"):
            supervisor.check()


def test_not_ready_in_time(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as supervisor:
        child = supervisor.start("sleeper", ["sleep", "30"])
        with pytest.raises(StartError, match=r"sleeper was not ready at .* after 0\.5s"):
            supervisor.wait_ready(child, f"http://127.0.0.1:{free_port()}/", timeout_s=0.5)


def test_missing_program(tmp_path: Path) -> None:
    with Supervisor(tmp_path) as supervisor, pytest.raises(StartError, match="cannot start"):
        supervisor.start("ghost", ["/nonexistent/ghost"])


def test_webhook_keeps_alertmanager_notifications() -> None:
    payload = {"status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "A", "service": "s", "slo": "x"},
         "annotations": {"summary": "hi"}, "startsAt": "2026-01-01T00:00:00Z"},
        {"status": "resolved", "labels": {"alertname": "B"}, "annotations": {}}]}
    with AlertReceiver() as receiver:
        assert requests.post(receiver.url, json=payload, timeout=5).status_code == 200
        assert requests.post(receiver.url, json=payload, timeout=5).status_code == 200
        assert requests.post(receiver.url, data=b"nope", timeout=5).status_code == 400
        assert requests.post(receiver.url + "x", json=payload, timeout=5).status_code == 404
        assert len(receiver.alerts()) == 4
        (first,) = receiver.firing().values()
        assert first.name == "A" and first.annotations == {"summary": "hi"}


def test_timeline_covers_the_run_with_one_incident() -> None:
    phases = scenario.timeline(100)
    assert phases[0].start_s == 0 and phases[-1].end_s == 100
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(phases))
    assert [p.faults == Faults() for p in phases] == [True, False, False, True]
    assert scenario.phase_at(phases, 20).name == "errors"
    assert scenario.phase_at(phases, 1000).name == "recovery"


def test_fast_specs_let_a_page_fire_within_minutes() -> None:
    specs = load_spec_files(sorted((REPO / "slo").glob("*.slo.yml")))
    for spec in scenario.fast_specs(specs):
        for slo in spec.slos:
            page = tiers_for(slo.period_seconds)[0]
            assert page.name == "page" and page.long_window <= 600
            assert slo.alerting.page.for_seconds == scenario.FAST_PAGE_FOR_S


def test_prometheus_config_never_times_out_after_its_interval() -> None:
    config = stack.prometheus_config({"a": ["127.0.0.1:1"]}, interval="2s")
    assert config["global"]["scrape_timeout"] == "2s"
    assert stack.prometheus_config({})["global"]["scrape_timeout"] == "10s"


@pytest.mark.parametrize(("args", "message"), [
    (["--duration", "0"], "--duration: 0 must be positive"),
    (["--rate", "-1"], "--rate: -1 must be positive"),
    (["--ports", "80"], "--ports: '80' is not auto or a port 1024-65528"),
    (["--specs", "/nonexistent"], "/nonexistent: --specs: no *.slo.yml files found"),
])
def test_demo_bad_options(args: list[str], message: str,
                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", *args]) == 2
    assert capsys.readouterr().err == f"crm-obs: {message}\n"


def test_demo_bad_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.slo.yml").write_text("apiVersion: nope\n")
    assert main(["demo", "--specs", str(tmp_path)]) == 2
    assert "x.slo.yml: apiVersion: unknown format" in capsys.readouterr().err


def test_missing_prometheus_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["demo", "--fast", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (
        "crm-obs: prometheus is not installed; install it with: "
        "apt-get install prometheus prometheus-alertmanager\n")
