"""A dataset's replicas: read, recorded when staged, touched when read, evicted when unread (tasks.staging.replicas)."""

from __future__ import annotations

import datetime as dt

import pytest

from computenet.api.data import DatasetReplica, ReplicaStatus
from computenet.data.staging import NewReplica, Replica
from computenet.tasks.staging.replicas import KEEP, evict, readable, record, touch

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
EAST = DatasetReplica(region="cn-east", uri="s3://cn-east-data/tok.bin")
STAGED_WEST = ReplicaStatus(
    region="cn-west",
    state="Ready",
    uri="s3://cn-west-data/datasets/tok/tok.bin",
    endpoint="http://west:8333",
    staged_time=NOW - dt.timedelta(days=1),
    last_used_time=NOW - dt.timedelta(hours=1),
)


@pytest.mark.parametrize(
    ("status", "regions"),
    [
        pytest.param(None, ["cn-east"], id="the declared replicas only, without status"),
        pytest.param([STAGED_WEST], ["cn-east", "cn-west"], id="a replica the operator staged is read too"),
        pytest.param(
            [STAGED_WEST.model_copy(update={"state": "Staging"})], ["cn-east"], id="one still staging is not read"
        ),
        pytest.param(
            [STAGED_WEST.model_copy(update={"region": "cn-east"})],
            ["cn-east"],
            id="a declared replica wins over a status entry of its region",
        ),
        pytest.param(
            [ReplicaStatus(region="cn-west", state="Ready")],
            ["cn-east"],
            id="an entry without a uri says nothing to read",
        ),
    ],
)
def test_readable(status: list[ReplicaStatus] | None, regions: list[str]) -> None:
    assert [r.region for r in readable([EAST], status)] == regions


def test_a_staged_replica_is_read_at_its_own_endpoint() -> None:
    assert readable([], [STAGED_WEST]) == (Replica("cn-west", STAGED_WEST.uri or "", "http://west:8333", None),)


def test_recording_a_staged_replica_makes_it_ready_staged_and_used_now() -> None:
    new = NewReplica("tok", "cn-north", "s3://cn-north-data/datasets/tok/tok.bin", "sha256:" + "a" * 64)
    out = record([STAGED_WEST], new, "http://north:8333", 1234, NOW)
    assert [r.region for r in out] == ["cn-north", "cn-west"]
    north = out[0]
    assert (north.state, north.uri, north.bytes, north.staged_time, north.last_used_time, north.checksum) == (
        "Ready",
        new.uri,
        1234,
        NOW,
        NOW,
        new.checksum,
    )


def test_touching_updates_the_last_use_and_gives_a_declared_replica_an_entry() -> None:
    out = touch([STAGED_WEST], "cn-west", NOW)
    assert out[0].last_used_time == NOW
    assert out[0].staged_time == STAGED_WEST.staged_time
    declared = touch(None, "cn-east", NOW)
    assert declared == [ReplicaStatus(region="cn-east", state="Ready", last_used_time=NOW)]


@pytest.mark.parametrize(
    ("replica", "evicted"),
    [
        pytest.param(STAGED_WEST, False, id="a staged replica read within the week is kept"),
        pytest.param(
            STAGED_WEST.model_copy(update={"last_used_time": NOW - KEEP - dt.timedelta(seconds=1)}),
            True,
            id="a staged replica unread for longer than a week is evicted",
        ),
        pytest.param(
            STAGED_WEST.model_copy(update={"last_used_time": None, "staged_time": NOW - dt.timedelta(days=8)}),
            True,
            id="never read since staged more than a week ago is evicted",
        ),
        pytest.param(
            ReplicaStatus(region="cn-east", state="Ready", last_used_time=NOW - dt.timedelta(days=300)),
            False,
            id="a declared replica is never evicted",
        ),
    ],
)
def test_eviction(replica: ReplicaStatus, evicted: bool) -> None:
    kept, gone = evict([replica], NOW)
    assert (gone == [replica.region]) is evicted
    assert (kept == []) is evicted
