"""A worker process for the multiprocess test: ``python mp_worker.py DIR AMOUNT [late]``.

With ``late`` the multiprocess variable is set only after prometheus_client
was imported: the client_python #886 trap that MetricsRegistry must undo.
"""

from __future__ import annotations

import os
import sys

directory, amount = sys.argv[1], float(sys.argv[2])
late = len(sys.argv) > 3 and sys.argv[3] == "late"
if late:
    import prometheus_client  # noqa: F401  # picks its value class now, without the variable
os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory

from crm_observability import conventions as names  # noqa: E402
from crm_observability.metrics import MetricsRegistry  # noqa: E402
from crm_observability.settings import Settings  # noqa: E402

metrics = MetricsRegistry(Settings(service_name="contacts-service", environment="production"))
metrics.counter(names.CONTACTS_CREATED_TOTAL, "Contacts created", (names.LABEL_TYPE,)) \
    .labels(type="business").inc(amount)
http = metrics.http_server_metrics()
http.request_started("GET")  # left in flight: a live gauge
http.observe("GET", "/api/contacts/{id}", 200, 0.02 * amount,
             trace_id="4bf92f3577b34da6a3ce929d0e0e4736")
print(os.getpid(), flush=True)
