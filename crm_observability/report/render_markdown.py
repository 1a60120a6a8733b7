"""The report as Markdown: a summary table, then windows and alert tiers per SLO."""

from __future__ import annotations

from crm_observability.report import fmt
from crm_observability.report.model import Report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [
        f"# SLO report — {fmt.timestamp(report.at)}",
        "",
        f"Prometheus: `{report.prometheus}`; every query evaluated at {fmt.timestamp(report.at)}.",
        "",
        "| service | SLO | objective | SLI | budget left | left as time | alerts | runs out "
        "| status |",
        "|---|---|---|---:|---:|---:|---|---|---|",
    ]
    for slo, group in report.groups():
        name = slo.name + (f" [{fmt.group_name(dict(group.labels))}]" if group.labels else "")
        budget = group.budget
        lines.append("| " + " | ".join(_cell(c) for c in (
            slo.service, name, f"{slo.objective:g}% / {slo.period}", fmt.percent(group.sli),
            fmt.percent(budget.remaining if budget else None, 1),
            fmt.duration(budget.remaining_seconds if budget else None),
            fmt.tiers_text(group), fmt.exhaustion(group), f"**{group.status}**")) + " |")
    for slo, group in report.groups():
        title = f"{slo.service} / {slo.name}"
        if group.labels:
            title += f" [{fmt.group_name(dict(group.labels))}]"
        lines += ["", f"## {_cell(title)}", ""]
        if slo.description:
            lines += [_cell(slo.description), ""]
        budget = group.budget
        if budget is not None:
            lines += [
                f"Error budget: {fmt.percent(budget.allowed_error_ratio)} of events "
                f"({fmt.duration(budget.total_seconds)} at a 100% error rate); consumed "
                f"{fmt.percent(budget.consumed, 1)} ({fmt.duration(budget.consumed_seconds)}), "
                f"remaining {fmt.percent(budget.remaining, 1)} "
                f"({fmt.duration(budget.remaining_seconds)}; "
                f"{fmt.duration(max(budget.remaining_at_allowed_rate_s, 0))} at the allowed "
                f"error rate); runs out: {fmt.exhaustion(group)}.",
                "",
            ]
        if group.flags:
            lines += ["Data quality: " + ", ".join(f"`{f}`" for f in group.flags), ""]
        lines += ["| window | error ratio | burn rate | source |", "|---|---:|---:|---|"]
        for w in group.windows:
            label = f"{w.window} (period)" if w.is_period else w.window
            lines.append(f"| {label} | {fmt.percent(w.error_ratio, 4)} | {fmt.burn(w.burn_rate)} "
                         f"| {w.source} |")
        lines += ["", "| alert | windows | factor | long | short | state |",
                  "|---|---|---:|---:|---:|---|"]
        for t in group.tiers:
            lines.append(f"| {t.alert} | {t.long_window}/{t.short_window} | {t.factor:g}x | "
                         f"{fmt.burn(t.long_burn)} | {fmt.burn(t.short_burn)} | "
                         f"{fmt.tier_state(t)} |")
    return "\n".join(lines) + "\n"
