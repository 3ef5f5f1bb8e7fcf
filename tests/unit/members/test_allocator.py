"""The heap is trimmed when it keeps enough free bytes, and a trim gives freed pages back.

The rule is table-tested; the loop against a recording allocator; the glibc calls against this
process's own heap, holed the way a burst of reports leaves it (blocks freed between blocks kept).
"""

from __future__ import annotations

import asyncio
import platform
from pathlib import Path

import pytest

from computenet.members.allocator import TRIM_FREE_BYTES, Glibc, HeapUse, keep_trimmed, worth_trimming
from support.wait import eventually_async

MB = 2**20


@pytest.mark.parametrize(
    ("use", "expected"),
    [
        pytest.param(HeapUse(in_use=80 * MB, free=84 * MB), True, id="84 MB free after a burst is trimmed"),
        pytest.param(HeapUse(in_use=80 * MB, free=TRIM_FREE_BYTES), True, id="exactly the threshold is trimmed"),
        pytest.param(HeapUse(in_use=80 * MB, free=TRIM_FREE_BYTES - 1), False, id="just below the threshold is left"),
        pytest.param(HeapUse(in_use=0, free=0), False, id="an empty heap is left"),
        pytest.param(None, True, id="a heap whose use cannot be read is trimmed"),
    ],
)
def test_worth_trimming(use: HeapUse | None, expected: bool) -> None:
    assert worth_trimming(use) is expected


class Recording:
    """An allocator that reports a fixed use and counts the calls made of it."""

    def __init__(self, use: HeapUse | None) -> None:
        self.use = use
        self.looks = 0
        self.trims = 0

    def usage(self) -> HeapUse | None:
        self.looks += 1
        return self.use

    def trim(self) -> bool:
        self.trims += 1
        return True


async def _run_until(allocator: Recording, looks: int) -> None:
    task = asyncio.create_task(keep_trimmed(allocator, every_s=0.0))

    async def looked() -> bool:
        return allocator.looks >= looks

    try:
        await eventually_async(looked)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_a_heap_with_much_free_is_trimmed_each_time() -> None:
    allocator = Recording(HeapUse(in_use=80 * MB, free=84 * MB))
    await _run_until(allocator, looks=6)
    assert allocator.trims >= 2


async def test_a_heap_with_little_free_is_never_trimmed() -> None:
    allocator = Recording(HeapUse(in_use=80 * MB, free=MB))
    await _run_until(allocator, looks=5)
    assert allocator.trims == 0


async def test_without_an_allocator_nothing_runs() -> None:
    await asyncio.wait_for(keep_trimmed(None, every_s=0.0), timeout=5)


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim and mallinfo2 are glibc's")
def test_glibc_trim_returns_the_pages_of_freed_blocks_between_kept_ones() -> None:
    glibc = Glibc.load()
    assert glibc is not None
    block = 64 * 1024  # below glibc's mmap threshold: served from the heap, as report-sized blocks are
    count = 1_000
    blocks = [bytes([i % 251]) * block for i in range(2 * count)]
    kept = blocks[1::2]  # every other block stays, so the freed ones are holes, not the heap's top
    before = glibc.usage()
    assert before is not None
    assert before.in_use >= 2 * count * block
    del blocks
    freed = glibc.usage()
    assert freed is not None
    assert freed.free >= count * block
    rss = _rss_bytes()
    glibc.trim()
    assert rss - _rss_bytes() >= count * block // 2
    assert len(kept) == count
