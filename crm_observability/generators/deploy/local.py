"""Read the committed local configs for running them (``crm-obs demo``, the tests).

``deploy/prometheus/prometheus.local.yml`` names its rule files relative to
itself; a copy written elsewhere needs them absolute, and a run on other ports
needs its targets and webhook addresses swapped.  Only those fields change: the
rules and routing stay exactly what is committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from crm_observability.generators.deploy.prometheus import (
    ALERTMANAGER_LOCAL,
    PROMETHEUS_LOCAL,
    SERVICES_JOB,
    WEBHOOK_PORT,
)

LOCAL_WEBHOOK_BASE = f"http://127.0.0.1:{WEBHOOK_PORT}"


class DeployConfigError(ValueError):
    """A committed config is missing or malformed; the message names file and field."""


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeployConfigError(f"{path}: not found; run crm-obs generate") from None
    except yaml.YAMLError as exc:
        raise DeployConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise DeployConfigError(f"{path}: expected a mapping at the top level")
    return data


def prometheus_local(root: Path, *, targets: Sequence[str] | None = None,
                     alertmanager: str | None = None) -> dict[str, Any]:
    """The local Prometheus config with absolute rule paths; optionally other
    service ``targets`` (host:port, in contacts, deals, leads, accounts order) and
    Alertmanager address."""
    path = root / PROMETHEUS_LOCAL
    config = _load(path)
    rules = config.get("rule_files")
    if not isinstance(rules, list):
        raise DeployConfigError(f"{path}: rule_files: expected a list of globs")
    config["rule_files"] = [str((path.parent / str(glob)).resolve()) for glob in rules]
    jobs = [j for j in config.get("scrape_configs") or [] if j.get("job_name") == SERVICES_JOB]
    if len(jobs) != 1:
        raise DeployConfigError(f"{path}: scrape_configs: expected one job {SERVICES_JOB!r}")
    if targets is not None:
        jobs[0]["static_configs"] = [{"targets": list(targets)}]
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [
            {"targets": [alertmanager]}]}]}
    return config


def alertmanager_local(root: Path, *, webhook_base: str | None = None) -> dict[str, Any]:
    """The local Alertmanager config; ``webhook_base`` replaces ``http://127.0.0.1:9095``."""
    path = root / ALERTMANAGER_LOCAL
    config = _load(path)
    receivers = config.get("receivers")
    if not isinstance(receivers, list):
        raise DeployConfigError(f"{path}: receivers: expected a list")
    if webhook_base is not None:
        for receiver in receivers:
            for hook in receiver.get("webhook_configs") or []:
                url = str(hook.get("url", ""))
                if url.startswith(LOCAL_WEBHOOK_BASE):
                    hook["url"] = webhook_base.rstrip("/") + url[len(LOCAL_WEBHOOK_BASE):]
    return config


def rule_files(config: dict[str, Any]) -> list[Path]:
    """Every rule file a loaded Prometheus config names (globs expanded, sorted)."""
    found: set[Path] = set()
    for pattern in config.get("rule_files") or []:
        p = Path(pattern)
        found.update(p.parent.glob(p.name))
    return sorted(found)
