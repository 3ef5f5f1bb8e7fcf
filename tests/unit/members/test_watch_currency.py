"""A member whose watch fails is not placed on until that watch is current again.

A real HTTP server on loopback plays a member's API server with two kinds: nodes keep answering,
pods can be switched to drop their streams and answer 403 (as an API server does while its
authorizer starts after a restart, or after its RBAC changed). The connection's nodes stay current,
its pods do not: `stale()` names the pods watch and the error, the health listeners hear of it both
ways, and the identifier is not usable meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from kubernetes.aio.client import ApiClient

from computenet.members.connection import MemberConnection
from computenet.members.identifiers import TrackedIdentifier
from computenet.members.reflector import Reflector
from support.wait import eventually_async


@dataclass
class Member:
    """What the fake API server answers for pods; nodes always answer."""

    url: str = ""
    forbid_pods: bool = False
    pod_failures: int = 0
    """Requests for pods to answer with a 500 before answering again."""
    streams: dict[str, list[asyncio.Event]] = field(default_factory=lambda: {"nodes": [], "pods": []})

    def drop(self, kind: str) -> None:
        """End the open watch streams of `kind` (the API server restarting, say)."""
        for closing in self.streams[kind]:
            closing.set()


@pytest.fixture
async def member() -> AsyncIterator[Member]:
    state = Member()

    def handler(kind: str) -> Any:
        async def serve(request: web.Request) -> web.StreamResponse:
            if kind == "pods" and state.pod_failures:
                state.pod_failures -= 1
                return web.json_response({"kind": "Status", "code": 500, "message": "etcd hiccup"}, status=500)
            if kind == "pods" and state.forbid_pods:
                body = {"kind": "Status", "code": 403, "message": 'pods is forbidden: User "computenet-operator"'}
                return web.json_response(body, status=403)
            if request.query.get("watch") != "true":
                return web.json_response({"metadata": {"resourceVersion": "1"}, "items": []})
            resp = web.StreamResponse()
            await resp.prepare(request)
            closing = asyncio.Event()
            state.streams[kind].append(closing)
            await closing.wait()  # open as a watch is, until the test drops it
            return resp

        return serve

    app = web.Application()
    app.router.add_get("/nodes", handler("nodes"))
    app.router.add_get("/pods", handler("pods"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield state
    finally:
        for kind in state.streams:
            state.drop(kind)
        await runner.cleanup()


class Sink:
    def replace(self, items: Any) -> None: ...
    def upsert(self, key: str, item: Any) -> None: ...
    def delete(self, key: str) -> None: ...


def _lister(session: aiohttp.ClientSession, url: str) -> Any:
    async def get(**kwargs: Any) -> aiohttp.ClientResponse:
        params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in kwargs.items()}
        return await session.get(url, params={k: v for k, v in params.items() if not k.startswith("_")})

    return get


async def test_one_failure_resumed_at_once_does_not_make_the_member_stale(member: Member) -> None:
    conn = MemberConnection("key", member.url, ApiClient(), watch=False)
    told: list[str] = []
    conn.on_health_change(lambda: told.append(conn.stale()))
    async with aiohttp.ClientSession() as session:
        pods = conn.add_reflector("pods", _lister(session, f"{member.url}/pods"), dict, Sink())
        task = asyncio.create_task(pods.run())
        try:

            async def watching(times: int) -> bool:
                return pods.stats.watches >= times and pods.stats.current

            await eventually_async(lambda: watching(1))
            member.pod_failures = 1
            member.drop("pods")
            await eventually_async(lambda: watching(2))
            assert pods.stats.errors == 1
            assert conn.stale() == ""
            assert all(t == "" for t in told), told  # Ready never flipped for a stream resumed at once
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await conn.client.close()


async def test_a_failing_watch_makes_the_member_stale_until_it_resumes(member: Member) -> None:
    conn = MemberConnection("key", member.url, ApiClient(), watch=False)
    told: list[str] = []
    conn.on_health_change(lambda: told.append(conn.stale()))
    item = TrackedIdentifier("m1")
    async with aiohttp.ClientSession() as session:
        reflectors: list[Reflector[Any]] = [
            conn.add_reflector(kind, _lister(session, f"{member.url}/{kind}"), dict, Sink())
            for kind in ("nodes", "pods")
        ]
        tasks = [asyncio.create_task(r.run()) for r in reflectors]
        try:
            item.attach(conn)

            async def current() -> bool:
                return conn.synced and conn.stale() == "" and all(r.stats.watches for r in reflectors)

            await eventually_async(current)
            assert item.usable() == (True, "")

            member.forbid_pods = True
            member.drop("pods")

            async def pods_stale() -> bool:
                return "pods watch" in conn.stale()

            await eventually_async(pods_stale)
            assert "HTTP 403" in conn.stale()
            assert "refused our credentials for its pods watch" in conn.health.message
            assert not item.usable()[0]
            assert any("pods watch" in t for t in told)  # the status writer hears of it

            # The nodes watch comes back after the refusal: the member answers, its pods are unseen.
            member.drop("nodes")

            async def nodes_back() -> bool:
                return reflectors[0].stats.watches >= 2 and conn.health.reachable

            await eventually_async(nodes_back)
            usable, why = item.usable()
            assert not usable
            assert why == conn.stale()

            member.forbid_pods = False
            await eventually_async(current)
            assert told[-1] == ""  # and of the recovery
            assert item.usable() == (True, "")
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await conn.client.close()


async def test_a_refused_dra_watch_leaves_the_member_usable_and_says_why_devices_are_unknown(member: Member) -> None:
    conn = MemberConnection("key", member.url, ApiClient(), watch=False)
    told: list[str] = []
    conn.on_health_change(lambda: told.append(conn.dra_problem()))
    item = TrackedIdentifier("m1")
    member.forbid_pods = True  # plays the member refusing resource.k8s.io to the operator's identity
    async with aiohttp.ClientSession() as session:
        nodes = conn.add_reflector("nodes", _lister(session, f"{member.url}/nodes"), dict, Sink())
        slices = conn.add_reflector(
            "resourceslices", _lister(session, f"{member.url}/pods"), dict, Sink(), optional=True
        )
        tasks = [asyncio.create_task(r.run()) for r in (nodes, slices)]
        try:
            item.attach(conn)

            async def refused() -> bool:
                return conn.synced and slices.stats.errors >= 1 and "HTTP 403" in conn.dra_problem()

            await eventually_async(refused)
            assert conn.health.reachable
            assert not conn.health.unauthorized
            assert conn.stale() == ""
            assert item.usable() == (True, "")
            assert conn.dra_problem().startswith("the member's resourceslices are not listed yet (HTTP 403")

            member.forbid_pods = False  # the RBAC is granted: the devices become known, and listeners hear it
            await eventually_async(lambda: _listed(conn), timeout=15)
            assert told[-1] == ""
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await conn.client.close()


async def _listed(conn: MemberConnection) -> bool:
    return conn.dra_problem() == ""
