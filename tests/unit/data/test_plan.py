"""Part planning and the resume plan of the mover (computenet.data.plan)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from computenet.data.plan import (
    MAX_OBJECT_SIZE,
    MAX_PARTS,
    MIN_PART_SIZE,
    MiB,
    Part,
    UploadedPart,
    keep_uploaded,
    plan_parts,
    resume_plan,
)


@pytest.mark.parametrize(
    ("size", "wanted", "expected"),
    [
        pytest.param(0, 16 * MiB, (), id="an empty object has no parts: it is put whole"),
        pytest.param(1, 16 * MiB, (Part(1, 0, 1),), id="one byte is one short part"),
        pytest.param(16 * MiB, 16 * MiB, (Part(1, 0, 16 * MiB),), id="exactly one part"),
        pytest.param(
            16 * MiB + 1, 16 * MiB, (Part(1, 0, 16 * MiB), Part(2, 16 * MiB, 1)), id="one byte over: a second part"
        ),
        pytest.param(
            40 * MiB,
            16 * MiB,
            (Part(1, 0, 16 * MiB), Part(2, 16 * MiB, 16 * MiB), Part(3, 32 * MiB, 8 * MiB)),
            id="the last part is shorter",
        ),
    ],
)
def test_plan_parts(size: int, wanted: int, expected: tuple[Part, ...]) -> None:
    assert plan_parts(size, wanted) == expected


def test_a_huge_object_grows_its_parts_to_fit_ten_thousand() -> None:
    parts = plan_parts(MAX_OBJECT_SIZE, 16 * MiB)
    assert len(parts) <= MAX_PARTS
    assert parts[0].size % MiB == 0
    assert sum(p.size for p in parts) == MAX_OBJECT_SIZE


@pytest.mark.parametrize(
    ("size", "wanted", "message"),
    [
        pytest.param(-1, 16 * MiB, "must not be negative", id="negative size"),
        pytest.param(MAX_OBJECT_SIZE + 1, 16 * MiB, "exceeds S3's limit", id="over 5 TiB"),
        pytest.param(10, MIN_PART_SIZE - 1, "part size must be between", id="part under 5 MiB"),
    ],
)
def test_plan_parts_refuses(size: int, wanted: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        plan_parts(size, wanted)


@given(size=st.integers(0, 3 * 1024 * MiB), mib=st.integers(5, 64))
def test_parts_tile_the_object_exactly(size: int, mib: int) -> None:
    parts = plan_parts(size, mib * MiB)
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    offset = 0
    for p in parts:
        assert p.offset == offset
        assert p.size > 0
        offset += p.size
    assert offset == size
    assert all(p.size >= MIN_PART_SIZE for p in parts[:-1])


def test_byte_range_is_inclusive() -> None:
    assert Part(2, 10, 5).byte_range == "bytes=10-14"


PLAN = plan_parts(40 * MiB, 16 * MiB)


@pytest.mark.parametrize(
    ("uploaded", "candidates", "to_copy"),
    [
        pytest.param([], [], (1, 2, 3), id="a fresh upload copies every part"),
        pytest.param(
            [UploadedPart(1, 16 * MiB, "a"), UploadedPart(2, 16 * MiB, "b")],
            [1, 2],
            (3,),
            id="parts done before a kill are candidates, the rest are copied",
        ),
        pytest.param([UploadedPart(2, 5 * MiB, "b")], [], (1, 2, 3), id="a part of the wrong size is copied again"),
        pytest.param([UploadedPart(9, 16 * MiB, "z")], [], (1, 2, 3), id="a part number outside the plan is ignored"),
        pytest.param(
            [UploadedPart(3, 8 * MiB, "c")], [3], (1, 2), id="a short last part of the right size is a candidate"
        ),
    ],
)
def test_resume_plan(uploaded: list[UploadedPart], candidates: list[int], to_copy: tuple[int, ...]) -> None:
    plan = resume_plan(PLAN, uploaded)
    assert sorted(plan.candidates) == candidates
    assert plan.to_copy == to_copy


MD5 = hashlib.md5(b"abc", usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(
    ("uploaded", "size", "keep"),
    [
        pytest.param(UploadedPart(1, 3, f'"{MD5}"'), 3, True, id="same size, ETag is the MD5 (quoted): kept"),
        pytest.param(UploadedPart(1, 3, MD5.upper()), 3, True, id="an upper-case ETag is the same MD5"),
        pytest.param(UploadedPart(1, 3, '"0123"'), 3, False, id="other bytes at that part: uploaded again"),
        pytest.param(UploadedPart(1, 4, MD5), 3, False, id="a different size: uploaded again"),
        pytest.param(None, 3, False, id="nothing uploaded: uploaded"),
        pytest.param(UploadedPart(1, 3, f'"{MD5}-2"'), 3, False, id="a store's non-MD5 ETag: uploaded again"),
    ],
)
def test_keep_uploaded(uploaded: UploadedPart | None, size: int, keep: bool) -> None:
    assert keep_uploaded(uploaded, size, MD5) is keep
