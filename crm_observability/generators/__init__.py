"""Generators: deterministic writers and pure builders for rule files.

``render`` is shared by every generated artifact (rules, alerts, dashboards).
"""

from __future__ import annotations

from crm_observability.generators.render import (
    GENERATED_HEADER,
    exact_number,
    render_json,
    render_yaml,
    write_if_changed,
)
from crm_observability.generators.slo_rules import build_rule_groups, render_rule_file

__all__ = [
    "GENERATED_HEADER",
    "build_rule_groups",
    "exact_number",
    "render_json",
    "render_rule_file",
    "render_yaml",
    "write_if_changed",
]
