"""The registry of every committed generated file: which producer writes which path.

A :class:`Producer` maps a repository root to ``{relative path: text}`` and
names the glob patterns it alone owns; a file matching those patterns that no
producer wrote is stale.  To ship a new generated file (e.g. under ``deploy/``),
add a ``Producer`` to :func:`default_producers`; ``crm-obs generate`` and its
``--check`` pick it up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from crm_observability import conventions as names
from crm_observability.generators.render import render_json, write_if_changed
from crm_observability.slo.model import SLOSpec

SLO_SPEC_DIR = "slo"
SLO_SPEC_GLOB = "*.slo.yml"
SLO_RULES_DIR = "slo/rules"
SLO_OPERATOR_RULES_DIR = "slo/rules/operator"


class ArtifactError(ValueError):
    """Producers disagree (two claim one path) or a path escapes the root."""


@dataclass(frozen=True, slots=True)
class Producer:
    name: str
    produce: Callable[[Path], Mapping[str, str]]  # root -> {posix path under root: text}
    owns: tuple[str, ...]  # glob patterns under root; unproduced matches are stale


@dataclass(frozen=True, slots=True)
class Comparison:
    """How the tree under a root differs from what the producers make."""

    expected: Mapping[str, str]
    differs: tuple[str, ...]
    missing: tuple[str, ...]
    stale: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.differs or self.missing or self.stale)


def slo_spec_paths(root: Path) -> list[Path]:
    return sorted((root / SLO_SPEC_DIR).glob(SLO_SPEC_GLOB))


def load_slo_specs(root: Path) -> list[SLOSpec]:
    """Every ``slo/*.slo.yml`` under ``root``, validated (raises ``SpecError``)."""
    from crm_observability.slo import load_spec_files

    return load_spec_files(slo_spec_paths(root))


def _alerts(root: Path) -> dict[str, str]:
    from crm_observability.generators.alerts import render_alert_rules
    from crm_observability.generators.alerts_tests import promtool_suites

    return {names.PLATFORM_RULES_FILE: render_alert_rules(), **promtool_suites()}


def _dashboards(root: Path) -> dict[str, str]:
    from crm_observability.generators.dashboards import all_dashboards

    return {path: render_json(data)
            for path, data in all_dashboards(load_slo_specs(root)).items()}


def _provisioning(root: Path) -> dict[str, str]:
    from crm_observability.generators.provisioning import provisioning_files

    return provisioning_files()


def _slo_rules(root: Path) -> dict[str, str]:
    from crm_observability.generators.slo_rules import render_rule_file

    out: dict[str, str] = {}
    for spec in load_slo_specs(root):
        out[f"{SLO_RULES_DIR}/{spec.service}.rules.yml"] = render_rule_file(spec)
        out[f"{SLO_OPERATOR_RULES_DIR}/{spec.service}.rules.yml"] = render_rule_file(
            spec, "operator")
    return out


def _deploy(root: Path) -> dict[str, str]:
    from crm_observability.generators.deploy import deploy_files

    return deploy_files(root)


def _deploy_owns() -> tuple[str, ...]:
    from crm_observability.generators.deploy import DEPLOY_OWNS

    return DEPLOY_OWNS


def default_producers() -> tuple[Producer, ...]:
    """Every producer of committed artifacts, in output order."""
    return (
        Producer("alerts", _alerts, (f"{names.ALERTS_DIR}/*.rules.yml",
                                     f"{names.ALERT_TESTS_DIR}/*.test.yml")),
        Producer("slo-rules", _slo_rules, (f"{SLO_RULES_DIR}/*.rules.yml",
                                           f"{SLO_OPERATOR_RULES_DIR}/*.rules.yml")),
        Producer("dashboards", _dashboards, (f"{names.DASHBOARDS_DIR}/*.json",)),
        Producer("grafana-provisioning", _provisioning,
                 (f"{names.GRAFANA_PROVISIONING_DIR}/*/*.yml",)),
        Producer("deploy", _deploy, _deploy_owns()),
    )


def collect(root: Path, producers: Sequence[Producer]) -> dict[str, str]:
    """``{path: text}`` from every producer, sorted by path; paths must be unique and relative."""
    out: dict[str, str] = {}
    owner: dict[str, str] = {}
    for producer in producers:
        for path, text in producer.produce(root).items():
            if path in owner:
                raise ArtifactError(f"{path}: produced by both {owner[path]} and {producer.name}")
            if Path(path).is_absolute() or ".." in Path(path).parts:
                raise ArtifactError(f"{path}: {producer.name} wrote outside the root")
            owner[path] = producer.name
            out[path] = text
    return dict(sorted(out.items()))


def _owned(root: Path, producers: Iterable[Producer]) -> set[str]:
    return {p.relative_to(root).as_posix()
            for producer in producers for pattern in producer.owns
            for p in root.glob(pattern) if p.is_file()}


def compare(root: Path, producers: Sequence[Producer] | None = None) -> Comparison:
    """Compare the tree under ``root`` with what the producers make (reads only)."""
    producers = default_producers() if producers is None else producers
    expected = collect(root, producers)
    differs, missing = [], []
    for path, text in expected.items():
        try:
            current = (root / path).read_text(encoding="utf-8")
        except FileNotFoundError:
            missing.append(path)
            continue
        if current != text:
            differs.append(path)
    stale = sorted(_owned(root, producers) - set(expected))
    return Comparison(expected, tuple(differs), tuple(missing), tuple(stale))


def write_all(root: Path, producers: Sequence[Producer] | None = None) -> Comparison:
    """Bring the tree up to date: write differing/missing files, delete stale ones.

    Returns the comparison from before the write (what was changed).
    """
    before = compare(root, producers)
    for path in (*before.differs, *before.missing):
        write_if_changed(root / path, before.expected[path])
    for path in before.stale:
        (root / path).unlink()
    return before
