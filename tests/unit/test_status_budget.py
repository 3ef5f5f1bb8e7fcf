"""Identifier status writes: conditions at once, counts within a shared budget, refreshes last."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable

import pytest
from members.builders import node, pod
from pydantic import BaseModel

from computenet.api.common import Condition
from computenet.api.constants import IDENTIFIER, ConditionStatus, KindInfo, Reason
from computenet.api.identifier import ComputeIdentifierSpec, ComputeIdentifierStatus, NodeCounts
from computenet.events import ObjectRef
from computenet.members.facts import node_facts, pod_facts
from computenet.members.identifier_status import Problem
from computenet.members.identifiers import IdentifierSet, TrackedIdentifier
from computenet.members.pull import PullConnection
from computenet.members.registry import MemberRegistry
from computenet.members.secrets import SecretCache
from computenet.members.state import NodeSink, PodSink
from computenet.statuses.budget import Due, Essence, Kind, TokenBucket, classify, plan
from computenet.statuses.identifiers import IdentifierStatusWriter, essence

H100 = "NVIDIA-H100"
SAID = Essence(conditions=("Ready", "True"), counts=(8,))


@pytest.mark.parametrize(
    ("written", "current", "last_write_s", "now_s", "want"),
    [
        pytest.param(None, SAID, None, 0.0, Kind.URGENT, id="never written: urgent"),
        pytest.param(SAID, Essence(("Ready", "False"), (8,)), 10.0, 11.0, Kind.URGENT, id="conditions changed"),
        pytest.param(SAID, Essence(("Ready", "False"), (4,)), 10.0, 11.0, Kind.URGENT, id="both changed"),
        pytest.param(SAID, Essence(("Ready", "True"), (4,)), 10.0, 11.0, Kind.CHANGED, id="only counts changed"),
        pytest.param(SAID, SAID, 10.0, 309.9, None, id="unchanged, refresh not due"),
        pytest.param(SAID, SAID, 10.0, 310.0, Kind.REFRESH, id="unchanged, refresh due"),
        pytest.param(SAID, Essence(("Ready", "True"), (4,)), 10.0, 400.0, Kind.CHANGED, id="a change beats a refresh"),
    ],
)
def test_classify(
    written: Essence | None, current: Essence, last_write_s: float | None, now_s: float, want: Kind | None
) -> None:
    assert classify(written=written, current=current, last_write_s=last_write_s, now_s=now_s, refresh_s=300.0) == want


def test_token_bucket_starts_full_refills_at_its_rate_and_holds_at_most_its_burst() -> None:
    bucket = TokenBucket(rate_per_s=2.0, burst=3.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.next_at(0.0) == pytest.approx(0.5)
    assert bucket.take(0.5)
    assert not bucket.take(0.5)
    bucket.take(100.0)  # a long quiet time fills it to its burst, not beyond
    assert [bucket.take(100.0) for _ in range(3)] == [True, True, False]
    assert bucket.next_at(100.0) == pytest.approx(100.5)


@pytest.mark.parametrize(("rate", "burst"), [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0)])
def test_token_bucket_refuses_a_rate_or_burst_that_is_not_positive(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="positive rate and burst"):
        TokenBucket(rate, burst)


def test_plan_writes_every_urgent_then_the_oldest_changes_the_budget_allows_then_refreshes() -> None:
    bucket = TokenBucket(rate_per_s=1.0, burst=2.0)
    due = [
        Due("refresh-old", Kind.REFRESH, 1.0),
        Due("counts-new", Kind.CHANGED, 9.0),
        Due("urgent-1", Kind.URGENT, 8.0),
        Due("counts-old", Kind.CHANGED, 2.0),
        Due("urgent-2", Kind.URGENT, 3.0),
        Due("counts-mid", Kind.CHANGED, 5.0),
    ]
    first = plan(due, bucket, now_s=10.0)
    assert first.write == ("urgent-2", "urgent-1", "counts-old", "counts-mid")
    assert first.held_until_s == pytest.approx(11.0)
    rest = [d for d in due if d.name not in first.write]
    second = plan(rest, bucket, now_s=11.0)
    assert second.write == ("counts-new",)
    assert second.held_until_s == pytest.approx(12.0)
    third = plan([Due("refresh-old", Kind.REFRESH, 1.0)], bucket, now_s=12.0)
    assert third == type(third)(("refresh-old",), None)


def test_urgent_writes_are_never_held_back_by_an_empty_budget() -> None:
    bucket = TokenBucket(rate_per_s=0.001, burst=1.0)
    assert bucket.take(0.0)
    urgent = [Due(f"u{i}", Kind.URGENT, float(i)) for i in range(50)]
    chosen = plan(urgent, bucket, now_s=0.0)
    assert len(chosen.write) == 50
    assert chosen.held_until_s is None


# ---- the writer over tracked identifiers (its collaborator, the hub write, is recorded) ----


def _spec(name: str) -> ComputeIdentifierSpec:
    return ComputeIdentifierSpec.model_validate(
        {
            "uri": f"cpi://acme/cn-east/{name}",
            "provider": "acme",
            "region": "cn-east",
            "computeClass": "ai",
            "connection": {"agent": {"namespace": "provider-acme", "name": f"agent-{name}"}},
        }
    )


class _Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str, str]] = []

    def record(self, ref: ObjectRef, reason: str, message: str, warning: bool = False) -> None:
        self.recorded.append((ref.name, reason, message))


class _Writer:
    """The one status writer, as the identifier pass uses it: every write lands at once."""

    def __init__(self, record: Callable[[str, ComputeIdentifierStatus], None]) -> None:
        self.record = record

    def write(self, kind: KindInfo, namespace: str | None, name: str, status: BaseModel, delay: float = 0.0) -> None:
        assert kind is IDENTIFIER
        assert namespace is None
        assert isinstance(status, ComputeIdentifierStatus)
        self.record(name, status)

    def flush(self, kind: KindInfo, namespace: str | None, name: str) -> Awaitable[bool]:
        return asyncio.sleep(0, True)


class _Clock:
    """Wall time that moves only when the test moves it: ``now`` seconds after a fixed instant."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> dt.datetime:
        return dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=self.now)


