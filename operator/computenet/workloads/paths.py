"""Field paths into a workload object, as a ComputeWorkloadKind declares them (pure).

A path is dot-separated field names, each optionally followed by list selectors: ``[2]`` (an index)
or ``[name=workers]`` (the first item whose field ``name`` is the string ``workers``, as a list-map
key selects in kubectl's JSONPath ``[?(@.name=="workers")]``):

    spec.trainer.numNodes
    spec.replicatedJobs[name=workers].template.spec.template
    status.conditions[type=Complete].status

Field names are those of Kubernetes objects (letters, digits, ``_`` and ``-``); a map key with a
dot (an annotation) cannot be named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NAME = r"[A-Za-z_][A-Za-z0-9_-]*"
_SELECTOR = rf"\[(?:\d+|{_NAME}=[^\]\[]+)\]"
_SEGMENT = re.compile(rf"^({_NAME})((?:{_SELECTOR})*)$")
_SELECTORS = re.compile(rf"\[(\d+|{_NAME}=[^\]\[]+)\]")


@dataclass(frozen=True)
class Select:
    """A list selector: an index, or the first item whose ``key`` field equals ``value``."""

    index: int | None = None
    key: str = ""
    value: str = ""

    def pick(self, items: list[Any]) -> Any:
        if self.index is not None:
            return items[self.index] if self.index < len(items) else None
        return next((i for i in items if isinstance(i, Mapping) and str(i.get(self.key)) == self.value), None)


Step = str | Select


@dataclass(frozen=True)
class FieldPath:
    """A parsed path: ``text`` as written, ``steps`` the field names and list selectors in order."""

    text: str
    steps: tuple[Step, ...]

    @property
    def root(self) -> str:
        """The first field name (``spec``, ``status``, ``metadata``)."""
        return str(self.steps[0])

    def get(self, obj: Any) -> Any:
        """The value at this path in ``obj``, or None where any step finds nothing."""
        for step in self.steps:
            if isinstance(step, Select):
                if not isinstance(obj, list):
                    return None
                obj = step.pick(obj)
            elif isinstance(obj, Mapping):
                obj = obj.get(step)
            else:
                return None
            if obj is None:
                return None
        return obj

    def ensure_map(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """The map at this path in ``obj``, made (as ``{}``) where trailing fields are absent.

        None when a list selector finds nothing or a value on the way is not a map: a path through a
        list is followed, never extended.
        """
        current: Any = obj
        for step in self.steps:
            if isinstance(step, Select):
                current = step.pick(current) if isinstance(current, list) else None
            elif isinstance(current, dict):
                if current.get(step) is None:
                    current[step] = {}
                current = current[step]
            else:
                return None
            if current is None:
                return None
        return current if isinstance(current, dict) else None


def parse(text: str) -> FieldPath:
    """Parse ``text``; raises ValueError saying what is wrong with it."""
    if not text or text != text.strip():
        raise ValueError(f"{text!r} is not a field path (fields separated by dots, like spec.trainer.numNodes)")
    steps: list[Step] = []
    for segment in text.split("."):
        match = _SEGMENT.match(segment)
        if match is None:
            raise ValueError(
                f"{text!r} is not a field path: {segment!r} is not a field name with optional [index] or "
                "[field=value] selectors"
            )
        steps.append(match.group(1))
        for selector in _SELECTORS.findall(match.group(2)):
            if selector.isdigit():
                steps.append(Select(index=int(selector)))
            else:
                key, _, value = selector.partition("=")
                steps.append(Select(key=key, value=value))
    return FieldPath(text, tuple(steps))
