"""An outcome of a status table in one line, as the tables of expected outcomes write it.

``Write:URGENT``, ``Emit:Ready`` (``!`` after a warning), ``HoldUntil``, comma-separated in order;
``-`` when there is nothing to do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from computenet.statuses.vocabulary import Effect, Emit, HoldUntil, Outcome, Write


def describe(effect: Effect) -> str:
    if isinstance(effect, Write):
        return f"Write:{effect.kind.name}"
    if isinstance(effect, Emit):
        return f"Emit:{effect.reason}{'!' if effect.warning else ''}"
    assert isinstance(effect, HoldUntil)
    return "HoldUntil"


def shape(outcome: Outcome[Any]) -> str:
    return ",".join(describe(e) for e in outcome.effects) or "-"


def pairs(states: Mapping[str, object], events: Mapping[str, object]) -> list[Any]:
    """Every (state, event) pair of a table, with an id that reads ``<state> + <event>``."""
    return [pytest.param(s, e, id=f"{s} + {e}") for e in events for s in states]


def assert_covers(outcomes: Mapping[str, Mapping[str, str]], states: Mapping[str, object]) -> None:
    """The table of expected outcomes has a row for every event and, in each, every state."""
    for event, row in outcomes.items():
        assert set(row) == set(states), event


def assert_outcome(outcome: Outcome[Any], expected: str) -> None:
    """The outcome has the expected effects; one that does nothing says why."""
    assert shape(outcome) == expected
    if not outcome.effects:
        assert outcome.note, "an outcome that does nothing says why"
