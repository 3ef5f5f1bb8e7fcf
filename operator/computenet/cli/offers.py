"""``offers TASK`` and ``accept TASK [IDENTIFIER]``: pick one of a suspended task's offers.

Accepting writes ``spec.identifier`` (the pin) and lifts ``spec.suspend`` in one merge patch;
placement then takes that identifier if it still fits, else the task waits and its Placed
condition says why (the Pinned filter leaves every other identifier out). Only an identifier
among the task's current offers can be accepted, so a typo never pins a task to nothing.
"""

from __future__ import annotations

from typing import Any

from computenet.api.task import ComputeTaskStatus, Offer
from computenet.cli import data_figures
from computenet.cli.errors import CliError
from computenet.cli.output import Column

COLUMNS = (
    Column("IDENTIFIER", "identifier"),
    Column("SCORE", "score"),
    Column("FIT", "fit"),
    Column("PRICE/H", "price"),
    Column("MODEL", "acceleratorModel"),
    Column("VARIANT", "variant", wide=True),
    Column("URI", "uri", wide=True),
)


def offers_of(task: dict[str, Any]) -> list[Offer]:
    return list(ComputeTaskStatus.model_validate(task.get("status") or {}).offers or [])


def rows(found: list[Offer]) -> list[dict[str, Any]]:
    out = []
    for o in found:
        row = o.model_dump(mode="json", exclude_none=True)
        if o.price_per_hour is not None:
            row["price"] = f"{o.price_per_hour:.2f} {o.currency or ''}".strip()
        row.update(data_figures.cells(row))
        out.append(row)
    return out


def columns(found: list[dict[str, Any]]) -> list[Column]:
    """The table's columns: the data's ETA and cost right after the price, when the task has data to move."""
    at = next(i for i, c in enumerate(COLUMNS) if c.header == "PRICE/H") + 1
    return [*COLUMNS[:at], *data_figures.columns(found), *COLUMNS[at:]]


def no_offers(task: dict[str, Any]) -> str:
    meta, spec = task.get("metadata", {}), task.get("spec", {})
    phase = (task.get("status") or {}).get("phase") or "Pending"
    name = f"{meta.get('namespace')}/{meta.get('name')}"
    if not spec.get("suspend"):
        return f"no offers for {name} (phase {phase}): offers are made while spec.suspend is true"
    return f"no offers for {name} yet (phase {phase})"


def choose(task: dict[str, Any], identifier: str | None) -> Offer:
    """The offer to accept: the named one, or the best; a CliError naming the offers otherwise."""
    found = offers_of(task)
    if not found:
        raise CliError(no_offers(task))
    if identifier is None:
        return found[0]
    for offer in found:
        if offer.identifier == identifier:
            return offer
    names = ", ".join(o.identifier for o in found)
    raise CliError(f"{identifier} is not among the offers of {task['metadata']['name']} ({names})")


def accept_patch(offer: Offer) -> dict[str, Any]:
    return {"spec": {"identifier": offer.identifier, "suspend": False}}
