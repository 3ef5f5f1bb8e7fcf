"""Which parts a copy consists of, and which of them a resumed copy may keep.

An object of ``size`` bytes is cut into parts of one fixed size (the last one shorter), numbered
from 1 as S3 multipart uploads number them. The plan is a function of the size alone, so a copy
killed halfway and started again plans exactly the same parts and can match them against the parts
its multipart upload already holds (ListParts).

S3 limits (Amazon S3 User Guide, "Amazon S3 multipart upload limits"): at most 10,000 parts, each at
least 5 MiB except the last and at most 5 GiB, an object at most 5 TiB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_PART_SIZE",
    "MAX_OBJECT_SIZE",
    "MAX_PARTS",
    "MAX_PART_SIZE",
    "MIN_PART_SIZE",
    "MiB",
    "Part",
    "ResumePlan",
    "UploadedPart",
    "keep_uploaded",
    "plan_parts",
    "resume_plan",
]

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10_000
MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB
DEFAULT_PART_SIZE = 16 * MiB


@dataclass(frozen=True)
class Part:
    """Part ``number`` (1-based) covers bytes ``offset`` to ``offset + size - 1`` of the object."""

    number: int
    offset: int
    size: int

    @property
    def byte_range(self) -> str:
        """The HTTP Range header value that reads this part (RFC 9110 section 14.1.2)."""
        return f"bytes={self.offset}-{self.offset + self.size - 1}"


@dataclass(frozen=True)
class UploadedPart:
    """A part the destination's multipart upload already holds, as ListParts reports it."""

    number: int
    size: int
    etag: str


@dataclass(frozen=True)
class ResumePlan:
    """Parts that may be kept (if their content checks out) and parts to copy."""

    candidates: dict[int, UploadedPart]
    to_copy: tuple[int, ...]

    @property
    def kept_bytes_at_most(self) -> int:
        return sum(p.size for p in self.candidates.values())


def part_size_for(size: int, wanted: int = DEFAULT_PART_SIZE) -> int:
    """The part size for an object of ``size`` bytes: ``wanted``, grown by whole MiB to fit 10,000 parts."""
    if wanted < MIN_PART_SIZE or wanted > MAX_PART_SIZE:
        raise ValueError(f"part size must be between {MIN_PART_SIZE} and {MAX_PART_SIZE} bytes, not {wanted}")
    needed = -(-size // MAX_PARTS)
    if needed > wanted:
        wanted = -(-needed // MiB) * MiB
    return wanted


def plan_parts(size: int, wanted: int = DEFAULT_PART_SIZE) -> tuple[Part, ...]:
    """The parts of an object of ``size`` bytes (none for an empty object: it is copied whole).

    Raises ValueError for a negative size, one over 5 TiB, or a part size outside S3's limits.
    """
    if size < 0:
        raise ValueError(f"object size must not be negative, not {size}")
    if size > MAX_OBJECT_SIZE:
        raise ValueError(f"object size {size} exceeds S3's limit of {MAX_OBJECT_SIZE} bytes")
    part = part_size_for(size, wanted)
    return tuple(Part(i + 1, offset, min(part, size - offset)) for i, offset in enumerate(range(0, size, part)))


def resume_plan(parts: Iterable[Part], uploaded: Iterable[UploadedPart]) -> ResumePlan:
    """Match what the upload holds against the plan: a part of the right number and size may be kept.

    A kept part is confirmed only once its content is read again and its MD5 equals the ETag
    (:func:`keep_uploaded`); anything else the upload holds is overwritten by a fresh upload.
    """
    held = {u.number: u for u in uploaded}
    candidates: dict[int, UploadedPart] = {}
    to_copy: list[int] = []
    for p in parts:
        u = held.get(p.number)
        if u is not None and u.size == p.size:
            candidates[p.number] = u
        else:
            to_copy.append(p.number)
    return ResumePlan(candidates, tuple(to_copy))


def keep_uploaded(uploaded: UploadedPart | None, size: int, md5_hex: str) -> bool:
    """Whether an uploaded part holds exactly the bytes read again: same size, ETag equal to their MD5.

    S3 gives a part's ETag as the quoted hex MD5 of its bytes when the store does not encrypt them
    with a customer key; a store that answers anything else simply gets the part uploaded again.
    """
    return uploaded is not None and uploaded.size == size and uploaded.etag.strip('"').lower() == md5_hex.lower()
