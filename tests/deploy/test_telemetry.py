"""Trace and log shipping configs agree with what the library really emits: the
collector's pipeline is complete and its ports are the ones the services use; the
log shippers read the library's real JSON lines (level, service, trace id)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from opentelemetry.sdk.trace import TracerProvider

from crm_observability import Settings
from crm_observability import conventions as names
from crm_observability.generators.deploy.telemetry import ERROR_LEVELS
from crm_observability.logging.configure import configure_logging, get_logger, reset_logging
from tests.deploy.conftest import ROOT, by_kind


@pytest.fixture
def log_lines() -> Iterator[list[dict[str, Any]]]:
    stream = io.StringIO()
    configure_logging(Settings(service_name="contacts-service", log_format="json",
                               log_level="INFO"), stream=stream)
    tracer = TracerProvider().get_tracer("deploy-test")
    try:
        with tracer.start_as_current_span("op"):
            get_logger("deploy.test").error("contact creation failed")
        get_logger("deploy.test").info("fine")
    finally:
        reset_logging()
    yield [json.loads(line) for line in stream.getvalue().splitlines()]


def _collector(path: str) -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / path).read_text()))


def test_collector_pipeline_uses_only_defined_components() -> None:
    config = _collector("deploy/otel-collector/config.yaml")
    pipeline = config["service"]["pipelines"]["traces"]
    for section in ("receivers", "processors", "exporters"):
        assert set(pipeline[section]) <= set(config[section])
    # memory_limiter must run first (the collector's own recommendation).
    assert pipeline["processors"][0] == "memory_limiter"
    assert config["exporters"]["otlp/jaeger"]["endpoint"] == "jaeger:4317"


def test_services_export_to_the_collector_ports(manifests: dict[str, list[dict[str, Any]]]
                                                ) -> None:
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    http = _collector("deploy/otel-collector/config.yaml")["receivers"]["otlp"]["protocols"][
        "http"]["endpoint"]
    port = http.rsplit(":", 1)[1]
    endpoint = compose["services"]["contacts-service"]["environment"][
        "OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert endpoint == f"http://otel-collector:{port}"
    docs = manifests["production"]
    service = by_kind(docs, "Service")["otel-collector"]
    assert int(port) in {p["port"] for p in service["spec"]["ports"]}
    data = by_kind(docs, "ConfigMap")["contacts-service-config"]["data"]
    assert data["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://otel-collector:{port}"
    embedded = yaml.safe_load(by_kind(docs, "ConfigMap")["otel-collector-config"]["data"][
        "config.yaml"])
    assert embedded["service"] == _collector("deploy/otel-collector/config.yaml")["service"]


def test_loki_derived_field_extracts_the_trace_id_of_a_real_line(
        log_lines: list[dict[str, Any]]) -> None:
    datasource = yaml.safe_load((ROOT / "deploy/grafana/datasources/loki.yml").read_text())
    field = datasource["datasources"][0]["jsonData"]["derivedFields"][0]
    error = log_lines[0]
    raw = json.dumps(error)  # how the line is stored in Loki
    match = re.search(field["matcherRegex"], raw)
    assert match is not None and match.group(1) == error[names.LOG_TRACE_ID]
    assert len(match.group(1)) == 32
    assert field["datasourceUid"] == "jaeger"


def test_shippers_read_the_fields_the_library_writes(log_lines: list[dict[str, Any]]) -> None:
    error, info = log_lines
    assert error[names.LOG_LEVEL] in ERROR_LEVELS
    assert info[names.LOG_LEVEL] not in ERROR_LEVELS
    logstash = (ROOT / "deploy/logging/logstash/logstash.conf").read_text()
    assert f'"service_name" => "%{{[{names.LOG_SERVICE}]}}"' in logstash
    assert error[names.LOG_SERVICE] == "contacts-service"
    assert 'add_tag => [ "error" ]' in logstash
    assert 'index => "crm-logs-%{+YYYY.MM.dd}"' in logstash
    alloy = (ROOT / "deploy/logging/alloy/config.alloy").read_text()
    assert f'level = "{names.LOG_LEVEL}"' in alloy
    assert "__meta_docker_container_label_com_crm_platform_logs" in alloy
    compose = yaml.safe_load((ROOT / "deploy/compose/docker-compose.yml").read_text())
    assert compose["services"]["deals-service"]["labels"] == {"com.crm-platform.logs": "true"}
    filebeat = yaml.safe_load((ROOT / "deploy/logging/logstash/filebeat.yml").read_text())
    assert filebeat["output.logstash"]["hosts"] == ["logstash:5044"]
    assert "port => 5044" in logstash
