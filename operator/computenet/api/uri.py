"""The identifier URI: a stable, human-readable name for one registered piece of compute.

Syntax::

    cpi://<provider>/<region>/<cluster>[/<partition>]

Every segment is a DNS label: 1 to 63 characters, lowercase letters, digits and ``-``, starting and
ending with a letter or digit (``cpi://acme/cn-east-1/gpu-a/h100``). Nothing else is allowed: no
upper case, no empty segment, no trailing slash, no query or fragment. The URI survives the member's
kubeconfig rotating or the ComputeIdentifier object being renamed, so tasks, offers and metrics refer
to compute by it.

The same syntax is enforced by the CRD (``URI_PATTERN``) and by :func:`parse_identifier_uri`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from computenet.api.constants import URI_SCHEME

__all__ = [
    "SEGMENT_PATTERN",
    "URI_MAX_LENGTH",
    "URI_PATTERN",
    "IdentifierURI",
    "InvalidIdentifierURI",
    "parse_identifier_uri",
]

_SEGMENT = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
SEGMENT_PATTERN = f"^{_SEGMENT}$"
URI_PATTERN = f"^{URI_SCHEME}://{_SEGMENT}/{_SEGMENT}/{_SEGMENT}(/{_SEGMENT})?$"
URI_MAX_LENGTH = len(f"{URI_SCHEME}://") + 4 * 63 + 3

_SEGMENT_RE = re.compile(_SEGMENT)
_PREFIX = f"{URI_SCHEME}://"
_NAMES = ("provider", "region", "cluster", "partition")


class InvalidIdentifierURI(ValueError):
    """A string is not an identifier URI; the message says which part is wrong."""


@dataclass(frozen=True)
class IdentifierURI:
    """A parsed identifier URI. ``str()`` gives back the canonical form."""

    provider: str
    region: str
    cluster: str
    partition: str | None = None

    def __post_init__(self) -> None:
        for name in _NAMES:
            value = getattr(self, name)
            if value is None and name == "partition":
                continue
            _check_segment(name, value)

    def __str__(self) -> str:
        segments = [self.provider, self.region, self.cluster]
        if self.partition is not None:
            segments.append(self.partition)
        return _PREFIX + "/".join(segments)

    @property
    def whole_cluster(self) -> IdentifierURI:
        """The URI of the cluster this partition belongs to (itself when it has no partition)."""
        return IdentifierURI(self.provider, self.region, self.cluster)


def parse_identifier_uri(text: str) -> IdentifierURI:
    """Parse ``cpi://<provider>/<region>/<cluster>[/<partition>]``, or raise InvalidIdentifierURI."""
    if not isinstance(text, str):
        raise InvalidIdentifierURI(f"an identifier URI is a string, not {type(text).__name__}")
    if len(text) > URI_MAX_LENGTH:
        raise InvalidIdentifierURI(f"identifier URI is longer than {URI_MAX_LENGTH} characters")
    if not text.startswith(_PREFIX):
        raise InvalidIdentifierURI(f"{text!r} must start with {_PREFIX!r}")
    segments = text[len(_PREFIX) :].split("/")
    if not 3 <= len(segments) <= 4:
        raise InvalidIdentifierURI(
            f"{text!r} must have 3 or 4 segments: {_PREFIX}<provider>/<region>/<cluster>[/<partition>]"
        )
    return IdentifierURI(*segments)


def _check_segment(name: str, value: object) -> None:
    if not isinstance(value, str) or not _SEGMENT_RE.fullmatch(value):
        raise InvalidIdentifierURI(
            f"{name} segment {value!r} must be a DNS label: 1-63 lowercase letters, digits or '-', "
            "starting and ending with a letter or digit"
        )
