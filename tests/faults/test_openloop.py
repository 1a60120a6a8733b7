"""The open-loop generator the SLA benchmark and the soak rely on.

A server that stalls for 0.5 s must show up in many samples (every request
scheduled during the stall waits), not in one as a closed-loop tool would
report it; chunked and ``Connection: close`` responses are read correctly;
requests never answered are counted as failures.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import uvicorn
from fastapi import FastAPI, Response
from fastapi.responses import StreamingResponse

from bench import openloop
from tests.faults.servers import free_port


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    app = FastAPI()
    stalled = threading.Event()

    @app.get("/block")
    async def block() -> dict[str, bool]:
        if not stalled.is_set():
            stalled.set()
            time.sleep(0.5)  # blocks the event loop: every connection waits
        return {"ok": True}

    @app.get("/chunked")
    async def chunked() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"part{i};".encode()

        return StreamingResponse(parts())

    @app.get("/close")
    async def close() -> Response:
        return Response(b"bye", headers={"connection": "close"})

    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    while not srv.started:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_a_stall_is_charged_to_every_request_scheduled_during_it(server: str) -> None:
    res = openloop.run_sync(server, [openloop.Endpoint("block", path="/block")], rate=100,
                            seconds=1.5, connections=8)
    assert res.statuses() == {200: 150}
    slow = [v for v in res.latencies() if v > 0.2]
    # ~0.5 s x 100 req/s scheduled into the stall; a closed loop would show about 8.
    assert len(slow) >= 25, sorted(res.latencies())[-40:]
    assert openloop.percentile(res.latencies(), 99) >= 0.3
    # Cut by scheduled send time, the stall belongs to the window it happened in.
    first, middle, last = res.windows(0.5)
    assert [len(w.samples) for w in (first, middle, last)] == [50, 50, 50]
    assert openloop.percentile(first.latencies(), 50) >= 0.2
    assert max(last.latencies()) < 0.2


def test_chunked_and_closing_responses(server: str) -> None:
    eps = [openloop.Endpoint("chunked", path="/chunked"), openloop.Endpoint("close", path="/close")]
    res = openloop.run_sync(server, eps, rate=50, seconds=1, connections=2, keep_bodies=True)
    assert res.statuses() == {200: 50}
    bodies = {s.endpoint: s.body for s in res.samples}
    assert bodies == {"chunked": b"part0;part1;part2;", "close": b"bye"}
    assert res.achieved_rate == pytest.approx(50, rel=0.01)


def test_unanswered_requests_count_as_failures() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts connections, never answers
    port = listener.getsockname()[1]
    try:
        res = asyncio.run(openloop.run(f"http://127.0.0.1:{port}", [openloop.Endpoint("x")],
                                       rate=20, seconds=0.5, connections=4, grace_s=0.5))
    finally:
        listener.close()
    assert res.statuses() == {0: 10}
    assert res.latencies() == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert openloop.percentile(values, 50) == 50.0
    assert openloop.percentile(values, 99) == 99.0
    assert openloop.percentile(values, 100) == 100.0
    assert openloop.percentile([], 95) != openloop.percentile([], 95)  # NaN


def test_command_line_reports_percentiles(server: str, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    assert openloop.main(["--url", server + "/chunked", "--rate", "40", "--seconds", "0.5",
                          "--connections", "2"]) == 0
    out = capsys.readouterr().out
    assert "20 requests" in out and "{200: 20}" in out and "p99" in out


def test_results_group_by_endpoint(server: str) -> None:
    eps = [openloop.Endpoint("a", path="/chunked", weight=3),
           openloop.Endpoint("b", path="/close", weight=1)]
    res = openloop.run_sync(server, eps, rate=40, seconds=1)
    groups = res.by_endpoint()
    assert {k: len(v) for k, v in groups.items()} == {"a": 30, "b": 10}
    assert len(res.latencies("b")) == 10


def test_an_idle_connection_closed_by_the_server_is_replaced(server: str) -> None:
    async def two_requests_across_a_server_close() -> list[int]:
        # As when uvicorn drops a keep-alive connection idle for 5 s: the socket dies
        # between two requests; the second is resent on a new connection.
        conn = openloop._Connection("127.0.0.1", int(server.rsplit(":", 1)[1]))
        raw = openloop._raw(openloop.Endpoint("a", path="/chunked"), 1, "127.0.0.1")
        first, _ = await conn.request(raw)
        assert conn.writer is not None
        conn.writer.transport.abort()  # the connection dies while idle
        await asyncio.sleep(0.05)
        second, body = await conn.request(raw)
        conn.close()
        return [first, second, len(body)]

    assert asyncio.run(two_requests_across_a_server_close()) == [200, 200, 18]
