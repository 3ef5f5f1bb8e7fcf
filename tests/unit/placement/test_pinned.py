"""A task pinned to one identifier (an accepted offer) runs there when it fits, else waits saying why."""

from __future__ import annotations

from dataclasses import replace

import pytest

from computenet.placement import Demand, Snapshot, place
from computenet.placement import reasons as r

from .builders import H100, identifier, node, pool, task


def pinned(demand: Demand, name: str | None) -> Demand:
    return replace(demand, pinned=name)


def two_members() -> Snapshot:
    return pool(
        identifier("cheap").nodes(node("c1").gpus(8, H100)).price({H100: 1.0}),
        identifier("dear").nodes(node("d1").gpus(8, H100)).price({H100: 9.0}),
    )


CASES = [
    pytest.param(
        two_members(),
        pinned(task().gpus(8, H100).build(), "dear"),
        "dear",
        {"cheap": r.NOT_PINNED},
        id="pinned to the dearer identifier: it runs there, the cheaper one is not the accepted one",
    ),
    pytest.param(
        two_members(),
        pinned(task().gpus(8, H100).build(), None),
        "cheap",
        {},
        id="no pin: the best identifier wins as before",
    ),
    pytest.param(
        pool(
            identifier("cheap").nodes(node("c1").gpus(8, H100)).price({H100: 1.0}),
            identifier("full").nodes(node("f1").gpus(8, H100).used(gpus=4)).price({H100: 1.0}),
        ),
        pinned(task().gpus(8, H100).build(), "full"),
        None,
        {"cheap": r.NOT_PINNED, "full": r.INSUFFICIENT_RESOURCE},
        id="pinned identifier no longer fits: the task waits with that identifier's own reason",
    ),
    pytest.param(
        two_members(),
        pinned(task().gpus(8, H100).build(), "gone"),
        None,
        {"cheap": r.NOT_PINNED, "dear": r.NOT_PINNED},
        id="pinned identifier not in the snapshot: nothing fits, every identifier says it is not the one",
    ),
]


@pytest.mark.parametrize(("snapshot", "demand", "chosen", "rejected"), CASES)
def test_pinned(snapshot: Snapshot, demand: Demand, chosen: str | None, rejected: dict[str, str]) -> None:
    decision = place(snapshot, demand)
    assert (decision.chosen.identifier if decision.chosen else None) == chosen
    assert {name: rej.reason for name, rej in decision.rejections.items()} == rejected


def test_the_waiting_line_names_the_pinned_identifier() -> None:
    decision = place(two_members(), pinned(task().gpus(8, H100).build(), "gone"))
    assert decision.summary == "0/2 identifiers fit: 2 not the accepted identifier gone"
