"""Output formats: text, JSON, GitHub annotations, and colour on a terminal."""

from __future__ import annotations

import io
import json

from crm_observability.lint import Finding, Severity, render, write_findings

FINDINGS = (
    Finding("alerts/a.yml", 7, "alert-for", "alert 'X': no 'for'"),
    Finding("d,1:x.json", 3, "dashboard-unit", "50% done\nnext", Severity.WARNING),
)


def test_text() -> None:
    assert render(FINDINGS[:1], "text") == "alerts/a.yml:7: alert-for: alert 'X': no 'for'\n"


def test_json_round_trips() -> None:
    rows = json.loads(render(FINDINGS, "json"))
    assert rows[1] == {"file": "d,1:x.json", "line": 3, "rule_id": "dashboard-unit",
                       "message": "50% done\\nnext", "severity": "warning"}


def test_github_annotations_escape_properties_and_data() -> None:
    lines = render(FINDINGS, "github").splitlines()
    assert lines[0] == "::error file=alerts/a.yml,line=7,title=alert-for::alert 'X': no 'for'"
    assert lines[1] == ("::warning file=d%2C1%3Ax.json,line=3,title=dashboard-unit::"
                        "50%25 done\\nnext")


def test_a_message_with_control_characters_stays_on_one_line() -> None:
    assert FINDINGS[1].message == "50% done\\nnext"
    assert render(FINDINGS, "text").count("\n") == len(FINDINGS)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_output_is_coloured() -> None:
    stream = _Tty()
    write_findings(FINDINGS, "text", stream)
    out = stream.getvalue()
    assert "\x1b[" in out  # ANSI colour codes
    assert "alert-for" in out and "alerts/a.yml:7" in out


def test_pipe_output_is_plain() -> None:
    stream = io.StringIO()
    write_findings(FINDINGS, "text", stream)
    assert "\x1b[" not in stream.getvalue()
    assert stream.getvalue() == render(FINDINGS, "text")
