"""The mover: copy objects from one store to another, and fetch objects into a local path.

A prefix (a key ending with ``/``) means every object under it.

A copy between two stores reads ranges of the source and uploads them as the parts of one multipart
upload at the destination, several parts at a time. It is

- **resumable**: a copy that was killed leaves its multipart upload behind; the next run finds it
  (ListMultipartUploads), lists its parts (ListParts) and uploads only the parts that are missing or
  whose content differs, so no finished part is uploaded twice;
- **checksummed**: every part is sent with its Content-MD5 (the store refuses a part that arrived
  damaged), a part kept from an earlier run is kept only if its ETag equals the MD5 of the same range
  read again, and the SHA-256 of the whole object is computed over the bytes in order and compared
  with the expected one (the caller's, or the source's ``computenet-sha256`` metadata) before the
  upload is completed; the size is checked against the source's;
- **bounded in time**: each request has timeouts and a deadline bounds the whole copy; past it the
  copy stops, leaving its upload to be resumed;
- **observable**: a :class:`~computenet.data.progress.Progress` after every part.

A copy moves bytes through this process (the stores are different endpoints), never through the hub.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from computenet.data.location import ObjectLocation
from computenet.data.plan import DEFAULT_PART_SIZE, Part, UploadedPart, keep_uploaded, plan_parts, resume_plan
from computenet.data.progress import Progress, progress
from computenet.data.s3 import Store, StoreError

__all__ = [
    "CHECKSUM_METADATA",
    "ChecksumMismatch",
    "CopyOptions",
    "DeadlineExceeded",
    "StoreError",
    "Transferred",
    "copy",
    "copy_object",
    "fetch",
]

CHECKSUM_METADATA = "computenet-sha256"
"""User metadata (``x-amz-meta-computenet-sha256``) holding an object's ``sha256:<hex>``."""


class DeadlineExceeded(RuntimeError):
    """The copy ran past its deadline; what was done stays for the next run to resume."""


class ChecksumMismatch(RuntimeError):
    """The bytes moved do not match the expected size or SHA-256; nothing was completed."""


@dataclass(frozen=True)
class CopyOptions:
    part_size: int = DEFAULT_PART_SIZE
    concurrency: int = 4
    deadline_s: float = 3600.0
    """Seconds the whole transfer may take from its start."""


@dataclass(frozen=True)
class Transferred:
    """One object moved: where to, its size and ``sha256:<hex>``.

    ``parts_copied`` were uploaded by this run, ``parts_kept`` were kept from an earlier one.
    """

    key: str
    size: int
    checksum: str
    parts_copied: int
    parts_kept: int
    bytes_copied: int


R = TypeVar("R")
Report = Callable[[Progress], None]
Clock = Callable[[], float]


class _Run:
    """Bytes and time of one run across all its objects, for progress and the deadline."""

    def __init__(self, total: int, report: Report, clock: Clock, deadline_s: float) -> None:
        self.total, self.report, self.clock = total, report, clock
        self.start = clock()
        self.deadline = self.start + deadline_s
        self.done = 0
        self.moved = 0

    def advance(self, done: int, moved: int) -> None:
        self.done += done
        self.moved += moved
        self.report(progress(min(self.done, self.total), self.total, self.moved, self.clock() - self.start))

    def check_deadline(self, what: str) -> None:
        if self.clock() > self.deadline:
            raise DeadlineExceeded(
                f"{what}: deadline of {self.deadline - self.start:.0f}s passed with {self.done} of {self.total} "
                "bytes done; run the same command again to resume"
            )


def _md5_b64(body: bytes) -> tuple[str, str]:
    digest = hashlib.md5(body, usedforsecurity=False).digest()
    return digest.hex(), base64.b64encode(digest).decode()


def _head(store: Store, loc: ObjectLocation) -> dict[str, Any]:
    head: dict[str, Any] = store.call(loc.bucket, f"HeadObject {loc.key}", store.client.head_object, Key=loc.key)
    return head


def _expected_checksum(head: dict[str, Any], given: str | None) -> str | None:
    meta = head.get("Metadata") or {}
    return given or meta.get(CHECKSUM_METADATA)


