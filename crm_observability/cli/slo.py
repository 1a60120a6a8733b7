"""``crm-obs slo validate|generate``: check SLO specs, write their rule files (exit 0/2).

``crm-obs slo report`` lives in its own module (``cli/slo_report.py``) and plugs
into the same ``slo`` sub-command when it exists.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Any

from crm_observability.cli.errors import UsageError

# Adds `crm-obs slo report` when present (built separately).
REPORT_MODULE = "crm_observability.cli.slo_report"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "slo", help="validate SLO specs and generate their Prometheus rules",
        description="SLOs as code: crm-observability/v1, Sloth prometheus/v1 and OpenSLO v1 "
        "specs to recording rules and multi-window multi-burn-rate alerts.",
    )
    slo_subparsers = parser.add_subparsers(dest="slo_command", metavar="SLO_COMMAND")
    parser.set_defaults(handler=lambda args: _help(parser))

    validate = slo_subparsers.add_parser(
        "validate", help="check spec files (exit 0 valid, 2 with the first problem)")
    validate.add_argument("specs", nargs="+", metavar="SPEC", help="spec files")
    validate.set_defaults(handler=handle_validate)

    generate = slo_subparsers.add_parser(
        "generate", help="write DIR/<service>.rules.yml for each spec")
    generate.add_argument("specs", nargs="+", metavar="SPEC", help="spec files")
    generate.add_argument("--out", required=True, metavar="DIR", help="output directory")
    generate.add_argument("--format", choices=("prometheus", "operator"), default="prometheus",
                          help="Prometheus rule file (default) or PrometheusRule resource")
    generate.set_defaults(handler=handle_generate)

    try:
        report = importlib.import_module(REPORT_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name != REPORT_MODULE:
            raise
    else:
        report.register(slo_subparsers)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _load(paths: list[str]) -> list[Any]:
    from crm_observability.slo import SpecError, load_spec_files

    try:
        return load_spec_files(paths)
    except SpecError as exc:
        raise UsageError(str(exc)) from None


def handle_validate(args: argparse.Namespace) -> int:
    specs = _load(args.specs)
    for spec in specs:
        print(f"{spec.source}: ok ({spec.service}, {len(spec.slos)} SLOs)")
    return 0


def handle_generate(args: argparse.Namespace) -> int:
    from crm_observability.generators.render import write_if_changed
    from crm_observability.generators.slo_rules import render_rule_file

    specs = _load(args.specs)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out: is not a directory")
    for spec in specs:
        target = out / f"{spec.service}.rules.yml"
        try:
            changed = write_if_changed(target, render_rule_file(spec, args.format))
        except OSError as exc:
            raise UsageError(f"{target}: --out: cannot write: {exc.strerror or exc}") from None
        print(f"{target}: {'written' if changed else 'unchanged'}")
    return 0
