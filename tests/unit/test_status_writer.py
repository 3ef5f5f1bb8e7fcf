"""The status writer survives dropped connections and keeps only the latest status per object."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import aiohttp
import pytest
from kubernetes.aio.client.exceptions import ApiException

from computenet.api.constants import IDENTIFIER, TASK, KindInfo
from computenet.api.identifier import ComputeIdentifierStatus
from computenet.api.task import ComputeTaskStatus
from computenet.statuses.writer import StatusWriter, status_body


def body(phase: str) -> dict[str, Any]:
    return status_body(ComputeTaskStatus(phase=phase))  # type: ignore[arg-type]


class FlakyHub:
    """Fails the first `failures` writes the way a hub under load does, then records writes."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.written: list[tuple[str, str, dict[str, Any]]] = []

    async def replace_status(
        self, kind: KindInfo, name: str, status: dict[str, Any], namespace: str | None = None
    ) -> None:
        if self.failures:
            self.failures -= 1
            raise aiohttp.ServerDisconnectedError()
        self.written.append((namespace or "", name, dict(status)))


@pytest.mark.timeout(30)
async def test_a_dropped_connection_delays_a_status_but_never_loses_it() -> None:
    hub = FlakyHub(failures=3)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Succeeded"))
        await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 20)
        assert hub.written == [("ns", "t", body("Succeeded"))]
        # The single worker survived the failures and still writes.
        writer.write(TASK, "ns", "u", ComputeTaskStatus(phase="Running"))
        await asyncio.wait_for(writer.flush(TASK, "ns", "u"), 20)
        assert hub.written[-1] == ("ns", "u", body("Running"))
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_only_the_latest_status_of_a_burst_is_written() -> None:
    hub = FlakyHub(failures=0)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        for phase in ("Pending", "Dispatching", "Running"):
            writer.write(TASK, "ns", "t", ComputeTaskStatus(phase=phase))
        await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 20)
        assert [s["phase"] for _, _, s in hub.written] == ["Running"]
    finally:
        await writer.close()


