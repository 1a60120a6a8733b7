"""Every lint rule id: a violating input finds it at the right line, a clean one finds nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_observability.lint import LintConfig, lint_paths, load_catalog
from crm_observability.lint.findings import RULES

from .conftest import FIXTURES

CASES: dict[str, dict[str, Any]] = yaml.safe_load((FIXTURES / "cases.yml").read_text())
EXTERNAL = {"promtool", "promtool-test", "amtool"}  # tested in test_external.py


def _lint(tmp_path: Path, name: str, text: str, case: dict[str, Any], catalog: Path) -> Any:
    path = tmp_path / f"{name}{case.get('suffix', '.yml')}"
    path.write_text(text)
    config = LintConfig(catalog=load_catalog(str(catalog)) if case.get("catalog") else None)
    return lint_paths([path], config).findings


def test_every_rule_id_has_a_case() -> None:
    assert set(CASES) | EXTERNAL == set(RULES)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_bad_input_is_found(rule_id: str, tmp_path: Path, catalog_file: Path) -> None:
    case = CASES[rule_id]
    findings = _lint(tmp_path, "bad", case["bad"], case, catalog_file)
    hits = [f for f in findings if f.rule_id == rule_id]
    assert hits, f"{rule_id} not found; got {findings}"
    assert hits[0].line == case["line"], hits
    assert hits[0].file.endswith("bad" + case.get("suffix", ".yml"))


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_good_input_is_clean(rule_id: str, tmp_path: Path, catalog_file: Path) -> None:
    case = CASES[rule_id]
    assert _lint(tmp_path, "good", case["good"], case, catalog_file) == ()
