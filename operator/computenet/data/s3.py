"""One S3-compatible store as the mover sees it: an endpoint, credentials read from files, a boto3 client.

Credentials come from a directory holding the files ``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY`` (a Kubernetes Secret with those keys, mounted as a volume; the same Secret
also works as ``envFrom``). They never appear on a command line, in a message or in progress output.

Every failure of a call becomes a :class:`StoreError` in the store's own words: which store
(endpoint and bucket), which operation, and the S3 error code and message the store answered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

__all__ = ["ACCESS_KEY_FILE", "SECRET_KEY_FILE", "Store", "StoreError", "read_credentials", "store_words"]

ACCESS_KEY_FILE = "AWS_ACCESS_KEY_ID"
SECRET_KEY_FILE = "AWS_SECRET_ACCESS_KEY"
T = TypeVar("T")


class StoreError(RuntimeError):
    """A store refused or failed a call.

    ``code`` is the S3 error code (``AccessDenied``, ``NoSuchKey``, ``InvalidAccessKeyId``, ...), or
    ``Unreachable``/``Timeout`` when no answer came.
    """

    def __init__(self, endpoint: str, bucket: str, operation: str, code: str, message: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.operation = operation
        self.code = code
        super().__init__(f"store {endpoint} bucket {bucket}: {operation} failed: {code}: {message}")


_BODYLESS = {"400": "BadRequest", "403": "Forbidden", "404": "NotFound", "412": "PreconditionFailed"}
"""Codes for answers without a body: S3 answers HEAD requests with a status only (Amazon S3 API
Reference, HeadObject: "a HEAD request has the same options as a GET operation ... but without a
response body"), and botocore then gives the status as the code."""


_REASONS = {"400": "Bad Request", "403": "Forbidden", "404": "Not Found", "412": "Precondition Failed"}


def store_words(code: str | None, message: str | None, status: int | None) -> tuple[str, str]:
    """(code, message) as reported: the store's own when it sent them, else named after the HTTP status."""
    code = code or (str(status) if status else "")
    if code in _BODYLESS:
        return _BODYLESS[code], message if message and message != _REASONS.get(code) else f"HTTP {code}, no details"
    return code or "Unknown", message or (f"HTTP {status}" if status else "no details")


def read_credentials(directory: Path) -> tuple[str, str]:
    """(access key id, secret) from ``directory``; raises ValueError naming the missing file."""
    values = []
    for name in (ACCESS_KEY_FILE, SECRET_KEY_FILE):
        path = directory / name
        try:
            values.append(path.read_text().strip())
        except OSError as e:
            raise ValueError(f"credentials: cannot read {path}: {e.strerror}") from None
        if not values[-1]:
            raise ValueError(f"credentials: {path} is empty")
    return values[0], values[1]


@dataclass
class Store:
    """A store reached at ``endpoint`` (``http[s]://host:port``) with the given key pair.

    ``connect_timeout_s`` and ``read_timeout_s`` bound each request; boto3's standard retry mode
    retries throttling and server errors ``attempts`` times in all.
    """

    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    attempts: int = 5
    pool_size: int = 16
    _client: Any = field(default=None, init=False, repr=False)

    @classmethod
    def from_credentials_dir(cls, endpoint: str, directory: Path, **options: Any) -> Store:
        access, secret = read_credentials(directory)
        return cls(endpoint, access, secret, **options)

    @property
    def client(self) -> Any:
        """The boto3 S3 client: path-style addressing, signature v4.

        Request checksums only where S3 requires them: the mover sends Content-MD5 with each part
        and checks SHA-256 end to end itself.
        """
        if self._client is None:
            config = Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                connect_timeout=self.connect_timeout_s,
                read_timeout=self.read_timeout_s,
                retries={"mode": "standard", "total_max_attempts": self.attempts},
                max_pool_connections=self.pool_size,
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint,
                aws_access_key_id=self.access_key,
                aws_secret_access_key=self.secret_key,
                region_name=self.region,
                config=config,
            )
        return self._client

    def call(self, bucket: str, operation: str, fn: Callable[..., T], **kwargs: Any) -> T:
        """Run one client call, turning any failure into a StoreError naming this store and bucket."""
        try:
            return fn(Bucket=bucket, **kwargs)
        except ClientError as e:
            err = e.response.get("Error", {})
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code, message = store_words(err.get("Code"), err.get("Message"), status)
            raise StoreError(self.endpoint, bucket, operation, code, message) from None
        except BotoCoreError as e:
            code = "Timeout" if "timeout" in type(e).__name__.lower() else "Unreachable"
            raise StoreError(self.endpoint, bucket, operation, code, str(e)) from None