def _federation(count: int) -> tuple[IdentifierSet, dict[str, PullConnection]]:
    identifiers = IdentifierSet(MemberRegistry(), SecretCache(), "computenet-system")
    conns = {}
    for i in range(count):
        name = f"m{i}"
        conn = PullConnection("provider-acme", f"agent-{name}", None)  # type: ignore[arg-type]  # no client needed
        NodeSink(conn.state).replace({"n1": node_facts(node("n1").gpus(8, H100).build())})
        conn.state.synced = True
        item = identifiers.track(name)
        item.spec, item.ref = _spec(name), ObjectRef("computenet.io/v1alpha1", "ComputeIdentifier", name, f"uid-{i}")
        item.attach(conn)
        conns[name] = conn
    return identifiers, conns


def _free(status: ComputeIdentifierStatus) -> int:
    return status.accelerators[H100].free if status.accelerators else -1


def test_the_writer_writes_all_at_first_then_counts_within_the_budget_oldest_first() -> None:
    async def scenario() -> None:
        identifiers, conns = _federation(6)
        written: list[tuple[str, int]] = []

        def write(name: str, status: ComputeIdentifierStatus) -> None:
            written.append((name, _free(status)))

        clock = _Clock()
        events = _Events()
        writer = IdentifierStatusWriter(
            identifiers,
            _Writer(write),
            events,
            coalesce_s=0.0,
            writes_per_s=2.0,
            refresh_s=300.0,
            clock=clock,
        )
        await writer.write_pass()
        assert sorted(n for n, _ in written) == [f"m{i}" for i in range(6)], "never written: all at once"
        assert sum(1 for name, *_ in events.recorded if name == "m0") >= 1  # its first conditions are announced
        written.clear()

        for i, name in enumerate(["m3", "m1", "m5", "m0"]):  # counts change, in this order, 0.1 s apart
            clock.now += 0.1
            facts = pod_facts(pod(f"p{i}", "n1", gpus=2))
            assert facts is not None
            PodSink(conns[name].state).upsert(f"default/p{i}", facts)
            await writer.write_pass()
        # The budget (2/s, burst 2) let the first two through; the others wait for it.
        assert written == [("m3", 6), ("m1", 6)]
        held = await writer.write_pass()
        assert 0.0 < held <= 0.5, "a pass is due as soon as the budget has room"
        clock.now += 0.5
        await writer.write_pass()
        assert [n for n, _ in written] == ["m3", "m1", "m5"], "the oldest change first"
        clock.now += 0.5
        await writer.write_pass()
        assert [n for n, _ in written] == ["m3", "m1", "m5", "m0"], "every change is written in the end"
        written.clear()
        clock.now += 10.0
        assert await writer.write_pass() > 100.0, "nothing due: the next pass is the refresh"
        assert written == []

        clock.now += 300.0
        await writer.write_pass()
        assert len(written) == 2, "refreshes share the budget"

    asyncio.run(scenario())


