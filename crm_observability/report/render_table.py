"""The report as a terminal table (rich): one row per SLO group, then the firing tiers."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from crm_observability.report import fmt
from crm_observability.report.model import GroupReport, Report

_STYLE = {"page": "bold red", "ticket": "yellow", "exhausted": "red", "no-data": "dim",
          "ok": "green"}
WINDOW_COLUMNS = ("5m", "1h", "6h", "1d", "3d")


def build_table(report: Report) -> Table:
    table = Table(title=f"SLO report at {fmt.timestamp(report.at)} ({report.prometheus})",
                  title_justify="left", header_style="bold")
    for name, justify in (("service", "left"), ("slo", "left"), ("objective", "right"),
                          ("SLI", "right"), ("budget left", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for window in WINDOW_COLUMNS:
        table.add_column(f"burn {window}", justify="right")
    for name in ("burn period", "alerts", "runs out", "status", "notes"):
        table.add_column(name)
    for slo, group in report.groups():
        windows = {w.window: w for w in group.windows if not w.is_period}
        period = group.windows[-1]
        notes = list(group.flags)
        name = slo.name + (f" [{fmt.group_name(dict(group.labels))}]" if group.labels else "")
        table.add_row(
            slo.service, name, f"{slo.objective:g}% / {slo.period}", fmt.percent(group.sli),
            _budget(group),
            *(fmt.burn(windows[w].burn_rate) if w in windows else fmt.NONE
              for w in WINDOW_COLUMNS),
            fmt.burn(period.burn_rate), fmt.tiers_text(group), fmt.exhaustion(group),
            Text(group.status, style=_STYLE.get(group.status, "")), ", ".join(notes),
        )
    return table


def _budget(group: GroupReport) -> str:
    if group.budget is None:
        return fmt.NONE
    return (f"{fmt.percent(group.budget.remaining, 1)} "
            f"({fmt.duration(group.budget.remaining_seconds)})")


def render_table(report: Report, *, width: int = 200, color: bool = False) -> str:
    """The table as text (``color`` keeps ANSI styles for a terminal)."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, no_color=not color,
                      highlight=False)
    console.print(build_table(report))
    return buffer.getvalue()
