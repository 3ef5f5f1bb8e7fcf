"""Label selector matching on plain data, shared by partitions, pools and placement.

The API models carry selectors as metav1.LabelSelector; this module works on their plain form
(`matchLabels` as a dict, `matchExpressions` as (key, operator, values) triples) so that pure code
can use it without importing the API package.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        raise ValueError(f"unknown selector operator {self.operator!r}")


@dataclass(frozen=True)
class Selector:
    """All of `match_labels` and every requirement must hold; an empty selector matches everything."""

    match_labels: tuple[tuple[str, str], ...] = ()
    requirements: tuple[Requirement, ...] = ()

    @classmethod
    def of(
        cls,
        match_labels: Mapping[str, str] | None = None,
        match_expressions: Iterable[tuple[str, str, Iterable[str]]] | None = None,
    ) -> Selector:
        return cls(
            tuple(sorted((match_labels or {}).items())),
            tuple(Requirement(k, op, frozenset(v)) for k, op, v in match_expressions or ()),
        )

    @property
    def empty(self) -> bool:
        return not self.match_labels and not self.requirements

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.match_labels) and all(
            r.matches(labels) for r in self.requirements
        )


EVERYTHING = Selector()
