"""The member kubeconfig Secrets of the operator's namespace, watched rather than fetched.

Watching (instead of reading a Secret when an identifier is configured) means a Secret created
after its identifier, or a rotated credential, takes effect at once without retry loops. Only
the operator's own namespace is watched, which is all its RBAC allows.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

Data = Mapping[str, str]


def secret_data(obj: Mapping[str, Any]) -> Data:
    """Decoded string data of a Secret; undecodable values are left out (and so reported missing)."""
    out: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
    for key, value in (obj.get("stringData") or {}).items():
        out[key] = str(value)
    return out


class SecretCache:
    """Reflector sink keeping Secret data by name; tells listeners which Secret changed."""

    def __init__(self) -> None:
        self._data: dict[str, Data] = {}
        self.synced = False
        self._listeners: list[Callable[[str | None], None]] = []

    def subscribe(self, listener: Callable[[str | None], None]) -> None:
        self._listeners.append(listener)

    def get(self, name: str) -> Data | None:
        return self._data.get(name)

    def _notify(self, name: str | None) -> None:
        for listener in list(self._listeners):
            listener(name)

    def replace(self, items: Mapping[str, Data]) -> None:
        self._data = {k.split("/", 1)[-1]: v for k, v in items.items()}
        self.synced = True
        self._notify(None)

    def upsert(self, key: str, item: Data) -> None:
        name = key.split("/", 1)[-1]
        if self._data.get(name) != item:
            self._data[name] = item
            self._notify(name)

    def delete(self, key: str) -> None:
        name = key.split("/", 1)[-1]
        if self._data.pop(name, None) is not None:
            self._notify(name)