def _find_upload(store: Store, loc: ObjectLocation) -> str | None:
    """The newest unfinished multipart upload for exactly this key, if any."""
    answer = store.call(
        loc.bucket, f"ListMultipartUploads {loc.key}", store.client.list_multipart_uploads, Prefix=loc.key
    )
    uploads = [u for u in answer.get("Uploads", []) if u.get("Key") == loc.key]
    if not uploads:
        return None
    newest = max(uploads, key=lambda u: u.get("Initiated") or 0)
    return str(newest["UploadId"])


def _list_parts(store: Store, loc: ObjectLocation, upload_id: str) -> list[UploadedPart]:
    parts: list[UploadedPart] = []
    marker = 0
    while True:
        answer = store.call(
            loc.bucket,
            f"ListParts {loc.key}",
            store.client.list_parts,
            Key=loc.key,
            UploadId=upload_id,
            PartNumberMarker=marker,
        )
        parts += [UploadedPart(int(p["PartNumber"]), int(p["Size"]), str(p["ETag"])) for p in answer.get("Parts", [])]
        if not answer.get("IsTruncated"):
            return parts
        marker = int(answer["NextPartNumberMarker"])


def _read(store: Store, loc: ObjectLocation, part: Part) -> bytes:
    answer = store.call(
        loc.bucket,
        f"GetObject {loc.key} {part.byte_range}",
        store.client.get_object,
        Key=loc.key,
        Range=part.byte_range,
    )
    body: bytes = answer["Body"].read()
    if len(body) != part.size:
        raise ChecksumMismatch(f"{loc}: part {part.number} read {len(body)} bytes, expected {part.size}")
    return body


def copy_object(
    source: Store,
    src: ObjectLocation,
    dest: Store,
    dst: ObjectLocation,
    options: CopyOptions = CopyOptions(),
    expected_checksum: str | None = None,
    report: Report = lambda _: None,
    clock: Clock = time.monotonic,
    run: _Run | None = None,
) -> Transferred:
    """Copy one object; see the module docstring. Raises StoreError, ChecksumMismatch or DeadlineExceeded."""
    head = _head(source, src)
    size = int(head["ContentLength"])
    expected = _expected_checksum(head, expected_checksum)
    run = run or _Run(size, report, clock, options.deadline_s)
    return _upload(str(src), size, lambda part: _read(source, src, part), expected, dest, dst, options, run)


def _upload(
    src: str,
    size: int,
    read: Callable[[Part], bytes],
    expected: str | None,
    dest: Store,
    dst: ObjectLocation,
    options: CopyOptions,
    run: _Run,
) -> Transferred:
    """Upload ``size`` bytes that ``read`` gives part by part to ``dst``, resuming an earlier upload."""
    parts = plan_parts(size, options.part_size)
    metadata = {CHECKSUM_METADATA: expected} if expected else {}
    if not parts:  # an empty object: one plain put
        checksum = "sha256:" + hashlib.sha256(b"").hexdigest()
        _verify(src, size, 0, checksum, expected)
        dest.call(dst.bucket, f"PutObject {dst.key}", dest.client.put_object, Key=dst.key, Body=b"", Metadata=metadata)
        run.advance(0, 0)
        return Transferred(dst.key, 0, checksum, 0, 0, 0)

    upload_id = _find_upload(dest, dst)
    uploaded = _list_parts(dest, dst, upload_id) if upload_id else []
    if upload_id is None:
        created = dest.call(
            dst.bucket,
            f"CreateMultipartUpload {dst.key}",
            dest.client.create_multipart_upload,
            Key=dst.key,
            Metadata=metadata,
        )
        upload_id = str(created["UploadId"])
    candidates = resume_plan(parts, uploaded).candidates

    def move(part: Part) -> tuple[bytes, str, bool]:
        """Read the part; upload it unless the upload already holds these exact bytes."""
        run.check_deadline(f"{src} -> {dst}")
        body = read(part)
        if len(body) != part.size:
            raise ChecksumMismatch(f"{src}: part {part.number} read {len(body)} bytes, expected {part.size}")
        md5_hex, md5_b64 = _md5_b64(body)
        if keep_uploaded(candidates.get(part.number), part.size, md5_hex):
            return body, md5_hex, False
        dest.call(
            dst.bucket,
            f"UploadPart {dst.key} #{part.number}",
            dest.client.upload_part,
            Key=dst.key,
            UploadId=upload_id,
            PartNumber=part.number,
            Body=body,
            ContentMD5=md5_b64,
        )
        return body, md5_hex, True

    sha = hashlib.sha256()
    etags: list[str] = []
    copied = kept = copied_bytes = 0
    for body, md5_hex, uploaded_now in _in_order(move, parts, options.concurrency):
        sha.update(body)
        etags.append(md5_hex)
        if uploaded_now:
            copied, copied_bytes = copied + 1, copied_bytes + len(body)
        else:
            kept += 1
        run.advance(len(body), len(body) if uploaded_now else 0)
    checksum = "sha256:" + sha.hexdigest()
    _verify(src, size, sum(p.size for p in parts), checksum, expected)
    completed = dest.call(
        dst.bucket,
        f"CompleteMultipartUpload {dst.key}",
        dest.client.complete_multipart_upload,
        Key=dst.key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": f'"{e}"'} for i, e in enumerate(etags)]},
    )
    _check_multipart_etag(dst, str(completed.get("ETag", "")), etags)
    final = _head(dest, dst)
    if int(final["ContentLength"]) != size:
        raise ChecksumMismatch(
            f"{dst}: the store holds {final['ContentLength']} bytes after completing, expected {size}"
        )
    return Transferred(dst.key, size, checksum, copied, kept, copied_bytes)


