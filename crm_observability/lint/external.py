"""``--promtool``: run promtool and amtool over what the linter found.

``promtool check rules --lint=all --lint-fatal`` on every rule file (a
PrometheusRule's ``spec`` is written to a temporary file first),
``promtool test rules`` on every test suite, ``amtool check-config`` on every
Alertmanager configuration.  Each failure becomes a finding.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from crm_observability.lint.findings import Finding
from crm_observability.lint.loader import DocKind, Document, LocList

_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}
_LOCATED = re.compile(r"^(?P<file>[^:]+): (?P<line>\d+):\d+: (?P<msg>.*)$")
_RULE_REF = re.compile(r'group "([^"]*)", rule (\d+)')
_FAILED_INLINE = re.compile(r"^Checking .*?FAILED:\s*(\S.*)$")
_NOISE = re.compile(r"^(Checking |Unit Testing:|\s*SUCCESS|\s*FAILED:?\s*$|amtool: error: failed)")
TIMEOUT_S = 120.0


class ToolMissingError(Exception):
    """promtool/amtool is not installed: unusable request, exit status 2."""


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolMissingError(
            f"{tool} not found on PATH (--promtool needs it; install the Debian package "
            f"{_PACKAGES.get(tool, tool)})"
        )
    return path


def _plain(value: Any) -> Any:
    """LocDict/LocList back to plain dict/list so yaml.safe_dump can write them."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _run(args: Sequence[str], cwd: str | None = None) -> tuple[int, str]:
    try:
        proc = subprocess.run(
            list(args), cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=TIMEOUT_S, check=False,
        )
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {TIMEOUT_S:.0f}s"
    return proc.returncode, proc.stdout


def _findings(source: str, line: int, rule_id: str, output: str, shown: str) -> list[Finding]:
    """Turn a failing tool's output into findings, one per located line when possible."""
    located: list[Finding] = []
    rest: list[str] = []
    for raw in output.splitlines():
        failed = _FAILED_INLINE.match(raw)  # amtool: "Checking 'x'  FAILED: reason"
        raw = failed.group(1) if failed else raw
        text = raw.strip()
        if not text or _NOISE.match(raw):
            continue
        match = _LOCATED.match(text)
        if match and Path(match["file"]).name == Path(shown).name:
            located.append(Finding(source, int(match["line"]), rule_id, match["msg"]))
        else:
            rest.append(text)
    if rest:
        message = "; ".join(rest)
        located.append(Finding(source, line, rule_id, message[:500]))
    return located or [Finding(source, line, rule_id, "failed without a message")]


def _rule_line(doc: Document, message: str) -> int:
    """Line in the original resource of the rule promtool names ('group "g", rule 2')."""
    match = _RULE_REF.search(message)
    groups = doc.data.get("groups") if isinstance(doc.data, dict) else None
    for group in groups if match and isinstance(groups, list) else ():
        rules = group.get("rules") if isinstance(group, dict) else None
        if match and group.get("name") == match[1] and isinstance(rules, LocList):
            return rules.line_of(int(match[2]) - 1)
    return doc.line


def check_rules(docs: Iterable[Document], promtool: str) -> list[Finding]:
    out: list[Finding] = []
    with tempfile.TemporaryDirectory(prefix="crm-obs-lint-") as tmp:
        for index, doc in enumerate(docs):
            target = doc.path
            if doc.wrapped:  # PrometheusRule: promtool reads only the plain rule format
                target = str(Path(tmp) / f"rules-{index}.yml")
                Path(target).write_text(yaml.safe_dump(_plain(doc.data)), encoding="utf-8")
            code, output = _run([promtool, "check", "rules", "--lint=all", "--lint-fatal",
                                 target])
            if code != 0:
                line = doc.line if doc.wrapped else 1
                found = _findings(doc.path, line, "promtool", output, target)
                if doc.wrapped:  # lines of the temporary file mean nothing in the resource
                    found = [Finding(f.file, _rule_line(doc, f.message), f.rule_id, f.message)
                             for f in found]
                out.extend(found)
    return out


def run_external(docs: Sequence[Document]) -> list[Finding]:
    """Findings of promtool/amtool; ToolMissingError if a needed binary is absent."""
    rules = [d for d in docs if d.kind is DocKind.RULES]
    tests = sorted({d.path for d in docs if d.kind is DocKind.RULE_TEST})
    configs = sorted({d.path for d in docs if d.kind is DocKind.ALERTMANAGER})
    out: list[Finding] = []
    if rules or tests:
        promtool = require("promtool")
        # one run per file; a plain file holding several documents is checked once
        unique = {(d.path if not d.wrapped else f"{d.path}#{d.line}"): d for d in rules}
        out.extend(check_rules(unique.values(), promtool))
        for path in tests:
            code, output = _run([promtool, "test", "rules", Path(path).name],
                                cwd=str(Path(path).parent))
            if code != 0:
                out.extend(_findings(path, 1, "promtool-test", output, path))
    if configs:
        amtool = require("amtool")
        for path in configs:
            code, output = _run([amtool, "check-config", path])
            if code != 0:
                out.extend(_findings(path, 1, "amtool", output, path))
    return out
