"""What the demo shows while it runs, and what it prints at the end (rich)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from crm_observability.demo.faults import Faults
from crm_observability.demo.load import ServiceStats
from crm_observability.demo.scenario import INCIDENT_SERVICE, Phase
from crm_observability.demo.webhook import ReceivedAlert


def live_view(phase: Phase, elapsed_s: float, duration_s: float,
              stats: Mapping[str, ServiceStats], firing: Sequence[str],
              received: int) -> RenderableType:
    head = Text.assemble(
        ("crm-obs demo ", "bold"), f"{elapsed_s:5.0f}s / {duration_s:.0f}s  ",
        ("phase: ", "dim"), (phase.name, "bold green" if phase.faults == Faults()
                             else "bold yellow"),
        f" — {phase.description}")
    table = Table(show_edge=False, header_style="bold")
    for column in ("service", "requests", "5xx", "no answer", "slow (>0.5s)"):
        table.add_column(column, justify="left" if column == "service" else "right")
    for service, s in stats.items():
        style = "yellow" if service == INCIDENT_SERVICE and phase.faults != Faults() else ""
        table.add_row(f"{service}-service", str(s.requests), str(s.server_errors),
                      str(s.failed), str(s.slow), style=style)
    alerts = Text("alerts firing in Prometheus: ", style="dim")
    alerts.append(", ".join(firing) if firing else "none",
                  style="bold red" if firing else "green")
    notified = Text(f"notifications received from Alertmanager: {received}", style="dim")
    return Group(head, table, alerts, notified)


def alerts_table(alerts: Iterable[ReceivedAlert], started_at: float) -> Table:
    table = Table(title="Alerts received from Alertmanager (first notification of each)",
                  title_justify="left",
                  header_style="bold")
    for column in ("after", "status", "alert", "service", "slo", "severity", "summary"):
        table.add_column(column)
    for alert in alerts:
        labels = alert.labels
        table.add_row(f"{alert.received_at - started_at:.0f}s", alert.status, alert.name,
                      labels.get("service", ""), labels.get("slo", ""),
                      labels.get("severity", ""), alert.annotations.get("summary", ""),
                      style="red" if alert.status == "firing" else "green")
    return table
