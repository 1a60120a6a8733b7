"""Panels and dashboards from small frozen specs, via grafana-foundation-sdk.

A dashboard module describes what to show (:class:`Panel`, :class:`Row`,
:class:`DashboardSpec`); :func:`build_dashboard` turns that into Grafana JSON
with the SDK, so every panel gets the same datasource, unit, description,
explicit (stable) id and per-target datasource.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from typing import Any

from crm_observability import conventions as names
from crm_observability.generators.dashboards.queries import (
    REQUESTS,
    VAR_DATASOURCE,
    VAR_ENVIRONMENT,
    VAR_SERVICE,
)

with warnings.catch_warnings():
    # The SDK warns at import that its v2 (Kubernetes-style) dashboard is preferred. We emit
    # the classic JSON model on purpose: Grafana's file provisioning loads it as is.
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import common as gcb
    from grafana_foundation_sdk.builders import dashboard as gdb
    from grafana_foundation_sdk.builders import prometheus as gprom
    from grafana_foundation_sdk.builders import stat as gstat
    from grafana_foundation_sdk.builders import timeseries as gts
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as gcommon
    from grafana_foundation_sdk.models import dashboard as gmodel

DATASOURCE_TYPE = "prometheus"
DATASOURCE = gcommon.DataSourceRef(type_val=DATASOURCE_TYPE, uid=f"${{{VAR_DATASOURCE}}}")
GRID_WIDTH = 24
# value -> (text, colour) for 1 = UP / 0 = DOWN gauges
UP_DOWN = (("1", "UP", "green"), ("0", "DOWN", "red"))


@dataclass(frozen=True, slots=True)
class Query:
    expr: str
    legend: str = "__auto"
    instant: bool = False  # stat panels: one value at the end of the range
    exemplar: bool = False  # latency panels: exemplars link to the trace


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Panel:
    id: int  # stable: never renumber, only append
    title: str
    description: str
    unit: str
    queries: tuple[Query, ...]
    kind: str = "timeseries"  # or "stat"
    width: int = 12
    height: int = 8
    min: float | None = None
    max: float | None = None
    mappings: tuple[tuple[str, str, str], ...] = ()  # (value, text, colour)
    # (from value, colour); the first step starts at -inf (value None), green unless given
    thresholds: tuple[tuple[float | None, str], ...] = ()
    decimals: int | None = None
    links: tuple[Link, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True, slots=True)
class DashboardSpec:
    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    rows: tuple[Row, ...]
    variables: tuple[str, ...] = (VAR_ENVIRONMENT, VAR_SERVICE)  # besides the datasource
    multi_service: bool = True
    links: tuple[Link, ...] = ()
    refresh: str = "30s"
    time_from: str = "now-6h"


def _target(query: Query, ref_id: str) -> gprom.Dataquery:
    target = (gprom.Dataquery().expr(query.expr).legend_format(query.legend)
              .ref_id(ref_id).datasource(DATASOURCE))
    if query.instant:
        target = target.instant()
    if query.exemplar:
        target = target.exemplar(True)
    return target


def _thresholds(steps: tuple[tuple[float | None, str], ...]) -> gdb.ThresholdsConfig:
    if steps[0][0] is not None:
        steps = ((None, "green"), *steps)
    return gdb.ThresholdsConfig().mode(gmodel.ThresholdsMode.ABSOLUTE).steps(
        [gmodel.Threshold(value=v, color=c) for v, c in steps]
    )


def _kind(spec: Panel) -> gts.Panel | gstat.Panel:
    if spec.kind == "stat":  # the latest value of each series
        return gstat.Panel().reduce_options(gcb.ReduceDataOptions().calcs(["lastNotNull"]))
    if spec.kind == "timeseries":
        return (gts.Panel()
                .legend(gcb.VizLegendOptions().show_legend(True)
                        .display_mode(gcommon.LegendDisplayMode.LIST)
                        .placement(gcommon.LegendPlacement.BOTTOM))
                .tooltip(gcb.VizTooltipOptions().mode(gcommon.TooltipDisplayMode.MULTI)
                         .sort(gcommon.SortOrder.DESCENDING)))
    raise ValueError(f"panel {spec.id}: unknown kind {spec.kind!r}")


def build_panel(spec: Panel) -> gts.Panel | gstat.Panel:
    """The SDK builder for one panel."""
    panel = (_kind(spec).id(spec.id).title(spec.title).description(spec.description)
             .unit(spec.unit).datasource(DATASOURCE).span(spec.width).height(spec.height)
             .targets([_target(q, chr(ord("A") + i)) for i, q in enumerate(spec.queries)]))
    if spec.min is not None:
        panel = panel.min(spec.min)
    if spec.max is not None:
        panel = panel.max(spec.max)
    if spec.mappings:
        options = {v: gmodel.ValueMappingResult(text=t, color=c, index=i)
                   for i, (v, t, c) in enumerate(spec.mappings)}
        panel = panel.mappings([gmodel.ValueMap(options=options)])
    if spec.decimals is not None:
        panel = panel.decimals(spec.decimals)
    if spec.thresholds:
        panel = panel.thresholds(_thresholds(spec.thresholds))
    if spec.links:
        panel = panel.data_links([_link(link) for link in spec.links])
    return panel


def _link(link: Link) -> gdb.DashboardLink:
    return (gdb.DashboardLink(link.title).type(gmodel.DashboardLinkType.LINK).url(link.url)
            .target_blank(True).include_vars(False).keep_time(True))


def _variables(spec: DashboardSpec) -> list[Any]:
    env_query = f"label_values({REQUESTS}, {names.LABEL_ENVIRONMENT})"
    service_query = (
        f'label_values({REQUESTS}{{{names.LABEL_ENVIRONMENT}=~"${VAR_ENVIRONMENT}"}}, '
        f"{names.LABEL_SERVICE})"
    )
    variables: list[Any] = [
        gdb.DatasourceVariable(VAR_DATASOURCE).label("Data source").type(DATASOURCE_TYPE),
    ]
    if VAR_ENVIRONMENT in spec.variables:
        variables.append(
            gdb.QueryVariable(VAR_ENVIRONMENT).label("Environment").datasource(DATASOURCE)
            .query(env_query).refresh(gmodel.VariableRefresh.ON_TIME_RANGE_CHANGED)
            .sort(gmodel.VariableSort.ALPHABETICAL_ASC)
        )
    if VAR_SERVICE in spec.variables:
        service = (gdb.QueryVariable(VAR_SERVICE).label("Service").datasource(DATASOURCE)
                   .query(service_query).refresh(gmodel.VariableRefresh.ON_TIME_RANGE_CHANGED)
                   .sort(gmodel.VariableSort.ALPHABETICAL_ASC))
        if spec.multi_service:
            service = service.multi(True).include_all(True).all_value(".*")
        variables.append(service)
    return variables


def build_dashboard(spec: DashboardSpec) -> dict[str, Any]:
    """Grafana dashboard JSON (plain data) for ``spec``; panel ids must be unique."""
    ids = [r.id for r in spec.rows] + [p.id for r in spec.rows for p in r.panels]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{spec.uid}: duplicate panel ids {sorted(ids)}")
    board = (gdb.Dashboard(spec.title).uid(spec.uid).description(spec.description)
             .tags(list(spec.tags)).refresh(spec.refresh).time(spec.time_from, "now")
             .timezone("browser").tooltip(gmodel.DashboardCursorSync.CROSSHAIR)
             .readonly().variables(_variables(spec)))
    for link in spec.links:
        board = board.link(_link(link))
    for row in spec.rows:
        board = board.with_row(gdb.Row(row.title).id(row.id))
        for panel in row.panels:
            board = board.with_panel(build_panel(panel))
    data: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return data
