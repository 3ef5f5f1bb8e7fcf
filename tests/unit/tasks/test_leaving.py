"""What becomes of an attempt whose identifier no longer leads to the member that runs it (pure)."""

from __future__ import annotations

import pytest

from computenet.tasks.lifecycle.leaving import Leaving, Step, keep_connection, step_for


@pytest.mark.parametrize(
    ("why", "kept_answers", "in_grace", "step"),
    [
        pytest.param(Leaving.DELETED, True, True, Step.DRAIN, id="deleted, old member answers: drained"),
        pytest.param(Leaving.MOVED, True, True, Step.DRAIN, id="moved to another member, old one answers: drained"),
        pytest.param(
            Leaving.DELETED, True, False, Step.LOST, id="a drain not done within the grace period: lost, fenced later"
        ),
        pytest.param(Leaving.MOVED, True, False, Step.LOST, id="a move not drained within the grace period: lost"),
        pytest.param(Leaving.DELETED, False, True, Step.LOST, id="deleted, old member unreachable: lost"),
        pytest.param(Leaving.MOVED, False, True, Step.LOST, id="moved, old member unreachable: lost"),
        pytest.param(
            Leaving.UNUSABLE, True, True, Step.LOST, id="Secret gone, within grace: waits (the Secret may come back)"
        ),
        pytest.param(
            Leaving.UNUSABLE,
            True,
            False,
            Step.REMOVE_THEN_LOST,
            id="Secret gone, grace over, old member answers: its workload goes before the attempt ends",
        ),
        pytest.param(Leaving.UNUSABLE, False, False, Step.LOST, id="Secret gone, no kept connection: lost"),
        pytest.param(Leaving.UNREACHABLE, True, True, Step.LOST, id="unreachable member: lost"),
        pytest.param(Leaving.UNREACHABLE, True, False, Step.LOST, id="unreachable member after grace: lost"),
    ],
)
def test_the_step_for_an_attempt_whose_identifier_left_its_member(
    why: Leaving, kept_answers: bool, in_grace: bool, step: Step
) -> None:
    assert step_for(why, kept_answers, in_grace) == step


@pytest.mark.parametrize(
    ("in_use", "answers", "synced", "must_go", "keep"),
    [
        pytest.param(True, True, True, 0, True, id="an attempt still runs through it: kept"),
        pytest.param(True, False, False, 0, True, id="an attempt still on it, member unreachable: kept"),
        pytest.param(False, True, True, 1, True, id="a stale workload not removed yet: kept for fencing"),
        pytest.param(
            False, False, True, 2, True, id="stale workloads in a member that stopped answering: kept until it answers"
        ),
        pytest.param(False, True, False, 0, True, id="its watch has not listed yet: kept until it has"),
        pytest.param(False, True, True, 0, False, id="nothing runs or remains: goes"),
        pytest.param(False, False, False, 0, False, id="unreachable, nothing seen to remove: goes"),
    ],
)
def test_whether_a_kept_connection_is_still_needed(
    in_use: bool, answers: bool, synced: bool, must_go: int, keep: bool
) -> None:
    assert keep_connection(in_use, answers, synced, must_go) is keep
