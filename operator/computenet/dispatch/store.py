"""The Jobs this hub dispatched to one member, as the member's watch reports them, indexed by task."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from computenet.dispatch.jobs import JobFacts
from computenet.workloads.kinds import JOB, Kind

Listener = Callable[[str], None]
"""Called with the task UID whose Jobs changed in this member."""


class JobStore:
    """Reflector sink: the facts of dispatched workloads by key, and the keys of each task's workloads.

    The Jobs watch writes it directly (keys ``namespace/name``); each other kind's watch writes through
    :meth:`of_kind`.
    """

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
        """The list of the watch writing unprefixed keys: it replaces those.

        Other kinds' entries are their own watches'.
        """
        KindSink(self, JOB, prefix="").replace(items)
        self.synced = True

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

    def of_kind(self, kind: Kind) -> KindSink:
        """A reflector sink for one workload kind: its list replaces that kind's entries only.

        Each kind has its own watch feeding this one store; keys are ``<Kind>/<namespace>/<name>``
        for every kind but the Job's, so a Job and a Deployment of one name never meet.
        """
        return KindSink(self, kind)


class KindSink:
    """The part of a :class:`JobStore` one kind's watch writes (``JobStore.of_kind``)."""

    def __init__(self, store: JobStore, kind: Kind, prefix: str | None = None) -> None:
        self.store = store
        self.kind = kind
        self.prefix = f"{kind.kind}/" if prefix is None else prefix

    def _mine(self, key: str, facts: JobFacts) -> bool:
        # Unprefixed keys (``namespace/name``) are the store's own: the Jobs watch's in push mode, and
        # every kind's in pull mode, where one watch of ComputeWork reports them all.
        return facts.kind is self.kind if self.prefix else key.count("/") == 1

    def replace(self, items: Mapping[str, JobFacts]) -> None:
        store = self.store
        gone = [k for k, f in store.jobs.items() if self._mine(k, f)]
        touched = {store.jobs[k].task_uid for k in gone}
        for key in gone:
            store._unindex(key, store.jobs.pop(key))
        for key, facts in items.items():
            store.jobs[self.prefix + key] = facts
            store._index(self.prefix + key, facts)
            touched.add(facts.task_uid)
        for uid in touched:
            store._notify(uid)

    def upsert(self, key: str, item: JobFacts) -> None:
        self.store.upsert(self.prefix + key, item)

    def delete(self, key: str) -> None:
        self.store.delete(self.prefix + key)
