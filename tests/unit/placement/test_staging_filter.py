"""Staging: a task whose data the operator moves goes only to members where it can move it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, place
from computenet.placement import reasons as r

from .builders import IdentifierBuilder, identifier, node, pool, task


def member(name: str, stages_data: bool) -> IdentifierBuilder:
    b = identifier(name).nodes(node(f"{name}-n").cpu("16").memory("64Gi"))
    b.ident = replace(b.ident, stages_data=stages_data)
    return b


def needing(staged: bool) -> Demand:
    return replace(task().cpu("1").build(), staged=staged)


@pytest.mark.parametrize(
    ("stages_data", "staged", "rejected"),
    [
        pytest.param(True, True, None, id="a push member stages a task's data"),
        pytest.param(False, True, r.STAGING_NOT_SERVED, id="a pull member does not"),
        pytest.param(False, False, None, id="a task without inputs or outputs goes to a pull member"),
        pytest.param(True, False, None, id="and to a push member"),
    ],
)
def test_staging(stages_data: bool, staged: bool, rejected: str | None) -> None:
    decision = place(pool(member("m", stages_data)), needing(staged))
    got = decision.rejections["m"].reason if "m" in decision.rejections else None
    assert got == rejected
    assert (decision.chosen is not None) == (rejected is None)


def test_the_rejection_says_the_pull_member_runs_no_movers() -> None:
    decision = place(pool(member("pulled", False), member("pushed", True)), needing(True))
    assert decision.chosen is not None
    assert decision.chosen.identifier == "pushed"
    rejection = decision.rejections["pulled"]
    assert rejection.phrase == "stages no data"
    assert "runs no data movers" in rejection.message
    assert decision.summary.endswith("1/2 identifiers fit; rejected: 1 stages no data")
