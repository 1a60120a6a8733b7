"""``crm-obs``: generate, lint, SLO validate/generate/report, demo.

Each command lives in its own module exposing ``register(subparsers)``; the
module is imported only when the CLI starts, and each command's heavy imports
happen inside its handler.  Exit codes: 0 ok, 1 findings/differences/gate
failed, 2 unusable input (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crm_observability.cli.errors import UsageError

# Modules that contribute subcommands, in help order.
COMMAND_MODULES = (
    "crm_observability.cli.generate",
    "crm_observability.cli.slo",
    "crm_observability.cli.lint",
    "crm_observability.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-obs", description="Observability and SLOs as code for CRM services."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # command not built yet
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args))
    except UsageError as exc:
        print(f"crm-obs: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("crm-obs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
