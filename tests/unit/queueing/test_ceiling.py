"""The most a queue can ever hold: nominal plus what it may borrow, bounded by its limit and its pool."""

from __future__ import annotations

import pytest

from computenet.placement.resources import GIB
from computenet.queueing import CPU, MEMORY, Ceilings, QueueQuota

H100 = "NVIDIA-H100-80GB-HBM3"
A100 = "NVIDIA-A100-SXM4-80GB"


def team_a(nominal: dict[str, int], limit: dict[str, int] | None = None) -> QueueQuota:
    return QueueQuota("team-a", "default", nominal, limit)


B = QueueQuota("team-b", "default", {H100: 16})
LIMITED = team_a({H100: 4}, {H100: 4})


@pytest.mark.parametrize(
    ("queues", "request_", "never"),
    [
        pytest.param([LIMITED, B], {H100: 8}, None, id="exactly nominal plus borrowing limit fits"),
        pytest.param(
            [LIMITED, B],
            {H100: 16},
            "needs 16 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 "
            "(nominal 4 + borrowing limit 4)",
            id="above nominal plus borrowing limit never fits",
        ),
        pytest.param(
            [LIMITED, B],
            {H100: 9},
            "needs 9 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 "
            "(nominal 4 + borrowing limit 4)",
            id="one device above the ceiling is enough to never fit",
        ),
        pytest.param(
            [team_a({H100: 4}), QueueQuota("team-b", "default", {H100: 12})],
            {H100: 16},
            None,
            id="no borrowing limit: the whole quota of the pool fits",
        ),
        pytest.param(
            [team_a({H100: 4}), QueueQuota("team-b", "default", {H100: 12})],
            {H100: 17},
            "needs 17 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 16 "
            "(nominal 4 + at most 12 from the other queues of pool default)",
            id="no borrowing limit: bounded by the nominal quota of the other queues of the pool",
        ),
        pytest.param(
            [team_a({H100: 4}, {H100: 100}), QueueQuota("team-b", "default", {H100: 4})],
            {H100: 9},
            "needs 9 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 "
            "(nominal 4 + at most 4 from the other queues of pool default)",
            id="a borrowing limit above what the pool could lend: the pool bounds it",
        ),
        pytest.param(
            [team_a({H100: 4}, {H100: 0}), B],
            {H100: 5},
            "needs 5 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 4 "
            "(nominal 4, borrowing limit 0)",
            id="a borrowing limit of zero: the nominal quota is the ceiling",
        ),
        pytest.param(
            [team_a({H100: 4}), QueueQuota("team-c", "other", {H100: 64})],
            {H100: 5},
            "needs 5 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 4 "
            "(nominal 4, no other queue of pool default has quota for it to lend)",
            id="queues of another pool lend nothing",
        ),
        pytest.param(
            [team_a({H100: 4}), QueueQuota("team-b", "default", {A100: 64, CPU: 10**6})],
            {H100: 5},
            "needs 5 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 4 "
            "(nominal 4, no other queue of pool default has quota for it to lend)",
            id="other queues lend none of a resource they do not name",
        ),
        pytest.param(
            [team_a({H100: 0}), B],
            {H100: 16},
            None,
            id="a quota of zero may still borrow the whole of the other queues' quota",
        ),
        pytest.param(
            [team_a({H100: 0})],
            {H100: 1},
            "needs 1 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 0 "
            "(nominal 0, no other queue of pool default has quota for it to lend)",
            id="a quota of zero with nothing to borrow admits no device",
        ),
        pytest.param(
            [LIMITED, B],
            {A100: 1000, CPU: 10**7, MEMORY: 2**50},
            None,
            id="resources absent from the quota never bound",
        ),
        pytest.param([LIMITED, B], {H100: 0, CPU: 0}, None, id="a zero request never exceeds"),
        pytest.param(
            [team_a({CPU: 8000}, {CPU: 0}), B],
            {CPU: 8500},
            "needs 8.5 cores but queue team-a can never hold more than 8 cores (nominal 8, borrowing limit 0)",
            id="cpu is counted in cores",
        ),
        pytest.param(
            [team_a({MEMORY: 64 * GIB}), B],
            {MEMORY: 96 * GIB},
            "needs 96Gi of memory but queue team-a can never hold more than 64Gi "
            "(nominal 64Gi, no other queue of pool default has quota for it to lend)",
            id="memory is counted in Gi",
        ),
        pytest.param(
            [team_a({H100: 4, CPU: 8000}, {H100: 4, CPU: 0}), B],
            {H100: 16, CPU: 16000},
            "needs 16 NVIDIA-H100-80GB-HBM3 GPUs but queue team-a can never hold more than 8 "
            "(nominal 4 + borrowing limit 4); "
            "needs 16 cores but queue team-a can never hold more than 8 cores (nominal 8, borrowing limit 0)",
            id="every resource above its ceiling is named, in name order",
        ),
        pytest.param(
            [team_a({H100: 4, CPU: 8000}, {H100: 4, CPU: 0}), B],
            {H100: 8, CPU: 16000},
            "needs 16 cores but queue team-a can never hold more than 8 cores (nominal 8, borrowing limit 0)",
            id="one resource above its ceiling is enough though the others fit",
        ),
    ],
)
def test_a_request_above_what_its_queue_can_ever_hold_never_fits(
    queues: list[QueueQuota], request_: dict[str, int], never: str | None
) -> None:
    found = Ceilings(queues).never_fits("team-a", request_)
    assert (found.message if found else None) == never


def test_the_ceiling_is_kueues_maximum_capacity_whatever_the_usage() -> None:
    ceilings = Ceilings([LIMITED, B, QueueQuota("team-c", "default", {H100: 2})])
    top = ceilings.of("team-a", H100)
    assert top is not None
    assert (top.nominal, top.lendable, top.borrowing_limit, top.most) == (4, 18, 4, 8)
    b = ceilings.of("team-b", H100)
    assert b is not None
    assert (b.lendable, b.most) == (6, 22)  # no limit: its own 16 and all the others' 6
    assert ceilings.of("team-a", A100) is None
