"""The task's caps on moving its data (``spec.data.maxTransferSeconds``, ``spec.data.maxDataCost``).

Refused with the field named when they can never work; the CRD carries the same bounds and rule.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from computenet.api.crd import KINDS, crd
from computenet.api.task import DataLocation

CAP_RULE = "maxTransferSeconds and maxDataCost cap moving the data: set spec.data.region or spec.data.inputs"


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param({"region": "cn-east", "size": "1Ti", "maxTransferSeconds": 600}, id="a time cap on located data"),
        pytest.param({"region": "cn-east", "maxDataCost": 12.5}, id="a cost cap on located data"),
        pytest.param(
            {"inputs": [{"dataset": "d", "mountPath": "/d"}], "maxTransferSeconds": 0, "maxDataCost": 0},
            id="zero caps: the data must already be where the task runs",
        ),
    ],
)
def test_caps_on_located_data_are_taken(raw: dict[str, Any]) -> None:
    data = DataLocation.model_validate(raw)
    assert data.model_dump(exclude_none=True).keys() >= raw.keys() - {"inputs"}


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        pytest.param(
            {"region": "r", "maxTransferSeconds": -1},
            "maxTransferSeconds",
            "greater than or equal to 0",
            id="a negative time",
        ),
        pytest.param(
            {"region": "r", "maxTransferSeconds": "600"}, "maxTransferSeconds", "valid integer", id="a time as a string"
        ),
        pytest.param(
            {"region": "r", "maxTransferSeconds": 2_592_001},
            "maxTransferSeconds",
            "less than or equal",
            id="more than 30 days",
        ),
        pytest.param(
            {"region": "r", "maxDataCost": -0.01}, "maxDataCost", "greater than or equal to 0", id="a negative cost"
        ),
        pytest.param({"maxDataCost": 5}, "", CAP_RULE, id="a cap on data that nothing locates"),
    ],
)
def test_caps_that_can_never_work_are_refused_naming_the_field(raw: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        DataLocation.model_validate(raw)
    located = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert field in located
    assert message in str(info.value)


def test_the_crd_carries_the_caps_and_their_rule() -> None:
    task = next(crd(k) for k in KINDS if k.info.kind == "ComputeTask")
    data = task["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["data"]
    props = data["properties"]
    assert (props["maxTransferSeconds"]["type"], props["maxTransferSeconds"]["minimum"]) == ("integer", 0)
    assert props["maxTransferSeconds"]["maximum"] == 2_592_000
    assert (props["maxDataCost"]["type"], props["maxDataCost"]["minimum"]) == ("number", 0)
    assert CAP_RULE in [v["message"] for v in data["x-kubernetes-validations"]]
