"""MDC-style context: binding, isolation, and survival across threads and executors."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm_observability.context import (
    ContextThreadPoolExecutor,
    bind,
    bind_context,
    clear_context,
    get_context,
    request_context,
    run_in_executor,
    unbind,
    wrap,
)


@pytest.fixture(autouse=True)
def _fresh_context() -> None:
    clear_context()


def test_known_keys_first_then_free_keys_and_none_means_unset() -> None:
    tokens = bind(region="eu", tenant_id="t-1", request_id=7, user_id=None)
    assert list(get_context().items()) == [("request_id", "7"), ("tenant_id", "t-1"),
                                           ("region", "eu")]
    unbind(tokens)
    assert get_context() == {}


def test_bind_context_as_context_manager_nests_and_restores() -> None:
    with bind_context(tenant_id="outer", op_step=1) as seen:
        assert seen == {"tenant_id": "outer", "op_step": 1}
        with bind_context(tenant_id="inner", op_step=2):
            assert get_context() == {"tenant_id": "inner", "op_step": 2}
        assert get_context() == {"tenant_id": "outer", "op_step": 1}
    assert get_context() == {}


def test_bind_context_restores_after_an_exception() -> None:
    with pytest.raises(RuntimeError), bind_context(user_id="u"):
        raise RuntimeError("boom")
    assert get_context() == {}


def test_decorator_on_sync_and_async_functions() -> None:
    @bind_context(operation="sync-op")
    def sync_fn(x: int) -> tuple[int, dict[str, object]]:
        return x * 2, get_context()

    @bind_context(operation="async-op", tenant_id="t")
    async def async_fn(x: int) -> tuple[int, dict[str, object]]:
        await asyncio.sleep(0)
        return x + 1, get_context()

    assert sync_fn(2) == (4, {"operation": "sync-op"})
    assert asyncio.run(async_fn(1)) == (2, {"tenant_id": "t", "operation": "async-op"})
    assert sync_fn.__name__ == "sync_fn" and async_fn.__name__ == "async_fn"
    assert get_context() == {}


def test_concurrent_tasks_do_not_see_each_others_context() -> None:
    async def handle(tenant: str) -> list[str | None]:
        seen = []
        with bind_context(tenant_id=tenant):
            for _ in range(3):
                await asyncio.sleep(0)
                seen.append(get_context().get("tenant_id"))
        return seen

    async def main() -> list[list[str | None]]:
        return await asyncio.gather(*(handle(f"t{i}") for i in range(5)))

    assert asyncio.run(main()) == [[f"t{i}"] * 3 for i in range(5)]


def test_request_context_starts_empty_and_restores_the_outer_context() -> None:
    with bind_context(tenant_id="leaked", extra_key=1):
        with request_context(request_id="r-2"):
            assert get_context() == {"request_id": "r-2"}
        assert get_context() == {"tenant_id": "leaked", "extra_key": 1}


def test_plain_thread_pool_loses_context_but_ours_keeps_it() -> None:
    with bind_context(request_id="r-3"):
        with ThreadPoolExecutor(max_workers=1) as plain:
            assert plain.submit(get_context).result() == {}
        with ContextThreadPoolExecutor(max_workers=2) as pool:
            assert pool.submit(get_context).result() == {"request_id": "r-3"}
            assert list(pool.map(lambda _: get_context(), range(3))) == [
                {"request_id": "r-3"}] * 3


def test_context_is_captured_at_submit_time() -> None:
    gate = threading.Event()
    with ContextThreadPoolExecutor(max_workers=1) as pool:
        with bind_context(tenant_id="at-submit"):
            future = pool.submit(lambda: (gate.wait(5), get_context())[1])
        with bind_context(tenant_id="later"):
            gate.set()
            assert future.result() == {"tenant_id": "at-submit"}


def test_run_in_executor_carries_context() -> None:
    async def main() -> tuple[dict[str, object], dict[str, object]]:
        loop = asyncio.get_running_loop()
        with bind_context(user_id="u-4"):
            plain = await loop.run_in_executor(None, get_context)
            ours = await run_in_executor(None, get_context)
            with ThreadPoolExecutor(max_workers=1) as pool:
                explicit = await run_in_executor(pool, get_context, loop=loop)
        assert explicit == ours
        return plain, ours

    plain, ours = asyncio.run(main())
    assert plain == {} and ours == {"user_id": "u-4"}


def test_wrapped_function_can_run_twice_and_concurrently() -> None:
    barrier = threading.Barrier(2, timeout=5)
    with bind_context(request_id="r-5"):
        wrapped = wrap(lambda: (barrier.wait(), get_context())[1])
    results: list[dict[str, object]] = []
    threads = [threading.Thread(target=lambda: results.append(wrapped())) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == [{"request_id": "r-5"}] * 2


def test_bindings_inside_a_wrapped_call_do_not_leak_into_the_next_call() -> None:
    def bind_more() -> dict[str, object]:
        bind(step="x")
        return get_context()

    wrapped = wrap(bind_more)
    assert wrapped() == {"step": "x"}
    assert wrapped() == {"step": "x"}
    assert get_context() == {}


def test_unbind_ignores_tokens_from_another_context() -> None:
    ctx = contextvars.copy_context()
    tokens = ctx.run(bind, tenant_id="elsewhere")
    unbind(tokens)  # must not raise
    assert get_context() == {}
    assert ctx.run(get_context) == {"tenant_id": "elsewhere"}


def test_clear_context_unsets_everything() -> None:
    bind(request_id="r", tenant_id="t", user_id="u", operation="o", free=1)
    clear_context()
    assert get_context() == {}


def test_a_snapshot_reads_as_the_context_it_was_taken_in() -> None:
    def run() -> None:
        assert get_context(contextvars.copy_context()) == {} == get_context()
        tokens = bind(request_id="r-1", tenant_id="acme", order="o-7")
        snapshot = contextvars.copy_context()
        expected = get_context()
        assert expected == {"request_id": "r-1", "tenant_id": "acme", "order": "o-7"}
        unbind(tokens)
        bind(user_id="u-2")
        # Later bindings are not in it; read from another thread it is the same.
        assert get_context(snapshot) == expected
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(get_context, snapshot).result() == expected
        assert get_context() == {"user_id": "u-2"}

    contextvars.copy_context().run(run)
