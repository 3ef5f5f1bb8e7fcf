"""The ClusterProfile write rate: at most one update per interval per profile, nothing without a change."""

from __future__ import annotations

import itertools

import pytest

from computenet.inventory.throttle import KEP_MIN_UPDATE_INTERVAL_S, next_write_at


@pytest.mark.parametrize(
    ("changed", "last", "now", "expected"),
    [
        pytest.param(False, None, 100.0, None, id="nothing changed and never written: nothing to write"),
        pytest.param(False, 10.0, 100.0, None, id="nothing changed since the last write: nothing to write"),
        pytest.param(True, None, 100.0, 100.0, id="never written: written at once"),
        pytest.param(True, 10.0, 100.0, 100.0, id="last write long ago: written at once"),
        pytest.param(True, 70.0, 100.0, 100.0, id="last write exactly one interval ago: written at once"),
        pytest.param(True, 80.0, 100.0, 110.0, id="last write 20 s ago: waits the 10 s left of the interval"),
        pytest.param(True, 100.0, 100.0, 130.0, id="written this very moment: waits a whole interval"),
    ],
)
def test_next_write(changed: bool, last: float | None, now: float, expected: float | None) -> None:
    assert next_write_at(changed=changed, last_write_s=last, now_s=now, interval_s=30.0) == expected


def test_the_default_is_the_keps_thirty_seconds() -> None:
    assert KEP_MIN_UPDATE_INTERVAL_S == 30.0


def test_changes_every_second_for_ten_minutes_make_at_most_one_write_per_interval() -> None:
    writes: list[float] = []
    pending: float | None = None
    for second in range(600):
        now = float(second)
        pending = next_write_at(changed=True, last_write_s=writes[-1] if writes else None, now_s=now, interval_s=30.0)
        if pending is not None and pending <= now:
            writes.append(now)
    assert len(writes) == 20
    assert all(b - a >= 30.0 for a, b in itertools.pairwise(writes))
