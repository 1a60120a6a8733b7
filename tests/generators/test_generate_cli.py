"""``crm-obs generate [--check]`` over temp copies of the repository's spec and output dirs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crm_observability import conventions as names
from crm_observability.cli import main
from crm_observability.generators.artifacts import (
    ArtifactError,
    Producer,
    collect,
    compare,
    default_producers,
    write_all,
)
from tests.generators.helpers import REPO

DASHBOARD = f"{names.DASHBOARDS_DIR}/crm-service.json"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the repository's spec files and generated dirs, brought up to date."""
    for name in ("slo", names.ALERTS_DIR, names.DASHBOARDS_DIR):
        shutil.copytree(REPO / name, tmp_path / name)
    write_all(tmp_path)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["generate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_committed_tree_is_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "--check", "--root", str(REPO))
    assert code == 0, out + err
    assert "generated files up to date" in out


def test_check_names_changed_missing_and_stale_files(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "--check", "--root", str(root))[0] == 0
    (root / DASHBOARD).write_text((root / DASHBOARD).read_text().replace("Request rate", "RPS"))
    (root / names.PLATFORM_RULES_FILE).unlink()
    stale = root / names.ALERT_TESTS_DIR / "old-alert.test.yml"
    stale.write_text("rule_files: []\n")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    code, out, err = _run(capsys, "--check", "--root", str(root))
    assert code == 1
    assert out.splitlines() == [f"{DASHBOARD}: differs", f"{names.PLATFORM_RULES_FILE}: missing",
                                f"{names.ALERT_TESTS_DIR}/old-alert.test.yml: stale"]
    assert "3 file(s) out of date" in err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # wrote nothing

    code, out, _ = _run(capsys, "--root", str(root))
    assert code == 0
    assert f"{DASHBOARD}: written" in out and "old-alert.test.yml: removed" in out
    assert not stale.exists()
    assert _run(capsys, "--check", "--root", str(root))[0] == 0


def test_generate_is_idempotent(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(root / names.DASHBOARDS_DIR)
    shutil.rmtree(root / names.ALERTS_DIR)
    assert _run(capsys, "--root", str(root))[0] == 0
    first = {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
    code, out, _ = _run(capsys, "--root", str(root))
    assert code == 0 and out.splitlines()[-1].endswith(" 0 changed")
    assert {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()} == first


def test_bad_spec_is_one_line_exit_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = sorted((root / "slo").glob("*.slo.yml"))[0]
    spec.write_text(spec.read_text().replace("objective: ", "objective: 140 #", 1))
    code, _, err = _run(capsys, "--check", "--root", str(root))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("crm-obs: ") and spec.name in err
    assert "objective" in err and "Traceback" not in err


def test_missing_root_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--root", str(tmp_path / "nope"))
    assert code == 2 and "--root: is not a directory" in err


def test_unwritable_file_is_exit_2(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (root / DASHBOARD).unlink()
    (root / DASHBOARD).mkdir()  # a directory where a file must go
    code, _, err = _run(capsys, "--root", str(root))
    assert code == 2 and DASHBOARD in err and "cannot write" in err


def test_producers_cannot_collide_or_escape(tmp_path: Path) -> None:
    one = Producer("one", lambda root: {"a/x.yml": "1"}, ("a/*.yml",))
    two = Producer("two", lambda root: {"a/x.yml": "2"}, ())
    with pytest.raises(ArtifactError, match="produced by both one and two"):
        collect(tmp_path, [one, two])
    bad = Producer("bad", lambda root: {"../x.yml": "1"}, ())
    with pytest.raises(ArtifactError, match="outside the root"):
        collect(tmp_path, [bad])


def test_a_new_producer_is_picked_up(tmp_path: Path) -> None:
    extra = Producer("deploy", lambda root: {"deploy/x.yml": "x: 1\n"}, ("deploy/*.yml",))
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "old.yml").write_text("old")
    before = write_all(tmp_path, [extra])
    assert before.missing == ("deploy/x.yml",) and before.stale == ("deploy/old.yml",)
    assert compare(tmp_path, [extra]).clean
    assert {"alerts", "slo-rules", "dashboards", "grafana-provisioning"} <= {
        p.name for p in default_producers()}


def test_console_entry_point(root: Path) -> None:
    ran = subprocess.run([sys.executable, "-m", "crm_observability.cli", "generate", "--check",
                          "--root", str(root)], capture_output=True, text=True, timeout=180,
                         check=False)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip().endswith("generated files up to date")
