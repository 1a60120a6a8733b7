"""The OTLP exporter reads the proxy, NO_PROXY, .netrc and CA bundle variables once, at build,
with what requests would have done on every request (otlp_exporter.settle_environment)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from crm_observability.tracing.otlp_exporter import FastOTLPSpanExporter, settle_environment
from tests.tracing.otlp_receiver import OtlpReceiver

_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy",
              "https_proxy", "all_proxy", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
              "NETRC")

ENVIRONMENTS: dict[str, dict[str, str]] = {
    "nothing": {},
    "a proxy": {"HTTPS_PROXY": "http://proxy.internal:3128", "HTTP_PROXY": "http://p:1"},
    "a proxy the host bypasses": {"HTTPS_PROXY": "http://proxy.internal:3128",
                                  "NO_PROXY": "collector.internal,localhost"},
    "a CA bundle": {"REQUESTS_CA_BUNDLE": "/etc/ssl/private-ca.pem"},
    "curl's CA bundle": {"CURL_CA_BUNDLE": "/etc/ssl/curl-ca.pem"},
    "credentials in .netrc": {"NETRC": "<netrc>"},
}
URLS = ("https://collector.internal:4318/v1/traces", "http://127.0.0.1:4318/v1/traces")


@pytest.fixture(autouse=True)
def _no_inherited_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


def _netrc(tmp_path: Path) -> str:
    path = tmp_path / "netrc"
    path.write_text("machine collector.internal login ada password s3cret\n"
                    "machine 127.0.0.1 login bob password hunter2\n")
    path.chmod(0o600)
    return str(path)


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("case", sorted(ENVIRONMENTS))
def test_settled_session_sends_as_requests_would_per_request(
        case: str, url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENVIRONMENTS[case].items():
        monkeypatch.setenv(name, _netrc(tmp_path) if value == "<netrc>" else value)
    stock, settled = requests.Session(), requests.Session()
    stock.verify = settled.verify = True  # as the SDK's transport sets it
    settle_environment(settled, url)
    assert settled.trust_env is False
    # requests' own merge, as Session.request runs it (the transport passes no proxies,
    # verify or cert of its own), on the trusting session and on the settled one.
    assert settled.merge_environment_settings(url, {}, None, None, None) == \
        stock.merge_environment_settings(url, {}, None, None, None)
    netrc_auth = requests.utils.get_netrc_auth(url)  # what prepare_request would add
    assert settled.auth == netrc_auth
    if case == "credentials in .netrc":
        assert netrc_auth is not None


def test_the_exporter_goes_through_the_proxy_named_when_it_was_built(
        monkeypatch: pytest.MonkeyPatch) -> None:
    span = TracerProvider(resource=Resource.create({})).get_tracer("t").start_span("s")
    span.end()
    with OtlpReceiver() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.endpoint)
        exporter = FastOTLPSpanExporter(endpoint="http://collector.invalid:4318/v1/traces",
                                        timeout=5)
        monkeypatch.delenv("HTTP_PROXY")  # read at build: the change is not seen
        try:
            exporter.export([span])  # the proxy answers 404 to the absolute URI: a failure
        finally:
            exporter.shutdown()
        assert proxy.hits == 1


def test_the_exporter_sends_netrc_credentials(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    span = TracerProvider(resource=Resource.create({})).get_tracer("t").start_span("s")
    span.end()
    monkeypatch.setenv("NETRC", _netrc(tmp_path))
    with OtlpReceiver() as receiver:
        exporter = FastOTLPSpanExporter(endpoint=f"{receiver.endpoint}/v1/traces", timeout=5)
        try:
            exporter.export([span])
        finally:
            exporter.shutdown()
        (headers,) = receiver.headers
    assert headers["authorization"] == requests.auth._basic_auth_str("bob", "hunter2")


def test_a_session_that_does_not_trust_the_environment_is_left_alone() -> None:
    session = requests.Session()
    session.trust_env = False
    settle_environment(session, URLS[0])
    assert (session.proxies, session.verify, session.auth) == ({}, True, None)
