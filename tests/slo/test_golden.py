"""Golden rule files for each SLI kind and input format; promtool accepts all of them.

Regenerate after an intended change: ``CRM_OBS_UPDATE_GOLDEN=1 pytest tests/slo``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from crm_observability import conventions as names
from crm_observability.generators import build_rule_groups, render_rule_file
from crm_observability.slo import load_spec_file, tiers_for
from tests.slo.conftest import GOLDEN, SPECS, UPDATE_GOLDEN

SPEC_FILES = sorted(p.name for p in SPECS.glob("*.yml"))
Promtool = Callable[..., subprocess.CompletedProcess[str]]


def golden_name(spec: str, fmt: str) -> str:
    stem = spec.removesuffix(".yml").removesuffix(".slo")
    return f"{stem}.rules.yml" if fmt == "prometheus" else f"{stem}.operator.yml"


@pytest.mark.parametrize("fmt", ["prometheus", "operator"])
@pytest.mark.parametrize("spec", SPEC_FILES)
def test_golden(spec: str, fmt: str) -> None:
    text = render_rule_file(load_spec_file(SPECS / spec), fmt)
    target = GOLDEN / golden_name(spec, fmt)
    if UPDATE_GOLDEN:
        target.write_text(text, encoding="utf-8")
    assert target.read_text(encoding="utf-8") == text, (
        f"{target.name} differs; rerun with CRM_OBS_UPDATE_GOLDEN=1 if intended")
    assert render_rule_file(load_spec_file(SPECS / spec), fmt) == text  # byte-identical rerun


def test_goldens_cover_every_kind_and_format() -> None:
    kinds = {(p.name.split("-")[0], s.sli.kind) for p in SPECS.glob("*.yml")
             for s in load_spec_file(p).slos}
    assert {"v1", "sloth", "openslo"} == {fmt for fmt, _ in kinds}
    assert {"events", "latency", "raw"} == {kind for _, kind in kinds}


def test_promtool_lints_every_golden(run_promtool: Promtool, tmp_path: Path) -> None:
    files = sorted(str(p) for p in GOLDEN.glob("*.rules.yml"))
    # The operator resource's spec.groups is a rule file too.
    for path in sorted(GOLDEN.glob("*.operator.yml")):
        resource = yaml.safe_load(path.read_text())
        assert resource["apiVersion"] == "monitoring.coreos.com/v1"
        assert resource["kind"] == "PrometheusRule"
        extracted = tmp_path / path.name
        extracted.write_text(yaml.safe_dump({"groups": resource["spec"]["groups"]}))
        files.append(str(extracted))
    assert len(files) == 2 * len(SPEC_FILES)
    result = run_promtool(["check", "rules", "--lint=all", "--lint-fatal", *files])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_carries_the_required_labels_and_annotations() -> None:
    for path in SPECS.glob("*.yml"):
        spec = load_spec_file(path)
        for group, slo in zip(build_rule_groups(spec), spec.slos, strict=True):
            alerts = [r for r in group["rules"] if "alert" in r]
            burn = [a for a in alerts if a["alert"] != names.SLO_ABSENT_ALERT]
            enabled = [t for t in tiers_for(slo.period_seconds) if slo.tier_enabled(t)]
            assert len(burn) == len(enabled), path
            for alert, tier in zip(burn, enabled, strict=True):
                labels = alert["labels"]
                assert labels[names.LABEL_SLO] == slo.name
                assert labels[names.LABEL_SERVICE] == spec.service
                assert labels[names.LABEL_SEVERITY] == tier.name
                assert labels[names.LABEL_LONG_WINDOW] == tier.long_window_text
                assert labels[names.LABEL_SHORT_WINDOW] == tier.short_window_text
                assert {"summary", "description"} <= set(alert["annotations"])
                assert "{{ $value | humanize }}" in alert["annotations"]["description"]


def test_grouping_labels_survive_meta_rules() -> None:
    # Meta rules divide the recorded ratio by a scalar: labels of the SLI survive.
    spec = load_spec_file(SPECS / "v1-events.slo.yml")
    rules = build_rule_groups(spec)[0]["rules"]
    burn = next(r for r in rules if r.get("record") == names.SLO_CURRENT_BURN_RULE)
    assert burn["expr"].startswith(names.slo_error_ratio_rule("5m") + "{")
    assert " by " not in burn["expr"] and "sum" not in burn["expr"]


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format 'helm'"):
        render_rule_file(load_spec_file(SPECS / "v1-raw.slo.yml"), "helm")
