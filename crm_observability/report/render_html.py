"""The report as one self-contained HTML file: inline CSS and SVG, no scripts or fonts."""

from __future__ import annotations

from html import escape
from importlib import resources
from string import Template

from crm_observability.report import fmt
from crm_observability.report.charts import budget_chart, burn_chart
from crm_observability.report.model import GroupReport, Report, SLOReport


def _template() -> Template:
    text = resources.files("crm_observability.report").joinpath(
        "templates/report.html").read_text(encoding="utf-8")
    return Template(text)


def _row(cells: list[str], classes: tuple[str, ...] = ()) -> str:
    out = []
    for i, cell in enumerate(cells):
        cls = f' class="{classes[i]}"' if i < len(classes) and classes[i] else ""
        out.append(f"<td{cls}>{cell}</td>")
    return "<tr>" + "".join(out) + "</tr>"


def _ident(slo: SLOReport, group: GroupReport) -> str:
    ident = f"{slo.service}/{slo.name}"
    return ident + (f"[{fmt.group_name(dict(group.labels))}]" if group.labels else "")


def _summary(report: Report) -> str:
    head = ("<tr><th>service</th><th class=l>SLO</th><th>objective</th><th>SLI</th>"
            "<th>budget left</th><th>left as time</th><th class=l>alerts</th>"
            "<th class=l>runs out</th><th class=l>status</th></tr>")
    rows = []
    for slo, group in report.groups():
        budget = group.budget
        rows.append(_row([
            escape(slo.service), escape(_ident(slo, group).split("/", 1)[1]),
            f"{slo.objective:g}% / {escape(slo.period)}", fmt.percent(group.sli),
            fmt.percent(budget.remaining if budget else None, 1),
            fmt.duration(budget.remaining_seconds if budget else None),
            escape(fmt.tiers_text(group)), escape(fmt.exhaustion(group)),
            f'<span class="badge status-{group.status}">{group.status}</span>',
        ], ("", "l", "", "", "", "", "l", "l", "l")))
    return f'<table class="summary">{head}{"".join(rows)}</table>'


def _section(slo: SLOReport, group: GroupReport) -> str:
    ident = _ident(slo, group)
    budget = group.budget
    numbers = [
        ("SLI over the period", fmt.percent(group.sli)),
        ("objective", f"{slo.objective:g}% / {slo.period}"),
        ("budget consumed", fmt.percent(budget.consumed if budget else None, 1)),
        ("budget remaining", fmt.percent(budget.remaining if budget else None, 1)),
        ("remaining as downtime", fmt.duration(budget.remaining_seconds if budget else None)),
        ("lasts at the allowed rate", fmt.duration(
            max(budget.remaining_at_allowed_rate_s, 0) if budget else None)),
        ("budget runs out", fmt.exhaustion(group)),
    ]
    parts = [
        f'<section class="slo" id="{escape(ident)}"><div class="head"><h2>{escape(ident)}</h2>'
        f'<span class="badge status-{group.status}">{group.status}</span></div>',
        f'<div class="desc">{escape(slo.description)} ({escape(slo.sli_kind)} SLI)</div>',
        '<div class="numbers">' + "".join(f"<div>{escape(k)}<b>{escape(v)}</b></div>"
                                          for k, v in numbers) + "</div>",
    ]
    if group.flags:
        parts.append(f'<div class="flags">data quality: {escape(", ".join(group.flags))}</div>')
    if group.history is not None:
        thresholds = [(f"{t.severity} {t.long_window}", t.factor) for t in group.tiers]
        parts.append(
            '<div class="charts"><figure>'
            + budget_chart(group.history, ident, f"{ident}: error budget remaining")
            + "<figcaption>Error budget remaining over the period "
            f"(source: {escape(group.history.source)})</figcaption></figure><figure>"
            + burn_chart(group.history, ident, f"{ident}: burn rates", thresholds)
            + "<figcaption>Burn rate per window (log scale; dashed: alert factors)"
            "</figcaption></figure></div>")
    windows = "".join(_row([
        escape(w.window + (" (period)" if w.is_period else "")), fmt.percent(w.error_ratio, 4),
        fmt.burn(w.burn_rate), escape(w.source)], ("l", "", "", "l")) for w in group.windows)
    tiers = "".join(_row([
        escape(t.alert), f"{escape(t.long_window)}/{escape(t.short_window)}", f"{t.factor:g}x",
        fmt.burn(t.long_burn), fmt.burn(t.short_burn),
        f'<span class="{"firing" if t.holds else ""}">{escape(fmt.tier_state(t))}</span>'],
        ("l", "l", "", "", "", "l")) for t in group.tiers)
    parts.append(
        '<div class="tables"><table><tr><th class=l>window</th><th>error ratio</th>'
        f"<th>burn rate</th><th class=l>source</th></tr>{windows}</table>"
        "<table><tr><th class=l>alert</th><th class=l>windows</th><th>factor</th>"
        f"<th>long</th><th>short</th><th class=l>condition</th></tr>{tiers}</table></div>")
    parts.append("</section>")
    return "".join(parts)


def render_html(report: Report) -> str:
    return _template().substitute(
        title=escape(f"SLO report — {fmt.timestamp(report.at)}"),
        at=escape(fmt.timestamp(report.at)),
        prometheus=escape(report.prometheus),
        sources=escape(", ".join(report.sources) or "—"),
        summary=_summary(report),
        slos="".join(_section(slo, group) for slo, group in report.groups()),
    )
