"""The Jobs this hub dispatched to one member, as the member's watch reports them, indexed by task."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from computenet.dispatch.jobs import JobFacts

Listener = Callable[[str], None]
"""Called with the task UID whose Jobs changed in this member."""


class JobStore:
    """Reflector sink: Job facts by `namespace/name`, and the keys of each task's Jobs."""

    def __init__(self) -> None:
        self.jobs: dict[str, JobFacts] = {}
        self.by_task: dict[str, set[str]] = {}
        self.synced = False
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def of_task(self, task_uid: str) -> list[JobFacts]:
        return [self.jobs[k] for k in self.by_task.get(task_uid, ())]

    def _notify(self, task_uid: str) -> None:
        for listener in list(self._listeners):
            listener(task_uid)

    def _index(self, key: str, facts: JobFacts) -> None:
        self.by_task.setdefault(facts.task_uid, set()).add(key)

    def _unindex(self, key: str, facts: JobFacts) -> None:
        keys = self.by_task.get(facts.task_uid)
        if keys is not None:
            keys.discard(key)
            if not keys:
                del self.by_task[facts.task_uid]

    def replace(self, items: Mapping[str, JobFacts]) -> None:
        touched = set(self.by_task)
        self.jobs = dict(items)
        self.by_task = {}
        for key, facts in self.jobs.items():
            self._index(key, facts)
        self.synced = True
        for uid in touched | set(self.by_task):
            self._notify(uid)

    def upsert(self, key: str, item: JobFacts) -> None:
        old = self.jobs.get(key)
        if old == item:
            return
        if old is not None:
            self._unindex(key, old)
        self.jobs[key] = item
        self._index(key, item)
        self._notify(item.task_uid)

    def delete(self, key: str) -> None:
        old = self.jobs.pop(key, None)
        if old is not None:
            self._unindex(key, old)
            self._notify(old.task_uid)
