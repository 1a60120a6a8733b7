"""``crm-obs demo``: services, Prometheus, Alertmanager, an incident and its report, on loopback.

Exit codes: 0 done (report files written), 2 unusable input or a missing binary
(one line saying how to install it), 130 interrupted (every process stopped).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from crm_observability.cli.errors import UsageError

SPEC_DIR = "slo"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the reference services with Prometheus and Alertmanager, inject an "
        "incident, show the alerts and the SLO report",
        description="Everything on 127.0.0.1; Ctrl-C stops every process it started.")
    parser.add_argument("--fast", action="store_true",
                        help="1-day SLO periods, 2s scrapes, short for: (a page in ~1 minute)")
    parser.add_argument("--duration", type=float, metavar="S",
                        help="seconds of load (default 150 with --fast, else 600)")
    parser.add_argument("--out", default="demo-output", metavar="DIR",
                        help="where configs, logs and report files go (default demo-output)")
    parser.add_argument("--ports", default="auto", metavar="auto|BASE",
                        help="free ports (auto), or BASE..BASE+6: contacts, deals, leads, "
                        "accounts, prometheus, alertmanager, webhook")
    parser.add_argument("--specs", metavar="DIR",
                        help="directory of *.slo.yml (default ./slo, else the repository's)")
    parser.add_argument("--rate", type=float, default=20.0, metavar="RPS",
                        help="requests per second over all services (default 20)")
    parser.set_defaults(handler=handle_demo)


def find_specs(explicit: str | None) -> list[Path]:
    candidates = [Path(explicit)] if explicit else [
        Path.cwd() / SPEC_DIR, Path(__file__).resolve().parents[2] / SPEC_DIR]
    for directory in candidates:
        files = sorted(directory.glob("*.slo.yml")) if directory.is_dir() else []
        if files:
            return files
    where = candidates[0] if explicit else "./slo or the repository's slo/"
    raise UsageError(f"{where}: --specs: no *.slo.yml files found")


def handle_demo(args: argparse.Namespace) -> int:
    from crm_observability.demo.runner import DemoOptions, run_demo
    from crm_observability.demo.stack import MissingBinaryError
    from crm_observability.demo.supervisor import StartError
    from crm_observability.slo import SpecError, load_spec_files

    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration: {args.duration:g} must be positive")
    if args.rate <= 0:
        raise UsageError(f"--rate: {args.rate:g} must be positive")
    base = None
    if args.ports != "auto":
        if not args.ports.isdigit() or not 1024 <= int(args.ports) <= 65528:
            raise UsageError(f"--ports: {args.ports!r} is not auto or a port 1024-65528")
        base = int(args.ports)
    try:
        specs = tuple(load_spec_files(find_specs(args.specs)))
    except SpecError as exc:
        raise UsageError(str(exc)) from None
    options = DemoOptions(out=Path(args.out), specs=specs, fast=args.fast,
                          duration_s=args.duration, base_port=base, rate=args.rate)
    try:
        return run_demo(options)
    except (MissingBinaryError, StartError) as exc:
        raise UsageError(str(exc)) from None
