"""Progress, rate and ETA of a transfer (computenet.data.progress)."""

from __future__ import annotations

import pytest

from computenet.data.progress import progress


@pytest.mark.parametrize(
    ("done", "total", "moved", "elapsed", "rate", "eta"),
    [
        pytest.param(0, 100, 0, 0.0, 0.0, None, id="nothing moved yet: ETA unknown"),
        pytest.param(50, 100, 50, 5.0, 10.0, 5.0, id="half in 5 s: 10 B/s and 5 s left"),
        pytest.param(100, 100, 100, 4.0, 25.0, 0.0, id="all done: no time left"),
        pytest.param(
            60, 100, 10, 2.0, 5.0, 8.0, id="a resumed copy's rate counts only what this run moved, not kept parts"
        ),
        pytest.param(60, 100, 0, 3.0, 0.0, None, id="only kept parts so far: ETA unknown"),
        pytest.param(0, 0, 0, 0.0, 0.0, 0.0, id="an empty object is done at once"),
    ],
)
def test_progress(done: int, total: int, moved: int, elapsed: float, rate: float, eta: float | None) -> None:
    p = progress(done, total, moved, elapsed)
    assert p.rate == pytest.approx(rate)
    assert p.eta_s == (None if eta is None else pytest.approx(eta))


def test_progress_json_names_the_fields_the_operator_reads() -> None:
    assert progress(25, 100, 25, 2.0).as_json() == {
        "bytesDone": 25,
        "bytesTotal": 100,
        "percent": 25.0,
        "rateBytesPerSecond": 12,
        "etaSeconds": 6.0,
        "elapsedSeconds": 2.0,
    }


@pytest.mark.parametrize(
    ("done", "total", "moved", "elapsed", "message"),
    [
        pytest.param(101, 100, 0, 1.0, "exceed the total", id="done beyond the total"),
        pytest.param(-1, 100, 0, 1.0, "negative", id="negative bytes"),
        pytest.param(0, 100, 0, -1.0, "negative", id="negative time"),
    ],
)
def test_progress_refuses_impossible_counts(done: int, total: int, moved: int, elapsed: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        progress(done, total, moved, elapsed)
