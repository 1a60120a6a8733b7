"""``crm-obs generate [--check] [--root DIR]``: regenerate every committed artifact.

Writes alerts and their promtool suites, SLO rule files, dashboards and Grafana
provisioning (the registry in :mod:`crm_observability.generators.artifacts`).
``--check`` writes nothing and exits 1 naming each file that differs, is
missing or is stale; CI runs it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from crm_observability.cli.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate", help="regenerate alerts, SLO rules, dashboards and Grafana provisioning",
        description="Regenerate every committed generated file from code and the SLO specs. "
        "Exit 0 when up to date (or written), 1 when --check finds a difference, 2 on "
        "unusable input.",
    )
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 and name each file that is out of date")
    parser.add_argument("--root", default=".", metavar="DIR",
                        help="repository root holding slo/, alerts/ and dashboards/ "
                        "(default: current directory)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from crm_observability.generators.artifacts import ArtifactError, compare, write_all
    from crm_observability.slo.errors import SpecError

    root = Path(args.root)
    if not root.is_dir():
        raise UsageError(f"{root}: --root: is not a directory")
    try:
        result = compare(root) if args.check else write_all(root)
    except (SpecError, ArtifactError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        name = exc.filename or root
        raise UsageError(f"{name}: cannot write: {exc.strerror or exc}") from None
    total = len(result.expected)
    if args.check:
        for kind, paths in (("differs", result.differs), ("missing", result.missing),
                            ("stale", result.stale)):
            for path in paths:
                print(f"{path}: {kind}")
        if not result.clean:
            count = len(result.differs) + len(result.missing) + len(result.stale)
            print(f"crm-obs generate --check: {count} file(s) out of date; "
                  "run crm-obs generate", file=sys.stderr)
            return 1
        print(f"{total} generated files up to date")
        return 0
    for path in (*result.differs, *result.missing):
        print(f"{path}: written")
    for path in result.stale:
        print(f"{path}: removed (no producer)")
    changed = len(result.differs) + len(result.missing) + len(result.stale)
    print(f"{total} generated files, {changed} changed")
    return 0
