"""Realistic traffic through every endpoint kind of the four reference services.

One background thread repeats a round: creates, reads (a cache miss, then a
hit), lists, a contact search, updates, a deal won, a lead converted (which
calls accounts- and contacts-service), deletes, the client errors a real
client makes (401, 403, 404, 409, 422) and the health probes a kubelet sends.
Every answer is checked against the status the round expects; anything else
is kept in ``surprises`` for the test to report.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from crm_observability import conventions as names

API = "/api/v1"
PAUSE_S = 0.05  # between rounds: steady load without starving the shared cores
PROBES = (names.HEALTH_PATH, names.LIVENESS_PATH, names.READINESS_PATH, names.STARTUP_PATH)


@dataclass(frozen=True)
class Surprise:
    method: str
    url: str
    expected: int
    got: int | str  # a status, or the transport error
    body: str


@dataclass
class Traffic:
    """Drives ``urls`` (service -> base URL) with a writer and a read-only token."""

    urls: Mapping[str, str]
    writer: str
    reader: str
    rounds: int = 0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    surprises: list[Surprise] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="e2e-traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        with httpx.Client(timeout=10.0) as client:
            while not self._stop.is_set():
                try:
                    self.round(client, self.rounds)
                except Exception as exc:  # keep driving; the test reports it
                    self.surprises.append(Surprise("round", "", 0, repr(exc), ""))
                self.rounds += 1
                self._stop.wait(PAUSE_S)

    def call(self, client: httpx.Client, service: str, method: str, path: str,
             expected: int, *, token: str | None = "", body: Any = None) -> Any:
        """One request; returns the decoded JSON body of a 2xx (else None)."""
        token = self.writer if token == "" else token
        headers = {"authorization": f"Bearer {token}"} if token else {}
        url = self.urls[service] + path
        try:
            response = client.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.surprises.append(Surprise(method, url, expected, repr(exc), ""))
            return None
        self.statuses[(service, response.status_code)] += 1
        if response.status_code != expected:
            self.surprises.append(Surprise(method, url, expected, response.status_code,
                                           response.text[:300]))
            return None
        ok = response.is_success and response.content
        return response.json() if ok and path.startswith(API) else None

    def round(self, client: httpx.Client, i: int) -> None:
        def ident(doc: Any) -> int:
            # 999_999 never exists: a lost create turns the follow-ups into visible 404s
            return int(doc["id"]) if isinstance(doc, dict) else 999_999

        # contacts: create, read twice (cache miss, then hit), list, search, update
        contact = ident(self.call(client, "contacts", "POST", f"{API}/contacts", 201, body={
            "first_name": "Ada", "last_name": f"E2e{i}", "email": f"ada.{i}@example.com"}))
        for _ in range(2):
            self.call(client, "contacts", "GET", f"{API}/contacts/{contact}", 200)
        self.call(client, "contacts", "GET", f"{API}/contacts?limit=20", 200)
        self.call(client, "contacts", "GET", f"{API}/contacts?q=E2e{i % 10}", 200)
        self.call(client, "contacts", "PATCH", f"{API}/contacts/{contact}", 200,
                  body={"phone": "+1 555 0100"})
        # accounts: create, read twice, list, update, and delete every other one
        account = ident(self.call(client, "accounts", "POST", f"{API}/accounts", 201,
                                  body={"name": f"Acme {i}", "industry": "Tools"}))
        for _ in range(2):
            self.call(client, "accounts", "GET", f"{API}/accounts/{account}", 200)
        self.call(client, "accounts", "GET", f"{API}/accounts", 200)
        self.call(client, "accounts", "PATCH", f"{API}/accounts/{account}", 200,
                  body={"website": "https://acme.example.com"})
        if i % 2:
            self.call(client, "accounts", "DELETE", f"{API}/accounts/{account}", 204)
        # deals: create (checked with contacts-service), read, list, pipeline, move, win
        deal = ident(self.call(client, "deals", "POST", f"{API}/deals", 201, body={
            "title": f"Deal {i}", "amount": 1000 + i, "contact_id": contact}))
        self.call(client, "deals", "GET", f"{API}/deals/{deal}", 200)
        self.call(client, "deals", "GET", f"{API}/deals?stage=prospecting", 200)
        self.call(client, "deals", "GET", f"{API}/deals/pipeline", 200)
        self.call(client, "deals", "PATCH", f"{API}/deals/{deal}", 200,
                  body={"stage": "negotiation"})
        self.call(client, "deals", "POST", f"{API}/deals/{deal}/won", 200)
        # leads: create, read, list, update, convert (accounts + contacts downstream)
        lead = ident(self.call(client, "leads", "POST", f"{API}/leads", 201, body={
            "first_name": "Lin", "last_name": f"Lead{i}", "email": f"lin.{i}@example.com",
            "company": f"Lead Co {i}"}))
        self.call(client, "leads", "GET", f"{API}/leads/{lead}", 200)
        self.call(client, "leads", "GET", f"{API}/leads?status=new", 200)
        self.call(client, "leads", "PATCH", f"{API}/leads/{lead}", 200, body={"source": "web"})
        self.call(client, "leads", "POST", f"{API}/leads/{lead}/convert", 200)
        self._client_errors(client, i, deal)
        for service in self.urls:  # the kubelet's probes (kept out of the request metrics)
            for path in PROBES:
                self.call(client, service, "GET", path, 200, token=None)

    def _client_errors(self, client: httpx.Client, i: int, won_deal: int) -> None:
        self.call(client, "contacts", "GET", f"{API}/contacts/999999", 404)
        self.call(client, "contacts", "POST", f"{API}/contacts", 422,
                  body={"first_name": "No", "last_name": "Mail", "email": "not-an-address"})
        self.call(client, "deals", "GET", f"{API}/deals", 401, token=None)
        self.call(client, "accounts", "POST", f"{API}/accounts", 403, token=self.reader,
                  body={"name": f"Refused {i}"})
        self.call(client, "deals", "POST", f"{API}/deals/{won_deal}/won", 409)
        self.call(client, "leads", "POST", f"{API}/leads", 422, body={
            "first_name": "Bad", "last_name": "Lead", "email": f"bad.{i}@example.com",
            "company": "X", "status": "converted"})

    def wait_rounds(self, count: int, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while self.rounds < count:
            assert time.monotonic() < deadline, f"only {self.rounds} traffic rounds"
            time.sleep(0.1)
