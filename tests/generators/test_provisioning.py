"""Grafana provisioning files: datasources wired for exemplar trace links, the file provider."""

from __future__ import annotations

import yaml

from crm_observability import conventions as names
from crm_observability.generators.dashboards.panels import DATASOURCE_TYPE
from crm_observability.generators.provisioning import (
    DASHBOARD_PROVIDER_FILE,
    DATASOURCES_FILE,
    GrafanaProvisioning,
    provisioning_files,
)
from tests.generators.helpers import REPO


def test_datasources_link_exemplars_to_the_trace_datasource() -> None:
    data = yaml.safe_load(provisioning_files()[DATASOURCES_FILE])
    assert data["apiVersion"] == 1
    by_type = {d["type"]: d for d in data["datasources"]}
    prometheus = by_type[DATASOURCE_TYPE]
    assert prometheus["isDefault"] is True
    # $__rate_interval = 4 x timeInterval: must be the scrape interval
    assert prometheus["jsonData"]["timeInterval"] == "15s"
    [destination] = prometheus["jsonData"]["exemplarTraceIdDestinations"]
    assert destination == {"name": names.EXEMPLAR_TRACE_ID,
                           "datasourceUid": by_type["jaeger"]["uid"]}
    assert len({d["uid"] for d in data["datasources"]}) == len(data["datasources"])


def test_provider_loads_the_dashboards_read_only() -> None:
    config = GrafanaProvisioning(dashboards_path="/etc/dashboards", folder="Sales")
    [provider] = yaml.safe_load(provisioning_files(config)[DASHBOARD_PROVIDER_FILE])["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/etc/dashboards"
    assert provider["folder"] == "Sales"
    assert provider["allowUiUpdates"] is False


def test_committed_files_live_under_the_provisioning_dir() -> None:
    for path, text in provisioning_files().items():
        assert path.startswith(names.GRAFANA_PROVISIONING_DIR + "/")
        assert (REPO / path).read_text(encoding="utf-8") == text
