"""``crm-obs slo report``: burn rates and error budgets from a Prometheus-compatible API.

Exit codes: 0 report written; 1 the ``--fail-on`` gate failed; 2 unusable input or
an unusable query API (one line on stderr).
"""

from __future__ import annotations

import argparse
import math
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from crm_observability.cli.errors import UsageError

FORMATS = ("table", "json", "markdown", "html")
FAIL_LEVELS = ("page", "ticket", "exhausted")


def register(slo_subparsers: Any) -> None:
    parser = slo_subparsers.add_parser(
        "report", help="error budgets, burn rates and alert tiers of SLOs, from Prometheus",
        description="Evaluate every SLO of the specs at one instant: recording rules where "
        "they have data, raw SLI queries where they do not.")
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec files")
    parser.add_argument("--prometheus", required=True, metavar="URL",
                        help="base URL of a Prometheus-compatible query API")
    parser.add_argument("--at", metavar="TIME",
                        help="evaluation time: RFC 3339 (2026-01-15T00:00:00Z) or unix seconds "
                        "(default: now)")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--fail-on", choices=FAIL_LEVELS, metavar="LEVEL",
                        help="exit 1 when an SLO pages (page), pages or opens a ticket "
                        "(ticket), or has no budget left (exhausted)")
    parser.add_argument("--history", metavar="DURATION",
                        help="time span of the HTML charts (default: each SLO's period)")
    parser.add_argument("--bearer-token-file", metavar="FILE")
    parser.add_argument("--basic-auth", metavar="USER:PASS")
    parser.add_argument("--ca-file", metavar="FILE", help="CA bundle for https")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S",
                        help="seconds per query (default 10)")
    parser.set_defaults(handler=handle_report)


def parse_time(text: str) -> float:
    """Unix seconds from ``--at``: a number, or RFC 3339 with a zone (``Z`` or ``+hh:mm``)."""
    try:
        value = float(text)
    except ValueError:
        return _rfc3339(text)
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"--at: {text!r} is not a valid unix time")
    return value


def _rfc3339(text: str) -> float:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise UsageError(f"--at: {text!r} is not RFC 3339 time or unix seconds") from None
    if parsed.tzinfo is None:
        raise UsageError(f"--at: {text!r} has no time zone (add Z for UTC)")
    return parsed.timestamp()


def _read_token(path: str) -> str:
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{path}: --bearer-token-file: cannot read: {reason}") from None
    if not token:
        raise UsageError(f"{path}: --bearer-token-file: is empty")
    return token


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    options: dict[str, Any] = {"timeout_s": args.timeout}
    if args.timeout <= 0:
        raise UsageError(f"--timeout: {args.timeout:g} must be positive")
    if args.bearer_token_file:
        options["bearer_token"] = _read_token(args.bearer_token_file)
    if args.basic_auth:
        user, sep, password = args.basic_auth.partition(":")
        if not sep or not user:
            raise UsageError("--basic-auth: expected USER:PASS")
        options["basic_auth"] = (user, password)
    if args.ca_file:
        if not Path(args.ca_file).is_file():
            raise UsageError(f"{args.ca_file}: --ca-file: no such file")
        options["ca_file"] = args.ca_file
    return options


def render(report: Any, format: str, *, color: bool = False) -> str:
    from crm_observability import report as r

    if format == "json":
        return r.render_json(report)
    if format == "markdown":
        return r.render_markdown(report)
    if format == "html":
        return r.render_html(report)
    return r.render_table(report, color=color)


def handle_report(args: argparse.Namespace) -> int:
    from crm_observability.cli.slo import _load
    from crm_observability.report import PrometheusClient, QueryError, build_report
    from crm_observability.slo.durations import parse_duration

    specs = _load(args.specs)
    if args.out and not Path(args.out).resolve().parent.is_dir():
        raise UsageError(f"{args.out}: --out: the directory does not exist")
    at = parse_time(args.at) if args.at else None
    history = None
    if args.history:
        try:
            history = parse_duration(args.history)
        except ValueError as exc:
            raise UsageError(f"--history: {exc}") from None
    try:
        with PrometheusClient(args.prometheus, **client_options(args)) as client:
            report = build_report(client, specs, at, with_history=args.format == "html",
                                  history_seconds=history)
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    if args.out:
        try:
            Path(args.out).write_text(render(report, args.format), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.out}: --out: cannot write: {exc.strerror or exc}") from None
        print(f"{args.out}: written ({len(report.slos)} SLOs)", file=sys.stderr)
    else:
        sys.stdout.write(render(report, args.format, color=sys.stdout.isatty()))
    if args.fail_on:
        failing = report.failing(args.fail_on)
        if failing:
            names = ", ".join(f"{s.service}/{s.name}" for s, _ in failing)
            print(f"crm-obs: --fail-on {args.fail_on}: {names}", file=sys.stderr)
            return 1
    return 0
