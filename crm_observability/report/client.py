"""A client for the Prometheus HTTP query API (Prometheus, Thanos, Mimir, VictoriaMetrics).

Every failure becomes one :class:`QueryError` whose message is one line fit for a
terminal: unreachable, unauthorized, bad query, or a server that kept failing.
5xx and 429 answers are retried with exponential backoff (``Retry-After`` is
honoured, capped); connection errors and 4xx are not, since retrying cannot help.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

MAX_RETRY_AFTER_S = 5.0
_EXPR_IN_MESSAGE = 120  # characters of a rejected query shown in the error line


class QueryError(Exception):
    """The query API could not answer; the message is one line."""


@dataclass(frozen=True)
class Sample:
    """One series of an instant vector."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    """One series of a range query: ``(unix time, value)`` points, NaN dropped."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


class PrometheusClient:
    """Queries one query API at ``url`` (the base, without ``/api/v1``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        bearer_token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        ca_file: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise QueryError(f"--prometheus: {url!r} is not an http:// or https:// URL")
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self.retries = max(retries, 0)
        self.backoff_s = backoff_s
        self._headers = {"Accept": "application/json", **(headers or {})}
        if bearer_token:
            self._headers["Authorization"] = f"Bearer {bearer_token}"
        self._auth = basic_auth
        self._verify: bool | str = ca_file or True
        # Sessions are not documented as thread-safe: one per thread (the report
        # runs independent queries concurrently).
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    # --- public API -----------------------------------------------------------------

    def query(self, expr: str, at: float) -> list[Sample]:
        """The instant vector of ``expr`` at unix time ``at`` (NaN samples dropped)."""
        data = self._call("query", {"query": expr, "time": _ts(at)}, expr)
        return [Sample(item.get("metric", {}), v) for item in _result(data, "vector", expr)
                if not math.isnan(v := _number(item.get("value", [0, "NaN"])[1]))]

    def query_range(self, expr: str, start: float, end: float, step: float) -> list[Series]:
        """The range vector of ``expr`` from ``start`` to ``end`` every ``step`` seconds."""
        params = {"query": expr, "start": _ts(start), "end": _ts(end), "step": _ts(step)}
        data = self._call("query_range", params, expr)
        out = []
        for item in _result(data, "matrix", expr):
            points = tuple((float(t), v) for t, raw in item.get("values", [])
                           if not math.isnan(v := _number(raw)))
            out.append(Series(item.get("metric", {}), points))
        return out

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transport --------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers.update(self._headers)
            session.auth = self._auth
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _call(self, endpoint: str, params: dict[str, str], expr: str) -> Any:
        url = f"{self.url}/api/v1/{endpoint}"
        attempt = 0
        while True:
            try:
                # POST: long PromQL does not fit every proxy's URL limit.
                # verify= per request: a session's verify loses to REQUESTS_CA_BUNDLE
                # (requests #3829), and --ca-file must win.
                response = self._session().post(url, data=params, timeout=self.timeout_s,
                                                verify=self._verify)
            except requests.exceptions.SSLError as exc:
                raise QueryError(f"TLS error talking to {self.url} (use --ca-file for a "
                                 f"private CA): {_reason(exc)}") from None
            except requests.exceptions.Timeout:
                raise QueryError(f"{self.url} did not answer within {self.timeout_s:g}s "
                                 "(raise --timeout)") from None
            except requests.exceptions.RequestException as exc:
                raise QueryError(f"cannot reach {self.url}: {_reason(exc)}") from None
            status = response.status_code
            if (status >= 500 or status == 429) and attempt < self.retries:
                time.sleep(self._delay(attempt, response))
                attempt += 1
                continue
            return self._decode(response, expr, attempt + 1)

    def _delay(self, attempt: int, response: requests.Response) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), MAX_RETRY_AFTER_S)
        return float(self.backoff_s * 2**attempt)

    def _decode(self, response: requests.Response, expr: str, attempts: int) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise QueryError(f"{self.url} refused the credentials (HTTP {status}); check "
                             "--bearer-token-file or --basic-auth")
        try:
            body = response.json()
        except ValueError:
            body = None
        message = body.get("error") if isinstance(body, dict) else None
        if status in (400, 422):
            shown = expr if len(expr) <= _EXPR_IN_MESSAGE else expr[:_EXPR_IN_MESSAGE] + "..."
            raise QueryError(f"{self.url} rejected the query {' '.join(shown.split())!r}: "
                             f"{_one_line(message or response.reason or 'bad query')}")
        if status >= 300:
            tries = f" after {attempts} attempts" if attempts > 1 else ""
            raise QueryError(f"{self.url} answered HTTP {status}{tries}"
                             + (f": {_one_line(message)}" if message else ""))
        if not isinstance(body, dict) or body.get("status") != "success":
            raise QueryError(f"{self.url} did not answer like a Prometheus query API "
                             f"(HTTP {status}, {response.headers.get('Content-Type', '?')})")
        return body.get("data", {})


def _result(data: Any, kind: str, expr: str) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        raise QueryError(f"unexpected answer to {expr!r}: no data")
    result_type = data.get("resultType")
    result = data.get("result", [])
    if result_type == "scalar":  # e.g. vector(1) folded by some backends
        return [{"metric": {}, "value": result}]
    if result_type != kind:
        raise QueryError(f"unexpected answer to {expr!r}: {result_type} instead of {kind}")
    return list(result)


def _number(raw: Any) -> float:
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


def _ts(value: float) -> str:
    return f"{value:.3f}"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _reason(exc: BaseException) -> str:
    # requests nests the useful part ("Connection refused") several causes deep.
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "No route to host",
                   "CERTIFICATE_VERIFY_FAILED", "timed out", "Temporary failure in name "
                   "resolution"):
        if marker in text:
            return marker
    return _one_line(text)[:200]
