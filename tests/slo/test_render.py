"""The shared deterministic writers: exact decimals, header, stable bytes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from crm_observability.generators import (
    GENERATED_HEADER,
    exact_number,
    render_json,
    render_yaml,
    write_if_changed,
)


def test_yaml_has_header_and_round_trips() -> None:
    data = {"groups": [{"name": "g", "rules": [{"record": "r", "expr": "a\n/\nb",
                                                 "labels": {"x": "yes", "n": 3, "t": True}}]}]}
    text = render_yaml(data, header="source: a.yml")
    lines = text.splitlines()
    assert lines[0] == f"# {GENERATED_HEADER}"
    assert lines[1] == "# source: a.yml"
    assert yaml.safe_load(text) == data
    assert "expr: |-" in text  # multi-line PromQL as a literal block


def test_float_noise_is_removed() -> None:
    budget = 1 - 0.999  # 0.0010000000000000009 in binary floating point
    objective = 0.1 + 0.2  # 0.30000000000000004
    text = render_yaml({"budget": budget, "objective": objective, "tiny": Decimal("0.00001")})
    assert "budget: 0.001\n" in text
    assert "objective: 0.3\n" in text
    assert "tiny: 0.00001\n" in text
    assert yaml.safe_load(text) == {"budget": 0.001, "objective": 0.3, "tiny": 0.00001}
    assert json.loads(render_json({"b": budget})) == {"b": 0.001}


def test_long_lines_are_not_folded() -> None:
    expr = "sum(rate(x[5m])) " * 20
    text = render_yaml({"expr": expr.strip()})
    assert len(text.splitlines()) == 2


def test_json_is_sorted_and_stable() -> None:
    data = {"b": [1, 2.5, {"z": 1, "a": None}], "a": frozenset({"y", "x"}), "c": (1, 2)}
    first = render_json(data)
    assert first == render_json(dict(reversed(list(data.items()))))
    assert first.endswith("\n")
    assert json.loads(first) == {"a": ["x", "y"], "b": [1, 2.5, {"a": None, "z": 1}], "c": [1, 2]}


def test_unrenderable_values_are_refused() -> None:
    with pytest.raises(TypeError, match="object"):
        render_yaml({"x": object()})
    with pytest.raises(ValueError, match="non-finite"):
        render_json({"x": float("nan")})


@given(st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6,
                   allow_nan=False, allow_infinity=False))
def test_exact_number_is_plain_and_exact(value: Decimal) -> None:
    text = exact_number(value)
    assert "e" not in text.lower() and "." in text
    assert Decimal(text) == value


@given(st.floats(min_value=1e-6, max_value=1e6))
def test_floats_round_trip_to_at_most_15_digits(value: float) -> None:
    text = exact_number(value)
    assert float(text) == pytest.approx(value, rel=1e-14)


def test_write_if_changed(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.yml"
    assert write_if_changed(target, "a\n") is True
    mtime = target.stat().st_mtime_ns
    assert write_if_changed(target, "a\n") is False
    assert target.stat().st_mtime_ns == mtime
    assert write_if_changed(target, "b\n") is True
    assert target.read_text() == "b\n"


def test_compact_output_is_the_same_with_or_without_libyaml(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from crm_observability.generators import render

    data = {"groups": [{"name": "g", "rules": [
        {"record": "r", "expr": "a\n/\nb", "labels": {"v": 0.001, "s": "yes", "e": ""}},
        {"alert": "A", "expr": "x > 1", "for": "2m", "annotations": {"d": "{{ $value }}"}}]}]}
    fast = render_yaml(data, header="h", compact=True)
    assert fast.startswith(f"# {GENERATED_HEADER}\n# h\ngroups:\n- name: g\n  rules:\n")

    class PurePython(yaml.SafeDumper):
        def ignore_aliases(self, data: object) -> bool:
            return True

    PurePython.add_representer(str, render._represent_str)
    PurePython.add_representer(render._ExactFloat, render._represent_exact)
    monkeypatch.setattr(render, "_CompactDumper", PurePython)
    assert render_yaml(data, header="h", compact=True) == fast
    assert yaml.safe_load(fast) == yaml.safe_load(render_yaml(data))
