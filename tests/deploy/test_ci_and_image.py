"""The CI pipeline for users (schema, stage order, commands that exist) and the image
definition (multi-stage, non-root, health check on the liveness path)."""

from __future__ import annotations

import importlib.util
import json
import shlex
from typing import Any

import pytest
import yaml

from crm_observability import conventions as names
from crm_observability.cli import build_parser
from tests.deploy.conftest import ROOT
from tests.deploy.test_compose import check_jsonschema

PIPELINE = ROOT / "deploy/ci/github-actions.yml"
DOCKERFILE = ROOT / "deploy/Dockerfile"


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    return dict(yaml.safe_load(PIPELINE.read_text()))


def test_pipeline_matches_the_github_workflow_schema() -> None:
    out = check_jsonschema("vendor.github-workflows", PIPELINE)
    assert out.returncode == 0, out.stdout + out.stderr


def test_stages_run_in_the_documents_order(pipeline: dict[str, Any]) -> None:
    jobs = pipeline["jobs"]
    order, current = [], next(n for n, j in jobs.items() if "needs" not in j)
    while current:
        order.append(current)
        current = next((n for n, j in jobs.items() if j.get("needs") == current), "")
    assert order == ["quality", "tests", "audit", "artifacts", "container", "package"]
    runs = {n: " ".join(s.get("run", "") for s in j["steps"]) for n, j in jobs.items()}
    assert "ruff check" in runs["quality"] and "mypy" in runs["quality"]
    assert "--cov-fail-under=90" in runs["tests"]
    assert "pip-audit" in runs["audit"]
    container = json.dumps(jobs["container"])
    assert "deploy/Dockerfile" in container


def test_crm_obs_commands_in_the_pipeline_parse(pipeline: dict[str, Any]) -> None:
    parser = build_parser()
    commands = [step["run"] for job in pipeline["jobs"].values() for step in job["steps"]
                if step.get("run", "").startswith("crm-obs ")]
    assert len(commands) == 2
    for command in commands:
        args = parser.parse_args(shlex.split(command)[1:])
        assert callable(args.handler)


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_image_is_multi_stage_small_and_not_root() -> None:
    steps = _instructions()
    stages = [rest for k, rest in steps if k == "FROM"]
    assert len(stages) == 2 and all("-slim" in s for s in stages)
    final = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM"):]
    assert any(k == "COPY" and r.startswith("--from=build") for k, r in final)
    assert not any(k == "RUN" and "pip install" in r for k, r in final)  # no build tools
    user = [r for k, r in final if k == "USER"][-1]
    assert int(user.split(":")[0]) >= 1000
    assert [r for k, r in final if k == "EXPOSE"] == ["8080"]


def test_healthcheck_and_command_name_real_paths_and_modules() -> None:
    steps = dict(_instructions())
    assert names.LIVENESS_PATH in steps["HEALTHCHECK"]
    command = " ".join(json.loads(steps["CMD"]))
    assert 'reference_services.${CRM_SERVICE}.app:app' in command
    for app in ("contacts", "deals", "leads", "accounts"):
        assert importlib.util.find_spec(f"reference_services.{app}.app") is not None


def test_ignore_file_sends_only_what_the_build_copies() -> None:
    ignore = (ROOT / "deploy/Dockerfile.dockerignore").read_text().splitlines()
    rules = [line for line in ignore if line and not line.startswith("#")]
    assert rules[0] == "**"
    included = {line[1:].rstrip("/") for line in rules if line.startswith("!")}
    copied = set()
    for keyword, rest in _instructions():
        if keyword == "COPY" and not rest.startswith("--from"):
            copied.update(p.rstrip("/") for p in rest.split()[:-1])
    assert copied == included
