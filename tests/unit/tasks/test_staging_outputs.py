"""What a finished attempt's output pushes did (tasks.staging.outputs): judged from its pods, priced, booked."""

from __future__ import annotations

import json
from typing import Any

import pytest

from computenet.api.data import OutputStatus, TaskDataStatus
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.tasks.staging.outputs import OutputTarget, book, charges, judge, region_stores
from computenet.tasks.staging.transfers import GIB, Charge

from .builders import identifier_spec

EAST_STORE, WEST_STORE = "http://cn-east:8333", "http://cn-west:8333"
TARGET = OutputTarget(0, "s3://results/run-1/", EAST_STORE)
DENIED = {"event": "failed", "reason": "AccessDenied", "message": f"store {EAST_STORE} bucket results: denied"}
DONE = {"event": "done", "objects": 2, "bytes": 3000, "bytesCopied": 1000}


def _pod(name: str, phase: str, result: dict[str, Any] | str | None = None, index: int = 0, **extra: Any) -> Any:
    terminated: dict[str, Any] = {"exitCode": 0 if isinstance(result, dict) and result["event"] == "done" else 1}
    if isinstance(result, dict):
        terminated["message"] = json.dumps(result)
    elif isinstance(result, str):
        terminated["message"] = result
    state = {"terminated": {**terminated, **extra}} if result is not None or extra else {"running": {}}
    statuses = [{"name": "computenet-stage-in-0", "state": {"terminated": {"exitCode": 0}}}]
    statuses.append({"name": f"computenet-stage-out-{index}", "state": state})
    return {"metadata": {"name": name}, "status": {"phase": phase, "initContainerStatuses": statuses}}


@pytest.mark.parametrize(
    ("pods", "succeeded", "state", "words", "refused", "landed"),
    [
        pytest.param([_pod("p-0", "Succeeded", DONE)], True, "Succeeded", None, False, (1, 3000, 1000),
                     id="a pod that pushed its output: it landed, with the bytes the push sent"),
        pytest.param([_pod("p-0", "Succeeded", DONE), _pod("p-1", "Succeeded", DONE)], True, "Succeeded", None, False,
                     (2, 6000, 2000), id="every pod of a gang pushed: the bytes add up"),
        pytest.param([_pod("p-0", "Succeeded", DENIED)], True, "Failed", DENIED["message"], True, (0, None, None),
                     id="the store refused the push: its own words, and running again would not help"),
        pytest.param([_pod("p-0", "Succeeded", {**DENIED, "reason": "DeadlineExceeded"})], True, "Failed",
                     DENIED["message"], False, (0, None, None), id="a push past its deadline may pass on another run"),
        pytest.param([_pod("p-0", "Succeeded", {**DENIED, "reason": "Unreachable"})], True, "Failed",
                     DENIED["message"], False, (0, None, None), id="a store that did not answer may answer later"),
        pytest.param([_pod("p-0", "Succeeded", '{"event":"progress","bytesDone":5}', exitCode=137, reason="Error")],
                     True, "Failed", "pod p-0: its push said nothing of how it ended (exit code 137, Error)", False,
                     (0, None, None), id="a push killed at the end of its grace period said nothing: not arrived"),
        pytest.param([_pod("p-0", "Succeeded")], True, "Failed",
                     "pod p-0: its push never ended (the pod stopped before it did)", False, (0, None, None),
                     id="a sidecar still running in a finished pod never pushed"),
        pytest.param([], True, "Failed", "no pod of the workload is left to say whether it arrived", False,
                     (0, None, None), id="no pod left: nothing says the output arrived"),
        pytest.param([_pod("p-0", "Failed", DENIED), _pod("p-1", "Succeeded", DONE)], True, "Succeeded", None, False,
                     (1, 3000, 1000), id="a failed pod replaced by one that succeeded: only the result counts"),
        pytest.param([_pod("p-0", "Failed", DENIED)], False, "Failed", DENIED["message"], True, (0, None, None),
                     id="a failed workload's pod whose push failed says so too"),
        pytest.param([_pod("p-0", "Failed", DONE)], False, "Succeeded", None, False, (1, 3000, 1000),
                     id="a failed workload's pod still pushed what it left, and that is metered"),
        pytest.param([_pod("p-0", "Running", DONE)], True, "Failed",
                     "no pod of the workload is left to say whether it arrived", False, (1, 3000, 1000),
                     id="a pod still stopping does not count, but bytes it already sent do"),
    ],
)  # fmt: skip
def test_each_output_is_judged_from_its_pods_sidecars(
    pods: list[Any], succeeded: bool, state: str, words: str | None, refused: bool, landed: tuple[Any, ...]
) -> None:
    verdict = judge([TARGET], pods, succeeded)
    (output,) = verdict.outputs
    assert (output.state, output.message) == (state, words)
    assert (output.pods, output.bytes, output.bytes_moved) == landed
    assert verdict.failure == (f"output 0 ({TARGET.uri}): {words}" if words else None)
    assert verdict.refused is refused


