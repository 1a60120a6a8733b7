"""Start child processes in their own process groups; stop every one of them, always.

Each child gets ``start_new_session=True`` so one ``killpg`` reaches whatever it
forks (uvicorn workers, shells), and nothing is left behind when the demo is
interrupted: :meth:`Supervisor.stop_all` sends SIGTERM to every group, waits,
then SIGKILLs the stragglers.  Output goes to one log file per child.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import requests

STOP_TIMEOUT_S = 10.0


class StartError(Exception):
    """A child did not start or did not become ready; the message is one line."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 5) -> str:
        """The last lines of the child's log, for error messages."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Supervisor:
    """Owns every child it started; use as a context manager so they always stop."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
              cwd: Path | None = None) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "wb") as out:
            try:
                process = subprocess.Popen(
                    list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    env=dict(env) if env is not None else None, cwd=cwd,
                    start_new_session=True)
            except OSError as exc:
                raise StartError(f"{name}: cannot start {argv[0]}: "
                                 f"{exc.strerror or exc}") from None
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def wait_ready(self, child: Child, url: str, timeout_s: float = 30.0) -> None:
        """Poll ``url`` until it answers 200; fail fast when the child exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = child.process.poll()
            if code is not None:
                raise StartError(f"{child.name} exited with status {code}: {child.tail()}")
            try:
                if requests.get(url, timeout=1.0).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise StartError(f"{child.name} was not ready at {url} after {timeout_s:g}s: "
                         f"{child.tail()}")

    def check(self) -> None:
        """Raise when a child has exited on its own."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                raise StartError(f"{child.name} exited with status {code}: {child.tail()}")

    def stop_all(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM every child's process group, wait, then SIGKILL what is left."""
        with _interrupts_deferred():  # a second Ctrl-C must not leave orphans
            self._stop_all(timeout_s)

    def _stop_all(self, timeout_s: float) -> None:
        for child in reversed(self.children):
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in reversed(self.children):
            try:
                child.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _signal_group(child, signal.SIGKILL)
                child.process.wait()
            # Grandchildren still in the group (a child that forked and exited).
            _signal_group(child, signal.SIGKILL)
        self.children.clear()


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Ignore SIGINT/SIGTERM while cleaning up (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _signal_group(child: Child, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, sig)  # pid == pgid: start_new_session made it a leader
