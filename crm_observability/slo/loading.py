"""Read spec files of any supported format, detected by ``apiVersion``/``kind``/``version``."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from crm_observability.slo import openslo, sloth, v1
from crm_observability.slo.errors import SpecError
from crm_observability.slo.model import SLOSpec
from crm_observability.slo.validate import validate

# libyaml's safe loader when available (same results, several times faster).
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spec_file(path: str | os.PathLike[str]) -> SLOSpec:
    """Load and validate one spec file; raises :class:`SpecError` naming file, field and reason."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SpecError(file, "", f"cannot read: {reason}") from None
    spec = parse_spec(text, file)
    validate(spec)
    return spec


def load_spec_files(paths: Iterable[str | os.PathLike[str]]) -> list[SLOSpec]:
    """Load every file; a service may appear in one file only (its rule file name)."""
    specs: list[SLOSpec] = []
    seen: dict[str, str] = {}
    for path in paths:
        spec = load_spec_file(path)
        if spec.service in seen:
            raise SpecError(spec.source, "service", f"{spec.service!r} is already defined in "
                            f"{seen[spec.service]}")
        seen[spec.service] = spec.source
        specs.append(spec)
    return specs


def parse_spec(text: str, file: str) -> SLOSpec:
    """Parse spec text (any format) into the model, without semantic validation."""
    try:
        docs = [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpecError(file, where, f"invalid YAML: {problem}") from None
    if not docs:
        raise SpecError(file, "", "is empty")
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise SpecError(file, f"[{i}]" if len(docs) > 1 else "",
                            f"must be a mapping, got {type(doc).__name__}")
    first: dict[str, Any] = docs[0]
    if first.get("apiVersion") == openslo.API_VERSION:
        for i, doc in enumerate(docs):
            if doc.get("apiVersion") != openslo.API_VERSION or doc.get("kind") != openslo.KIND:
                raise SpecError(file, f"[{i}].kind" if len(docs) > 1 else "kind",
                                f"only {openslo.API_VERSION} kind {openslo.KIND} is supported")
        return openslo.load_openslo(docs, file)
    if len(docs) > 1:
        raise SpecError(file, "", "one spec per file (only OpenSLO files hold several documents)")
    if first.get("version") == sloth.VERSION:
        return sloth.load_sloth(first, file)
    if first.get("apiVersion") == v1.API_VERSION:
        if first.get("kind") != v1.KIND:
            raise SpecError(file, "kind", f"must be {v1.KIND}, got {first.get('kind')!r}")
        return v1.load_v1(first, file)
    found = first.get("apiVersion", first.get("version"))
    raise SpecError(file, "apiVersion", f"unknown format {found!r}; expected {v1.API_VERSION}, "
                    f"Sloth version {sloth.VERSION} or {openslo.API_VERSION}")
