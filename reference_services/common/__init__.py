"""What the four services share: app factory, config, auth, database, cache, errors, seeding.

Names load on first use: the service models import ``common.db``, and ``common.seed``
imports the models, so eager imports here would be circular.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ApiError": "errors", "ConfigError": "config", "Principal": "auth", "SeedSizes": "seed",
    "ServiceConfig": "config", "ServiceState": "app", "build_app": "app",
    "decode_token": "auth", "issue_token": "auth", "require_role": "auth", "seed": "seed",
}

__all__ = [
    "ApiError",
    "ConfigError",
    "Principal",
    "SeedSizes",
    "ServiceConfig",
    "ServiceState",
    "build_app",
    "decode_token",
    "issue_token",
    "require_role",
    "seed",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'reference_services.common' has no attribute {name!r}")
    return getattr(importlib.import_module(f"reference_services.common.{module}"), name)
