"""The query client against a real loopback HTTP server answering scripted responses."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from crm_observability.cli import main
from crm_observability.demo.supervisor import free_port
from crm_observability.report import PrometheusClient, QueryError

VECTOR = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"service": "a", "slo": "x"}, "value": [1, "0.25"]},
    {"metric": {"service": "b", "slo": "x"}, "value": [1, "NaN"]}]}}
MATRIX = {"status": "success", "data": {"resultType": "matrix", "result": [
    {"metric": {"slo": "x"}, "values": [[10, "1"], [20, "NaN"], [30, "3"]]}]}}


class Script:
    """Responses to serve in order (the last one repeats), and the requests seen."""

    def __init__(self) -> None:
        self.responses: list[tuple[int, dict[str, str], bytes]] = []
        self.requests: list[tuple[str, dict[str, str], dict[str, list[str]]]] = []

    def answer(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.responses.append((status, headers or {}, raw))


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = parse_qs(self.rfile.read(length).decode())
            script.requests.append((self.path, dict(self.headers), form))
            index = min(len(script.requests), len(script.responses)) - 1
            status, headers, body = script.responses[index]
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def test_instant_query_posts_at_one_time_and_drops_nan(server) -> None:
    url, script = server
    script.answer(200, VECTOR)
    with PrometheusClient(url + "/") as client:
        samples = client.query("up", 1234.5)
    assert [(s.labels["service"], s.value) for s in samples] == [("a", 0.25)]
    path, _, form = script.requests[0]
    assert path == "/api/v1/query"
    assert form == {"query": ["up"], "time": ["1234.500"]}


def test_range_query_keeps_points_without_nan(server) -> None:
    url, script = server
    script.answer(200, MATRIX)
    with PrometheusClient(url) as client:
        (series,) = client.query_range("up", 0, 30, 10)
    assert series.points == ((10.0, 1.0), (30.0, 3.0))
    assert script.requests[0][2]["step"] == ["10.000"]


def test_5xx_then_429_are_retried_with_backoff(server) -> None:
    url, script = server
    script.answer(500, {"status": "error", "error": "boom"})
    script.answer(429, {"status": "error", "error": "slow down"}, {"Retry-After": "0"})
    script.answer(200, VECTOR)
    client = PrometheusClient(url, backoff_s=0.01)
    assert len(client.query("up", 1)) == 1
    assert len(script.requests) == 3


def test_persistent_5xx_is_one_line_after_retries(server) -> None:
    url, script = server
    script.answer(503, {"status": "error", "error": "unavailable\nreally"})
    client = PrometheusClient(url, retries=2, backoff_s=0.01)
    with pytest.raises(QueryError) as info:
        client.query("up", 1)
    assert str(info.value) == f"{url} answered HTTP 503 after 3 attempts: unavailable really"
    assert len(script.requests) == 3


def test_unauthorized_is_not_retried(server) -> None:
    url, script = server
    script.answer(401, b"Unauthorized")
    with pytest.raises(QueryError, match="refused the credentials \\(HTTP 401\\)"):
        PrometheusClient(url).query("up", 1)
    assert len(script.requests) == 1


def test_bad_query_names_the_query_and_the_reason(server) -> None:
    url, script = server
    script.answer(400, {"status": "error", "errorType": "bad_data",
                        "error": "1:5: parse error: unexpected \"}\""})
    with pytest.raises(QueryError) as info:
        PrometheusClient(url).query("rate(x}", 1)
    assert "rejected the query 'rate(x}'" in str(info.value)
    assert "parse error" in str(info.value)


def test_non_prometheus_answer_is_reported(server) -> None:
    url, script = server
    script.answer(200, b"<html>login</html>")
    with pytest.raises(QueryError, match="did not answer like a Prometheus query API"):
        PrometheusClient(url).query("up", 1)


def test_wrong_result_type_is_reported(server) -> None:
    url, script = server
    script.answer(200, MATRIX)
    with pytest.raises(QueryError, match="matrix instead of vector"):
        PrometheusClient(url).query("up", 1)


def test_scalar_result_is_one_sample(server) -> None:
    url, script = server
    script.answer(200, {"status": "success", "data": {"resultType": "scalar",
                                                      "result": [1, "2"]}})
    assert PrometheusClient(url).query("2", 1)[0].value == 2.0


def test_bearer_and_basic_auth_headers_are_sent(server) -> None:
    url, script = server
    script.answer(200, VECTOR)
    PrometheusClient(url, bearer_token="s3cret").query("up", 1)
    PrometheusClient(url, basic_auth=("ann", "pw")).query("up", 1)
    assert script.requests[0][1]["Authorization"] == "Bearer s3cret"
    expected = base64.b64encode(b"ann:pw").decode()
    assert script.requests[1][1]["Authorization"] == f"Basic {expected}"


def test_closed_port_is_one_line() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(QueryError) as info:
        PrometheusClient(url).query("up", 1)
    assert str(info.value) == f"cannot reach {url}: Connection refused"


def test_not_an_url() -> None:
    with pytest.raises(QueryError, match="not an http:// or https:// URL"):
        PrometheusClient("localhost:9090")


def test_timeout_is_one_line() -> None:
    # A listening socket that never answers.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        silent = f"http://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(QueryError, match=r"did not answer within 0.2s \(raise --timeout\)"):
            PrometheusClient(silent, timeout_s=0.2).query("up", 1)


# --- the CLI: one line on stderr, exit 2 ------------------------------------------------


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    from tests.report.synthetic import SPEC

    path = tmp_path / "s.slo.yml"
    path.write_text(SPEC)
    return path


@pytest.mark.parametrize(("status", "body", "message"), [
    (401, b"no", "refused the credentials (HTTP 401)"),
    (400, {"status": "error", "error": "parse error"}, "rejected the query"),
])
def test_cli_errors_are_one_line_exit_2(server, spec, capsys, status, body, message) -> None:
    url, script = server
    script.answer(status, body)
    assert main(["slo", "report", "--prometheus", url, str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("crm-obs: ") and message in err


def test_cli_closed_port_exit_2(spec, capsys) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["slo", "report", "--prometheus", url, str(spec)]) == 2
    assert capsys.readouterr().err == f"crm-obs: cannot reach {url}: Connection refused\n"


def test_cli_sends_token_from_file_and_basic_auth(server, spec, tmp_path) -> None:
    url, script = server
    script.answer(200, {"status": "success", "data": {"resultType": "vector", "result": []}})
    token = tmp_path / "token"
    token.write_text("tok\n")
    assert main(["slo", "report", "--prometheus", url, str(spec), "--at", "100",
                 "--bearer-token-file", str(token), "--format", "json"]) == 0
    assert {r[1]["Authorization"] for r in script.requests} == {"Bearer tok"}
    assert {r[2]["time"][0] for r in script.requests} == {"100.000"}  # one evaluation time
    script.requests.clear()
    assert main(["slo", "report", "--prometheus", url, str(spec), "--basic-auth", "u:p",
                 "--format", "markdown"]) == 0
    assert script.requests[0][1]["Authorization"].startswith("Basic ")


@pytest.mark.parametrize(("args", "message"), [
    (["--at", "yesterday"], "--at: 'yesterday' is not RFC 3339 time or unix seconds"),
    (["--at", "2026-01-01T00:00:00"], "has no time zone"),
    (["--at", "-5"], "is not a valid unix time"),
    (["--basic-auth", "nopass"], "--basic-auth: expected USER:PASS"),
    (["--bearer-token-file", "/nonexistent/t"], "--bearer-token-file: cannot read"),
    (["--ca-file", "/nonexistent/ca.pem"], "--ca-file: no such file"),
    (["--timeout", "0"], "--timeout: 0 must be positive"),
    (["--history", "soon"], "--history: 'soon' is not a duration"),
])
def test_cli_bad_options(spec, capsys, args, message) -> None:
    assert main(["slo", "report", "--prometheus", "http://127.0.0.1:9", str(spec), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cli_empty_token_file(spec, tmp_path, capsys) -> None:
    token = tmp_path / "t"
    token.write_text("  \n")
    assert main(["slo", "report", "--prometheus", "http://127.0.0.1:9", str(spec),
                 "--bearer-token-file", str(token)]) == 2
    assert "is empty" in capsys.readouterr().err


def test_cli_bad_spec_and_bad_out(server, tmp_path, spec, capsys) -> None:
    url, script = server
    script.answer(200, {"status": "success", "data": {"resultType": "vector", "result": []}})
    bad = tmp_path / "bad.yml"
    bad.write_text("apiVersion: nope\n")
    assert main(["slo", "report", "--prometheus", url, str(bad)]) == 2
    assert main(["slo", "report", "--prometheus", url, str(spec), "--out",
                 str(tmp_path / "missing" / "r.html"), "--format", "html"]) == 2
    assert "--out: the directory does not exist" in capsys.readouterr().err
    assert main(["slo", "report", "--prometheus", url, str(spec), "--out", str(tmp_path),
                 "--format", "markdown"]) == 2
    assert "--out: cannot write" in capsys.readouterr().err


def test_custom_ca_file_for_https(tmp_path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.dumps(VECTOR).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{httpd.server_address[1]}"
        assert PrometheusClient(url, ca_file=str(cert)).query("up", 1)[0].value == 0.25
        with pytest.raises(QueryError, match=r"TLS error .*--ca-file.*CERTIFICATE_VERIFY"):
            PrometheusClient(url).query("up", 1)
    finally:
        httpd.shutdown()
        httpd.server_close()
