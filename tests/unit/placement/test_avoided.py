"""An identifier where an earlier attempt could not start is passed over while the task's lead says so."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, Snapshot, place
from computenet.placement import reasons as r

from .builders import H100, identifier, node, pool, task


def two_members() -> Snapshot:
    return pool(
        identifier("cheap").nodes(node("c1").gpus(8, H100)).price({H100: 1.0}),
        identifier("dear").nodes(node("d1").gpus(8, H100)).price({H100: 9.0}),
    )


WHY = "PodsNotStarted there 1x, avoided until 12:01:00Z"


def avoiding(demand: Demand, **avoided: str) -> Demand:
    return replace(demand, avoided=avoided)


@pytest.mark.parametrize(
    ("demand", "chosen", "rejected"),
    [
        pytest.param(task().gpus(8, H100).build(), "cheap", {}, id="nothing avoided: the best wins"),
        pytest.param(
            avoiding(task().gpus(8, H100).build(), cheap=WHY),
            "dear",
            {"cheap": r.RECENTLY_FAILED},
            id="the best was where the last attempt could not start: the next one goes elsewhere",
        ),
        pytest.param(
            avoiding(task().gpus(8, H100).build(), cheap=WHY, dear=WHY),
            None,
            {"cheap": r.RECENTLY_FAILED, "dear": r.RECENTLY_FAILED},
            id="every identifier avoided: the task waits, saying why",
        ),
        pytest.param(
            avoiding(task().gpus(8, H100).build(), gone=WHY),
            "cheap",
            {},
            id="an avoided identifier no longer in the pool changes nothing",
        ),
    ],
)
def test_avoided_identifiers_are_passed_over(demand: Demand, chosen: str | None, rejected: dict[str, str]) -> None:
    decision = place(two_members(), demand)
    assert (decision.chosen.identifier if decision.chosen else None) == chosen
    assert {name: rej.reason for name, rej in decision.rejections.items()} == rejected
    if rejected:
        assert all(rej.message == WHY for rej in decision.rejections.values())
        assert "an earlier attempt could not start there" in decision.summary
