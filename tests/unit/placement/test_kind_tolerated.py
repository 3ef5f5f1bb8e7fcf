"""A snapshot answers "are this kind's taints tolerated" once per toleration set, and the same way."""

from __future__ import annotations

import numpy as np
import pytest

from computenet.placement.nodes import Taint, Toleration, tolerated
from computenet.placement.snapshot import Vocabulary

GPU_TAINT = ("nvidia.com/gpu", "present", "NoSchedule")
SOFT_TAINT = ("spot", "true", "PreferNoSchedule")


def vocabulary() -> Vocabulary:
    return Vocabulary(
        clusters=("c",),
        archs=("amd64",),
        models=(),
        taint_sets=((), (GPU_TAINT,), (SOFT_TAINT,)),
        label_sets=(),
        kinds=((0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 0, 2), (0, 0, 0, 1)),
        regions={},
        providers={},
        currencies={},
        classes={},
    )


@pytest.mark.parametrize(
    ("tolerations", "expected"),
    [
        pytest.param((), [True, False, True, False], id="no toleration: only the kinds without a blocking taint"),
        pytest.param(
            (Toleration(key="nvidia.com/gpu", operator="Exists"),),
            [True, True, True, True],
            id="tolerating the GPU taint admits its kinds",
        ),
        pytest.param(
            (Toleration(key="nvidia.com/gpu", operator="Equal", value="absent"),),
            [True, False, True, False],
            id="another value tolerates nothing",
        ),
    ],
)
def test_kind_tolerated_matches_the_rule_per_taint_set(
    tolerations: tuple[Toleration, ...], expected: list[bool]
) -> None:
    v = vocabulary()
    found = v.kind_tolerated(tolerations)
    assert found.tolist() == expected
    direct = [tolerated([Taint(*t) for t in v.taint_sets[k[3]]], tolerations) for k in v.kinds]
    assert found.tolist() == direct


def test_kind_tolerated_is_kept_per_toleration_set_and_read_only() -> None:
    v = vocabulary()
    first = v.kind_tolerated(())
    assert v.kind_tolerated(()) is first
    assert not first.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        first[0] = np.False_