def _in_order(fn: Callable[[Part], R], parts: Sequence[Part], concurrency: int) -> Iterator[R]:
    """``fn`` over the parts on ``concurrency`` threads, results yielded in part order.

    At most twice ``concurrency`` parts are in flight or waiting, which bounds the memory held.
    """
    workers = max(1, concurrency)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mover") as pool:
        pending: deque[Future[R]] = deque()
        try:
            for part in parts:
                pending.append(pool.submit(fn, part))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def _verify(src: object, size: int, moved: int, checksum: str, expected: str | None) -> None:
    if moved != size:
        raise ChecksumMismatch(f"{src}: moved {moved} bytes, the source holds {size}")
    if expected and checksum != expected:
        raise ChecksumMismatch(f"{src}: the bytes moved have {checksum}, expected {expected}; nothing was completed")


def _check_multipart_etag(dst: ObjectLocation, etag: str, part_md5s: list[str]) -> None:
    """Check the completed object's ETag against the parts sent.

    A store that follows S3 gives a multipart object the ETag MD5(concatenated part MD5s)-N; a
    different value of that form means a part other than the ones sent was assembled.
    """
    etag = etag.strip('"')
    if "-" not in etag:
        return  # this store forms its ETags differently: nothing to compare
    joined = b"".join(bytes.fromhex(m) for m in part_md5s)
    want = f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_md5s)}"
    if etag != want:
        raise ChecksumMismatch(f"{dst}: the store assembled ETag {etag}, the parts sent make {want}")


