"""schemathesis against each service's /openapi.json: no 5xx, responses match the schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.services.conftest import Stack, tenant, token

EXAMPLES = int(os.environ.get("CRM_SERVICES_SCHEMATHESIS_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Any:
    stack = Stack("sqlite", None, Path(tmp_path_factory.mktemp("schemathesis")))
    contacts, accounts = stack.app("contacts"), stack.app("accounts")
    peers = {"contacts": httpx.ASGITransport(app=contacts),
             "accounts": httpx.ASGITransport(app=accounts)}
    apps = {"contacts": contacts, "accounts": accounts,
            "deals": stack.app("deals", transports=peers),
            "leads": stack.app("leads", transports=peers)}
    yield apps
    stack.close()


@pytest.fixture(scope="module")
def bearer() -> dict[str, str]:
    return {"authorization": f"Bearer {token(tenant())}"}


FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


# schemathesis' own pytest plugin does not load under pytest 9: drive it through hypothesis.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("service", ["contacts", "deals", "leads", "accounts"])
def test_openapi_contract(service: str, mode: GenerationMode, services: dict[str, Any],
                          bearer: dict[str, str]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", services[service])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            case.call_and_validate(headers=bearer, checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            # Nothing to make invalid (e.g. GET /deals/pipeline takes no input).
            assert mode is GenerationMode.NEGATIVE