def test_the_first_output_that_did_not_arrive_names_the_failure_and_each_output_reads_its_own_sidecar() -> None:
    second = OutputTarget(1, "s3://results/logs/", EAST_STORE)
    pod = _pod("p-0", "Succeeded", DONE)
    pod["status"]["initContainerStatuses"].append(
        _pod("p-0", "Succeeded", DENIED, index=1)["status"]["initContainerStatuses"][1]
    )
    verdict = judge([TARGET, second], [pod], True)
    assert [o.state for o in verdict.outputs] == ["Succeeded", "Failed"]
    assert verdict.failure is not None
    assert verdict.failure.startswith("output 1 (s3://results/logs/): store ")


def _identifier(name: str, region: str, price: float, endpoint: str, currency: str = "USD") -> tuple[str, Any]:
    body = identifier_spec().model_dump(by_alias=True, exclude_none=True)
    body.update(region=region, provider=f"{name}-cloud", uri=f"cpi://{name}-cloud/{region}/{name}")
    body["pricing"] = {**(body.get("pricing") or {}), "currency": currency}
    body["storage"] = {
        "endpoint": endpoint,
        "bucket": f"{region}-data",
        "secretRef": {"name": "s", "namespace": "computenet-system"},
        "egressPricePerGiB": price,
    }
    return name, ComputeIdentifierSpec.model_validate(body)


OTHER_WEST = "http://other-west:8333"
SPECS = [
    _identifier("west-2", "cn-west", 0.5, OTHER_WEST),
    _identifier("west-1", "cn-west", 0.09, WEST_STORE),
    _identifier("east-1", "cn-east", 0.08, EAST_STORE),
]


def _pushed(index: int, sent: int) -> OutputStatus:
    uri = f"s3://results/{index}/"
    return OutputStatus(output=index, uri=uri, state="Succeeded", pods=1, bytes=sent, bytes_moved=sent)


def test_the_regions_store_is_its_first_identifier_by_name_that_declares_one() -> None:
    assert region_stores(SPECS, "cn-west") == (WEST_STORE, frozenset({WEST_STORE, OTHER_WEST}))
    assert region_stores(SPECS, "cn-north") == (None, frozenset())


@pytest.mark.parametrize(
    ("endpoint", "region", "expected"),
    [
        pytest.param(EAST_STORE, "cn-west", [Charge("west-1-cloud", 0.09, "USD")],
                     id="an output leaving cn-west pays the egress of cn-west's store"),
        pytest.param(OTHER_WEST, "cn-west", [], id="an output to another store of its own region stays in it"),
        pytest.param(EAST_STORE, "cn-north", [], id="a region no identifier prices charges nothing"),
    ],
)  # fmt: skip
def test_outputs_are_priced_at_the_compute_regions_store_when_they_leave_it(
    endpoint: str, region: str, expected: list[Charge]
) -> None:
    moved, charged = charges([_pushed(0, GIB)], [OutputTarget(0, "s3://results/0/", endpoint)], SPECS, region)
    assert moved == GIB
    assert charged == expected


def test_booking_adds_the_outputs_bytes_and_cost_to_the_attempts_data_once() -> None:
    before = TaskDataStatus(identifier="west-1", attempt=2, bytes_moved=500, cost=0.25, currency="USD")
    outputs = [_pushed(0, 100)]
    after = book(before, "west-1", 2, outputs, 100, [Charge("p", 0.5, "USD"), Charge("p", 9.0, "EUR")])
    assert (after.bytes_moved, after.cost, after.currency) == (600, 0.75, "USD")
    assert after.outputs == outputs
    # An older attempt's data: its totals carry over, its transfers do not.
    older = before.model_copy(update={"attempt": 1, "transfers": None})
    again = book(older, "east-1", 2, outputs, 100, [])
    assert (again.identifier, again.attempt, again.bytes_moved, again.cost) == ("east-1", 2, 600, 0.25)
    fresh = book(None, "east-1", 1, outputs, 100, [Charge("p", 0.5, "EUR")])
    assert (fresh.bytes_moved, fresh.cost, fresh.currency) == (100, 0.5, "EUR")
