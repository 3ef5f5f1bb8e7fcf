"""Which Warning events speak of a workload: its own, and those of the objects its controller made.

Events are core/v1 Event JSON as the member lists them; the descendants are those a kind's controller
names after the workload and owns (a Deployment's ReplicaSet ``<name>-<hash>``, a JobSet's child Jobs
``<jobset>-<replicatedJob>-<index>``, a LeaderWorkerSet's StatefulSet ``<lws>``).
"""

from __future__ import annotations

from typing import Any

import pytest

from computenet.dispatch.member_words import (
    Involved,
    about,
    named_after,
    newest_warning,
    object_path,
    owners,
    plural_of,
    to_read,
)

WORKLOAD = "web-3f9a2c-1"
UID = "u-workload"
QUOTA = 'Error creating: pods "web-3f9a2c-1-5d8f-x" is forbidden: failed quota: rule: must specify limits.memory'


def event(
    on: str,
    uid: str,
    at: str,
    reason: str = "FailedCreate",
    message: str = QUOTA,
    type_: str = "Warning",
    kind: str = "ReplicaSet",
) -> dict[str, Any]:
    return {
        "type": type_,
        "reason": reason,
        "message": message,
        "lastTimestamp": at,
        "involvedObject": {"apiVersion": "apps/v1", "kind": kind, "name": on, "uid": uid},
    }


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([], (), id="no events: nothing to read"),
        pytest.param(
            [event(WORKLOAD, UID, "2026-12-07T10:00:00Z", kind="Deployment")],
            (),
            id="the workload's own events need no read",
        ),
        pytest.param(
            [event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:00:00Z")],
            (Involved("apps/v1", "ReplicaSet", f"{WORKLOAD}-5d8f", "u-rs"),),
            id="a ReplicaSet named after the Deployment is read",
        ),
        pytest.param(
            [event(WORKLOAD, "u-sts", "2026-12-07T10:00:00Z", kind="StatefulSet")],
            (Involved("apps/v1", "StatefulSet", WORKLOAD, "u-sts"),),
            id="a LeaderWorkerSet's StatefulSet has the workload's very name, another uid",
        ),
        pytest.param(
            [
                event("web-3f9a2c-10-5d8f", "u-other", "2026-12-07T10:00:00Z"),
                event("db-1", "u-db", "2026-12-07T10:00:00Z"),
            ],
            (),
            id="objects of other names (another attempt, another task) are not read",
        ),
        pytest.param(
            [
                event(f"{WORKLOAD}-a", "u-a", "2026-12-07T10:00:00Z"),
                event(f"{WORKLOAD}-b", "u-b", "2026-12-07T10:02:00Z"),
                event(f"{WORKLOAD}-b", "u-b", "2026-12-07T10:01:00Z"),
                event(f"{WORKLOAD}-c", "u-c", "2026-12-07T10:03:00Z"),
            ],
            (
                Involved("apps/v1", "ReplicaSet", f"{WORKLOAD}-c", "u-c"),
                Involved("apps/v1", "ReplicaSet", f"{WORKLOAD}-b", "u-b"),
            ),
            id="distinct objects by their newest Warning, at most two",
        ),
        pytest.param(
            [event(f"{WORKLOAD}-a", "u-a", "2026-12-07T10:00:00Z", type_="Normal", reason="SuccessfulCreate")],
            (),
            id="Normal events name nothing to read",
        ),
    ],
)
def test_which_objects_are_read(events: list[dict[str, Any]], expected: tuple[Involved, ...]) -> None:
    assert to_read(events, WORKLOAD, UID) == expected


@pytest.mark.parametrize(
    ("events", "uids", "expected"),
    [
        pytest.param([], {UID}, "", id="no events: no words"),
        pytest.param(
            [event(WORKLOAD, UID, "2026-12-07T10:00:00Z", kind="Job")],
            {UID},
            f"FailedCreate: {QUOTA}",
            id="a Job's own FailedCreate",
        ),
        pytest.param(
            [event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:00:00Z")],
            {UID, "u-rs"},
            f"FailedCreate: {QUOTA}",
            id="a descendant's FailedCreate is the workload's",
        ),
        pytest.param(
            [event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:00:00Z")],
            {UID},
            "",
            id="an object not found to be owned says nothing for the workload",
        ),
        pytest.param(
            [
                event(WORKLOAD, UID, "2026-12-07T10:00:00Z", reason="Old", message="older words", kind="Deployment"),
                event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:05:00Z"),
                event("db-1", "u-db", "2026-12-07T10:09:00Z", reason="Other", message="another's words"),
            ],
            {UID, "u-rs"},
            f"FailedCreate: {QUOTA}",
            id="the newest of the workload's and its descendants' wins, others' never",
        ),
        pytest.param(
            [
                event(WORKLOAD, UID, "2026-12-07T10:06:00Z", reason="Denied", message="newer words", kind="Deployment"),
                event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:05:00Z"),
            ],
            {UID, "u-rs"},
            "Denied: newer words",
            id="the workload's own newer Warning wins over a descendant's",
        ),
        pytest.param(
            [
                event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:07:00Z", type_="Normal", reason="SuccessfulCreate"),
                event(f"{WORKLOAD}-5d8f", "u-rs", "2026-12-07T10:05:00Z"),
            ],
            {UID, "u-rs"},
            f"FailedCreate: {QUOTA}",
            id="a newer Normal event never hides a Warning",
        ),
    ],
)
def test_which_words_are_the_workloads(events: list[dict[str, Any]], uids: set[str], expected: str) -> None:
    assert newest_warning(about(events, uids)) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(WORKLOAD, True, id="the same name"),
        pytest.param(f"{WORKLOAD}-workers-0", True, id="a child Job name"),
        pytest.param("web-3f9a2c-10", False, id="a longer attempt number is another workload"),
        pytest.param("web-3f9a2c", False, id="a prefix of the name is not derived from it"),
    ],
)
def test_named_after(name: str, expected: bool) -> None:
    assert named_after(name, WORKLOAD) is expected


def test_owners_are_read_from_owner_references() -> None:
    rs = {
        "metadata": {
            "name": f"{WORKLOAD}-5d8f",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": WORKLOAD, "uid": UID}],
        }
    }
    assert owners(rs) == (Involved("apps/v1", "Deployment", WORKLOAD, UID),)
    assert owners({"metadata": {}}) == ()


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            Involved("apps/v1", "ReplicaSet", "web-1-5d8f", "u"),
            "/apis/apps/v1/namespaces/work/replicasets/web-1-5d8f",
            id="a ReplicaSet (a controller's kind)",
        ),
        pytest.param(
            Involved("batch/v1", "Job", "js-1-workers-0", "u"),
            "/apis/batch/v1/namespaces/work/jobs/js-1-workers-0",
            id="a JobSet's child Job",
        ),
        pytest.param(
            Involved("jobset.x-k8s.io/v1alpha2", "JobSet", "js-1", "u"),
            "/apis/jobset.x-k8s.io/v1alpha2/namespaces/work/jobsets/js-1",
            id="a workload kind's resource from the kinds table",
        ),
        pytest.param(Involved("v1", "Pod", "p", "u"), "/api/v1/namespaces/work/pods/p", id="a core kind"),
        pytest.param(Involved("example.com/v1", "Widget", "w", "u"), None, id="an unknown kind is not read"),
    ],
)
def test_where_an_object_is_read(obj: Involved, expected: str | None) -> None:
    kinds = [("jobset.x-k8s.io/v1alpha2", "JobSet", "jobsets")]
    plural = plural_of(obj, kinds)
    assert (object_path(obj, plural, "work") if plural else None) == expected
