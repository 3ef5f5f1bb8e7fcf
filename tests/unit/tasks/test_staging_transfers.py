"""What a mover Job says about its transfer, and where a task's staging is (tasks.staging.transfers)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from computenet.api.data import TransferStatus
from computenet.api.identifier import ComputeIdentifierSpec
from computenet.data.staging import Copy, StoreRef
from computenet.tasks.staging.transfers import (
    GIB,
    Charge,
    EgressPrice,
    MoverReport,
    egress_charges,
    egress_prices,
    job_state,
    last_report,
    newly_moved,
    transfer_status,
    verdict,
)

from .builders import identifier_spec

EAST = StoreRef("http://east:8333", "s-east")
WEST = StoreRef("http://west:8333", "s-west")
COPY = Copy("s3://cn-east-data/a.bin", EAST, "s3://cn-west-data/datasets/d/a.bin", WEST, None)
DENIED = "store http://east:8333 bucket cn-east-data: ListMultipartUploads a.bin failed: AccessDenied: Access Denied."


def _job(*conditions: tuple[str, str], active: int = 0) -> dict[str, Any]:
    return {
        "status": {
            "active": active,
            "conditions": [
                {"type": t, "status": "True", "reason": r, "message": f"{r} happened"} for t, r in conditions
            ],
        }
    }


def _line(**obj: Any) -> str:
    return json.dumps(obj)


@pytest.mark.parametrize(
    ("job", "state"),
    [
        pytest.param(None, ("Pending", None), id="a job not created yet is pending"),
        pytest.param(_job(), ("Pending", None), id="a job with no pod active yet is pending"),
        pytest.param(_job(active=1), ("Running", None), id="a job with an active pod runs"),
        pytest.param(_job(("SuccessCriteriaMet", "x")), ("Succeeded", None), id="success criteria met is enough"),
        pytest.param(_job(("Complete", "x")), ("Succeeded", None), id="complete succeeded"),
        pytest.param(
            _job(("FailureTarget", "PodFailurePolicy")),
            ("Failed", "PodFailurePolicy: PodFailurePolicy happened"),
            id="a failure target is a failure, in the job controller's words",
        ),
        pytest.param(
            _job(("Failed", "DeadlineExceeded")),
            ("Failed", "DeadlineExceeded: DeadlineExceeded happened"),
            id="a job past its deadline failed",
        ),
    ],
)
def test_job_state(job: dict[str, Any] | None, state: tuple[str, str | None]) -> None:
    assert job_state(job) == state


@pytest.mark.parametrize(
    ("text", "report"),
    [
        pytest.param(None, None, id="no text no report"),
        pytest.param("computenet simulated container: working\n", None, id="lines that are not the mover's"),
        pytest.param(
            "noise\n"
            + _line(event="progress", bytesDone=5, bytesTotal=10, rateBytesPerSecond=2, etaSeconds=2.5)
            + "\n",
            MoverReport("progress", bytes_done=5, bytes_total=10, rate=2, eta_s=2.5),
            id="the last progress line",
        ),
        pytest.param(
            _line(event="progress", bytesDone=5, bytesTotal=10) + '\n{"event":"progr',
            MoverReport("progress", bytes_done=5, bytes_total=10),
            id="a line cut by the tail is skipped",
        ),
        pytest.param(
            _line(event="done", objects=[{"size": 7, "bytesCopied": 7}, {"size": 3, "bytesCopied": 0}]),
            MoverReport("done", bytes_done=10, bytes_total=10, bytes_moved=7, eta_s=0.0),
            id="the stdout done line adds up its objects; kept bytes are not moved",
        ),
        pytest.param(
            _line(event="done", objects=2, bytes=10, bytesCopied=7, checksum=None),
            MoverReport("done", bytes_done=10, bytes_total=10, bytes_moved=7, eta_s=0.0),
            id="the result line carries totals",
        ),
        pytest.param(
            _line(event="failed", reason="AccessDenied", message=DENIED),
            MoverReport("failed", reason="AccessDenied", message=DENIED),
            id="a failure in the store's words",
        ),
        pytest.param(_line(event="progress", bytesDone=-1), MoverReport("progress"), id="nonsense numbers are unknown"),
    ],
)
def test_last_report(text: str | None, report: MoverReport | None) -> None:
    assert last_report(text) == report


def test_a_running_transfer_shows_the_progress_of_its_log() -> None:
    tail = _line(event="progress", bytesDone=40, bytesTotal=100, rateBytesPerSecond=20, etaSeconds=3.0)
    status = transfer_status(0, "t-m0", COPY, _job(active=1), None, tail)
    assert (status.state, status.bytes_done, status.bytes_total, status.rate_bytes_per_second, status.eta_seconds) == (
        "Running",
        40,
        100,
        20,
        3.0,
    )
    assert (status.source, status.destination) == (COPY.source_uri, COPY.dest_uri)


def test_a_finished_transfer_reads_its_termination_message_not_its_log() -> None:
    result = _line(event="done", objects=1, bytes=100, bytesCopied=60, checksum="sha256:" + "0" * 64)
    tail = _line(event="progress", bytesDone=1, bytesTotal=100)
    status = transfer_status(2, "t-m2", COPY, _job(("Complete", "x")), result, tail)
    assert (status.input, status.state, status.bytes_done, status.bytes_moved) == (2, "Succeeded", 100, 60)


def test_a_failed_transfer_says_the_stores_words_else_the_job_controllers() -> None:
    failed = _job(("Failed", "PodFailurePolicy"))
    said = transfer_status(0, "t-m0", COPY, failed, _line(event="failed", reason="AccessDenied", message=DENIED), None)
    assert (said.state, said.message) == ("Failed", DENIED)
    silent = transfer_status(0, "t-m0", COPY, failed, None, None)
    assert silent.message == "PodFailurePolicy: PodFailurePolicy happened"


def _t(job: str, state: str, moved: int | None = None, **more: Any) -> TransferStatus:
    return TransferStatus(
        input=int(job[-1]), job=job, source=COPY.source_uri, destination=COPY.dest_uri, state=state,  # type: ignore[arg-type]
        bytes_moved=moved, **more,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("transfers", "outcome", "message"),
    [
        pytest.param([], "done", "every input is in the region's store", id="nothing to copy is done at once"),
        pytest.param(
            [_t("m0", "Succeeded", 10), _t("m1", "Succeeded", 5)],
            "done",
            "2 copies done, 15 bytes moved",
            id="all done",
        ),
        pytest.param(
            [_t("m0", "Succeeded", 10), _t("m1", "Running", bytes_done=30, bytes_total=90, eta_seconds=4.0)],
            "running",
            "1/2 copies done, 33% of 90 bytes, ETA 4s",
            id="one still running shows the share done and the ETA",
        ),
        pytest.param(
            [_t("m0", "Pending"), _t("m1", "Failed", message=DENIED)],
            "failed",
            f"input 1 ({COPY.source_uri}): {DENIED}",
            id="a failure wins over what still runs and names the input",
        ),
    ],
)
def test_verdict(transfers: list[TransferStatus], outcome: str, message: str) -> None:
    found = verdict(transfers)
    assert (found.outcome, found.message) == (outcome, message)


def test_bytes_are_metered_once_per_transfer() -> None:
    before = [_t("m0", "Succeeded", 10), _t("m1", "Running")]
    after = [_t("m0", "Succeeded", 10), _t("m1", "Succeeded", 7)]
    assert newly_moved(before, after) == 7
    assert newly_moved(after, after) == 0


def _spec(provider: str, endpoint: str | None, price: float = 0.0, currency: str = "USD") -> ComputeIdentifierSpec:
    body = identifier_spec().model_dump(by_alias=True, exclude_none=True)
    body.update(provider=provider, uri=f"cpi://{provider}/{body['region']}/x")
    body["pricing"] = {**body.get("pricing", {}), "currency": currency}
    if endpoint is not None:
        body["storage"] = {
            "endpoint": endpoint,
            "bucket": "data",
            "secretRef": {"name": "s", "namespace": "computenet-system"},
            "egressPricePerGiB": price,
        }
    return ComputeIdentifierSpec.model_validate(body)


@pytest.mark.parametrize(
    ("specs", "prices"),
    [
        pytest.param(
            [("b", _spec("beta", EAST.endpoint, 0.09)), ("a", _spec("alpha", EAST.endpoint, 0.08))],
            {EAST.endpoint: EgressPrice("alpha", 0.08, "USD")},
            id="the first identifier by name naming the store sets its price",
        ),
        pytest.param(
            [("a", _spec("alpha", EAST.endpoint, 0.0)), ("b", _spec("beta", EAST.endpoint, 0.07, "EUR"))],
            {EAST.endpoint: EgressPrice("beta", 0.07, "EUR")},
            id="one that does not price egress is passed over, the price in its identifier's currency",
        ),
        pytest.param([("a", _spec("alpha", None))], {}, id="an identifier without storage prices no store"),
    ],
)
def test_egress_prices(specs: list[tuple[str, ComputeIdentifierSpec]], prices: dict[str, EgressPrice]) -> None:
    assert egress_prices(specs) == prices


def test_each_finished_copy_is_charged_once_at_its_source_stores_price() -> None:
    prices = {EAST.endpoint: EgressPrice("alpha", 0.08, "USD")}
    sources = {"m0": EAST.endpoint, "m1": EAST.endpoint, "m2": "http://unpriced:8333"}
    before = [_t("m0", "Succeeded", GIB), _t("m1", "Running"), _t("m2", "Running")]
    after = [_t("m0", "Succeeded", GIB), _t("m1", "Succeeded", 2 * GIB), _t("m2", "Succeeded", GIB)]
    assert egress_charges(before, after, sources, prices) == [Charge("alpha", pytest.approx(0.16), "USD")]  # type: ignore[arg-type]
    assert egress_charges(after, after, sources, prices) == []  # nothing twice
