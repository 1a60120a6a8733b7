"""Distinct users seen in a sliding window: the value of ``crm_users_active``.

An insertion-ordered dict keyed by (tenant, user) with the last-seen time;
seeing a user moves it to the end, so expired entries are always at the front
and pruning stops at the first fresh one.  Bounded: past ``max_users`` the
oldest entry is evicted (the gauge then under-counts rather than grows).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

ACTIVE_WINDOW_S = 300.0  # "active" = seen in the last 5 minutes
MAX_TRACKED_USERS = 100_000


class ActiveUsers:
    def __init__(self, window_s: float = ACTIVE_WINDOW_S, max_users: int = MAX_TRACKED_USERS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s, self.max_users, self._clock = window_s, max_users, clock
        self._seen: OrderedDict[tuple[str, str], float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, tenant_id: str, user_id: str) -> None:
        key = (tenant_id, user_id)
        now = self._clock()
        with self._lock:
            self._seen[key] = now
            self._seen.move_to_end(key)
            if len(self._seen) > self.max_users:
                self._seen.popitem(last=False)

    def count(self) -> float:
        """Users seen within the window (prunes the expired ones)."""
        cutoff = self._clock() - self.window_s
        with self._lock:
            while self._seen:
                _, first_seen = next(iter(self._seen.items()))
                if first_seen >= cutoff:
                    break
                self._seen.popitem(last=False)
            return float(len(self._seen))
