"""The survivors of a decision best first, sorted only as far as they are read.

A decision ranks every identifier that passed its filters by total score (rounded, so that float
noise never decides between equal candidates), then by snapshot index. Most decisions read only
the first: the chosen one, and a few runners-up for the status. At 10,000 identifiers a full sort
costs half a millisecond of a decision's few; the first k are found in linear time (a partition at
the k-th best total, then a sort of those at least as good), and the whole order only when asked
for (`kubectl computenet why`, an explanation listing every candidate).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from computenet.placement.arrays import FloatArray, IntArray

TIE_DECIMALS = 6
"""Totals are compared rounded to this many decimals."""

_HEAD = 8
"""Positions found at first; more are found by doubling, and past a quarter of all, the whole order."""


class Ranking:
    """`alive` (snapshot indices, ascending) ordered by `totals` (one per alive) descending, then by index.

    `skip` leaves out the first few positions (candidates passed over after ranking). Every answer
    is exactly that of ``np.lexsort((alive, -np.round(totals, TIE_DECIMALS)))[skip:]``.
    """

    def __init__(self, alive: IntArray, totals: FloatArray, skip: int = 0) -> None:
        self.alive, self.totals, self.skip = alive, totals, skip
        self._key: FloatArray = -np.round(totals, TIE_DECIMALS)
        self._head: IntArray = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return max(len(self.alive) - self.skip, 0)

    def passed_over(self, count: int) -> Ranking:
        """The same ranking without its first `count` positions (sharing what was sorted)."""
        out = Ranking.__new__(Ranking)
        out.alive, out.totals, out.skip = self.alive, self.totals, self.skip + count
        out._key, out._head = self._key, self._head
        if "order" in self.__dict__:
            out.__dict__["order"] = self.__dict__["order"]
        return out

    def position(self, rank: int) -> int:
        """The position in `alive` (and `totals`) of the candidate ranked `rank` (0: the best)."""
        at = self.skip + rank
        if at < len(self._head):
            return int(self._head[at])
        return int(self.head(at + 1)[at])

    def ident(self, rank: int) -> int:
        """The snapshot index of the candidate ranked `rank`."""
        return int(self.alive[self.position(rank)])

    def head(self, count: int) -> IntArray:
        """Positions of the first `count` candidates (before `skip`), best first."""
        n = len(self.alive)
        count = min(count, n)
        if count <= len(self._head):
            return self._head[:count]
        if "order" in self.__dict__ or count * 4 >= n:
            self._head = self.order
            return self._head[:count]
        want = min(max(count, 2 * len(self._head), _HEAD), n)
        threshold = np.partition(self._key, want - 1)[want - 1]
        if np.isnan(threshold):  # fewer numbers than wanted: the whole order
            self._head = self.order
            return self._head[:count]
        near = np.flatnonzero(self._key <= threshold)  # ascending positions: index order among equals
        self._head = near[np.argsort(self._key[near], kind="stable")]
        return self._head[:count]

    @cached_property
    def order(self) -> IntArray:
        """Every position, best first (before `skip`)."""
        order: IntArray = np.argsort(self._key, kind="stable")
        return order

    @property
    def ranked(self) -> IntArray:
        """Snapshot indices of every candidate after `skip`, best first."""
        return self.alive[self.order[self.skip :]]

    @property
    def positions(self) -> IntArray:
        """Positions of every candidate after `skip`, best first."""
        return self.order[self.skip :]
