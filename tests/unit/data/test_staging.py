"""Planning the copies and fetches that stage a task's inputs (computenet.data.staging)."""

from __future__ import annotations

import pytest

from computenet.data.staging import (
    Copy,
    Fetch,
    NewReplica,
    PlannedInput,
    Replica,
    StagingError,
    StagingPlan,
    StoreRef,
    plan_staging,
)

WEST = StoreRef("http://west:8333", "store-cn-west")
EAST = StoreRef("http://east:8333", "store-cn-east")
NORTH = StoreRef("http://north:8333", "store-cn-north")
USER = StoreRef("https://s3.example.com", "user-keys")
STORES = {"cn-east": EAST, "cn-north": NORTH, "cn-west": WEST}
LATENCY = {frozenset({"cn-west", "cn-east"}): 45.0, frozenset({"cn-west", "cn-north"}): 35.0}
SHA = "sha256:" + "1" * 64


def latency(a: str, b: str) -> float:
    return 0.0 if a == b else LATENCY.get(frozenset({a, b}), 80.0)


def plan(*inputs: PlannedInput) -> StagingPlan:
    return plan_staging(inputs, "cn-west", WEST, "cn-west-data", STORES, latency, "uid-1")


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(
            PlannedInput(0, "/data/x", uri="s3://cn-west-data/x.bin", store=WEST),
            StagingPlan((), (Fetch(0, "s3://cn-west-data/x.bin", WEST, "/data/x", None),), ()),
            id="an input already in the region's store is fetched, not copied",
        ),
        pytest.param(
            PlannedInput(1, "/data/x", uri="s3://train/a/x.bin", store=USER, checksum=SHA),
            StagingPlan(
                (Copy("s3://train/a/x.bin", USER, "s3://cn-west-data/tasks/uid-1/inputs/1/x.bin", WEST, SHA),),
                (Fetch(1, "s3://cn-west-data/tasks/uid-1/inputs/1/x.bin", WEST, "/data/x", SHA),),
                (),
            ),
            id="a user's object elsewhere is copied into the region's store under the task, then fetched",
        ),
        pytest.param(
            PlannedInput(0, "/data/shards", uri="s3://train/shards/", store=USER),
            StagingPlan(
                (Copy("s3://train/shards/", USER, "s3://cn-west-data/tasks/uid-1/inputs/0/", WEST, None),),
                (Fetch(0, "s3://cn-west-data/tasks/uid-1/inputs/0/", WEST, "/data/shards", None),),
                (),
            ),
            id="a prefix is copied as a prefix",
        ),
        pytest.param(
            PlannedInput(
                0, "/d", dataset="tok", replicas=(Replica("cn-west", "s3://cn-west-data/tok.bin", None, SHA),)
            ),
            StagingPlan((), (Fetch(0, "s3://cn-west-data/tok.bin", WEST, "/d", SHA),), ()),
            id="a dataset with a replica in the region moves nothing between stores",
        ),
        pytest.param(
            PlannedInput(
                0,
                "/d",
                dataset="tok",
                replicas=(
                    Replica("cn-east", "s3://cn-east-data/tok.bin", None, SHA),
                    Replica("cn-north", "s3://cn-north-data/tok.bin", None, SHA),
                ),
            ),
            StagingPlan(
                (Copy("s3://cn-north-data/tok.bin", NORTH, "s3://cn-west-data/datasets/tok/tok.bin", WEST, SHA),),
                (Fetch(0, "s3://cn-west-data/datasets/tok/tok.bin", WEST, "/d", SHA),),
                (NewReplica("tok", "cn-west", "s3://cn-west-data/datasets/tok/tok.bin", SHA),),
            ),
            id="otherwise the nearest replica is copied and the region gains a replica",
        ),
    ],
)
def test_plan_staging(item: PlannedInput, expected: StagingPlan) -> None:
    assert plan(item) == expected


@pytest.mark.parametrize(
    ("item", "message"),
    [
        pytest.param(
            PlannedInput(2, "/d", uri="s3://train/x"), "input 2: no credentials name the store", id="no store"
        ),
        pytest.param(
            PlannedInput(0, "/d", dataset="tok"), "the dataset has no replica", id="a dataset without replicas"
        ),
        pytest.param(
            PlannedInput(0, "/d", dataset="tok", replicas=(Replica("cn-south", "s3://south-data/t"),)),
            "no store is known for its replica in cn-south",
            id="a replica in a region without a known store",
        ),
    ],
)
def test_plan_staging_refuses(item: PlannedInput, message: str) -> None:
    with pytest.raises(StagingError, match=message):
        plan(item)
