"""``crm-services``: run the four services, print a development token, seed data.

Exit codes: 0 ok, 2 unusable input (one line on stderr, never a traceback),
otherwise the exit code of a service that stopped on its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from reference_services.common.auth import DEFAULT_ROLES, ID_PATTERN, issue_token
from reference_services.common.config import DEFAULT_PORTS, ConfigError, ServiceConfig
from reference_services.common.seed import PROFILES, seed

SERVICES = tuple(DEFAULT_PORTS)  # contacts, deals, leads, accounts
STOP_TIMEOUT_S = 10.0


class UsageError(Exception):
    """Bad input: printed as one line, exit 2."""


def _service_env(host: str, ports: dict[str, int]) -> dict[str, str]:
    env = dict(os.environ)
    # The children import this package from wherever it is, installed or not.
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env.setdefault("CONTACTS_SERVICE_URL", f"http://{host}:{ports['contacts']}")
    env.setdefault("ACCOUNTS_SERVICE_URL", f"http://{host}:{ports['accounts']}")
    return env


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    # Ctrl-C and SIGTERM both stop all four (SIGINT may arrive ignored from a shell's `&`).
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    ports = {svc: args.base_port + i for i, svc in enumerate(SERVICES)}
    env = _service_env(args.host, ports)
    children: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for svc, port in ports.items():
            children[svc] = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", f"reference_services.{svc}.app:app",
                 "--host", args.host, "--port", str(port), "--no-access-log"], env=env)
            print(f"crm-services: {svc}-service on http://{args.host}:{port}", file=sys.stderr)
        while True:
            for svc, child in children.items():
                code = child.poll()
                if code is not None:
                    print(f"crm-services: {svc}-service exited with {code}", file=sys.stderr)
                    return code or 1
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("crm-services: stopping", file=sys.stderr)
        return 0
    finally:
        _stop(list(children.values()))


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM all (uvicorn drains), then SIGKILL whatever is left after the timeout."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def cmd_token(args: argparse.Namespace) -> int:
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    for name, value in (("--tenant", args.tenant), ("--user", args.user)):
        if not ID_PATTERN.fullmatch(value):
            raise UsageError(f"{name}: {value!r} must match {ID_PATTERN.pattern}")
    if not roles:
        raise UsageError("--roles: give at least one role, e.g. crm.read,crm.write")
    config = ServiceConfig.from_env("contacts")
    if args.ttl <= 0:
        raise UsageError(f"--ttl: {args.ttl} must be positive")
    print(issue_token(config.jwt_secret, tenant=args.tenant, user=args.user, roles=roles,
                      ttl_s=args.ttl))
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    base = PROFILES[args.profile]
    overrides = {k: getattr(args, k) for k in ("contacts", "deals", "users", "accounts", "leads")
                 if getattr(args, k) is not None}
    try:
        sizes = dataclasses.replace(base, **overrides)
    except ValueError as exc:
        raise UsageError(f"--{exc}") from None
    if args.tenant and not ID_PATTERN.fullmatch(args.tenant):
        raise UsageError(f"--tenant: {args.tenant!r} must match {ID_PATTERN.pattern}")
    urls = {svc: ServiceConfig.from_env(svc).url for svc in SERVICES}
    added = seed(urls, args.profile, tenant=args.tenant, sizes=sizes)
    summary = ", ".join(f"{n} {kind}" for kind, n in added.items())
    print(f"seeded tenant {args.tenant!r} ({args.profile}): added {summary}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crm-services",
                                     description="Reference CRM services for crm-observability.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run all four services on loopback (Ctrl-C stops them)")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--base-port", type=int, default=DEFAULT_PORTS["contacts"],
                     help="contacts on this port, then deals, leads, accounts (default 8081)")
    run.set_defaults(handler=cmd_run)
    token = sub.add_parser("token", help="print a development JWT (CRM_JWT_SECRET)")
    token.add_argument("--tenant", required=True)
    token.add_argument("--user", required=True)
    token.add_argument("--roles", default=",".join(DEFAULT_ROLES))
    token.add_argument("--ttl", type=int, default=24 * 3600, help="seconds (default 24 h)")
    token.set_defaults(handler=cmd_token)
    seed_cmd = sub.add_parser("seed", help="seed the services' databases (idempotent)")
    seed_cmd.add_argument("--profile", choices=sorted(PROFILES), default="development")
    seed_cmd.add_argument("--tenant", default="demo")
    for kind in ("contacts", "deals", "users", "accounts", "leads"):
        seed_cmd.add_argument(f"--{kind}", type=int, default=None,
                              help=f"number of {kind} (default: the profile's)")
    seed_cmd.set_defaults(handler=cmd_seed)
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
    except (UsageError, ConfigError) as exc:
        print(f"crm-services: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
