"""``crm-obs demo``: the reference services, Prometheus and Alertmanager on loopback, a
scripted incident, the alerts it raises and the SLO report (see docs/demo.md).

Nothing here is imported by ``crm_observability`` itself; the CLI loads it on demand.
"""

from __future__ import annotations

from crm_observability.demo.faults import FaultInjector, Faults
from crm_observability.demo.runner import DemoOptions, run_demo
from crm_observability.demo.supervisor import StartError, Supervisor

__all__ = [
    "DemoOptions",
    "FaultInjector",
    "Faults",
    "StartError",
    "Supervisor",
    "run_demo",
]
