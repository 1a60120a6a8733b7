"""Shared helpers: locate real binaries (a failure in CI, a skip elsewhere), walk PromQL."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import promql_parser
import pytest

from crm_observability.generators.dashboards.queries import GRAFANA_SUBSTITUTIONS

REPO = Path(__file__).resolve().parents[2]


def require_tool(name: str) -> str:
    """Path of ``name``; missing -> test failure under CI=true, skip otherwise."""
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists()
                                  else None)
    if path is None:
        message = f"{name} is not installed (Debian package prometheus)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([require_tool("promtool"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False)


def substitute(expr: str) -> str:
    """A panel query with Grafana's variables replaced, so it is plain PromQL."""
    for variable, value in GRAFANA_SUBSTITUTIONS.items():
        expr = expr.replace(variable, value)
    return expr


def selectors(expr: str) -> list[promql_parser.VectorSelector]:
    """Every vector selector (walk() also enters range selectors) of ``expr``."""
    found: list[promql_parser.VectorSelector] = []

    def visit(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found
