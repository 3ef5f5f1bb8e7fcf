"""The hub's ResourceClaimTemplates, so that placement evaluates a task's own templates (kueue#8775).

A ResourceClaimTemplate a task's pods name and its namespace on the hub holds travels to the member
with the workload (``tasks.dispatcher.dependencies_of``), so placement must evaluate that template,
not whatever the member's target namespace holds (or lacks): a task fits members that lack the
template but have the devices. A reflector sink (``computenet.members.reflector.Sink``) over the
hub's ResourceClaimTemplates in every namespace keeps them as the placement facts the members'
templates become too (``members.dra.template_facts``); each change tells `changed` which template
changed, so the tasks naming it are resolved again (``TaskService``).

A hub that does not serve resource.k8s.io/v1, or an operator not allowed to list the templates,
leaves the book empty: tasks are then placed on the members' templates alone, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from computenet.placement.devices import ClaimTemplate


class ClaimTemplateBook:
    """The hub's ResourceClaimTemplates by "namespace/name", as placement facts."""

    def __init__(self, changed: Callable[[str, str], None]) -> None:
        """`changed(namespace, name)` is called after each template that appeared, changed or vanished."""
        self.items: dict[str, ClaimTemplate] = {}
        self._changed = changed

    def replace(self, items: Mapping[str, ClaimTemplate]) -> None:
        for key in [k for k in self.items if k not in items]:
            self.delete(key)
        for key, template in items.items():
            self.upsert(key, template)

    def upsert(self, key: str, item: ClaimTemplate) -> None:
        if self.items.get(key) == item:
            return
        self.items[key] = item
        self._changed(*_split(key))

    def delete(self, key: str) -> None:
        if self.items.pop(key, None) is not None:
            self._changed(*_split(key))

    def resolve(self, namespace: str, names: Iterable[str]) -> tuple[ClaimTemplate, ...]:
        """The templates of `namespace` among `names` that the hub holds, in the order of `names`."""
        found = (self.items.get(f"{namespace}/{name}") for name in names)
        return tuple(t for t in found if t is not None)


def _split(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name
