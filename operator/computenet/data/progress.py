"""Progress of one transfer: bytes done of the total, the rate of this run and the time left.

A transfer reports a :class:`Progress` as one JSON line on stdout (and, when asked, into a file the
operator reads); see docs/data.md for the fields. Pure: the clock's readings come in as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Progress", "progress"]


@dataclass(frozen=True)
class Progress:
    """Bytes done and total; the rate (bytes/s) of this run; ETA in seconds, None while unknown."""

    bytes_done: int
    bytes_total: int
    rate: float
    eta_s: float | None
    elapsed_s: float

    @property
    def fraction(self) -> float:
        return 1.0 if self.bytes_total == 0 else self.bytes_done / self.bytes_total

    def as_json(self) -> dict[str, Any]:
        return {
            "bytesDone": self.bytes_done,
            "bytesTotal": self.bytes_total,
            "percent": round(100 * self.fraction, 1),
            "rateBytesPerSecond": round(self.rate),
            "etaSeconds": None if self.eta_s is None else round(self.eta_s, 1),
            "elapsedSeconds": round(self.elapsed_s, 1),
        }


def progress(bytes_done: int, bytes_total: int, moved_this_run: int, elapsed_s: float) -> Progress:
    """The progress after ``elapsed_s`` seconds of this run, of which ``moved_this_run`` bytes were moved.

    The rate counts only bytes this run moved (parts kept from an earlier run cost no transfer), so
    the ETA of a resumed copy is the remaining bytes at the speed actually seen. Before anything has
    moved, or with no time elapsed, the rate is 0 and the ETA unknown (None); once all is done it is 0.
    Raises ValueError for counts that cannot happen (negative, or done beyond the total).
    """
    if bytes_total < 0 or bytes_done < 0 or moved_this_run < 0 or elapsed_s < 0:
        raise ValueError("byte counts and elapsed time must not be negative")
    if bytes_done > bytes_total:
        raise ValueError(f"bytes done ({bytes_done}) exceed the total ({bytes_total})")
    rate = moved_this_run / elapsed_s if elapsed_s > 0 else 0.0
    remaining = bytes_total - bytes_done
    if remaining == 0:
        eta: float | None = 0.0
    elif rate > 0:
        eta = remaining / rate
    else:
        eta = None
    return Progress(bytes_done, bytes_total, rate, eta, elapsed_s)
