"""kopf's last-handled configuration holds only for the object it was handled for, not for a copy of it."""

from __future__ import annotations

from typing import Any

import kopf

from computenet.handlers.diffbase import UidBoundDiffBaseStorage

STORAGE = UidBoundDiffBaseStorage(prefix="computenet.io", key="last-handled-configuration")
ESSENCE: Any = {"spec": {"uri": "cpi://p/r/z/c"}}


def body(uid: str, annotations: dict[str, str]) -> kopf.Body:
    return kopf.Body({"metadata": {"name": "x", "uid": uid, "annotations": annotations}, "spec": ESSENCE["spec"]})


def handled(uid: str) -> dict[str, str]:
    """The annotations the operator leaves on the object with `uid` once it handled it."""
    patch = kopf.Patch()
    STORAGE.store(body=body(uid, {}), patch=patch, essence=ESSENCE)
    return {k: v for k, v in patch["metadata"]["annotations"].items() if v is not None}


def test_the_object_it_was_handled_for_finds_its_configuration() -> None:
    assert STORAGE.fetch(body=body("u1", handled("u1"))) == ESSENCE


def test_a_copy_created_again_from_a_backup_is_new() -> None:
    """kubectl get -o yaml, delete, create: the annotations come back on an object with another UID."""
    assert STORAGE.fetch(body=body("u2", handled("u1"))) is None


def test_an_object_handled_by_an_earlier_version_keeps_its_configuration() -> None:
    earlier = {k: v for k, v in handled("u1").items() if k != "computenet.io/last-handled-uid"}
    assert STORAGE.fetch(body=body("u1", earlier)) == ESSENCE


def test_the_uid_annotation_is_no_part_of_what_is_compared() -> None:
    """Else every object would look changed once the UID is written next to its configuration."""
    essence = STORAGE.build(body=body("u1", handled("u1")))
    assert "computenet.io/last-handled-uid" not in essence.get("metadata", {}).get("annotations", {})
