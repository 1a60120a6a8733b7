"""Ctrl-C on a real ``crm-obs demo`` process stops every process it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.demo.conftest import alive, processes_mentioning

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_stops_every_child(tmp_path: Path, demo_binaries: None,
                                     sig: signal.Signals) -> None:
    out = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    demo = subprocess.Popen(
        [sys.executable, "-m", "crm_observability.cli", "demo", "--fast", "--duration", "300",
         "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        state = out / "processes.json"
        deadline = time.monotonic() + 90
        while not state.exists() and demo.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert state.exists(), demo.stderr.read().decode() if demo.stderr else ""
        time.sleep(1)  # let the load start
        pids = json.loads(state.read_text())["processes"]
        assert all(alive(pid) for pid in pids.values())
        demo.send_signal(sig)
        code = demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert code == 130
    assert demo.stderr is not None and demo.stderr.read().decode().endswith(
        "crm-obs: interrupted\n")
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert processes_mentioning(str(out)) == []
