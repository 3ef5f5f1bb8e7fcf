"""A watch's events already received are handled at once, not one per turn of a busy event loop.

A real HTTP server on loopback plays the API server: a list, then a watch stream whose events
arrive together. The operator's loop is shared by every member's watches, the scheduler and the
status writers; if each event waited for its own turns of the loop, a burst of pod events would be
seen tens of seconds late (measured: 45 s on a loaded machine), and placement would decide on a
picture that old.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from computenet.members.reflector import Reflector
from support.wait import eventually_async

EVENTS = 1_000


def _pod(i: int) -> dict[str, Any]:
    return {"metadata": {"name": f"p{i}", "namespace": "default", "resourceVersion": str(10 + i)}}


class Recorder:
    """A sink that notes, for each event, how many turns the loop had taken (`clock()`)."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.items: dict[str, Mapping[str, Any]] = {}
        self.turns: list[int] = []
        self._clock = clock

    def replace(self, items: Mapping[str, Mapping[str, Any]]) -> None:
        self.items = dict(items)

    def upsert(self, key: str, item: Mapping[str, Any]) -> None:
        self.items[key] = item
        self.turns.append(self._clock())

    def delete(self, key: str) -> None:
        self.items.pop(key, None)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    closing = asyncio.Event()

    async def pods(request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") != "true":
            return web.json_response({"metadata": {"resourceVersion": "1"}, "items": []})
        resp = web.StreamResponse()
        await resp.prepare(request)
        body = "".join(json.dumps({"type": "ADDED", "object": _pod(i)}) + "\n" for i in range(EVENTS))
        await resp.write(body.encode())
        await closing.wait()  # the stream stays open, as a watch does
        return resp

    app = web.Application()
    app.router.add_get("/pods", pods)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/pods"
    finally:
        closing.set()
        await runner.cleanup()


async def test_buffered_events_are_handled_without_waiting_for_the_loop_each(server: str) -> None:
    turns = 0

    async def busy_loop() -> None:  # another task, taking a turn of the loop whenever it can
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    sink = Recorder(lambda: turns)
    async with aiohttp.ClientSession() as session:

        async def lister(**kwargs: Any) -> aiohttp.ClientResponse:
            params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in kwargs.items() if k[0] != "_"}
            return await session.get(server, params=params)

        ticker = asyncio.create_task(busy_loop())
        watch = asyncio.create_task(Reflector("pods", lister, lambda obj: obj, sink).run())
        try:

            async def synced() -> bool:
                return len(sink.items) == EVENTS

            await eventually_async(synced)
        finally:
            for task in (watch, ticker):
                task.cancel()
            await asyncio.gather(watch, ticker, return_exceptions=True)
    span = sink.turns[-1] - sink.turns[0]
    # A turn per YIELD_EVERY events and per network read; waiting for a task per line took two per event.
    assert span < EVENTS // 5, f"{span} turns of the loop between the first and the last of {EVENTS} events"
