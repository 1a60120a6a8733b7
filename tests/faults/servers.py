"""Private dependencies and real service processes for fault injection (and the benchmarks).

Everything listens on 127.0.0.1 on a free port and lives in a temp directory:
the shared PostgreSQL (5432) and Redis (6379) are never stopped or touched.
In CI (``CI=true``) a missing binary fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Any

from tests.tracing.otlp_receiver import free_port

__all__ = [
    "PrivatePostgres",
    "PrivateRedis",
    "ServiceProcess",
    "free_port",
    "require",
    "rss_bytes",
    "unavailable",
]

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("CRM_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


def unavailable(reason: str) -> None:
    """Skip, or fail in CI, where every tool must be present."""
    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def require(binary: str) -> str:
    """The path of ``binary`` (a name on PATH or an absolute path), or skip/fail."""
    found = binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else shutil.which(
        binary)
    if not found:
        unavailable(f"{binary} not found")
    return str(found)


def rss_bytes(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class PrivatePostgres:
    """initdb + pg_ctl in a temp dir on a free port (as user postgres when we are root)."""

    def __init__(self) -> None:
        require(str(PG_BIN / "initdb"))
        self.root = Path(tempfile.mkdtemp(prefix="crm-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.prefix:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.prefix, str(PG_BIN / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=50")
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def destroy(self) -> None:
        subprocess.run([*self.prefix, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "stop"], capture_output=True, timeout=30, check=False)
        shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """``redis-server --port <free> --save ''`` (no persistence), stopped by pid."""

    def __init__(self) -> None:
        self.binary = require("redis-server")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("private redis did not start") from None
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None


def _close_fd1() -> None:
    os.close(1)


class ServiceProcess:
    """``uvicorn reference_services.<service>.app:app`` in a child process on a free port."""

    def __init__(self, service: str, env: dict[str, str], *, stdout: int | IO[Any] | None =
                 subprocess.DEVNULL, stderr: int | IO[Any] | None = subprocess.DEVNULL,
                 core: str | None = None, app: str | None = None,
                 close_stdout: bool = False) -> None:
        self.service = service
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        target = app or f"reference_services.{service}.app:app"
        cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1",
               "--port", str(self.port), "--no-access-log", "--log-level", "warning",
               # uvicorn's own formatter asks sys.stdout.isatty() unless told: with fd 1
               # closed that crashes uvicorn before the app is imported.
               "--no-use-colors"]
        if core is not None:
            cmd = ["taskset", "-c", core, *cmd]
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("CRM_OBS_", "OTEL_", "DATABASE_URL", "REDIS_URL"))}
        full_env.update(PYTHONPATH=str(ROOT), **env)
        # close_stdout: file descriptor 1 is closed in the child before the interpreter starts.
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdout=stdout, stderr=stderr,
                                     preexec_fn=_close_fd1 if close_stdout else None)

    def wait_ready(self, path: str = "/livez", timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.service} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=1) as resp:
                    resp.read()
                    return
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.service} did not answer {path}") from None
                time.sleep(0.1)

    def rss(self) -> int:
        return rss_bytes(self.proc.pid)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