def test_a_change_of_conditions_is_written_at_once_whatever_the_budget() -> None:
    async def scenario() -> None:
        identifiers, _ = _federation(3)
        written: list[str] = []

        def write(name: str, status: ComputeIdentifierStatus) -> None:
            written.append(name)

        clock = _Clock()
        events = _Events()
        writer = IdentifierStatusWriter(
            identifiers,
            _Writer(write),
            events,
            coalesce_s=0.0,
            writes_per_s=0.001,
            refresh_s=300.0,
            clock=clock,
        )
        await writer.write_pass()
        written.clear()
        events.recorded.clear()
        for item in identifiers.items.values():  # as the handler does with a spec it cannot read
            item.problem = Problem(Reason.INVALID_SPEC, "spec.uri: bad")
            item.mark_dirty()
        clock.now += 1.0
        await writer.write_pass()
        assert sorted(written) == ["m0", "m1", "m2"]
        assert {(name, reason) for name, reason, _ in events.recorded} == {(f"m{i}", "InvalidSpec") for i in range(3)}

    asyncio.run(scenario())


def test_an_identifier_deleted_and_created_again_is_written_again() -> None:
    async def scenario() -> None:
        identifiers, _ = _federation(1)
        written: list[str] = []

        def write(name: str, status: ComputeIdentifierStatus) -> None:
            written.append(name)

        writer = IdentifierStatusWriter(
            identifiers,
            _Writer(write),
            _Events(),
            coalesce_s=0.0,
            writes_per_s=1.0,
            clock=_Clock(),
        )
        await writer.write_pass()
        await identifiers.forget("m0")
        again: TrackedIdentifier = identifiers.track("m0")
        again.spec = _spec("m0")
        await writer.write_pass()
        assert written == ["m0", "m0"]

    asyncio.run(scenario())


def test_essence_ignores_times_and_splits_conditions_from_counts() -> None:
    ready = Condition(
        type="Ready",
        status=ConditionStatus.TRUE,
        reason="Ready",
        last_transition_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    base = ComputeIdentifierStatus(
        observed_generation=2,
        conditions=[ready],
        last_heartbeat_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        nodes=NodeCounts(total=1),
    )
    later = base.model_copy(
        update={
            "last_heartbeat_time": dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
            "conditions": [ready.model_copy(update={"last_transition_time": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)})],
        }
    )
    more_nodes = base.model_copy(update={"nodes": NodeCounts(total=2)})
    assert essence(base) == essence(later)
    assert essence(base).conditions == essence(more_nodes).conditions
    assert essence(base).counts != essence(more_nodes).counts
    assert essence(base).conditions != essence(base.model_copy(update={"observed_generation": 3})).conditions
    not_ready = ready.model_copy(update={"status": ConditionStatus.FALSE})
    assert essence(base).conditions != essence(base.model_copy(update={"conditions": [not_ready]})).conditions
