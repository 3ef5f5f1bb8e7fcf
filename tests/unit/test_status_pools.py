"""Pool status writes: Ready and generation at once, counts at most once per interval, through the one writer."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable

from members.builders import node, pod
from pydantic import BaseModel

from computenet.api.common import Condition
from computenet.api.constants import POOL, ConditionStatus, KindInfo, Reason
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.api.pool import ComputePoolSpec, ComputePoolStatus, TaskCounts
from computenet.events import ObjectRef
from computenet.members.facts import node_facts, pod_facts
from computenet.members.identifiers import IdentifierSet
from computenet.members.pull import PullConnection
from computenet.members.registry import MemberRegistry
from computenet.members.secrets import SecretCache
from computenet.members.state import NodeSink, PodSink
from computenet.statuses.pools import COUNTS_INTERVAL_S, PoolStatusWriter

H100 = "NVIDIA-H100"
POOL_SPEC = ComputePoolSpec.model_validate({"identifierSelector": {"matchLabels": {"tier": "gpu"}}})
REF = ObjectRef("computenet.io/v1alpha1", "ComputePool", "gpus", "uid-pool")


class Writer:
    def __init__(self) -> None:
        self.written: list[ComputePoolStatus] = []

    def write(self, kind: KindInfo, namespace: str | None, name: str, status: BaseModel, delay: float = 0.0) -> None:
        assert kind is POOL
        assert (namespace, name) == (None, "gpus")
        assert isinstance(status, ComputePoolStatus)
        self.written.append(status)

    def flush(self, kind: KindInfo, namespace: str | None, name: str) -> Awaitable[bool]:
        return asyncio.sleep(0, True)


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, bool]] = []

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        self.recorded.append((reason, message, warning))


class Clock:
    """Wall time that moves only when the test moves it: ``now`` seconds after a fixed instant."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> dt.datetime:
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.now)


def federation() -> tuple[IdentifierSet, PullConnection]:
    identifiers = IdentifierSet(MemberRegistry(), SecretCache(), "computenet-system")
    conn = PullConnection("provider-acme", "agent-m0", None)  # type: ignore[arg-type]  # no client needed
    NodeSink(conn.state).replace({"n1": node_facts(node("n1").gpus(8, H100).build())})
    conn.state.synced = True
    conn.health.reachable = True  # as the agent's Lease and first report make it
    conn.last_report = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    conn.jobs.replace({})
    item = identifiers.track("m0")
    item.spec = ComputeIdentifierSpec.model_validate(
        {
            "uri": "cpi://acme/cn-east/m0",
            "provider": "acme",
            "region": "cn-east",
            "computeClass": "ai",
            "connection": {"agent": {"namespace": "provider-acme", "name": "agent-m0"}},
        }
    )
    item.labels = {"tier": "gpu"}
    item.attach(conn)
    return identifiers, conn


def rig() -> tuple[PoolStatusWriter, Writer, Events, Clock, PullConnection]:
    identifiers, conn = federation()
    assert identifiers.items["m0"].ready, "the member is Ready"
    writer, events, clock = Writer(), Events(), Clock()
    passes = PoolStatusWriter(
        identifiers,
        lambda name: TaskCounts(queued=1),
        writer,
        events,  # type: ignore[arg-type]
        coalesce_s=0.0,
        refresh_s=300.0,
        recheck_s=30.0,
        clock=clock,
    )
    return passes, writer, events, clock, conn


def free_gpus(status: ComputePoolStatus) -> int:
    assert status.accelerators is not None
    return status.accelerators[H100].free


def ready(status: ComputePoolStatus) -> Condition:
    (cond,) = status.conditions or ()
    return cond


def test_a_pool_is_written_at_once_with_its_members_and_tasks_and_its_ready_is_announced() -> None:
    async def scenario() -> None:
        passes, writer, events, _, _ = rig()
        passes.track("gpus", REF, 3, POOL_SPEC)
        await passes.write_pass()
        (status,) = writer.written
        assert status.observed_generation == 3
        assert status.members is not None
        assert (status.members.ready, status.members.total) == (1, 1)
        assert status.tasks == TaskCounts(queued=1)
        assert free_gpus(status) == 8
        assert (ready(status).status, ready(status).reason) == (ConditionStatus.TRUE, Reason.READY)
        assert events.recorded == [(Reason.READY, "1/1 members Ready", False)]

    asyncio.run(scenario())


def test_counts_alone_wait_for_the_interval_and_the_newest_counts_go() -> None:
    async def scenario() -> None:
        passes, writer, _, clock, conn = rig()
        passes.track("gpus", REF, 1, POOL_SPEC)
        await passes.write_pass()
        for i in range(2):
            clock.now += 1.0
            facts = pod_facts(pod(f"p{i}", "n1", gpus=2))
            assert facts is not None
            PodSink(conn.state).upsert(f"default/p{i}", facts)
            wait = await passes.write_pass()
            assert len(writer.written) == 1, "counts alone are held back"
            assert 0 < wait <= COUNTS_INTERVAL_S
        clock.now += COUNTS_INTERVAL_S
        await passes.write_pass()
        assert [free_gpus(s) for s in writer.written] == [8, 4], "one write with the newest counts"
        assert await passes.write_pass() > 1.0, "nothing due"
        assert len(writer.written) == 2

    asyncio.run(scenario())


def test_a_change_of_ready_or_generation_is_written_at_once() -> None:
    async def scenario() -> None:
        passes, writer, events, clock, _ = rig()
        passes.track("gpus", REF, 1, POOL_SPEC)
        await passes.write_pass()
        clock.now += 0.5
        passes.track("gpus", REF, 2, POOL_SPEC)  # a spec edit
        await passes.write_pass()
        assert [s.observed_generation for s in writer.written] == [1, 2]
        clock.now += 0.5
        passes.track("gpus", REF, 3, None, problem="spec.identifierSelector: Field required")
        await passes.write_pass()
        last = writer.written[-1]
        assert (ready(last).status, ready(last).reason) == (ConditionStatus.FALSE, Reason.INVALID_SPEC)
        assert ready(last).message == "spec.identifierSelector: Field required"
        assert events.recorded[-1] == (Reason.INVALID_SPEC, "spec.identifierSelector: Field required", True)

    asyncio.run(scenario())


def test_an_unchanged_status_keeps_its_transition_time_and_is_refreshed_only_after_the_interval() -> None:
    async def scenario() -> None:
        passes, writer, _, clock, _ = rig()
        passes.track("gpus", REF, 1, POOL_SPEC)
        await passes.write_pass()
        first = ready(writer.written[0]).last_transition_time
        clock.now += 299.0
        await passes.write_pass()
        assert len(writer.written) == 1
        clock.now += 1.0
        await passes.write_pass()
        assert len(writer.written) == 2
        assert ready(writer.written[1]).last_transition_time == first
        assert isinstance(first, dt.datetime)

    asyncio.run(scenario())
