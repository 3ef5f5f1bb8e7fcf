"""Levels: integer keys with a row of int64 values each, changed by copy yet cheap to change.

The overlay of assumed reservations (see `overlay`) grows by a few node rows per decision, to
tens of thousands in a long admission cycle, and every change must leave the previous value
intact: a decision explains its rejections later, from the overlay it was made on. Copying one
sorted array per change would cost in proportion to everything assumed so far. So the keys live
in two sorted levels: a large `base` shared by every value derived from it, and a small
`recent` level, copied on each change, whose rows replace the base's. When `recent` outgrows
`recent_limit` it is merged into a new base: a copy of the base every few hundred changes
instead of every change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from computenet.placement.arrays import EMPTY_INT, BoolArray, IntArray

RECENT_MIN = 1024
"""Keys the recent level may hold before it is merged into the base, whatever the base's size."""
RECENT_SHARE = 8
"""... or one key in this many of the base's: merges copy the base, so they grow rarer as it grows."""


@dataclass(frozen=True, slots=True)
class Levels:
    base_keys: IntArray
    """Sorted, unique."""
    base_values: IntArray
    """(len(base_keys) x width)."""
    recent_keys: IntArray
    """Sorted, unique; a key here replaces the same key in the base."""
    recent_values: IntArray
    drop_zeros: bool
    """Whether rows of zeros are left out when the levels are merged (they mean "nothing")."""

    @property
    def width(self) -> int:
        return int(self.base_values.shape[1])

    def find(self, query: IntArray) -> tuple[IntArray, IntArray]:
        """(positions in `query` whose key is present, their rows of values); any order of `query`."""
        in_recent, at_recent = _search(self.recent_keys, query)
        in_base, at_base = _search(self.base_keys, query)
        if not in_recent.any():
            where = np.flatnonzero(in_base)
            return where, self.base_values[at_base[where]]
        in_base &= ~in_recent
        if not in_base.any():
            where = np.flatnonzero(in_recent)
            return where, self.recent_values[at_recent[where]]
        where = np.flatnonzero(in_recent | in_base)
        values = np.empty((len(where), self.width), dtype=np.int64)
        from_recent = in_recent[where]
        values[from_recent] = self.recent_values[at_recent[where[from_recent]]]
        values[~from_recent] = self.base_values[at_base[where[~from_recent]]]
        return where, values

    def replaced(self, keys: IntArray, values: IntArray) -> Levels:
        """A copy with the rows of sorted unique `keys` set to `values` (k x width); self is unchanged."""
        recent_keys, recent_values = merged(self.recent_keys, self.recent_values, keys, values)
        if len(recent_keys) <= max(RECENT_MIN, len(self.base_keys) // RECENT_SHARE):
            return Levels(self.base_keys, self.base_values, recent_keys, recent_values, self.drop_zeros)
        base_keys, base_values = self._flattened(recent_keys, recent_values)
        return Levels(base_keys, base_values, EMPTY_INT, _no_rows(self.width), self.drop_zeros)

    def flat(self) -> tuple[IntArray, IntArray]:
        """(keys, values): both levels as one sorted array (without rows of zeros if `drop_zeros`)."""
        return self._flattened(self.recent_keys, self.recent_values)

    def _flattened(self, recent_keys: IntArray, recent_values: IntArray) -> tuple[IntArray, IntArray]:
        keys, values = merged(self.base_keys, self.base_values, recent_keys, recent_values)
        if self.drop_zeros:
            keep: BoolArray = np.any(values != 0, axis=1)
            if not keep.all():
                keys, values = keys[keep], values[keep]
        return keys, values


def empty_levels(width: int, *, drop_zeros: bool) -> Levels:
    return Levels(EMPTY_INT, _no_rows(width), EMPTY_INT, _no_rows(width), drop_zeros)


def merged(keys: IntArray, values: IntArray, new: IntArray, more: IntArray) -> tuple[IntArray, IntArray]:
    """Sorted unique `keys` (rows of `values`) with sorted unique `new` merged in, `more` replacing.

    Returns new arrays; the inputs are not changed.
    """
    if not len(new):
        return keys, values
    at = np.searchsorted(keys, new)
    hit = at < len(keys)
    hit[hit] = keys[at[hit]] == new[hit]
    if hit.all():
        values = values.copy()
        values[at] = more
        return keys, values
    miss = ~hit
    inserted = at[miss]  # sorted, as `new` is
    old = np.arange(len(keys))
    moved = old + np.searchsorted(inserted, old, side="right")  # each old key's place after the insertions
    fresh = inserted + np.arange(len(inserted))
    out_keys = np.empty(len(keys) + len(inserted), dtype=np.int64)
    out_values = np.empty((len(out_keys), values.shape[1]), dtype=np.int64)
    out_keys[moved], out_values[moved] = keys, values
    out_keys[fresh], out_values[fresh] = new[miss], more[miss]
    out_values[moved[at[hit]]] = more[hit]
    return out_keys, out_values


def _search(keys: IntArray, query: IntArray) -> tuple[BoolArray, IntArray]:
    """Per query: whether it is among sorted `keys`, and where (clipped into range)."""
    if not len(keys) or not len(query):
        return np.zeros(len(query), dtype=bool), np.zeros(len(query), dtype=np.int64)
    at = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    found: BoolArray = keys[at] == query
    return found, at


def _no_rows(width: int) -> IntArray:
    return np.zeros((0, width), dtype=np.int64)
