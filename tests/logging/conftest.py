"""Capture the lines configure_logging writes and decode them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from crm_observability import errors
from crm_observability.logging import configure_logging, reset_logging
from crm_observability.settings import Settings


class Capture:
    """A configured pipeline writing into memory; ``lines()`` decodes what it wrote."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    def configure(self, **overrides: Any) -> Capture:
        self.stream = io.StringIO()
        values: dict[str, Any] = {"service_name": "contacts-service"}
        values.update(overrides)
        environment = values.pop("environment", "testing")
        configure_logging(Settings.for_profile(environment, **values), stream=self.stream)
        return self

    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        """Every line must be one JSON object."""
        return [json.loads(line) for line in self.text().splitlines()]

    def one(self) -> dict[str, Any]:
        lines = self.lines()
        assert len(lines) == 1, lines
        return lines[0]


@pytest.fixture
def capture() -> Iterator[Capture]:
    errors.reset_for_tests()
    yield Capture().configure()
    reset_logging()
    logging.getLogger().setLevel(logging.WARNING)
    errors.reset_for_tests()


@pytest.fixture
def configured(capture: Capture) -> Callable[..., Capture]:
    return capture.configure
