"""SLOs as code: spec model, loaders (crm-observability/v1, Sloth, OpenSLO), burn-rate math."""

from __future__ import annotations

from crm_observability.slo.durations import format_duration, parse_duration
from crm_observability.slo.errors import SpecError
from crm_observability.slo.loading import load_spec_file, load_spec_files, parse_spec
from crm_observability.slo.model import (
    SLI,
    SLO,
    Alerting,
    EventsSLI,
    LatencySLI,
    RawSLI,
    SLOSpec,
    TierAlerting,
)
from crm_observability.slo.validate import validate
from crm_observability.slo.windows import (
    BurnRateTier,
    error_budget,
    recorded_windows,
    tiers_for,
)

# Plain sorted() order (tests/test_public_api.py); ruff would put SLI/SLO first.
__all__ = [
    "Alerting",
    "BurnRateTier",
    "EventsSLI",
    "LatencySLI",
    "RawSLI",
    "SLI",
    "SLO",
    "SLOSpec",
    "SpecError",
    "TierAlerting",
    "error_budget",
    "format_duration",
    "load_spec_file",
    "load_spec_files",
    "parse_duration",
    "parse_spec",
    "recorded_windows",
    "tiers_for",
    "validate",
]
