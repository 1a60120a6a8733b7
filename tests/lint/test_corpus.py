"""Files written by other tools (Sloth, Pyrra) and the library API over a whole tree."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from crm_observability.lint import (
    LintConfig,
    catalog_from_registry,
    lint_paths,
)

from .conftest import FIXTURES


def _found(path: Path, config: LintConfig | None = None) -> set[tuple[str, int, str]]:
    return {(Path(f.file).name, f.line, f.rule_id) for f in lint_paths([path], config).findings}


def test_sloth_output() -> None:
    # Sloth's SLI divides by the request rate: NaN at zero traffic (Sloth #133).
    assert _found(FIXTURES / "thirdparty" / "sloth.yml") == {
        ("sloth.yml", 8, "division-unguarded"),
        ("sloth.yml", 50, "alert-annotations"),
        ("sloth.yml", 50, "alert-for"),
        ("sloth.yml", 51, "rule-missing-dependency"),
        ("sloth.yml", 59, "alert-severity-label"),
    }


def test_pyrra_output() -> None:
    assert _found(FIXTURES / "thirdparty" / "pyrra.yml") == {
        ("pyrra.yml", 9, "recording-rule-naming"),
        ("pyrra.yml", 13, "division-unguarded"),
        ("pyrra.yml", 17, "recording-rule-naming"),
        ("pyrra.yml", 18, "alert-annotations"),
        ("pyrra.yml", 19, "rule-missing-dependency"),
    }


def test_good_tree_is_clean_against_a_live_registry_catalog(registry: CollectorRegistry) -> None:
    config = LintConfig(catalog=catalog_from_registry(registry))
    result = lint_paths([FIXTURES / "good"], config)
    assert result.findings == ()
    assert len(result.files) == 5 and len(result.documents) == 5


def test_duplicates_across_files_name_the_first(tmp_path: Path) -> None:
    rule = "groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c', expr: up}\n"
    (tmp_path / "a.yml").write_text(rule)
    (tmp_path / "b.yml").write_text(rule)
    findings = lint_paths([tmp_path]).findings
    assert [(Path(f.file).name, f.rule_id) for f in findings] == [
        ("b.yml", "group-duplicate"), ("b.yml", "rule-duplicate")]
    assert f"{tmp_path}/a.yml:2" in findings[0].message


def test_recording_rules_of_other_files_satisfy_dependencies(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "groups:\n  - name: a\n    rules:\n      - {record: 'job:up:sum', expr: sum(up)}\n")
    (tmp_path / "b.yml").write_text(
        "groups:\n  - name: b\n    rules:\n      - {record: 'job:up:max1h', "
        "expr: 'max_over_time(job:up:sum[1h])'}\n")
    assert lint_paths([tmp_path / "b.yml"]).findings[0].rule_id == "rule-missing-dependency"
    assert lint_paths([tmp_path]).findings == ()


def test_disabled_rules_are_filtered(tmp_path: Path) -> None:
    config = LintConfig(disabled=frozenset({"recording-rule-naming", "division-unguarded",
                                            "rule-missing-dependency", "alert-annotations"}))
    assert _found(FIXTURES / "thirdparty" / "pyrra.yml", config) == set()


def test_plain_files_and_prometheusrule_resources_are_separate_namespaces(tmp_path: Path) -> None:
    # A generator may emit the same rules for Prometheus and for the operator.
    group = "  - name: g\n    rules:\n      - {record: 'a:b:c', expr: up}\n"
    (tmp_path / "plain.yml").write_text("groups:\n" + group)
    resource = "kind: PrometheusRule\nspec:\n  groups:\n" + group.replace("\n  ", "\n    ")
    (tmp_path / "operator.yml").write_text(resource.replace("groups:\n  - ", "groups:\n    - "))
    assert lint_paths([tmp_path]).findings == ()
    (tmp_path / "operator2.yml").write_text((tmp_path / "operator.yml").read_text())
    assert {f.rule_id for f in lint_paths([tmp_path]).findings} == {
        "group-duplicate", "rule-duplicate"}
