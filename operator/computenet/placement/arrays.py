"""Array aliases and the two array tricks placement leans on: interning and segment gathers.

Placement keeps node and identifier facts as NumPy columns so that one decision over a million
nodes is a handful of vector operations rather than a million Python objects. Strings (models,
regions, taint sets) become small integers through an `Interner`; the nodes of many identifiers
are gathered at once from a CSR layout (`indptr`, `members`) with `gather`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

K = TypeVar("K", bound=Hashable)
A = TypeVar("A", bound=npt.NDArray[Any])

EMPTY_INT: IntArray = np.zeros(0, dtype=np.int64)


class Interner(Generic[K]):
    """Stable small integers for hashable values; ids are never reused, so arrays stay valid."""

    def __init__(self, *initial: K) -> None:
        self._ids: dict[K, int] = {}
        self.values: list[K] = []
        for value in initial:
            self.id(value)

    def id(self, value: K) -> int:
        found = self._ids.get(value)
        if found is None:
            found = len(self.values)
            self._ids[value] = found
            self.values.append(value)
        return found

    def get(self, value: K) -> int | None:
        return self._ids.get(value)

    def __len__(self) -> int:
        return len(self.values)


def frozen(array: A) -> A:
    """Mark an array read-only so a snapshot cannot be changed behind a decision's back."""
    array.flags.writeable = False
    return array


def gather(indptr: IntArray, members: IntArray, ids: IntArray) -> tuple[IntArray, IntArray]:
    """Rows of the segments `ids` of a CSR layout, and for each row its position in `ids`.

    One vectorised pass instead of concatenating thousands of small arrays in Python.
    """
    offsets, seg = ranges(indptr, ids)
    return members[offsets], seg


def ranges(indptr: IntArray, ids: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated `range(indptr[i], indptr[i + 1])` for each i in `ids`, with positions in `ids`."""
    return spans(indptr[ids], indptr[ids + 1])


def spans(starts: IntArray, stops: IntArray) -> tuple[IntArray, IntArray]:
    """Concatenated `range(starts[k], stops[k])` for every k, with the k each value came from."""
    lengths = stops - starts
    total = int(lengths.sum())
    if total == 0:
        return EMPTY_INT, EMPTY_INT
    seg = np.repeat(np.arange(len(starts), dtype=np.int64), lengths)
    first = np.cumsum(lengths) - lengths
    return np.arange(total, dtype=np.int64) + np.repeat(starts - first, lengths), seg


def distinct(values: IntArray) -> IntArray:
    """The distinct integers of `values`, sorted: `np.unique(values)` by one sort.

    NumPy 2's `np.unique` hashes its input, which at a million integers is ten times slower than
    sorting them, and its first call imports `numpy.ma`; decisions and their caches take this instead.
    """
    ordered = np.sort(values)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    out: IntArray = ordered[keep]
    return out


def group_sum(keys: IntArray, values: npt.NDArray[np.generic], size: int) -> IntArray:
    """Sums of the integers (or booleans) `values` per key in range(size), exact in int64.

    `np.add.at` rather than `np.bincount(..., weights=...)`: the latter sums in float64 and, with a
    `minlength` of a hundred thousand, costs a millisecond where this costs a tenth of one.
    """
    out = np.zeros(size, dtype=np.int64)
    np.add.at(out, keys, values)
    return out


def group_max(keys: IntArray, values: IntArray, size: int) -> IntArray:
    out = np.zeros(size, dtype=np.int64)
    np.maximum.at(out, keys, values)
    return out


def distinct_pairs(groups: IntArray, values: IntArray, width: int) -> IntArray:
    """The distinct `groups * width + values` (each value below `width`, groups from 0), sorted, as int64.

    Sorted as int32 when every pair fits (half the bytes: a million pairs sort twice as fast).
    """
    if len(groups) == 0:
        return EMPTY_INT
    if (int(groups.max()) + 1) * width > 2**31 - 1:
        return distinct(groups * width + values)
    key = groups.astype(np.int32)
    key *= np.int32(width)
    key += values.astype(np.int32)
    key.sort()
    keep = np.empty(len(key), dtype=bool)
    keep[0] = True
    np.not_equal(key[1:], key[:-1], out=keep[1:])
    out: IntArray = key[keep].astype(np.int64)
    return out
