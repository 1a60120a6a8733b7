"""Shared fixtures of the deploy tests: the generated files, parsed, and tool lookup.

In CI (``CI=true``) a missing binary or Python tool fails the test instead of
skipping it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_observability.generators.deploy import deploy_files

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = Path(__file__).with_name("schemas")


def missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required in CI)")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} is not installed")
    assert path is not None
    return path



@pytest.fixture(scope="session")
def generated() -> dict[str, str]:
    return deploy_files(ROOT)


def documents(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


@pytest.fixture(scope="session")
def manifests(generated: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Environment -> every Kubernetes resource generated for it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for path, text in generated.items():
        parts = path.split("/")
        if parts[:2] == ["deploy", "k8s"] and len(parts) == 4 \
                and parts[3] != "kustomization.yaml":
            out.setdefault(parts[2], []).extend(documents(text))
    return out


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture
def tmp_root(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
