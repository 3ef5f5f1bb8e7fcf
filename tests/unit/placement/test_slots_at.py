"""Counting the replicas a few rows' devices hold alone decides as counting every row of the table."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from computenet.placement.devices import (
    FEW_ROWS,
    Need,
    Needs,
    NodeDevices,
    device_filter,
    slots_at,
    table_of,
    table_slots,
)
from computenet.placement.dra_cel import DeviceShape
from placement.builders import selectors

DRV = "gpu.example.com"
NIC = "nic.example.com"


def shaped(driver: str, model: str, total: int, free: int) -> NodeDevices:
    return NodeDevices(driver, model, total, free, DeviceShape(driver, (("model", ("string", model)),)))


def table_rows(count: int) -> dict[int, tuple[NodeDevices, ...]]:
    """`count` nodes (rows 0, 2, 4, ...) of H100s and A100s, some with a NIC, variously taken."""
    out = {}
    for i in range(count):
        gpus = shaped(DRV, "H100" if i % 3 else "A100", 8, (i * 5) % 9)
        out[2 * i] = (gpus, shaped(NIC, "", 2, i % 3)) if i % 2 else (gpus,)
    return out


def keys() -> tuple[str, str, str]:
    driver = device_filter("gpu", selectors(f'device.driver == "{DRV}"')).key
    h100 = device_filter("h100", selectors('device.attributes["gpu.example.com"].model == "H100"')).key
    nic = device_filter("nic", selectors(f'device.driver == "{NIC}"')).key
    return driver, h100, nic


NEEDS: dict[str, Callable[[str, str, str], Needs]] = {
    "one device of the driver": lambda d, h, n: {d: Need(1)},
    "three H100s": lambda d, h, n: {h: Need(3)},
    "a GPU and a NIC": lambda d, h, n: {d: Need(1), n: Need(1)},
    "an H100 beside any GPU of the driver (competing filters)": lambda d, h, n: {d: Need(1), h: Need(1)},
    "every NIC of the node": lambda d, h, n: {n: Need(0, all=True)},
}


@pytest.mark.parametrize("needs", [pytest.param(f, id=name) for name, f in NEEDS.items()])
@pytest.mark.parametrize("cap", [pytest.param(1, id="cap 1"), pytest.param(4, id="cap 4")])
@pytest.mark.parametrize(
    "held",
    [
        pytest.param(False, id="no assumptions"),
        pytest.param(True, id="assumptions on some rows, asked and not"),
    ],
)
@pytest.mark.parametrize("allocatable", [pytest.param(False, id="free"), pytest.param(True, id="allocatable")])
def test_slots_of_a_few_rows_equal_the_whole_tables(
    needs: Callable[[str, str, str], Needs], cap: int, held: bool, allocatable: bool
) -> None:
    d, h, n = keys()
    wanted = needs(d, h, n)
    by_row = table_rows(20 * FEW_ROWS)
    holding = {2: {d: 3}, 8: {h: 2, n: 1}, 40: {d: 8}, 100: {d: 1}} if held else {}
    at = np.array([0, 1, 4, 20, 3], dtype=np.int64)  # table rows, few of the table's
    few, whole = table_of(by_row), table_of(by_row)
    counted = slots_at(few, wanted, holding, cap, at, allocatable=allocatable)
    assert not few._slots  # counted alone, nothing remembered
    expected = table_slots(whole, wanted, holding, cap, allocatable=allocatable)[at]
    assert counted.tolist() == expected.tolist()
    # once the table remembers every row's answer, the same numbers come from it
    assert slots_at(whole, wanted, holding, cap, at, allocatable=allocatable).tolist() == expected.tolist()


def test_many_rows_are_counted_over_the_whole_table_and_remembered() -> None:
    d, _, _ = keys()
    table = table_of(table_rows(4))
    at = np.arange(4, dtype=np.int64)
    expected = table_slots(table_of(table_rows(4)), {d: Need(2)}, {}, 8)[at]
    assert slots_at(table, {d: Need(2)}, {}, 8, at).tolist() == expected.tolist()
    assert table._slots
