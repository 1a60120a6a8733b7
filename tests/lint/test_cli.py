"""``crm-obs lint``: exit codes, formats, options, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm_observability.cli import main

from .conftest import FIXTURES

ROOT = Path(__file__).resolve().parents[2]
GOOD = str(FIXTURES / "good")
THIRDPARTY = str(FIXTURES / "thirdparty")


def test_clean_tree_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", GOOD]) == 0
    assert capsys.readouterr().out == ""


def test_findings_exit_1_in_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", THIRDPARTY]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"{THIRDPARTY}/pyrra.yml:9: recording-rule-naming: record " in lines[0]
    assert all(line.count(": ") >= 2 for line in lines)


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--format", "json", THIRDPARTY]) == 1
    rows = json.loads(capsys.readouterr().out)
    assert {"file", "line", "rule_id", "message", "severity"} == set(rows[0])
    assert ("division-unguarded", 8) in {(r["rule_id"], r["line"]) for r in rows}


def test_github_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--format", "github", THIRDPARTY]) == 1
    out = capsys.readouterr().out
    expected = f"::error file={THIRDPARTY}/pyrra.yml,line=9,title=recording-rule-naming::"
    assert out.startswith(expected)


def test_disable(capsys: pytest.CaptureFixture[str]) -> None:
    ids = ("recording-rule-naming,division-unguarded,alert-annotations,rule-missing-dependency,"
           "alert-for")
    assert main(["lint", "--disable", ids, "--disable", "alert-severity-label", THIRDPARTY]) == 0


def test_max_for(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (FIXTURES / "good" / "rules.yml").read_text().replace("for: 10m", "for: 2h")
    (tmp_path / "r.yml").write_text(text)
    assert main(["lint", str(tmp_path)]) == 1
    assert "alert-for" in capsys.readouterr().out
    assert main(["lint", "--max-for", "warning=3h", str(tmp_path)]) == 0


def test_catalog_option(capsys: pytest.CaptureFixture[str], catalog_file: Path) -> None:
    assert main(["lint", "--catalog", str(catalog_file), GOOD]) == 0
    assert main(["lint", "--catalog", str(catalog_file), THIRDPARTY]) == 1
    assert "metric-unknown" in capsys.readouterr().out


def test_prometheus_version_option(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(
        "groups:\n  - name: g\n    rules:\n      - {record: 'a:b:c', expr: 'rate(x[300])'}\n")
    assert main(["lint", str(tmp_path)]) == 1
    assert "needs Prometheus 3.0 (target 2.42)" in capsys.readouterr().out
    assert main(["lint", "--prometheus-version", "3.0", str(tmp_path)]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prometheus-version", "two"], "--prometheus-version: not a Prometheus version"),
        (["--disable", "no-such-rule"], "--disable: unknown rule id(s) no-such-rule"),
        (["--max-for", "page"], "--max-for 'page': want SEVERITY=DURATION"),
        (["--catalog", "/nonexistent/metrics.prom"], "--catalog /nonexistent/metrics.prom: cannot"),
    ],
)
def test_bad_options_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["lint", *args, GOOD]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"crm-obs: {message}") and err.count("\n") == 1


def test_unusable_files_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("groups:\n  - name: [\n")
    assert main(["lint", str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"crm-obs: {bad}: invalid YAML: line 3")
    assert main(["lint", str(tmp_path / "missing")]) == 2
    assert "missing: no such file or directory" in capsys.readouterr().err


def test_directory_walk_skips_hidden_and_other_files(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "bad.yml").write_text("{")
    (tmp_path / "notes.txt").write_text("{")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "r.yaml").write_text("groups: 3\n")
    assert main(["lint", str(tmp_path)]) == 1


def test_real_process_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"panels": [')
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "crm_observability.cli", "lint", str(bad)],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False,
    )
    assert proc.returncode == 2
    reason = "invalid JSON: Expecting value: line 1 column 13 (char 12)"
    assert proc.stderr == f"crm-obs: {bad}: {reason}\n"
