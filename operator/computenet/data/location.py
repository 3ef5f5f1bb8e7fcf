"""Object locations (``s3://bucket/key``) and checksums (``sha256:<hex>``), parsed and checked.

A location names a bucket and a key, or a prefix when the key is empty or ends with ``/`` (then
every object under it is meant). Bucket names follow S3's rules for new buckets (Amazon S3 User
Guide, "General purpose bucket naming rules"): 3 to 63 characters, lowercase letters, digits, ``.``
and ``-``, starting and ending with a letter or digit. Keys are at most 1,024 bytes of UTF-8.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BUCKET_PATTERN",
    "CHECKSUM_PATTERN",
    "S3_URI_PATTERN",
    "InvalidLocation",
    "ObjectLocation",
    "parse_checksum",
    "parse_s3_uri",
]

BUCKET_PATTERN = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
S3_URI_PATTERN = f"^s3://{BUCKET_PATTERN}(/.*)?$"
CHECKSUM_PATTERN = "^sha256:[0-9a-f]{64}$"
_BUCKET_RE = re.compile(f"^{BUCKET_PATTERN}$")
_CHECKSUM_RE = re.compile(CHECKSUM_PATTERN)
MAX_KEY_BYTES = 1024


class InvalidLocation(ValueError):
    """A URI or checksum is malformed; the message says which part and why."""


@dataclass(frozen=True)
class ObjectLocation:
    """An object (``key``) or, when ``is_prefix``, every object whose key starts with ``key``."""

    bucket: str
    key: str

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def child(self, relative: str) -> ObjectLocation:
        """The object ``relative`` below this prefix."""
        return ObjectLocation(self.bucket, self.key + relative)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def parse_s3_uri(uri: str) -> ObjectLocation:
    """``s3://bucket/key`` -> ObjectLocation; raises InvalidLocation naming what is wrong."""
    if not uri.startswith("s3://"):
        raise InvalidLocation(f"{uri!r} is not an s3:// URI")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise InvalidLocation(
            f"{uri!r}: bucket {bucket!r} is not a valid bucket name (3-63 of a-z, 0-9, '.', '-', "
            "starting and ending with a letter or digit)"
        )
    if len(key.encode()) > MAX_KEY_BYTES:
        raise InvalidLocation(f"{uri!r}: the key is longer than {MAX_KEY_BYTES} bytes")
    if key.startswith("/") or "//" in key:
        raise InvalidLocation(f"{uri!r}: the key has an empty path segment")
    return ObjectLocation(bucket, key)


def parse_checksum(value: str) -> str:
    """A checksum as the mover records it, ``sha256:`` and 64 lowercase hex digits; returned as given."""
    if not _CHECKSUM_RE.match(value):
        raise InvalidLocation(f"checksum {value!r} must be sha256: followed by 64 lowercase hex digits")
    return value
