"""The task watch takes in specs, drops its own status writes, and reports deletions."""

from __future__ import annotations

from typing import Any

import pytest

from computenet.tasks.watch import TaskWatch


def obj(name: str, uid: str, generation: int, deleting: bool = False, rv: str = "1") -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": "ns",
        "uid": uid,
        "generation": generation,
        "resourceVersion": rv,
    }
    if deleting:
        meta["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    return {"metadata": meta, "spec": {}, "status": {"phase": "Running"}}


class Recorder:
    def __init__(self, fail_on: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_on = fail_on

    def spec(self, body: Any) -> None:
        if body["metadata"]["name"] == self.fail_on:
            raise ValueError("cannot take this one in")
        self.calls.append(("spec", body["metadata"]["uid"]))

    def deleting(self, body: Any) -> None:
        self.calls.append(("deleting", body["metadata"]["uid"]))

    def gone(self, uid: str) -> None:
        self.calls.append(("gone", uid))


def _watch(rec: Recorder) -> TaskWatch:
    return TaskWatch(rec.spec, rec.deleting, rec.gone)


def test_a_status_write_of_the_same_generation_is_dropped() -> None:
    rec = Recorder()
    watch = _watch(rec)
    watch.upsert("ns/a", obj("a", "u1", 1))
    watch.upsert("ns/a", obj("a", "u1", 1, rv="2"))
    watch.upsert("ns/a", obj("a", "u1", 2, rv="3"))
    assert rec.calls == [("spec", "u1"), ("spec", "u1")]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([("upsert", obj("a", "u1", 1)), ("delete", None)], [("spec", "u1"), ("gone", "u1")], id="deleted"),
        pytest.param(
            [("upsert", obj("a", "u1", 1)), ("upsert", obj("a", "u1", 1, deleting=True))],
            [("spec", "u1"), ("deleting", "u1")],
            id="held by an old finalizer",
        ),
        pytest.param(
            [("upsert", obj("a", "u1", 1)), ("upsert", obj("a", "u2", 1))],
            [("spec", "u1"), ("gone", "u1"), ("spec", "u2")],
            id="recreated under the same name",
        ),
        pytest.param(
            [("upsert", obj("a", "u1", 1)), ("replace", {})], [("spec", "u1"), ("gone", "u1")], id="missing from a list"
        ),
    ],
)
def test_deletions(events: list[tuple[str, Any]], expected: list[tuple[str, str]]) -> None:
    rec = Recorder()
    watch = _watch(rec)
    for kind, body in events:
        if kind == "upsert":
            watch.upsert("ns/a", body)
        elif kind == "delete":
            watch.delete("ns/a")
        else:
            watch.replace(body)
    assert rec.calls == expected


def test_a_task_that_cannot_be_taken_in_does_not_stop_the_others() -> None:
    rec = Recorder(fail_on="bad")
    watch = _watch(rec)
    watch.replace({"ns/bad": obj("bad", "u0", 1), "ns/good": obj("good", "u1", 1)})
    assert rec.calls == [("spec", "u1")]
