"""Fixtures for the tracing tests: an in-memory pipeline and a real OTLP/HTTP receiver."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_observability import errors
from crm_observability.settings import Settings
from crm_observability.tracing import TracingRuntime, configure_tracing
from tests.tracing.otlp_receiver import OtlpReceiver


@dataclass
class Pipeline:
    runtime: TracingRuntime
    exporter: InMemorySpanExporter

    def spans(self) -> list[ReadableSpan]:
        assert self.runtime.force_flush(5)
        return list(self.exporter.get_finished_spans())

    def by_name(self, name: str) -> ReadableSpan:
        matches = [s for s in self.spans() if s.name == name]
        assert len(matches) == 1, [s.name for s in self.spans()]
        return matches[0]


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"service_name": "contacts", "service_version": "1.2.3"}
    values.update(overrides)
    return Settings.for_profile("development", **values)


@pytest.fixture(autouse=True)
def _clean_errors() -> Iterator[None]:
    errors.reset_for_tests()
    yield
    errors.reset_for_tests()


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    exporter = InMemorySpanExporter()
    runtime = configure_tracing(make_settings(), exporter=exporter)
    yield Pipeline(runtime, exporter)
    runtime.shutdown()


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver
