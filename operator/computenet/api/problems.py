"""What is wrong with an object, field by field: the currency of validation and of the resource contract.

Kept apart from :mod:`computenet.api.validation` so that the pure modules that find problems (the
resource contract in :mod:`computenet.api.pod_reservation`, used by rendering too) need not import the
validators that report them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from computenet.api.constants import Reason

__all__ = ["ContractError", "Problem", "spec_problem", "summarize"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an object: the field (``spec.resources.cpu``) and what rule it breaks."""

    field: str
    message: str
    reason: str = Reason.INVALID_SPEC

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def spec_problem(error: ValidationError) -> str:
    """A spec pydantic refused, in one line naming the first field: ``spec.uri: ... (and 2 more)``."""
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    more = error.error_count() - 1
    return f"spec.{where}: {first['msg']}" + (f" (and {more} more)" if more else "")


def summarize(problems: Iterable[Problem], limit: int = 5) -> str:
    """One line for a condition message or an event: the first few problems, and how many more."""
    problems = list(problems)
    shown = "; ".join(str(problem) for problem in problems[:limit])
    more = len(problems) - limit
    return f"{shown}; and {more} more" if more > 0 else shown


class ContractError(ValueError):
    """A workload template cannot carry the task's reservation; ``problems`` says where and why.

    Its text is :func:`summarize` of the problems, ready for a ``Valid=False`` condition or an event.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__(summarize(self.problems))
