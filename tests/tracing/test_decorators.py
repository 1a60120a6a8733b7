"""@traced and set_span_attributes: parenting, attributes, errors, and never raising."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.trace import SpanKind, StatusCode

from crm_observability import conventions as names
from crm_observability import errors
from crm_observability.context import bind_context
from crm_observability.tracing import set_span_attributes, traced
from tests.tracing.conftest import Pipeline


@traced(names.SPAN_CONTACT_SEARCH, attributes={"component": "search", "ignored": None})
def search_contacts(query: str) -> list[str]:
    # The design document's span: query.length, tenant.id, results.count.
    results = [c for c in ("ann", "bob", "anna") if query in c]
    set_span_attributes({names.ATTR_QUERY_LENGTH: len(query),
                         names.ATTR_RESULTS_COUNT: len(results)})
    return results


@traced()
async def load_deal(deal_id: int) -> dict[str, int]:
    await asyncio.sleep(0)
    return {"id": deal_id, "nested": len(search_contacts("an"))}


@traced("fails")
def explode() -> None:
    raise ValueError("no such contact")


@traced("fails-async")
async def explode_async() -> None:
    raise KeyError("deal")


def test_contact_search_span_has_the_design_document_attributes(pipeline: Pipeline) -> None:
    with bind_context(tenant_id="acme"):
        assert search_contacts("an") == ["ann", "anna"]
    span = pipeline.by_name(names.SPAN_CONTACT_SEARCH)
    attrs = dict(span.attributes or {})
    assert attrs[names.ATTR_QUERY_LENGTH] == 2
    assert attrs[names.ATTR_RESULTS_COUNT] == 2
    assert attrs[names.ATTR_TENANT_ID] == "acme"
    assert attrs["component"] == "search"
    assert "ignored" not in attrs
    assert attrs[names.ATTR_CODE_FUNCTION].endswith("test_decorators.search_contacts")
    assert span.kind is SpanKind.INTERNAL
    assert span.status.status_code is StatusCode.UNSET


def test_async_function_span_parents_the_nested_sync_span(pipeline: Pipeline) -> None:
    result = asyncio.run(load_deal(7))
    assert result == {"id": 7, "nested": 2}
    outer = pipeline.by_name("load_deal")
    inner = pipeline.by_name(names.SPAN_CONTACT_SEARCH)
    assert inner.parent is not None and inner.parent.span_id == outer.context.span_id
    assert inner.context.trace_id == outer.context.trace_id
    assert trace.get_current_span() is trace.INVALID_SPAN  # context restored


def test_no_tenant_bound_means_no_tenant_attribute(pipeline: Pipeline) -> None:
    search_contacts("b")
    span = pipeline.by_name(names.SPAN_CONTACT_SEARCH)
    assert names.ATTR_TENANT_ID not in (span.attributes or {})


def test_exception_is_recorded_marked_error_and_reraised_unchanged(pipeline: Pipeline) -> None:
    with pytest.raises(ValueError, match="no such contact"):
        explode()
    span = pipeline.by_name("fails")
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "ValueError: no such contact"
    assert (span.attributes or {})[names.ATTR_ERROR_TYPE] == "ValueError"
    assert [e.name for e in span.events] == ["exception"]
    assert span.events[0].attributes is not None
    assert span.events[0].attributes["exception.type"] == "ValueError"


def test_async_exception_is_recorded(pipeline: Pipeline) -> None:
    with pytest.raises(KeyError):
        asyncio.run(explode_async())
    assert pipeline.by_name("fails-async").status.status_code is StatusCode.ERROR


def test_cancellation_is_not_an_error(pipeline: Pipeline) -> None:
    @traced("slow")
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    span = pipeline.by_name("slow")
    assert span.status.status_code is StatusCode.UNSET
    assert span.end_time is not None


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


class Named:
    def __str__(self) -> str:
        return "named-object"


def test_set_span_attributes_cleans_values_and_never_raises(pipeline: Pipeline) -> None:
    with pipeline.runtime.tracer.start_as_current_span("attrs"):
        set_span_attributes(
            {"dotted.key": 1, "": "empty key dropped", 3: "non-str key dropped"},  # type: ignore[dict-item]
            none=None, obj=Named(), bad=Unprintable(), ints=[1, 2, None], mixed=[1, "a"],
            objs=[Named()], empty=[], flag=True, ratio=0.5, long="x" * 5000,
        )
    attrs = dict(pipeline.by_name("attrs").attributes or {})
    assert attrs == {
        "dotted.key": 1, "obj": "named-object", "empty": (), "ints": (1, 2), "mixed": ("1", "a"),
        "objs": ("named-object",), "flag": True, "ratio": 0.5, "long": "x" * 5000,
    }
    assert errors.failure_counts() == {}


def test_set_span_attributes_without_a_span_is_a_no_op() -> None:
    set_span_attributes(anything=1)  # no current span: nothing happens, nothing raises
    assert errors.failure_counts() == {}


class ExplodingProcessor(SpanProcessor):
    """A real SDK processor that fails on every span start (a broken plugin)."""

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        raise RuntimeError("processor broke")


def test_a_broken_tracer_never_reaches_the_function(pipeline: Pipeline) -> None:
    assert pipeline.runtime.provider is not None
    pipeline.runtime.provider.add_span_processor(ExplodingProcessor())
    assert search_contacts("bo") == ["bob"]
    assert asyncio.run(load_deal(1)) == {"id": 1, "nested": 2}
    with pytest.raises(ValueError):
        explode()  # the function's own error still comes through unchanged
    assert errors.failure_counts()["tracing"] >= 3