class SlowHub:
    """Holds each write until released, counting how many writes of one object overlap."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.release = asyncio.Event()
        self.first_started = asyncio.Event()
        self.in_flight = 0
        self.most_in_flight = 0

    async def replace_status(
        self, kind: KindInfo, name: str, status: dict[str, Any], namespace: str | None = None
    ) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.first_started.set()
        await self.release.wait()
        self.in_flight -= 1
        self.written.append(status.get("phase", kind.kind))


@pytest.mark.timeout(30)
async def test_writes_of_one_object_never_overlap_and_land_in_order() -> None:
    hub = SlowHub()
    writer = StatusWriter(hub, workers=4)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Dispatching"))
        await asyncio.wait_for(hub.first_started.wait(), 20)
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Running"))
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Succeeded"))
        flushed = asyncio.create_task(writer.flush(TASK, "ns", "t"))
        hub.release.set()
        await asyncio.wait_for(flushed, 20)
        assert hub.most_in_flight == 1
        assert hub.written == ["Dispatching", "Succeeded"]
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_a_held_write_takes_the_next_change_along() -> None:
    hub = FlakyHub(failures=0)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Pending"), delay=30)
        await asyncio.sleep(0)  # the worker is idle: a held write is not picked up
        assert hub.written == []
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Dispatching"))  # released at once, newest status only
        await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 20)
        assert [s["phase"] for _, _, s in hub.written] == ["Dispatching"]
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_a_held_write_alone_still_lands() -> None:
    hub = FlakyHub(failures=0)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Pending"), delay=0.05)
        await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 20)
        assert hub.written == [("ns", "t", body("Pending"))]
    finally:
        await writer.close()


class GoneHub:
    """Answers every write as the API server does for an object deleted meanwhile."""

    async def replace_status(
        self, kind: KindInfo, name: str, status: dict[str, Any], namespace: str | None = None
    ) -> None:
        raise ApiException(status=404, reason="Not Found")


@pytest.mark.timeout(30)
async def test_flush_tells_whether_the_status_landed() -> None:
    writer = StatusWriter(GoneHub(), workers=1)  # type: ignore[arg-type]
    landed = StatusWriter(FlakyHub(failures=0), workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Running"))
        assert await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 20) is False
        landed.write(IDENTIFIER, None, "m1", ComputeIdentifierStatus(observed_generation=1))
        assert await asyncio.wait_for(landed.flush(IDENTIFIER, None, "m1"), 20) is True
        assert landed.writes == 1
        assert await landed.flush(IDENTIFIER, None, "nothing-pending") is True
    finally:
        await writer.close()
        await landed.close()


@pytest.mark.timeout(30)
async def test_objects_of_different_kinds_with_one_name_are_kept_apart() -> None:
    hub = SlowHub()
    hub.release.set()
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "", "x", ComputeTaskStatus(phase="Running"))
        writer.write(IDENTIFIER, None, "x", ComputeIdentifierStatus(observed_generation=1))
        await asyncio.wait_for(writer.flush(TASK, "", "x"), 20)
        await asyncio.wait_for(writer.flush(IDENTIFIER, None, "x"), 20)
        assert writer.writes == 2
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_a_status_someone_waits_for_goes_before_the_others() -> None:
    """A burst: the dispatch intent a task waits for is written before queued Running statuses."""
    hub = FlakyHub(failures=0)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        for name in ("a", "b", "c"):
            writer.write(TASK, "ns", name, ComputeTaskStatus(phase="Running"))
        writer.write(TASK, "ns", "intent", ComputeTaskStatus(phase="Dispatching"))
        waited = writer.flush(TASK, "ns", "intent")
        await asyncio.wait_for(waited, 20)
        await asyncio.wait_for(writer.flush(TASK, "ns", "c"), 20)
        order = [name for _, name, _ in hub.written]
        assert order == ["intent", "a", "b", "c"]  # each written once, the awaited one first
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_waiting_for_a_held_status_releases_it_at_once() -> None:
    hub = FlakyHub(failures=0)
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Pending"), delay=30)
        assert await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 5) is True  # not 30 s later
        assert hub.written == [("ns", "t", body("Pending"))]
    finally:
        await writer.close()


class YieldingHub:
    """Records writes; each write lets other coroutines run first, as a real request does."""

    def __init__(self) -> None:
        self.written: dict[str, list[str]] = {}

    async def replace_status(
        self, kind: KindInfo, name: str, status: dict[str, Any], namespace: str | None = None
    ) -> None:
        await asyncio.sleep(0)
        self.written.setdefault(name, []).append(status["phase"])


@pytest.mark.timeout(60)
@pytest.mark.parametrize("seed", range(40))
async def test_the_last_status_given_is_always_written_whatever_the_order_of_writes_holds_and_waits(
    seed: int,
) -> None:
    """Writes with and without a hold, waits (`flush`) and other objects' writes, interleaved at random:
    every object's last status lands, and nothing waits for ever (a held status released while an
    older entry of it was still queued once went unwritten)."""
    rng = random.Random(seed)
    hub = YieldingHub()
    writer = StatusWriter(hub, workers=rng.choice((1, 2, 4)))  # type: ignore[arg-type]
    phases = ("Pending", "Offered", "Dispatching", "Running", "Succeeded", "Failed")
    last: dict[str, str] = {}
    waiting: list[asyncio.Future[bool]] = []
    try:
        for _ in range(60):
            name = rng.choice("abc")
            action = rng.random()
            if action < 0.6:
                phase = rng.choice(phases)
                delay = rng.choice((0.0, 0.0, 0.02, 30.0))
                writer.write(TASK, "ns", name, ComputeTaskStatus(phase=phase), delay=delay)  # type: ignore[arg-type]
                last[name] = phase
            elif action < 0.8:
                waiting.append(asyncio.ensure_future(writer.flush(TASK, "ns", name)))
                if rng.random() < 0.5:
                    assert await asyncio.wait_for(waiting[-1], 10)
            for _ in range(rng.randrange(3)):
                await asyncio.sleep(0)
        for name in last:
            assert await asyncio.wait_for(writer.flush(TASK, "ns", name), 10)
        assert all(await asyncio.wait_for(asyncio.gather(*waiting), 10))  # no wait is left hanging
        assert {name: hub.written[name][-1] for name in last} == last
    finally:
        await writer.close()


class GateHub:
    """Records writes; the writes of the objects in `gated` wait until `gate` opens."""

    def __init__(self, *gated: str) -> None:
        self.gated = set(gated)
        self.gate = asyncio.Event()
        self.started: dict[str, asyncio.Event] = {name: asyncio.Event() for name in gated}
        self.written: list[tuple[str, str]] = []

    async def replace_status(
        self, kind: KindInfo, name: str, status: dict[str, Any], namespace: str | None = None
    ) -> None:
        if name in self.gated:
            self.started[name].set()
            await self.gate.wait()
        self.written.append((name, status["phase"]))


@pytest.mark.timeout(30)
async def test_a_status_held_after_a_wait_is_written_when_released_while_an_older_entry_was_queued() -> None:
    """The case that lost a Running status in a burst: an entry `flush` left behind met a held status.
    It must neither take the held status along early (an extra write) nor keep the next one from
    being written: the hold ends with the next status, written once."""
    hub = GateHub("y")
    writer = StatusWriter(hub, workers=1)  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "k", ComputeTaskStatus(phase="Dispatching"))  # an entry in the normal lane
        writer.write(TASK, "ns", "y", ComputeTaskStatus(phase="Running"))  # another behind it
        k_written = asyncio.ensure_future(writer.flush(TASK, "ns", "k"))  # k goes first, urgently ...
        y_written = asyncio.ensure_future(writer.flush(TASK, "ns", "y"))  # ... then y, which the hub holds up
        assert await asyncio.wait_for(k_written, 5)
        await asyncio.wait_for(hub.started["y"].wait(), 5)  # k's normal-lane entry is still queued
        writer.write(TASK, "ns", "k", ComputeTaskStatus(phase="Offered"), delay=30)  # held
        hub.gate.set()  # the worker goes on: k's old entry is left behind, the hold stands
        assert await asyncio.wait_for(y_written, 5)
        writer.write(TASK, "ns", "k", ComputeTaskStatus(phase="Running"))  # releases the hold, if any
        assert await asyncio.wait_for(writer.flush(TASK, "ns", "k"), 5)
        assert [phase for name, phase in hub.written if name == "k"] == ["Dispatching", "Running"]
    finally:
        await writer.close()


@pytest.mark.timeout(30)
async def test_each_written_status_tells_how_long_it_waited_from_due_retries_included() -> None:
    waits: list[tuple[str, float]] = []
    hub = FlakyHub(failures=1)
    writer = StatusWriter(hub, workers=1, waited=lambda kind, s: waits.append((kind.kind, s)))  # type: ignore[arg-type]
    try:
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Dispatching"))
        writer.write(TASK, "ns", "t", ComputeTaskStatus(phase="Running"))  # replaces it: one write, one wait
        assert await asyncio.wait_for(writer.flush(TASK, "ns", "t"), 20)
        assert [kind for kind, _ in waits] == ["ComputeTask"]
        assert waits[0][1] >= 1.0  # the dropped first try and the second's delay are part of the wait
        hub.failures = 0
        writer.write(IDENTIFIER, "", "member-1", ComputeIdentifierStatus())
        assert await asyncio.wait_for(writer.flush(IDENTIFIER, "", "member-1"), 20)
        assert [kind for kind, _ in waits] == ["ComputeTask", "ComputeIdentifier"]
        assert 0 <= waits[1][1] < 1.0
    finally:
        await writer.close()
