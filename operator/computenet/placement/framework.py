"""The contracts between the pipeline and its plugins: Filter and Score.

Plugins work on many identifiers at once (an array of snapshot indices) because a pool may hold
ten thousand identifiers and a decision has a few milliseconds. A filter returns, per identifier,
PASS or one of its own small integer codes; only when someone reads the rejections does it turn
a code into words (`reason` for the grouped summary, `detail` for one identifier). A score
returns 0-100 per identifier; the pipeline weighs and combines them.

Every plugin must give the same answer for an identifier whatever other identifiers it is asked
about alongside, so that each can be checked alone (the property tests do exactly that).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from computenet.placement.arrays import FloatArray, IntArray
from computenet.placement.context import Context

PASS = -1


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    """Machine-readable, from `reasons`."""
    phrase: str
    """Human words shared by every identifier rejected the same way, e.g. "price above 4.00/h"."""


class Filter(Protocol):
    name: str

    def filter(self, ctx: Context, ids: IntArray) -> IntArray | None:
        """Per identifier in `ids`: PASS, or a code of this filter saying why not.

        None means every identifier passes (the task gives this filter nothing to check).
        """
        ...

    def reason(self, ctx: Context, code: int) -> Reason: ...

    def details(self, ctx: Context, ids: IntArray, codes: IntArray) -> list[str]:
        """Each identifier's own numbers, e.g. "price 72.00 USD/h with NVIDIA-H100-80GB-HBM3, ...".

        Asked for all identifiers this filter rejected at once, so that explaining ten thousand
        rejections stays one vectorised pass, not ten thousand.
        """
        ...


class Score(Protocol):
    name: str
    weight: str
    """The attribute of `demand.Weights` that scales this score."""

    def applies(self, ctx: Context) -> bool:
        """False when the task gives this score nothing to judge (e.g. no data location)."""
        ...

    def score(self, ctx: Context, ids: IntArray) -> FloatArray:
        """0 (worst) to 100 (best) per identifier in `ids`."""
        ...
