"""``crm-obs lint``: check Prometheus rules, alerts and Grafana dashboards before they ship.

Works on files written by any tool; see docs/lint.md for every rule id.
"""

from __future__ import annotations

from crm_observability.lint.catalog import (
    Catalog,
    CatalogError,
    catalog_from_exposition,
    catalog_from_mapping,
    catalog_from_registry,
    load_catalog,
)
from crm_observability.lint.findings import Finding, Severity
from crm_observability.lint.formatters import render, write_findings
from crm_observability.lint.linter import LintConfig, LintResult, lint_documents, lint_paths
from crm_observability.lint.loader import DocKind, Document, LoadError, load_file
from crm_observability.lint.promql import analyze, parse_version

__all__ = [
    "Catalog",
    "CatalogError",
    "DocKind",
    "Document",
    "Finding",
    "LintConfig",
    "LintResult",
    "LoadError",
    "Severity",
    "analyze",
    "catalog_from_exposition",
    "catalog_from_mapping",
    "catalog_from_registry",
    "lint_documents",
    "lint_paths",
    "load_catalog",
    "load_file",
    "parse_version",
    "render",
    "write_findings",
]
