"""The operator's own watch of ComputeTasks: specs in, deletions out, its own status writes ignored.

Every status write the operator makes comes back as a watch event. Generic handler machinery
(diffing, progress annotations, a finalizer) would cost CPU and hub writes for each of them; here
an event whose `metadata.generation` was already taken in is dropped at once, so a task costs the
hub only the writes its lifecycle needs. Deletion needs no finalizer: the watch reports it (or, after
a restart, the fresh list lacks the task) and the task's Jobs are removed at once; Jobs of tasks
deleted while the operator was down are removed by the orphan sweep, which asks the hub itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

Body = Mapping[str, Any]


class TaskWatch:
    """Reflector sink for ComputeTasks (`computenet.members.reflector.Sink`)."""

    def __init__(
        self,
        on_spec: Callable[[Body], None],
        on_deleting: Callable[[Body], None],
        on_gone: Callable[[str], None],
    ) -> None:
        self._on_spec = on_spec
        self._on_deleting = on_deleting
        self._on_gone = on_gone
        self._seen: dict[str, tuple[str, int | None]] = {}
        """Object key -> (uid, generation taken in)."""

    def replace(self, items: Mapping[str, Body]) -> None:
        for key in [k for k in self._seen if k not in items]:
            self.delete(key)
        for key, body in items.items():
            self.upsert(key, body)

    def upsert(self, key: str, item: Body) -> None:
        try:
            self._upsert(key, item)
        except Exception:  # one task the operator cannot take in must not stop the watch of all others
            logger.exception("task %s could not be taken in", key)

    def _upsert(self, key: str, item: Body) -> None:
        meta = item["metadata"]
        uid, generation = str(meta["uid"]), meta.get("generation")
        previous = self._seen.get(key)
        if previous is not None and previous[0] != uid:  # deleted and created again under the same name
            self._on_gone(previous[0])
            previous = None
        if meta.get("deletionTimestamp"):
            self._seen[key] = (uid, generation)
            self._on_deleting(item)
            return
        if previous is not None and previous[1] == generation:
            return  # a status or metadata change: the spec was already taken in
        self._seen[key] = (uid, generation)
        self._on_spec(item)

    def delete(self, key: str) -> None:
        previous = self._seen.pop(key, None)
        if previous is not None:
            try:
                self._on_gone(previous[0])
            except Exception:  # as above: the watch goes on
                logger.exception("deletion of task %s could not be handled", key)
