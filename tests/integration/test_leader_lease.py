"""Leader election against the real hub Lease API: electors in one process, short timings.

Each test campaigns for a Lease of its own. Killing a leader is cancelling its renew loop without
a release (what SIGKILL leaves behind); a leader that cannot renew is one whose Lease another
writer took.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable

import pytest
from kubernetes.aio.client import ApiClient, CoordinationV1Api, V1Lease, V1LeaseSpec, V1ObjectMeta
from kubernetes.aio.client.exceptions import ApiException

from computenet.leader.election import Timing, worst_takeover_s
from computenet.leader.guard import Leadership, LeaseSettings
from computenet.leader.lease import LeaseElector, LeaseLock, wall_now
from computenet.testing.federation import Cluster
from support.timeouts import STATE_S
from support.wait import eventually_async

NAMESPACE = "default"
TIMING = Timing(lease_duration_s=3, renew_deadline_s=1.5, retry_period_s=0.5)
SLACK_S = 1.5  # API round trips on a loaded machine


@pytest.fixture
async def lease_name(hub_api: ApiClient) -> AsyncIterator[str]:
    name = f"election-{uuid.uuid4().hex[:6]}"
    yield name
    with contextlib.suppress(ApiException):
        await CoordinationV1Api(hub_api).delete_namespaced_lease(name, NAMESPACE)


def elector(hub_api: ApiClient, name: str, identity: str) -> LeaseElector:
    return LeaseElector(LeaseLock(CoordinationV1Api(hub_api), NAMESPACE, name), identity, TIMING)


async def read(hub_api: ApiClient, name: str) -> V1LeaseSpec:
    lease = await CoordinationV1Api(hub_api).read_namespaced_lease(name, NAMESPACE)
    assert lease.spec is not None
    return lease.spec


async def timed(awaitable: Awaitable[object], timeout: float) -> float:
    start = time.monotonic()
    await asyncio.wait_for(awaitable, timeout)
    return time.monotonic() - start


@contextlib.asynccontextmanager
async def renewing(e: LeaseElector) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(e.renew())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_first_elector_creates_the_lease_and_the_second_waits_while_it_renews(
    hub_api: ApiClient, lease_name: str
) -> None:
    a, b = elector(hub_api, lease_name, "a"), elector(hub_api, lease_name, "b")
    assert await a.try_acquire_or_renew()
    spec = await read(hub_api, lease_name)
    assert (spec.holder_identity, spec.lease_duration_seconds, spec.lease_transitions) == ("a", 3, 0)
    assert spec.acquire_time == spec.renew_time
    assert not await b.try_acquire_or_renew()
    assert b.leader == "a"
    first_renewal = spec.renew_time
    async with renewing(a) as renewal:

        async def renewed() -> bool:
            now = await read(hub_api, lease_name)
            return bool(now.renew_time and first_renewal and now.renew_time > first_renewal)

        await eventually_async(renewed, timeout=STATE_S)
        # b keeps trying for two whole lease durations and never gets it.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(b.acquire(), 2 * TIMING.lease_duration_s)
        assert not renewal.done()
    spec = await read(hub_api, lease_name)
    assert (spec.holder_identity, spec.lease_transitions, spec.acquire_time) == ("a", 0, first_renewal)


async def test_standby_takes_over_when_the_leader_stops_renewing(hub_api: ApiClient, lease_name: str) -> None:
    a, b = elector(hub_api, lease_name, "a"), elector(hub_api, lease_name, "b")
    await asyncio.wait_for(a.acquire(), STATE_S)
    acquired_by_a = (await read(hub_api, lease_name)).acquire_time
    standby = asyncio.create_task(b.acquire())
    async with renewing(a):
        await eventually_async(lambda: _sees(b, "a"), timeout=STATE_S)
    killed = time.monotonic()  # a stops renewing and does not release: a SIGKILL
    await asyncio.wait_for(standby, STATE_S)
    takeover = time.monotonic() - killed
    assert TIMING.lease_duration_s - TIMING.retry_period_s <= takeover <= worst_takeover_s(TIMING) + SLACK_S
    spec = await read(hub_api, lease_name)
    assert (spec.holder_identity, spec.lease_transitions) == ("b", 1)
    assert spec.acquire_time != acquired_by_a
    assert b.is_leader


async def _sees(e: LeaseElector, holder: str) -> bool:
    return e.leader == holder


async def test_a_leader_whose_lease_was_taken_steps_down_and_leaves_the_new_holder_alone(
    hub_api: ApiClient, lease_name: str
) -> None:
    a = elector(hub_api, lease_name, "a")
    await asyncio.wait_for(a.acquire(), STATE_S)
    async with renewing(a) as renewal:
        await steal(hub_api, lease_name, "intruder")
        stepped_down = await timed(renewal, TIMING.retry_period_s + TIMING.renew_deadline_s + SLACK_S)
    assert stepped_down <= TIMING.retry_period_s + TIMING.renew_deadline_s + SLACK_S
    assert not a.is_leader
    assert a.leader == "intruder"
    assert (await read(hub_api, lease_name)).holder_identity == "intruder"


async def steal(hub_api: ApiClient, name: str, holder: str) -> None:
    """Another writer takes the Lease with a fresh record, as a new leader would.

    It competes with the renewing leader like any writer: on a 409 it reads again and retries.
    """
    api = CoordinationV1Api(hub_api)

    async def taken() -> bool:
        lease = await api.read_namespaced_lease(name, NAMESPACE)
        now = wall_now()
        lease.spec = V1LeaseSpec(
            holder_identity=holder, lease_duration_seconds=3600, acquire_time=now, renew_time=now, lease_transitions=9
        )
        try:
            await api.replace_namespaced_lease(name, NAMESPACE, lease)
        except ApiException as e:
            if e.status != 409:
                raise
            return False
        return True

    await eventually_async(taken, timeout=STATE_S, interval=0.01)


async def test_release_hands_over_without_waiting_for_the_lease_to_run_out(hub_api: ApiClient, lease_name: str) -> None:
    a, b = elector(hub_api, lease_name, "a"), elector(hub_api, lease_name, "b")
    await asyncio.wait_for(a.acquire(), STATE_S)
    standby = asyncio.create_task(b.acquire())
    async with renewing(a):
        await eventually_async(lambda: _sees(b, "a"), timeout=STATE_S)
    assert await a.release()
    spec = await read(hub_api, lease_name)
    assert (spec.holder_identity, spec.lease_duration_seconds) == ("", 1)
    took = await timed(standby, STATE_S)
    # A 1 s lease and one jittered retry, well short of the 3 s lease a SIGKILL leaves behind.
    assert took <= 1 + TIMING.retry_period_s * 2.2 + SLACK_S
    assert (await read(hub_api, lease_name)).holder_identity == "b"


async def test_two_candidates_racing_for_a_new_lease_exactly_one_wins(hub_api: ApiClient, lease_name: str) -> None:
    a, b = elector(hub_api, lease_name, "a"), elector(hub_api, lease_name, "b")
    results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(results) == [False, True]
    winner = "a" if results[0] else "b"
    assert (await read(hub_api, lease_name)).holder_identity == winner


async def test_two_candidates_racing_for_an_expired_lease_exactly_one_write_lands(
    hub_api: ApiClient, lease_name: str
) -> None:
    """Both read the same resourceVersion; the API refuses the second update with a 409 Conflict."""
    now = wall_now()
    await CoordinationV1Api(hub_api).create_namespaced_lease(
        NAMESPACE,
        V1Lease(
            metadata=V1ObjectMeta(name=lease_name),
            spec=V1LeaseSpec(holder_identity="ghost", lease_duration_seconds=1, acquire_time=now, renew_time=now),
        ),
    )
    clock = [0.0]  # both electors read this clock, so the ghost's lease runs out for both at once
    a, b = (
        LeaseElector(LeaseLock(CoordinationV1Api(hub_api), NAMESPACE, lease_name), who, TIMING, clock=lambda: clock[0])
        for who in ("a", "b")
    )
    assert await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew()) == [False, False]
    assert a.leader == b.leader == "ghost"
    clock[0] = 1.0
    results = await asyncio.gather(a.try_acquire_or_renew(), b.try_acquire_or_renew())
    assert sorted(results) == [False, True]
    spec = await read(hub_api, lease_name)
    assert spec.holder_identity == ("a" if results[0] else "b")
    assert spec.lease_transitions == 1


async def test_leadership_thread_blocks_until_held_and_reports_the_loss(
    hub: Cluster, hub_api: ApiClient, lease_name: str
) -> None:
    lost: list[str] = []
    done = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_lost(reason: str) -> None:
        lost.append(reason)
        loop.call_soon_threadsafe(done.set)

    settings = LeaseSettings(str(hub.kubeconfig), NAMESPACE, lease_name, "threaded", TIMING)
    leadership = Leadership(settings, on_lost)
    leadership.start()
    await asyncio.wait_for(leadership.acquired(), STATE_S)
    assert leadership.holding
    assert (await read(hub_api, lease_name)).holder_identity == "threaded"
    await steal(hub_api, lease_name, "intruder")
    stepped_down = await timed(done.wait(), TIMING.retry_period_s + TIMING.renew_deadline_s + SLACK_S)
    assert stepped_down <= TIMING.retry_period_s + TIMING.renew_deadline_s + SLACK_S
    assert lost == [f"lost Lease {NAMESPACE}/{lease_name}: renew deadline passed"]


async def test_leadership_thread_release_does_not_report_a_loss(
    hub: Cluster, hub_api: ApiClient, lease_name: str
) -> None:
    lost: list[str] = []
    leadership = Leadership(LeaseSettings(str(hub.kubeconfig), NAMESPACE, lease_name, "threaded", TIMING), lost.append)
    leadership.start()
    await asyncio.wait_for(leadership.acquired(), STATE_S)
    assert await asyncio.to_thread(leadership.release)
    assert (await read(hub_api, lease_name)).holder_identity == ""
    assert await asyncio.to_thread(leadership.join, STATE_S)
    assert lost == []
