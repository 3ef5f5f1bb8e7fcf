"""The ComputeDatasets the scheduler knows: where each dataset's replicas are, for data-aware placement.

A reflector sink (``computenet.members.reflector.Sink``) over the hub's ComputeDatasets. Both the
spec (replicas the user declared) and the status (replicas the operator staged) say where a
dataset's bytes are, so every change is taken in, and it wakes the scheduler: a new replica may
make a region free of transfer for a waiting task. A dataset that does not parse is left out (a
warning names the field); tasks naming it count their bytes in ``spec.data.region`` meanwhile, as
for a dataset that does not exist.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from computenet.api.data import ComputeDataset
from computenet.signal import Signal

logger = logging.getLogger(__name__)


class DatasetBook:
    """ComputeDatasets by (namespace, name): ``items`` is what ``tasks.demand.demand_of`` takes."""

    def __init__(self, changed: Signal) -> None:
        self.items: dict[tuple[str, str], ComputeDataset] = {}
        self._changed = changed

    def replace(self, items: Mapping[str, Mapping[str, Any]]) -> None:
        for namespace, name in [k for k in self.items if f"{k[0]}/{k[1]}" not in items]:
            self.delete(f"{namespace}/{name}")
        for key, body in items.items():
            self.upsert(key, body)

    def upsert(self, key: str, item: Mapping[str, Any]) -> None:
        at = _key(key)
        try:
            dataset = ComputeDataset.model_validate(dict(item))
        except ValidationError as e:
            first = e.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            logger.warning("ComputeDataset %s left out of placement: %s: %s", key, where, first["msg"])
            if self.items.pop(at, None) is not None:
                self._changed.fire()
            return
        self.items[at] = dataset
        self._changed.fire()

    def delete(self, key: str) -> None:
        if self.items.pop(_key(key), None) is not None:
            self._changed.fire()


def _key(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name
