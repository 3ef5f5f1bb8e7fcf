"""ComputeQueues as the operator reads them: which queue a task goes to, and the quota it gets."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.queueing import CPU, MEMORY, ReclaimWithinPool, WithinQueue
from computenet.tasks.queues import QueueBook, quota_of

H100 = "NVIDIA-H100-80GB-HBM3"


def queue(
    name: str, namespaces: list[str], *, default: bool = False, pool: str = "default", **spec: Any
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "generation": 1},
        "spec": {"pool": pool, "namespaces": namespaces, "default": default, **spec},
    }


def book(*queues: dict[str, Any]) -> QueueBook:
    found = QueueBook()
    found.replace({q["metadata"]["name"]: q for q in queues})
    return found


BOOK = book(
    queue("team-a", ["a"], default=True),
    queue("team-a-batch", ["a"]),
    queue("shared", ["a", "b"], default=True),
    queue("other-pool", ["c"], default=True, pool="gpus"),
    queue("broken", ["d"], nominalQuota={"cpu": "lots"}),
)


@pytest.mark.parametrize(
    ("namespace", "pool", "name", "expected"),
    [
        pytest.param("a", "default", None, ("shared", ""), id="no queue named: the first default by name"),
        pytest.param("a", "default", "team-a-batch", ("team-a-batch", ""), id="a named queue that lists the namespace"),
        pytest.param("z", "default", None, (None, ""), id="no default for the namespace: no queue, no quota"),
        pytest.param(
            "b",
            "default",
            "team-a",
            (None, "queue team-a does not admit tasks of namespace b"),
            id="a queue that does not list the namespace refuses it",
        ),
        pytest.param(
            "a",
            "default",
            "missing",
            (None, "queue missing does not exist: create the ComputeQueue or change spec.queueName"),
            id="a queue that does not exist",
        ),
        pytest.param(
            "c",
            "default",
            "other-pool",
            (None, "queue other-pool admits into pool gpus, not default"),
            id="a queue of another pool",
        ),
        pytest.param("c", "default", None, (None, ""), id="a default of another pool is not the task's default"),
    ],
)
def test_which_queue_a_task_goes_to(
    namespace: str, pool: str, name: str | None, expected: tuple[str | None, str]
) -> None:
    assert BOOK.resolve(namespace, pool, name) == expected


def test_a_queue_whose_spec_does_not_parse_admits_nothing_and_says_why() -> None:
    queue_name, why = BOOK.resolve("d", "default", "broken")
    assert queue_name is None
    assert why.startswith("queue broken is not valid: spec does not parse")
    assert "broken" not in {q.name for q in BOOK.quotas()}


def test_the_quota_in_queueing_units() -> None:
    spec = BOOK.items["team-a"].spec
    assert spec is not None
    full = book(
        queue(
            "q",
            ["a"],
            nominalQuota={"cpu": "64", "memory": "256Gi", "accelerators": {H100: 16}},
            borrowingLimit={"accelerators": {H100: 8}},
            fairSharing={"weight": 2},
            preemption={"withinQueue": "LowerPriority", "reclaimWithinPool": "Any"},
            reservation={"afterSeconds": 300},
        )
    )
    entry = full.items["q"]
    assert entry.spec is not None
    quota = quota_of("q", entry.spec)
    assert dict(quota.nominal) == {CPU: 64_000, MEMORY: 256 * 2**30, H100: 16}
    assert quota.borrowing_limit == {H100: 8}
    assert (quota.weight, quota.within_queue, quota.reclaim_within_pool) == (
        2.0,
        WithinQueue.LOWER_PRIORITY,
        ReclaimWithinPool.ANY,
    )
    assert quota.reserve_after_s == 300.0


def test_a_status_write_coming_back_changes_nothing_and_a_deleted_queue_is_gone() -> None:
    found = book(queue("q", ["a"], default=True))
    version = found.changed.version
    found.upsert("q", queue("q", ["a"], default=True))
    assert found.changed.version == version
    found.delete("q")
    assert not found.active
    assert found.resolve("a", "default", None) == (None, "")
