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
    monkeypatch.setattr(render, "_CompactEmitter", yaml.SafeDumper)
    assert render_yaml(data, header="h", compact=True) == fast
    assert yaml.safe_load(fast) == yaml.safe_load(render_yaml(data))


def _representer_dump(data: object) -> str:
    """What PyYAML's own representer and serializer write for ``data`` (the reference)."""
    from crm_observability.generators import render

    class Reference(yaml.CSafeDumper):  # type: ignore[name-defined,misc]
        def ignore_aliases(self, data: object) -> bool:
            return True

    Reference.add_representer(str, render._represent_str)
    Reference.add_representer(render._ExactFloat, render._represent_exact)
    return str(yaml.dump(render._clean(data), Dumper=Reference, sort_keys=False,
                         allow_unicode=True, default_flow_style=False, width=2**30))


# Strings a YAML reader would take for something else unless quoted, and layout traps.
_TRICKY = ["yes", "No", "on", "null", "~", "", "1", "1.0", "-1", ".5", "0x1F", "1e3",
           "2026-01-01", "12:30", "<<", "=", "- a", ": x", "a: b", "a #b", "#c", "[x]",
           "{x}", "*a", "&a", "!t", "%p", "@x", "`x", "'q'", '"q"', "a\nb", "a \nb",
           "tab\t", " lead", "trail ", "é\u2028x", "\u00e9t\u00e9", "x" * 200,
           "{{ $value | humanizePercentage }}", "sum(rate(x[5m])) > 14.4 * (1 - 0.999)"]


def test_compact_events_write_what_the_representer_writes() -> None:
    from crm_observability.generators import render

    data = {"strings": _TRICKY, "keys": {s: s for s in _TRICKY if s},
            "numbers": [0, -3, 10**20, 0.001, 1 - 0.999, Decimal("14.4"), 1e-7, 2.0],
            "others": [True, False, None, (1, "a"), frozenset({"b", "a"}), [], {}],
            "int keys": {1: "one", 2: [{"deep": {"er": [None]}}]}}
    assert render_yaml(data, compact=True) == render.header_lines() + _representer_dump(data)


_scalars = st.one_of(st.text(max_size=20), st.sampled_from(_TRICKY), st.integers(),
                     st.booleans(), st.none(),
                     st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=8), inner,
                                                 max_size=4)), max_leaves=20)


@given(_values)
def test_compact_events_match_the_representer_for_any_plain_data(data: object) -> None:
    from crm_observability.generators import render

    assert render_yaml(data, compact=True) == render.header_lines() + _representer_dump(data)
