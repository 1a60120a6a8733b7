"""``--promtool``: the real promtool and amtool binaries over good and bad files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from crm_observability.cli import main
from crm_observability.lint import LintConfig, lint_paths

from .conftest import FIXTURES

GOOD = FIXTURES / "good"


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} is required in CI")
        pytest.skip(f"{tool} not installed")


@pytest.fixture
def tools() -> None:
    _need("promtool")
    _need("amtool")


def _external(paths: list[Path]) -> list[tuple[str, int, str, str]]:
    result = lint_paths(paths, LintConfig(promtool=True))
    return [(Path(f.file).name, f.line, f.rule_id, f.message) for f in result.findings
            if f.rule_id in ("promtool", "promtool-test", "amtool")]


def test_good_tree_passes_promtool_and_amtool(tools: None) -> None:
    assert _external([GOOD]) == []


def test_promtool_check_rules_finding_has_the_line(tools: None, tmp_path: Path) -> None:
    bad = tmp_path / "rules.yml"
    bad.write_text("groups:\n  - name: g\n    rules:\n      - record: 'a:b:c'\n"
                   "        expr: sum(up\n")
    ((name, line, rule, message),) = _external([bad])
    assert (name, line, rule) == ("rules.yml", 5, "promtool")
    assert "unclosed left parenthesis" in message


def test_promtool_lint_fatal_duplicates(tools: None, tmp_path: Path) -> None:
    bad = tmp_path / "rules.yml"
    rule = "      - {record: 'a:b:c', expr: sum(up)}\n"
    bad.write_text("groups:\n  - name: g\n    rules:\n" + rule + rule)
    ((_, _, rule_id, message),) = _external([bad])
    assert rule_id == "promtool" and "duplicate rule" in message


def test_prometheusrule_goes_through_a_temporary_file(tools: None, tmp_path: Path) -> None:
    text = (GOOD / "prometheusrule.yaml").read_text().replace(
        "expr: sum by (service) (rate(crm_contacts_created_total[1h]))", "expr: sum(")
    bad = tmp_path / "pr.yaml"
    bad.write_text(text)
    found = _external([bad])
    rule_line = text.splitlines().index("        - record: service:crm_contacts_created:rate1h") + 1
    assert [(n, line, r) for n, line, r, _ in found] == [("pr.yaml", rule_line, "promtool")]


def test_failing_rule_test_suite(tools: None, tmp_path: Path) -> None:
    shutil.copy(GOOD / "rules.yml", tmp_path / "rules.yml")
    suite = (GOOD / "rules.test.yml").read_text().replace("exp_alerts: []", "exp_alerts:\n"
                                                           "          - exp_labels: {}")
    (tmp_path / "rules.test.yml").write_text(suite)
    found = _external([tmp_path])
    assert [(n, r) for n, _, r, _ in found] == [("rules.test.yml", "promtool-test")]
    assert "HighErrorRate" in found[0][3]


def test_bad_alertmanager_config(tools: None, tmp_path: Path) -> None:
    bad = tmp_path / "am.yml"
    bad.write_text("route:\n  receiver: nobody\nreceivers:\n  - name: team\n")
    assert _external([bad]) == [("am.yml", 1, "amtool",
                                 'undefined receiver "nobody" used in route')]


def test_missing_binary_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no promtool there
    assert main(["lint", "--promtool", str(GOOD / "rules.yml")]) == 2
    err = capsys.readouterr().err
    assert err == ("crm-obs: promtool not found on PATH (--promtool needs it; install the "
                   "Debian package prometheus)\n")
