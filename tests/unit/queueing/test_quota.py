"""Quota and borrowing: what a queue may take, and the line that says why not (Kueue's arithmetic)."""

from __future__ import annotations

import pytest

from computenet.queueing import CPU, Ledger, QueueQuota

H100 = "NVIDIA-H100-80GB-HBM3"
A100 = "NVIDIA-A100-SXM4-80GB"


def ledger(*queues: QueueQuota, **usage: dict[str, int]) -> Ledger:
    return Ledger(queues, {name.replace("_", "-"): amounts for name, amounts in usage.items()})


A = QueueQuota("team-a", "default", {H100: 16})
B = QueueQuota("team-b", "default", {H100: 16})


@pytest.mark.parametrize(
    ("book", "request_", "blocked"),
    [
        pytest.param(ledger(A, B), {H100: 16}, None, id="a queue takes its whole nominal quota"),
        pytest.param(
            ledger(A, B, team_a={H100: 16}), {H100: 8}, None, id="it borrows what the other queue leaves idle"
        ),
        pytest.param(
            ledger(A, B, team_a={H100: 16}, team_b={H100: 16}),
            {H100: 1},
            "queue team-a at quota for NVIDIA-H100-80GB-HBM3: 16/16 GPUs",
            id="nothing idle in the pool: the quota line names the model and the counts",
        ),
        pytest.param(
            ledger(QueueQuota("team-a", "default", {H100: 16}, {H100: 4}), B, team_a={H100: 16}),
            {H100: 8},
            "queue team-a short of quota for NVIDIA-H100-80GB-HBM3: 16/16 GPUs, 8 asked, borrowing up to 20",
            id="the borrowing limit caps what it borrows though more is idle",
        ),
        pytest.param(
            ledger(A, B, team_a={H100: 8}, team_b={H100: 24}),
            {H100: 4},
            "queue team-a below quota for NVIDIA-H100-80GB-HBM3 (8/16 GPUs) but the pool lent the rest to other queues",
            id="below its quota while another queue borrows the rest: blocked until reclaimed",
        ),
        pytest.param(
            ledger(A, B), {A100: 64, CPU: 10**6}, None, id="resources the queue does not name are not limited"
        ),
        pytest.param(
            ledger(QueueQuota("team-a", "default", {H100: 0}), B),
            {H100: 17},
            "queue team-a short of quota for NVIDIA-H100-80GB-HBM3: 0/0 GPUs, 17 asked, borrowing up to 16",
            id="a quota of zero borrows idle quota of the pool, no more",
        ),
        pytest.param(
            ledger(QueueQuota("team-a", "default", {H100: 0}, {H100: 0}), B),
            {H100: 1},
            "queue team-a at quota for NVIDIA-H100-80GB-HBM3: 0/0 GPUs",
            id="a quota of zero with borrowing limit zero takes none",
        ),
        pytest.param(
            ledger(A, QueueQuota("team-c", "other", {H100: 64})),
            {H100: 17},
            "queue team-a short of quota for NVIDIA-H100-80GB-HBM3: 0/16 GPUs, 17 asked",
            id="queues of another pool lend nothing",
        ),
        pytest.param(
            ledger(QueueQuota("team-a", "default", {CPU: 8000}), B),
            {CPU: 8500},
            "queue team-a short of quota for cpu: 0/8 cores, 8.5 asked",
            id="cpu is counted in cores",
        ),
    ],
)
def test_admission_within_quota_and_borrowing(book: Ledger, request_: dict[str, int], blocked: str | None) -> None:
    found = book.blocked("team-a", request_)
    assert (found.message if found else None) == blocked


def test_borrowed_is_usage_above_nominal_per_resource() -> None:
    book = ledger(A, B, team_a={H100: 20, CPU: 5})
    assert book.borrowed("team-a") == {H100: 4}
    assert book.borrowed("team-b") == {}


def test_releasing_usage_gives_the_quota_back() -> None:
    book = ledger(A, B, team_a={H100: 16}, team_b={H100: 16})
    assert book.blocked("team-b", {H100: 1}) is not None
    book.charge("team-a", {H100: 4}, -1)
    assert book.blocked("team-b", {H100: 4}) is None
    assert book.blocked("team-b", {H100: 5}) is not None
