"""The HTML report in headless Chromium: self-contained, one pair of charts per SLO."""

from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crm_observability.cli import main
from tests.report import synthetic
from tests.report.conftest import require_tool


class Dom(HTMLParser):
    """Collects the svgs (with their paths) and every external reference of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: list[dict[str, object]] = []
        self.external: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            self.scripts += 1
        for key in ("src", "href"):
            if values.get(key) and not str(values[key]).startswith("#"):
                self.external.append(str(values[key]))
        if tag == "svg":
            self.svgs.append({"class": values.get("class"), "slo": values.get("data-slo"),
                              "paths": []})
        elif tag == "path" and self.svgs:
            paths = self.svgs[-1]["paths"]
            assert isinstance(paths, list)
            paths.append(values.get("d") or "")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    binary = require_tool("chromium")
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def html_report(history_prometheus: str, history_spec: Path,
                tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    assert main(["slo", "report", "--prometheus", history_prometheus, str(history_spec),
                 "--at", "2026-01-15T00:00:00Z", "--format", "html", "--out", str(out)]) == 0
    return out


def test_html_is_self_contained(html_report: Path) -> None:
    text = html_report.read_text()
    dom = Dom()
    dom.feed(text)
    assert dom.scripts == 0
    assert dom.external == []
    assert not re.search(r"@import|url\(|@font-face", text)


def test_chromium_renders_one_budget_and_one_burn_chart_per_slo(html_report: Path,
                                                                tmp_path: Path) -> None:
    result = chromium("--dump-dom", html_report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-500:]
    dom = Dom()
    dom.feed(result.stdout)
    charts = [s for s in dom.svgs if str(s["class"]).startswith("chart")]
    slos = [f"{synthetic.SERVICE}/{name}" for name in ("availability", "latency", "ratio")]
    assert sorted({str(s["slo"]) for s in charts}) == slos
    for slo in slos:
        kinds = sorted(str(s["class"]) for s in charts if s["slo"] == slo)
        assert kinds == ["chart budget", "chart burn"]
        for chart in (s for s in charts if s["slo"] == slo):
            paths = chart["paths"]
            assert isinstance(paths, list) and paths
            for d in paths:
                # A plotted line: many points, all inside the 560x190 viewBox.
                points = re.findall(r"[ML](-?[\d.]+),(-?[\d.]+)", d)
                assert len(points) >= 50
                assert all(0 <= float(x) <= 560 and 0 <= float(y) <= 190 for x, y in points)
    # The burn chart draws one line per report window shorter than the period.
    burn = next(s for s in charts if s["class"] == "chart burn")
    assert isinstance(burn["paths"], list) and len(burn["paths"]) == 5


def test_chromium_screenshot(html_report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = chromium("--window-size=1300,1400", f"--screenshot={shot}",
                      html_report.as_uri(), profile=tmp_path / "profile")
    assert result.returncode == 0, result.stderr[-500:]
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000
