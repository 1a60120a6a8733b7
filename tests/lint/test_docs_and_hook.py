"""docs/lint.md documents every rule id; the pre-commit hook runs the real CLI."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from crm_observability.cli import main
from crm_observability.lint.findings import RULES

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]


def test_every_rule_id_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", (ROOT / "docs" / "lint.md").read_text(),
                                re.MULTILINE))
    assert documented == set(RULES)


def test_pre_commit_hook_runs_crm_obs_lint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "crm-obs-lint" and hook["pass_filenames"] is False
    program, *command = shlex.split(hook["entry"])
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts[program] == "crm_observability.cli:main"
    monkeypatch.chdir(FIXTURES / "good")  # the hook runs at the repository root
    assert main([*command, *hook["args"]]) == 0
    monkeypatch.chdir(FIXTURES / "thirdparty")
    assert main([*command, *hook["args"]]) == 1
    assert "pyrra.yml:9: recording-rule-naming" in capsys.readouterr().out
