"""The metric catalog: which series exist and of what type.

Built from a real ``/metrics`` scrape (URL), an exposition file (Prometheus
text or OpenMetrics), a YAML/JSON file ``{metrics: {name: type}}``, or a live
:class:`~prometheus_client.CollectorRegistry`.  Families expand to the series
names Prometheus stores (``x_total``, ``x_bucket``, ``x_count``, ...), each with
the kind that tells whether ``rate()`` makes sense on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.registry import CollectorRegistry

COUNTER = "counter"
GAUGE = "gauge"
HISTOGRAM = "histogram"
SUMMARY = "summary"
UNKNOWN = "unknown"
RECORDED = "recorded"  # defined by a recording rule: its type cannot be known

METRIC_TYPES = frozenset(
    {COUNTER, GAUGE, HISTOGRAM, SUMMARY, UNKNOWN, "info", "stateset", "gaugehistogram"}
)
# Series Prometheus itself adds for every target or alert.
SYNTHETIC: Mapping[str, str] = {
    "up": GAUGE,
    "scrape_duration_seconds": GAUGE,
    "scrape_samples_scraped": GAUGE,
    "scrape_samples_post_metric_relabeling": GAUGE,
    "scrape_series_added": GAUGE,
    "ALERTS": GAUGE,
    "ALERTS_FOR_STATE": GAUGE,
}
# family type -> (series suffix, kind of that series)
_SERIES: Mapping[str, tuple[tuple[str, str], ...]] = {
    COUNTER: (("_total", COUNTER), ("_created", GAUGE), ("", COUNTER)),
    HISTOGRAM: (("_bucket", COUNTER), ("_count", COUNTER), ("_sum", COUNTER),
                ("_created", GAUGE), ("", HISTOGRAM)),
    SUMMARY: (("", SUMMARY), ("_count", COUNTER), ("_sum", COUNTER), ("_created", GAUGE)),
    "gaugehistogram": (("_bucket", GAUGE), ("_gcount", GAUGE), ("_gsum", GAUGE)),
    "info": (("_info", GAUGE), ("", GAUGE)),
}


class CatalogError(ValueError):
    """The catalog source cannot be read; the message names it and the reason."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """Series name -> kind (``counter``, ``gauge``, ``histogram``, ``recorded``, ...)."""

    series: Mapping[str, str] = field(default_factory=dict)

    def kind(self, name: str) -> str | None:
        return self.series.get(name) or SYNTHETIC.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.kind(name) is not None

    def merged(self, other: Catalog) -> Catalog:
        return Catalog({**self.series, **other.series})

    def with_recorded(self, names: Iterable[str]) -> Catalog:
        return Catalog({**{name: RECORDED for name in names}, **self.series})


def expand(families: Iterable[tuple[str, str]]) -> Catalog:
    """Catalog from ``(family name, type)`` pairs, e.g. ``("x", "histogram")``."""
    series: dict[str, str] = {}
    for name, mtype in families:
        for suffix, kind in _SERIES.get(mtype, (("", mtype),)):
            if suffix == "_total" and name.endswith(suffix):
                continue  # "x_total: counter" in a catalog file names the series itself
            series.setdefault(name + suffix, kind)
    return Catalog(series)


def catalog_from_exposition(text: str, source: str = "<exposition>") -> Catalog:
    """Parse Prometheus text or OpenMetrics exposition (families and their types)."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
    from prometheus_client.parser import text_string_to_metric_families as prom

    parse = om if text.rstrip().endswith("# EOF") else prom
    try:
        return expand((family.name, family.type) for family in parse(text))
    except (ValueError, TypeError, IndexError) as exc:
        raise CatalogError(f"{source}: not a metrics exposition: {exc}") from None


def catalog_from_registry(registry: CollectorRegistry) -> Catalog:
    """Catalog of everything a live registry exports right now."""
    return expand((family.name, family.type) for family in registry.collect())


def catalog_from_mapping(data: Any, source: str) -> Catalog:
    """``{metrics: {name: type}}`` (YAML or JSON already loaded)."""
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict):
        raise CatalogError(f"{source}: field 'metrics': want a mapping of metric name to type")
    pairs: list[tuple[str, str]] = []
    for name, mtype in metrics.items():
        if not isinstance(name, str) or mtype not in METRIC_TYPES:
            raise CatalogError(
                f"{source}: field 'metrics.{name}': type {mtype!r} is not one of "
                f"{', '.join(sorted(METRIC_TYPES))}"
            )
        pairs.append((name, str(mtype)))
    return expand(pairs)


def load_catalog(source: str, timeout: float = 10.0) -> Catalog:
    """A catalog from a URL to scrape, an exposition file or a ``{metrics: ...}`` file."""
    if source.startswith(("http://", "https://")):
        import requests

        try:
            response = requests.get(
                source, timeout=timeout, headers={"Accept": "text/plain;version=0.0.4"}
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            raise CatalogError(f"{source}: cannot scrape: {exc}") from None
        return catalog_from_exposition(response.text, source)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise CatalogError(f"{source}: cannot read: {reason}") from None
    if source.endswith((".yml", ".yaml", ".json")):
        from crm_observability.lint.loader import LoadError, parse_text

        try:
            docs = parse_text(text, source)
        except LoadError as exc:
            raise CatalogError(str(exc)) from None
        return catalog_from_mapping(docs[0] if docs else None, source)
    return catalog_from_exposition(text, source)