def _keys(store: Store, loc: ObjectLocation) -> list[tuple[str, int]]:
    """(key, size) of every object under a prefix, in key order."""
    out: list[tuple[str, int]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Prefix": loc.key}
        if token:
            kwargs["ContinuationToken"] = token
        answer = store.call(loc.bucket, f"ListObjectsV2 {loc.key}", store.client.list_objects_v2, **kwargs)
        out += [(str(o["Key"]), int(o["Size"])) for o in answer.get("Contents", [])]
        if not answer.get("IsTruncated"):
            return out
        token = str(answer["NextContinuationToken"])


def copy(
    source: Store,
    src: ObjectLocation,
    dest: Store,
    dst: ObjectLocation,
    options: CopyOptions = CopyOptions(),
    expected_checksum: str | None = None,
    report: Report = lambda _: None,
    clock: Clock = time.monotonic,
) -> list[Transferred]:
    """Copy an object, or with a prefix every object under it (to the same relative keys under ``dst``)."""
    if not src.is_prefix:
        target = dst.child(src.key.rsplit("/", 1)[-1]) if dst.is_prefix else dst
        return [copy_object(source, src, dest, target, options, expected_checksum, report, clock)]
    if not dst.is_prefix:
        raise ValueError(f"copying the prefix {src} needs a destination prefix (ending with /), not {dst}")
    keys = _keys(source, src)
    run = _Run(sum(s for _, s in keys), report, clock, options.deadline_s)
    return [
        copy_object(source, ObjectLocation(src.bucket, k), dest, dst.child(k[len(src.key) :]), options, None, run=run)
        for k, _ in keys
    ]


def fetch(
    store: Store,
    src: ObjectLocation,
    target: Path,
    options: CopyOptions = CopyOptions(),
    expected_checksum: str | None = None,
    report: Report = lambda _: None,
    clock: Clock = time.monotonic,
) -> list[Transferred]:
    """Download an object to the file ``target``, checking size and SHA-256.

    For a prefix, every object below it goes into the directory ``target``. A file appears under its
    name only once it is complete and checked.
    """
    if src.is_prefix:
        keys = _keys(store, src)
        pairs: list[tuple[ObjectLocation, Path, str | None]] = [
            (ObjectLocation(src.bucket, k), target / k[len(src.key) :], None) for k, _ in keys
        ]
        total = sum(s for _, s in keys)
    else:
        head = _head(store, src)
        pairs = [(src, target, expected_checksum)]
        total = int(head["ContentLength"])
    run = _Run(total, report, clock, options.deadline_s)
    return [_fetch_one(store, loc, path, want, options, run) for loc, path, want in pairs]


def _fetch_one(
    store: Store, src: ObjectLocation, path: Path, given: str | None, options: CopyOptions, run: _Run
) -> Transferred:
    head = _head(store, src)
    size = int(head["ContentLength"])
    expected = _expected_checksum(head, given)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    sha = hashlib.sha256()
    moved = 0

    def read(part: Part) -> bytes:
        run.check_deadline(f"{src} -> {path}")
        return _read(store, src, part)

    with partial.open("wb") as out:
        for body in _in_order(read, plan_parts(size, options.part_size), options.concurrency):
            sha.update(body)
            out.write(body)
            moved += len(body)
            run.advance(len(body), len(body))
        out.flush()
        os.fsync(out.fileno())
    checksum = "sha256:" + sha.hexdigest()
    try:
        _verify(src, size, moved, checksum, expected)
    except ChecksumMismatch:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(path)
    return Transferred(str(path), size, checksum, 0, 0, moved)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def push(
    store: Store,
    source: Path,
    dst: ObjectLocation,
    options: CopyOptions = CopyOptions(),
    expected_checksum: str | None = None,
    report: Report = lambda _: None,
    clock: Clock = time.monotonic,
) -> list[Transferred]:
    """Upload a file to ``dst``: resumable, checksummed and bounded like a copy.

    A directory uploads every file under it, to the same relative keys under the prefix ``dst``.
    The files must not change meanwhile.

    Raises FileNotFoundError when ``source`` does not exist, ValueError for a directory sent to a key.
    """
    if source.is_dir():
        if not dst.is_prefix:
            raise ValueError(f"pushing the directory {source} needs a destination prefix (ending with /), not {dst}")
        pairs: list[tuple[Path, ObjectLocation, str | None]] = [
            (f, dst.child(f.relative_to(source).as_posix()), None) for f in _files(source)
        ]
    elif source.is_file():
        target = dst.child(source.name) if dst.is_prefix else dst
        pairs = [(source, target, expected_checksum)]
    else:
        raise FileNotFoundError(f"{source}: no such file or directory")
    run = _Run(sum(f.stat().st_size for f, _, _ in pairs), report, clock, options.deadline_s)
    done = []
    for path, target, want in pairs:
        size = path.stat().st_size
        with path.open("rb") as f:
            fd = f.fileno()

            def read(part: Part, fd: int = fd) -> bytes:
                return os.pread(fd, part.size, part.offset)

            done.append(_upload(str(path), size, read, want, store, target, options, run))
    return done
