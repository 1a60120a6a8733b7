"""Lines to stdout are written by a daemon thread from a bounded buffer.

A stdout pipe that nobody reads would otherwise block ``write()`` on the event
loop, and with it every request, the probes included.  Here the request path only
appends the formatted line; the writer thread does the (possibly blocking) write.
Past ``max_lines`` waiting lines, new lines are dropped and counted
(``crm_observability_spans_dropped_total``'s sibling: ``errors.count_dropped("logging")``).
Lines are flushed at exit, and the thread is restarted in a forked child.

The thread writes every ``_IDLE_S`` (25 ms), or at once when a full batch waits:
a line reaches stdout at most that late.  Each wake-up of a thread costs the
event loop a GIL hand-off (~40 µs here): at ~2,000 lines/s the thread spent
~8 µs per line waking every 5 ms and ~2 µs waking every 25 ms
(``python -m bench.bench_writer``).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from collections import deque
from typing import Protocol, TextIO

from crm_observability import errors

__all__ = ["LineWriter", "PendingText"]

COMPONENT = "logging"
_IDLE_S = 0.025  # lines gather this long between writes (unless a batch is already waiting)
_BATCH = 512  # lines per write


class PendingText(Protocol):
    """A line whose rendering waits for the writer thread (see ``access_json.PendingLine``)."""

    def render(self) -> str: ...


class LineWriter:
    """Writes queued lines to ``sys.stdout`` (resolved at write time) in the background."""

    def __init__(self, max_lines: int = 10_000) -> None:
        self.max_lines = max_lines
        self._lines: deque[str | PendingText] = deque()
        self._lock = threading.Lock()  # one writer at a time: the thread, or a flush
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._start()
        atexit.register(self.close)
        os.register_at_fork(after_in_child=self._after_fork)

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="crm-obs-log-writer", daemon=True)
        self._thread.start()

    def _after_fork(self) -> None:
        # The parent writes what it had queued; the child starts empty, with a lock of its
        # own (the parent's writer may have held it at the fork) and a thread of its own.
        self._lines = deque()
        self._lock = threading.Lock()
        self._start()

    def put(self, line: str | PendingText) -> None:
        """Queue one line (without its newline), or one to render when written; drop and
        count it when the buffer is full."""
        if len(self._lines) >= self.max_lines:
            errors.count_dropped(COMPONENT)
            errors.report_failure(COMPONENT, "stdout is not being read: log lines dropped")
            return
        self._lines.append(line)

    def flush(self, stream: TextIO | None = None, timeout_s: float = 1.0) -> bool:
        """Write everything queued now (in the caller's thread); False if stdout is stuck."""
        if not self._lock.acquire(timeout=timeout_s):
            return False  # the writer is blocked on a full pipe: do not hang with it
        try:
            self._drain(stream)
        finally:
            self._lock.release()
        return True

    def close(self) -> None:
        self._stopped = True
        self.flush()

    def _run(self) -> None:
        while not self._stopped:
            # Lines gather for a moment before each write: draining as soon as one is queued
            # would wake this thread (and take the GIL from the event loop) once per line.
            if len(self._lines) < _BATCH:
                time.sleep(_IDLE_S)
            if self._lines:
                with self._lock:
                    self._drain(None)

    def _drain(self, stream: TextIO | None) -> None:
        lines = self._lines
        while lines:
            batch: list[str] = []
            while lines and len(batch) < _BATCH:
                item = lines.popleft()
                if not isinstance(item, str):
                    try:
                        item = item.render()
                    except Exception as exc:  # an unrenderable value: this line is lost
                        errors.count_dropped(COMPONENT)
                        errors.report_failure(COMPONENT, exc)
                        continue
                batch.append(item)
            try:
                out = stream or sys.stdout
                out.write("\n".join(batch) + "\n")
                out.flush()
            except Exception as exc:  # a closed or broken pipe: the lines are lost, counted
                errors.count_dropped(COMPONENT, len(batch))
                errors.report_failure(COMPONENT, exc)
