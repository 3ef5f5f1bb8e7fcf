"""The hub's ResourceClaimTemplates as placement facts, and which tasks are told when one changes."""

from __future__ import annotations

from computenet.placement.devices import ClaimTemplate, DeviceRequest
from computenet.tasks.claim_templates import ClaimTemplateBook

ONE = ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu.example.com"),))
TWO = ClaimTemplate("one-gpu", (DeviceRequest("gpu", "gpu.example.com", 2),))


def book() -> tuple[ClaimTemplateBook, list[tuple[str, str]]]:
    told: list[tuple[str, str]] = []
    return ClaimTemplateBook(lambda namespace, name: told.append((namespace, name))), told


def test_a_task_gets_the_templates_of_its_own_namespace_that_the_hub_holds() -> None:
    templates, _ = book()
    templates.replace({"research/one-gpu": ONE, "other/nic": ClaimTemplate("nic")})
    assert templates.resolve("research", ("nic", "one-gpu")) == (ONE,)
    assert templates.resolve("other", ("one-gpu",)) == ()


def test_each_appearance_change_and_disappearance_is_told_once_and_a_relist_without_change_is_not() -> None:
    templates, told = book()
    templates.upsert("research/one-gpu", ONE)
    templates.upsert("research/one-gpu", ONE)
    templates.upsert("research/one-gpu", TWO)
    templates.replace({"research/one-gpu": TWO})
    templates.replace({})
    templates.delete("research/one-gpu")
    assert told == [("research", "one-gpu")] * 3
    assert templates.items == {}
