"""The conversions of tasks/tenancy.py: what the operator holds, as the pure queueing inputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest

from computenet.api.constants import Phase
from computenet.api.task import ComputeTaskStatus, DispatchedResources, Placement
from computenet.tasks.queues import QueueBook
from computenet.tasks.record import TaskRecord
from computenet.tasks.tenancy import Tenancy, amounts_of, holding, pods_by_node
from tasks.builders import CREATED, spec

GIB = 1 << 30


def placed(
    phase: Phase | None = Phase.RUNNING,
    *,
    replicas: int = 1,
    cpu: str = "1",
    memory: str = "1Gi",
    gpus: int = 0,
    model: str | None = None,
    resources: bool = True,
    placement: bool = True,
) -> TaskRecord:
    where = Placement(
        identifier="member-1",
        accelerator_model=model,
        resources=DispatchedResources(replicas=replicas, cpu=cpu, memory=memory, accelerators=gpus)
        if resources
        else None,
    )
    s = spec()
    return TaskRecord(
        uid="t1",
        namespace="research",
        name="train",
        created=CREATED,
        generation=1,
        spec=s,
        template=s.template.model_dump(by_alias=True, exclude_none=True),
        status=ComputeTaskStatus(phase=phase, placement=where if placement else None, attempt=1),
    )


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(
            placed(cpu="2", memory="4Gi"), {"cpu": 2000, "memory": 4 * GIB}, id="cpu in millicores, memory in bytes"
        ),
        pytest.param(
            placed(replicas=3, cpu="500m", memory="1Gi"),
            {"cpu": 1500, "memory": 3 * GIB},
            id="replicas multiply the per-replica resources",
        ),
        pytest.param(
            placed(replicas=2, cpu="1", memory="1Gi", gpus=4, model="NVIDIA-H100"),
            {"cpu": 2000, "memory": 2 * GIB, "NVIDIA-H100": 8},
            id="accelerators count against their model",
        ),
        pytest.param(
            placed(gpus=4, model=None), {"cpu": 1000, "memory": GIB}, id="accelerators without a model count nothing"
        ),
        pytest.param(
            placed(model="NVIDIA-H100"), {"cpu": 1000, "memory": GIB}, id="a model without devices counts nothing"
        ),
        pytest.param(placed(resources=False), {}, id="a placement that does not say what it dispatched holds nothing"),
        pytest.param(placed(placement=False), {}, id="a task without a placement holds nothing"),
        pytest.param(placed(cpu="two"), {}, id="a dispatched cpu that does not parse holds nothing"),
        pytest.param(placed(memory="lots"), {}, id="a dispatched memory that does not parse holds nothing"),
    ],
)
def test_amounts_of(record: TaskRecord, expected: dict[str, int]) -> None:
    assert amounts_of(record) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(placed(Phase.DISPATCHING), True, id="a dispatching task holds its quota"),
        pytest.param(placed(Phase.RUNNING), True, id="a running task holds its quota"),
        pytest.param(placed(Phase.RUNNING, placement=False), False, id="a running task without a placement does not"),
        pytest.param(placed(Phase.PENDING), False, id="a pending task does not"),
        pytest.param(placed(Phase.OFFERED), False, id="an offered task does not"),
        pytest.param(placed(Phase.SUCCEEDED), False, id="a succeeded task does not"),
        pytest.param(placed(Phase.FAILED), False, id="a failed task does not"),
        pytest.param(placed(Phase.CANCELLED), False, id="a cancelled task does not"),
        pytest.param(placed(None), False, id="a task without a phase is pending and does not"),
    ],
)
def test_holding(record: TaskRecord, expected: bool) -> None:
    assert holding(record) is expected


Pod = tuple[str | None, Mapping[str, int]]


@pytest.mark.parametrize(
    ("pods", "expected"),
    [
        pytest.param([], {}, id="no pods, no nodes"),
        pytest.param(
            [("n1", {"cpu": 1000, "memory": GIB})],
            {"n1": (1000, GIB, 0, 1)},
            id="one pod: its requests and a count of one",
        ),
        pytest.param(
            [("n1", {"cpu": 1000, "memory": GIB}), ("n1", {"cpu": 500, "memory": GIB}), ("n2", {"cpu": 250})],
            {"n1": (1500, 2 * GIB, 0, 2), "n2": (250, 0, 0, 1)},
            id="pods on the same node add up",
        ),
        pytest.param(
            [(None, {"cpu": 1000}), ("", {"cpu": 1000}), ("n1", {"cpu": 1})],
            {"n1": (1, 0, 0, 1)},
            id="pods not bound to a node are left out",
        ),
        pytest.param(
            [("n1", {"nvidia.com/gpu": 4}), ("n1", {"amd.com/gpu": 2})],
            {"n1": (0, 0, 6, 2)},
            id="devices of every vendor count as devices",
        ),
        pytest.param(
            [("n1", {"nvidia.com/mig-1g.10gb": 2}), ("n1", {"huawei.com/Ascend910": 1, "hygon.com/dcumem": 4096})],
            {"n1": (0, 0, 3, 2)},
            id="MIG slices and other vendors' devices count, amounts like dcumem do not",
        ),
        pytest.param(
            [("n1", {"cpu": 100, "example.com/foo": 7, "ephemeral-storage": 10})],
            {"n1": (100, 0, 0, 1)},
            id="other extended resources are not devices",
        ),
    ],
)
def test_pods_by_node(pods: list[Pod], expected: dict[str, tuple[int, int, int, int]]) -> None:
    assert pods_by_node(pods) == expected


def _queue(name: str, budget: float | None, spend: float, period: str) -> dict[str, object]:
    return {
        "metadata": {"name": name, "uid": f"uid-{name}", "generation": 1},
        "spec": {"pool": "default", "namespaces": ["research"], **({"budget": {"amount": budget}} if budget else {})},
        "status": {"spend": {"amount": spend, "currency": "USD", "periodStart": period}},
    }


NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("queue", "over"),
    [
        pytest.param(_queue("q", 100, 99.99, "2026-11-01T00:00:00Z"), False, id="a queue below its budget admits"),
        pytest.param(_queue("q", 100, 100.0, "2026-11-01T00:00:00Z"), True, id="a queue at its budget admits nothing"),
        pytest.param(
            _queue("q", 100, 150.0, "2026-10-01T00:00:00Z"), False, id="last month's spend does not count this month"
        ),
        pytest.param(
            _queue("q", None, 1e9, "2026-11-01T00:00:00Z"), False, id="a queue without a budget is never over"
        ),
    ],
)
def test_over_budget(queue: dict[str, object], over: bool) -> None:
    book = QueueBook()
    book.upsert("q", queue)
    tenancy = Tenancy(book, lambda _identifier, _uid: None, lambda _identifier: None)
    assert ("q" in tenancy.over_budget(NOW)) is over


def test_over_budget_says_what_was_spent_of_what() -> None:
    book = QueueBook()
    book.upsert("q", _queue("q", 100, 120.0, "2026-11-01T00:00:00Z"))
    tenancy = Tenancy(book, lambda _identifier, _uid: None, lambda _identifier: None)
    assert tenancy.over_budget(NOW) == {"q": "queue q over budget: spent 120.00 of 100.00 USD this month"}
