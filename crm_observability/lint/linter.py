"""The lint run: find files, load them, run every check family, filter and sort."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crm_observability.lint.alerts import DEFAULT_FOR_BOUNDS, check_alert
from crm_observability.lint.catalog import Catalog
from crm_observability.lint.dashboards import check_dashboard
from crm_observability.lint.findings import Finding
from crm_observability.lint.loader import DocKind, Document, LoadError, load_file
from crm_observability.lint.metrics import Query, QueryContext, check_query
from crm_observability.lint.promql import Version
from crm_observability.lint.rules import Group, check_groups, read_groups

SUFFIXES = (".yml", ".yaml", ".json")
_SKIP_DIRS = frozenset({".git", ".venv", "venv", "node_modules", "__pycache__", ".tox"})


@dataclass(frozen=True, slots=True)
class LintConfig:
    prometheus_version: Version = (2, 42)
    catalog: Catalog | None = None
    disabled: frozenset[str] = frozenset()
    for_bounds: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FOR_BOUNDS))
    promtool: bool = False  # also run promtool/amtool (external.py)


@dataclass(frozen=True, slots=True)
class LintResult:
    findings: tuple[Finding, ...]
    documents: tuple[Document, ...]
    files: tuple[str, ...]


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, plus YAML/JSON files under directories named (sorted, hidden skipped)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(
                    p for p in path.rglob("*")
                    if p.suffix in SUFFIXES and p.is_file()
                    and not any(part in _SKIP_DIRS or part.startswith(".")
                                for part in p.relative_to(path).parts)
                )
            )
        elif path.exists():
            found.append(path)
        else:
            raise LoadError(str(path), "no such file or directory")
    return list(dict.fromkeys(found))


def lint_documents(docs: Sequence[Document], config: LintConfig) -> list[Finding]:
    """All findings for already-loaded documents (no filtering by ``disabled``)."""
    findings: list[Finding] = []
    groups: list[Group] = []
    for doc in docs:
        if doc.kind is DocKind.RULES:
            found_groups, problems = read_groups(doc)
            groups.extend(found_groups)
            findings.extend(problems)
    findings.extend(check_groups(groups))
    rules = [rule for group in groups for rule in group.rules]
    defined = frozenset(rule.name for rule in rules if rule.kind == "record")
    ctx = QueryContext(config.prometheus_version, config.catalog, defined)
    for rule in rules:
        query = Query(rule.file, rule.expr_line, rule.expr, f"{rule.kind} {rule.name!r}")
        findings.extend(check_query(query, ctx))
        if rule.kind == "alert":
            findings.extend(check_alert(rule, config.for_bounds))
    for doc in docs:
        if doc.kind is DocKind.DASHBOARD:
            problems, queries = check_dashboard(doc)
            findings.extend(problems)
            for query in queries:
                findings.extend(check_query(query, ctx))
    if config.promtool:
        from crm_observability.lint.external import run_external

        findings.extend(run_external(docs))
    return findings


def lint_paths(paths: Iterable[str | Path], config: LintConfig | None = None) -> LintResult:
    """Lint files and directories; LoadError for a path that cannot be used at all."""
    config = config or LintConfig()
    files = collect_files(paths)
    docs = [doc for path in files for doc in load_file(path)]
    findings = lint_documents(docs, config)
    kept = sorted({f for f in findings if f.rule_id not in config.disabled})
    return LintResult(tuple(kept), tuple(docs), tuple(str(p) for p in files))
