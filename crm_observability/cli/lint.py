"""``crm-obs lint PATH...``: lint rule files, alerts and dashboards (exit 0/1/2)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from crm_observability.cli.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lint",
        help="lint Prometheus rules, alerts and Grafana dashboards",
        description="Lint rule files, PrometheusRule resources, Grafana dashboards and "
        "Alertmanager configs. Exit 0 clean, 1 findings, 2 unusable input.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    parser.add_argument("--format", choices=("text", "json", "github"), default="text")
    parser.add_argument("--catalog", metavar="FILE|URL",
                        help="metric catalog: a /metrics URL, an exposition file or "
                        "a {metrics: {name: type}} YAML/JSON file")
    parser.add_argument("--prometheus-version", default="2.42", metavar="X.Y",
                        help="Prometheus version the rules target (default 2.42)")
    parser.add_argument("--promtool", action="store_true",
                        help="also run promtool check/test rules and amtool check-config")
    parser.add_argument("--disable", action="append", default=[], metavar="RULE_ID",
                        help="skip a check (repeatable, or comma-separated)")
    parser.add_argument("--max-for", action="append", default=[], metavar="SEVERITY=DURATION",
                        help="longest 'for' allowed for a severity, e.g. page=10m")
    parser.set_defaults(handler=handle)


def _config(args: argparse.Namespace) -> Any:
    from crm_observability.lint import CatalogError, LintConfig, load_catalog
    from crm_observability.lint.alerts import DEFAULT_FOR_BOUNDS
    from crm_observability.lint.findings import RULES
    from crm_observability.lint.promql import parse_version
    from crm_observability.lint.rules import parse_duration

    try:
        version = parse_version(args.prometheus_version)
    except ValueError as exc:
        raise UsageError(f"--prometheus-version: {exc}") from None
    disabled = {item.strip() for raw in args.disable for item in raw.split(",") if item.strip()}
    unknown = sorted(disabled - RULES.keys())
    if unknown:
        raise UsageError(f"--disable: unknown rule id(s) {', '.join(unknown)}")
    bounds = dict(DEFAULT_FOR_BOUNDS)
    for item in args.max_for:
        severity, _, duration = item.partition("=")
        seconds = parse_duration(duration.strip())
        if not severity.strip() or seconds is None:
            raise UsageError(f"--max-for {item!r}: want SEVERITY=DURATION, e.g. page=10m")
        bounds[severity.strip()] = seconds
    catalog = None
    if args.catalog:
        try:
            catalog = load_catalog(args.catalog)
        except CatalogError as exc:
            raise UsageError(f"--catalog {exc}") from None
    return LintConfig(version, catalog, frozenset(disabled), bounds, args.promtool)


def handle(args: argparse.Namespace) -> int:
    from crm_observability.lint import LoadError, lint_paths, write_findings
    from crm_observability.lint.external import ToolMissingError

    config = _config(args)
    try:
        result = lint_paths(args.paths, config)
    except LoadError as exc:
        raise UsageError(str(exc)) from None
    except ToolMissingError as exc:
        raise UsageError(str(exc)) from None
    write_findings(result.findings, args.format, sys.stdout)
    return 1 if result.findings else 0
