"""Render findings: text (``file:line: rule-id: message``), JSON, GitHub annotations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

import orjson

from crm_observability.lint.findings import Finding, Severity

FORMATS = ("text", "json", "github")


def format_text(findings: Sequence[Finding]) -> str:
    return "".join(f"{f.file}:{f.line}: {f.rule_id}: {f.message}\n" for f in findings)


def format_json(findings: Sequence[Finding]) -> str:
    rows = [
        {"file": f.file, "line": f.line, "rule_id": f.rule_id, "message": f.message,
         "severity": f.severity.value}
        for f in findings
    ]
    return orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode() + "\n"


def _escape_data(text: str) -> str:
    # GitHub workflow-command escaping (actions/toolkit: escapeData / escapeProperty)
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def format_github(findings: Sequence[Finding]) -> str:
    lines = []
    for f in findings:
        level = "error" if f.severity is Severity.ERROR else "warning"
        lines.append(
            f"::{level} file={_escape_property(f.file)},line={f.line},"
            f"title={_escape_property(f.rule_id)}::{_escape_data(f.message)}\n"
        )
    return "".join(lines)


def render(findings: Sequence[Finding], fmt: str) -> str:
    if fmt == "json":
        return format_json(findings)
    if fmt == "github":
        return format_github(findings)
    return format_text(findings)


def write_findings(findings: Sequence[Finding], fmt: str, stream: IO[str]) -> None:
    """Write findings; plain text on a terminal is coloured with rich."""
    if fmt == "text" and stream.isatty():
        from rich.console import Console
        from rich.text import Text

        console = Console(file=stream, highlight=False)
        for f in findings:
            line = Text()
            line.append(f"{f.file}:{f.line}", style="bold")
            line.append(": ")
            line.append(f.rule_id, style="red" if f.severity is Severity.ERROR else "yellow")
            line.append(f": {f.message}")
            console.print(line, soft_wrap=True)
        return
    stream.write(render(findings, fmt))
