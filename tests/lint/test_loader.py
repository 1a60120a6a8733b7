"""Loading YAML/JSON with line numbers and recognising each kind of document."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_observability.lint.loader import DocKind, LoadError, LocDict, load_file, parse_text

from .conftest import FIXTURES


def test_lines_of_keys_and_items() -> None:
    (doc,) = parse_text("a: 1\nlist:\n  - x\n  - y: 2\n", "f.yml")
    assert isinstance(doc, LocDict)
    assert doc.line_of("list") == 2 and doc.line_of("missing") == 1
    assert doc["list"].line_of(1) == 4 and doc["list"].line_of(9) == doc["list"].line
    assert doc["list"][1].line == 4


def test_merge_keys_are_resolved() -> None:
    (doc,) = parse_text("base: &b {x: 1}\nuse:\n  <<: *b\n  y: 2\n", "f.yml")
    assert doc["use"] == {"x": 1, "y": 2}


def test_invalid_yaml_names_file_line_and_reason() -> None:
    with pytest.raises(LoadError, match=r"^f\.yml: invalid YAML: line 2 column \d+: "):
        parse_text("a: [1,\nb: }\n", "f.yml")


def test_unhashable_key_is_a_load_error() -> None:
    with pytest.raises(LoadError, match="unhashable key"):
        parse_text("? [a, b]\n: 1\n", "f.yml")


def test_json_that_yaml_rejects_still_loads_without_lines() -> None:
    text = '{"title":\t"a\\/b", "panels": []}'
    (doc,) = parse_text(text, "d.json")
    assert doc == {"title": "a/b", "panels": []}


def test_broken_json_is_a_load_error() -> None:
    with pytest.raises(LoadError, match=r"^d\.json: invalid JSON: "):
        parse_text('{"title":\t', "d.json")


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="cannot read: No such file or directory"):
        load_file(tmp_path / "missing.yml")
    binary = tmp_path / "bin.yml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(LoadError, match="cannot read"):
        load_file(binary)


@pytest.mark.parametrize(
    ("name", "kinds"),
    [
        ("rules.yml", [DocKind.RULES]),
        ("prometheusrule.yaml", [DocKind.RULES]),
        ("dashboard.json", [DocKind.DASHBOARD]),
        ("alertmanager.yml", [DocKind.ALERTMANAGER]),
        ("rules.test.yml", [DocKind.RULE_TEST]),
    ],
)
def test_kinds(name: str, kinds: list[DocKind]) -> None:
    docs = load_file(FIXTURES / "good" / name)
    assert [d.kind for d in docs] == kinds


def test_wrapped_documents_point_inside() -> None:
    (rule,) = load_file(FIXTURES / "good" / "prometheusrule.yaml")
    assert rule.wrapped and "groups" in rule.data
    (dash,) = load_file(FIXTURES / "good" / "dashboard.json")
    assert dash.wrapped and dash.data["uid"] == "crm-service" and dash.line == 2


def test_unknown_documents_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "compose.yml"
    path.write_text("services: {a: {image: x}}\n---\n- 1\n---\n")
    assert load_file(path) == []


def test_multi_document_file(tmp_path: Path) -> None:
    path = tmp_path / "multi.yml"
    path.write_text("groups: []\n---\nkind: PrometheusRule\nspec: 3\n")
    docs = load_file(path)
    assert [d.kind for d in docs] == [DocKind.RULES, DocKind.RULES]
    assert docs[1].data == {} and docs[1].line == 4
