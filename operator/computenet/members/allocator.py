"""Hands the C allocator's free pages back to the system once reports have come and gone.

Python asks glibc's malloc for every block above 512 bytes (pymalloc keeps the smaller ones). A
burst of agent reports (1,000 agents registering, then reporting every 25 s) allocates and frees
such blocks by the tens of megabytes, and glibc keeps what was freed inside its heap for reuse:
the operator's resident memory stays at the burst's height. Measured at 1,000 agents of 100 nodes
each (``bench/bench_agents.py``, mallinfo2 and /proc/<pid>/status of the operator): 82 MB in use
and 84 MB free inside the heap; ``malloc_trim(0)`` took resident memory from 333 MB to 256 MB in
16 ms, and the next 40 s of reports made 24 MB resident again.

So every :data:`TRIM_EVERY_S` the heap's free bytes are read (``mallinfo2``) and, from
:data:`TRIM_FREE_BYTES` up, the free pages are returned (``malloc_trim``, which since glibc 2.8
releases whole free pages anywhere in the heap, not only at its top). Both calls take the heap's
locks and walk its free lists, so they run on a worker thread, not on the event loop. Where the C
library is not glibc (musl, macOS) there is nothing to call and nothing runs.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
from dataclasses import dataclass
from typing import Protocol

__all__ = ["TRIM_EVERY_S", "TRIM_FREE_BYTES", "Allocator", "Glibc", "HeapUse", "keep_trimmed", "worth_trimming"]

logger = logging.getLogger(__name__)

TRIM_EVERY_S = 30.0
"""Seconds between looks at the heap: 40 s of steady reports made 24 MB resident again (measured above)."""

TRIM_FREE_BYTES = 16 * 2**20
"""Free bytes in the heap from which a trim is worth its walk of the free lists (4-17 ms measured).

``mallinfo2`` counts pages already given back as free too, so a heap that once kept this much is
trimmed every time; a trim with little left to give took 4 ms (measured as above).
"""


@dataclass(frozen=True)
class HeapUse:
    """What the C allocator holds in its heaps (all arenas), in bytes; blocks it mapped alone are not in it."""

    in_use: int
    """Bytes handed out to the program (``mallinfo2().uordblks``)."""
    free: int
    """Bytes freed by the program and kept for reuse (``mallinfo2().fordblks``)."""


def worth_trimming(use: HeapUse | None, threshold: int = TRIM_FREE_BYTES) -> bool:
    """Whether to trim: the heap keeps at least `threshold` free bytes, or its use cannot be read."""
    return use is None or use.free >= threshold


class Allocator(Protocol):
    """The two calls :func:`keep_trimmed` makes of the C allocator."""

    def usage(self) -> HeapUse | None: ...
    def trim(self) -> bool: ...


class _MallInfo2(ctypes.Structure):
    # struct mallinfo2 of glibc's malloc.h (2.33 and later): ten size_t fields in this order.
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


class Glibc:
    """glibc's malloc: ``mallinfo2`` (2.33+, else usage is unknown) and ``malloc_trim``."""

    def __init__(self, libc: ctypes.CDLL) -> None:
        self._trim = libc.malloc_trim
        self._trim.argtypes = [ctypes.c_size_t]
        self._trim.restype = ctypes.c_int
        self._info = getattr(libc, "mallinfo2", None)
        if self._info is not None:
            self._info.argtypes = []
            self._info.restype = _MallInfo2

    @classmethod
    def load(cls) -> Glibc | None:
        """The process's glibc, or None where the C library has no ``malloc_trim``."""
        name = ctypes.util.find_library("c")
        if name is None:
            return None
        try:
            libc = ctypes.CDLL(name)
        except OSError:
            return None
        if not hasattr(libc, "malloc_trim"):
            return None
        return cls(libc)

    def usage(self) -> HeapUse | None:
        if self._info is None:
            return None
        info = self._info()
        return HeapUse(in_use=int(info.uordblks), free=int(info.fordblks))

    def trim(self) -> bool:
        """Return free pages to the system; True if any were."""
        return bool(self._trim(0))


async def keep_trimmed(
    allocator: Allocator | None, every_s: float = TRIM_EVERY_S, threshold: int = TRIM_FREE_BYTES
) -> None:
    """Every `every_s`, trim the heap if :func:`worth_trimming` says so; runs until cancelled."""
    if allocator is None:
        return
    while True:
        await asyncio.sleep(every_s)
        use = await asyncio.to_thread(allocator.usage)
        if not worth_trimming(use, threshold):
            continue
        released = await asyncio.to_thread(allocator.trim)
        after = await asyncio.to_thread(allocator.usage)
        logger.debug("heap trimmed (released: %s): before %s, after %s", released, use, after)
