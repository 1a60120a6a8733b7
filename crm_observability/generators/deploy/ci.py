"""A GitHub Actions pipeline for users of the toolkit: ``deploy/ci/github-actions.yml``.

The document's stages in its order, each a job gated on the one before:
quality (ruff, mypy) -> tests with the coverage gate -> dependency audit
(pip-audit) -> generated artifacts (``crm-obs generate --check``, ``crm-obs
lint --promtool``) -> container build -> manifest packaging.  Copy it to
``.github/workflows/`` of a service repository.
"""

from __future__ import annotations

from typing import Any

from crm_observability.generators.deploy.k8s import K8S_DIR
from crm_observability.generators.deploy.model import ENVIRONMENT_TABLE, IMAGE

CI_FILE = "deploy/ci/github-actions.yml"
PYTHON_VERSION = "3.11"
COVERAGE_GATE = 90
_CHECKOUT = {"uses": "actions/checkout@v4"}
_SETUP_PYTHON = {"uses": "actions/setup-python@v5",
                 "with": {"python-version": PYTHON_VERSION, "cache": "pip"}}
_INSTALL = {"name": "Install", "run": 'python -m pip install -e ".[dev]"'}


def _job(name: str, needs: str | None, steps: list[dict[str, Any]],
         **extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = {"name": name, "runs-on": "ubuntu-latest", "timeout-minutes": 30}
    if needs:
        job["needs"] = needs
    job.update(extra)
    job["steps"] = steps
    return job


def workflow() -> dict[str, Any]:
    promtool = {"name": "Install promtool and amtool",
                "run": "sudo apt-get update && sudo apt-get install -y prometheus "
                       "prometheus-alertmanager"}
    jobs = {
        "quality": _job("Quality (ruff, mypy)", None, [
            _CHECKOUT, _SETUP_PYTHON, _INSTALL,
            {"name": "ruff", "run": "ruff check ."},
            {"name": "mypy", "run": "mypy"}]),
        "tests": _job("Tests (coverage gate)", "quality", [
            _CHECKOUT, _SETUP_PYTHON, promtool, _INSTALL,
            {"name": "pytest", "run": "pytest --cov=crm_observability --cov-report=term "
                                      f"--cov-report=xml --cov-fail-under={COVERAGE_GATE}",
             "env": {"CI": "true"}},
            {"uses": "actions/upload-artifact@v4", "if": "always()",
             "with": {"name": "coverage", "path": "coverage.xml"}}],
            services={
                "postgres": {"image": "postgres:16-alpine",
                             "env": {"POSTGRES_HOST_AUTH_METHOD": "trust",
                                     "POSTGRES_DB": "test"},
                             "ports": ["5432:5432"],
                             "options": "--health-cmd pg_isready --health-interval 5s "
                                        "--health-retries 10"},
                "redis": {"image": "redis:7.4-alpine", "ports": ["6379:6379"]}}),
        "audit": _job("Dependency audit (pip-audit)", "tests", [
            _CHECKOUT, _SETUP_PYTHON, _INSTALL,
            {"name": "pip-audit", "run": "python -m pip install pip-audit && pip-audit"}]),
        "artifacts": _job("Generated artifacts (generate --check, lint)", "audit", [
            _CHECKOUT, _SETUP_PYTHON, promtool, _INSTALL,
            {"name": "Generated files are up to date", "run": "crm-obs generate --check"},
            {"name": "Lint rules, alerts and dashboards",
             "run": "crm-obs lint --promtool slo alerts dashboards"}]),
        "container": _job("Container build", "artifacts", [
            _CHECKOUT,
            {"uses": "docker/setup-buildx-action@v3"},
            {"uses": "docker/login-action@v3",
             "if": "github.event_name == 'push'",
             "with": {"registry": "ghcr.io", "username": "${{ github.actor }}",
                      "password": "${{ secrets.GITHUB_TOKEN }}"}},
            {"uses": "docker/build-push-action@v6",
             "with": {"context": ".", "file": "deploy/Dockerfile",
                      "push": "${{ github.event_name == 'push' }}",
                      "tags": f"{IMAGE}:${{{{ github.sha }}}}\n{IMAGE}:latest"}}],
            permissions={"contents": "read", "packages": "write"}),
        "package": _job("Package manifests", "container", [
            _CHECKOUT,
            {"name": "Render and pin the image per environment",
             "run": _package_script()},
            {"uses": "actions/upload-artifact@v4",
             "with": {"name": "k8s-manifests", "path": "dist/*.tar.gz"}}]),
    }
    return {
        "name": "crm-services",
        "on": {"push": {"branches": ["main", "develop", "release/*", "hotfix/*"],
                        "paths-ignore": ["docs/**", "README.md"]},
               "pull_request": {"branches": ["main", "develop"]}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "${{ github.workflow }}-${{ github.ref }}",
                        "cancel-in-progress": True},
        "jobs": jobs,
    }


def _package_script() -> str:
    envs = " ".join(ENVIRONMENT_TABLE)
    return (
        "mkdir -p dist\n"
        f"for env in {envs}; do\n"
        f"  (cd {K8S_DIR}/$env && kustomize edit set image {IMAGE}={IMAGE}:${{{{ github.sha }}}})\n"
        f"  kubectl kustomize {K8S_DIR}/$env > dist/crm-services-$env.yaml\n"
        "  tar czf dist/crm-services-$env.tar.gz -C dist crm-services-$env.yaml\n"
        "done\n"
    )
